"""What the README documents is importable from where it says, whatever the package's layout:
every ``from constructs_ses... import ...`` line and every ``constructs_ses.x.Name`` it names,
the package's own ``__all__``, and the commands it shows."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

import constructs_ses

from conftest import REPO

README = (REPO / "README.md").read_text()
IMPORTS = sorted(
    {
        (module, name.strip())
        for module, names in re.findall(r"from (constructs_ses[\w.]*) import ([\w, ]+)", README)
        for name in names.split(",")
        if name.strip()
    }
)
"""(module, name) of each name a README import line takes."""
DOTTED = sorted(set(re.findall(r"\b(constructs_ses(?:\.[a-z_]+)+)(?:\.([A-Z]\w*))?", README)))
"""Each module the README names, with the class or constant it names in it, if any."""
ELSEWHERE = [
    ("constructs_ses.local", "MailFlow"),
    ("constructs_ses.local", "Delivery"),
    ("constructs_ses.local", "Invocation"),
    ("constructs_ses.local", "Refusal"),
    ("constructs_ses.local", "Step"),
    ("constructs_ses.local", "Verdicts"),
    ("constructs_ses.local.message", "Arrival"),
    ("constructs_ses.local.message", "Verdicts"),
    ("constructs_ses.testing", "LocalAws"),
    ("constructs_ses.testing", "LocalAwsError"),
    ("constructs_ses.testing", "deploy_locally"),
    ("constructs_ses.local.aws", "LocalAws"),
    ("constructs_ses.local.lambda_runtime", "LambdaRuntime"),
]
"""Names the README's text documents at these places (``flow.deliver(...)`` returns a
``Delivery``; ``Arrival`` from ``constructs_ses.local.message``...)."""


def test_the_readme_documents_imports_and_modules() -> None:
    assert ("constructs_ses", "InboundEmail") in IMPORTS
    assert ("constructs_ses.testing", "LocalAws") in DOTTED


@pytest.mark.parametrize(("module", "name"), [*IMPORTS, *ELSEWHERE])
def test_each_documented_name_imports_from_its_documented_place(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("module", "name"), DOTTED)
def test_each_module_the_readme_names_imports(module: str, name: str) -> None:
    imported = importlib.import_module(module)
    if name:
        assert getattr(imported, name) is not None


@pytest.mark.parametrize("name", constructs_ses.__all__)
def test_each_name_of_the_package_imports_from_it(name: str) -> None:
    assert getattr(constructs_ses, name) is not None


@pytest.mark.parametrize(
    "command",
    [["constructs_ses.local", "--help"], ["constructs_ses", "new-handler", "--help"]],
)
def test_the_documented_commands_run(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
