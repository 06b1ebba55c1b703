"""Shared fixtures: apps with the project's cdk.json context, stacks in chosen environments."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# jsii starts Node.js from PATH: use the one installed into this virtual environment (Node >= 22),
# also when pytest is run directly rather than through `make test`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk

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


StackFactory = Callable[..., cdk.Stack]


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
