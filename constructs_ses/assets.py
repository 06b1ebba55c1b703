"""Lambda code objects built from the package's own files, without bytecode."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_

from constructs_ses.package_files import ASSET_EXCLUDE, handler_template_directory

__all__ = ["handler_code"]


def handler_code(directory: Path | None = None) -> lambda_.Code:
    """Lambda code from ``directory`` (default: the packaged template), without bytecode."""
    source = directory if directory is not None else handler_template_directory()
    return lambda_.Code.from_asset(str(source), exclude=list(ASSET_EXCLUDE))
