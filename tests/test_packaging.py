"""The wheel carries the handler template, and an app outside the repository can use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("constructs_ses-*.whl")
    return built


def test_wheel_contains_the_handler_template_and_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "constructs_ses/__init__.py",
        "constructs_ses/py.typed",
        "constructs_ses/data/receiving_regions.json",
        "constructs_ses/lambda_src/__init__.py",
        "constructs_ses/lambda_src/handler.py",
        "constructs_ses/activation/runtime/handler.py",
        "constructs_ses/local/worker.py",
    ):
        assert name in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("lambda_src/", "tests/"))]


def test_wheel_installs_and_an_outside_app_synthesizes_the_default_function(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # aws-cdk-lib and constructs come from the test environment, without its editable install.
    target_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(target_site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    project = tmp_path / "someone-elses-app"
    project.mkdir()
    (project / "app.py").write_text(
        textwrap.dedent(
            """
            import json, sys
            from pathlib import Path
            import aws_cdk as cdk
            import constructs_ses
            import constructs_ses.lambda_src.handler  # leaves bytecode beside the template
            from constructs_ses import InboundEmail, InvocationType

            app = cdk.App(outdir=sys.argv[1])
            stack = cdk.Stack(app, "Embedded", env=cdk.Environment(region="eu-west-1"))
            mail = InboundEmail(stack, "Inbound")
            mail.add_lambda_rule("Hello", recipients=["hello@example.com"],
                                 invocation_type=InvocationType.REQUEST_RESPONSE)
            app.synth()
            print(json.dumps({"package": constructs_ses.__file__}))
            """
        )
    )
    out = tmp_path / "cdk.out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = run([str(python), "app.py", str(out)], cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    package = Path(json.loads(result.stdout.strip().splitlines()[-1])["package"])
    assert package.is_relative_to(venv), package
    assert list((package.parent / "lambda_src").glob("__pycache__"))
    template = json.loads((out / "Embedded.template.json").read_text())
    (function,) = (
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    )
    object_key = function["Properties"]["Code"]["S3Key"]
    asset = out / f"asset.{object_key.removesuffix('.zip')}"
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*"))
    assert files == ["__init__.py", "handler.py"]
