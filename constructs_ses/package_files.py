"""Where the package's own files live: the handler template and the other shipped code.

Paths come from the installed package (importlib.resources), never from the working directory,
so they are found from any app, whether the package is installed from a wheel or editable. No
aws-cdk-lib here: the scaffold command and the local mail flow use these without it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "ASSET_EXCLUDE",
    "HANDLER_MODULE_FILE",
    "HANDLER_TEMPLATE_HANDLER",
    "handler_template_directory",
    "package_directory",
]

HANDLER_TEMPLATE_PACKAGE = "constructs_ses.lambda_src"
HANDLER_MODULE_FILE = "handler.py"
HANDLER_TEMPLATE_HANDLER = "handler.handler"
"""The Lambda ``handler`` setting for the template: module ``handler``, function ``handler``."""
ASSET_EXCLUDE = ("__pycache__", "*.pyc", "*.pyo")
"""Left out of every asset: bytecode would change the asset hash from one machine to the next."""


def package_directory(package: str) -> Path:
    """The directory of one of this package's subpackages, wherever it is installed."""
    return Path(str(files(package)))


def handler_template_directory() -> Path:
    """The directory of the packaged handler template (``lambda_src/`` in the repository)."""
    return package_directory(HANDLER_TEMPLATE_PACKAGE)
