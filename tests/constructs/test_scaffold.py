"""python -m constructs_ses new-handler: a copy of the template to grow in a project."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_ses import handler_template_directory
from constructs_ses.__main__ import main
from constructs_ses.scaffold import new_handler

from conftest import run
from events import ses_event


def test_copies_the_template_and_the_copy_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = new_handler(tmp_path / "handlers" / "support")
    assert target.read_text() == (handler_template_directory() / "handler.py").read_text()
    spec = importlib.util.spec_from_file_location("copied_handler", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert module.handler(ses_event(spam="FAIL"), None) == {"disposition": "STOP_RULE_SET"}


def test_fails_on_existing_handler_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("# mine\n")
    with pytest.raises(FileExistsError, match=r"handler.py exists; pass force=True"):
        new_handler(tmp_path)
    assert (tmp_path / "handler.py").read_text() == "# mine\n"
    new_handler(tmp_path, force=True)
    assert "def make_handler" in (tmp_path / "handler.py").read_text()


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-handler", str(tmp_path / "h")]) == 0
    assert "handler_directory=" in capsys.readouterr().out
    assert main(["new-handler", str(tmp_path / "h")]) == 1
    assert "exists; pass force=True (--force)" in capsys.readouterr().err
    assert main(["new-handler", "--force", str(tmp_path / "h")]) == 0


def test_runs_as_python_dash_m(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "constructs_ses", "new-handler", "mail"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mail" / "handler.py").is_file()
    usage = run([sys.executable, "-m", "constructs_ses"], cwd=tmp_path)
    assert usage.returncode == 2
    assert "new-handler" in usage.stderr


def test_template_runs_as_lambda_loads_it(tmp_path: Path) -> None:
    """Lambda imports the handler as a top-level module of the asset, with no other packages."""
    new_handler(tmp_path)
    code = (
        "import json, handler; "
        "print(json.dumps(handler.handler({'Records': [{'ses': {'receipt': "
        "{'virusVerdict': {'status': 'FAIL'}}}}]}, None)))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code],  # no site-packages: standard library only,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '{"disposition": "STOP_RULE_SET"}'
