"""The package's public names, imported lazily so that aws-cdk-lib loads only when needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import constructs_ses

from conftest import run


def test_every_public_name_resolves() -> None:
    assert set(constructs_ses.__all__) == set(constructs_ses._WHERE)
    for name in constructs_ses.__all__:
        assert getattr(constructs_ses, name) is not None
    assert constructs_ses.HandlerPolicy.__name__ == "Policy"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        constructs_ses.Nope  # noqa: B018


def test_handler_names_load_without_aws_cdk_lib(tmp_path: Path) -> None:
    code = (
        "import sys, constructs_ses; "
        "from constructs_ses import Disposition, HandlerPolicy, StopVerdict; "
        "print('aws_cdk' in sys.modules)"
    )
    result = run([sys.executable, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_local_mail_flow_loads_without_aws_cdk_lib(tmp_path: Path) -> None:
    code = (
        "import sys, constructs_ses.local.cli, constructs_ses.local.flow.smtp; "
        "print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"
    )
    result = run([sys.executable, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_new_handler_command_runs_without_aws_cdk_lib(tmp_path: Path) -> None:
    code = (
        "import sys; from constructs_ses.__main__ import main; "
        "main(['new-handler', 'h']); print('aws_cdk' in sys.modules)"
    )
    result = run([sys.executable, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")
    assert (tmp_path / "h" / "handler.py").is_file()
