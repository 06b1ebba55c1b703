"""Shared fixtures: apps with the project's cdk.json context, stacks in chosen environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# jsii starts Node.js from PATH: use the one installed into this virtual environment (Node >= 22),
# also when pytest is run directly rather than through `make test`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from constructs_ses.local.aws.local_aws import without_host_aws_settings

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "111111111111"
REGION = "us-east-1"


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json, which `cdk.App()` does not read inside pytest."""
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    return context


@pytest.fixture(scope="session")
def context() -> dict[str, Any]:
    return cdk_json_context()


def new_stack(
    app: cdk.App | None = None,
    construct_id: str = "Mail",
    *,
    region: str | None = REGION,
    account: str | None = ACCOUNT,
) -> cdk.Stack:
    """A stack in a fresh app (or ``app``); region=None makes it environment-agnostic."""
    app = app or cdk.App(context=cdk_json_context())
    env = cdk.Environment(account=account, region=region) if region else None
    return cdk.Stack(app, construct_id, env=env)


@pytest.fixture
def stack() -> Iterator[cdk.Stack]:
    yield new_stack()


def logical_id(stack: cdk.Stack, construct: IConstruct) -> str:
    """The logical ID in ``stack`` of the CloudFormation resource behind ``construct``."""
    child = construct.node.default_child
    assert isinstance(child, cdk.CfnElement), f"{construct.node.path} has no resource"
    return stack.get_logical_id(child)


def inline_function(scope: cdk.Stack, construct_id: str = "Fn", **kwargs: Any) -> lambda_.Function:
    """A small Python function with inline code, for rules that need one."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        **kwargs,
    )


def ses_notification(envelope: dict[str, Any]) -> dict[str, Any]:
    """The SES notification an SNS envelope (what a topic's subscriber receives) carries."""
    assert envelope["Type"] == "Notification"
    message: dict[str, Any] = json.loads(envelope["Message"])
    return message


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to the end and capture its text output; the caller checks the result."""
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def cdk_cli(
    *arguments: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The pinned CDK CLI, without telemetry or notices and ignoring CDK_DEFAULT_* settings
    (and AWS_* ones) of the host; ``env`` adds variables (a local AWS's)."""
    host = without_host_aws_settings()
    env = {**host, **(env or {}), "CDK_DISABLE_CLI_TELEMETRY": "true"}
    cli = str(REPO / "node_modules" / ".bin" / "cdk")
    return run([cli, *arguments, "--no-notices"], cwd=cwd, env=env)


# Property-based tests explore the same examples on every CI run, so that a result is repeatable.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
_hypothesis_settings.register_profile("dev", deadline=None)
_hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
