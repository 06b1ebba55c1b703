"""What AWS's runtime interface client for Python (``awslambdaric``) defines, as the local
runtime runs it: error payloads and types, handler resolution, marshalling, the context, log
formats; and what the function can import ("Building Lambda functions with Python", "Lambda
function errors in Python", "Using the Lambda context object", "Configuring advanced logging
controls", AWS Lambda Developer Guide)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_local_runtime import function

from constructs_ses.local.lambda_runtime.runtime import LambdaRuntime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaRuntime]:
    lambda_runtime = LambdaRuntime(tmp_path_factory.mktemp("client"))
    yield lambda_runtime
    lambda_runtime.close()


RAISES = "def handler(event, context):\n    raise ValueError('boom 7')\n"


def test_an_exception_is_lambda_s_error_payload(runtime: LambdaRuntime) -> None:
    result = runtime.invoke(function(RAISES, "Raises"), {})
    payload = result.error_payload
    assert payload is not None
    assert payload["errorMessage"] == "boom 7" and payload["errorType"] == "ValueError"
    assert payload["requestId"] == result.request_id
    assert (
        payload["stackTrace"][0].startswith('  File "')
        and "raise ValueError" in payload["stackTrace"][0]
    )
    assert result.error == "ValueError: boom 7"
    assert "[ERROR] ValueError: boom 7" in result.logs


@pytest.mark.parametrize(
    ("code", "handler", "error_type", "message"),
    [
        (
            "def handler(event, context)\n",
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'index'",
        ),
        ("raise LookupError('at import')\n", "index.handler", "LookupError", "at import"),
        (
            "import not_a_module\n",
            "index.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'index': No module named 'not_a_module'",
        ),
        (
            "x = 1\n",
            "index.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'index'",
        ),
        ("", "index", "Runtime.MalformedHandlerName", "Bad handler 'index'"),
        (
            "",
            "sys.handler",
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
    ],
)
def test_init_errors_are_the_runtime_client_s(
    runtime: LambdaRuntime, code: str, handler: str, error_type: str, message: str
) -> None:
    spec = function(code, f"Init{error_type.rsplit('.', 1)[-1]}")
    result = runtime.invoke(spec.__class__(**{**spec.__dict__, "handler": handler}), {})
    assert result.error_type == error_type
    assert result.error_payload is not None and message in result.error_payload["errorMessage"]
    assert result.error == f"{error_type}: {result.error_payload['errorMessage']}"


def test_a_handler_in_a_directory_is_imported_as_a_package_module(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    asset = tmp_path / "asset.sub"
    (asset / "sub").mkdir(parents=True)
    (asset / "sub" / "mod.py").write_text("def handler(event, context):\n    return __name__\n")
    spec = function("", "Nested")
    nested = spec.__class__(
        **{**spec.__dict__, "code_dir": asset, "inline_code": None, "handler": "sub/mod.handler"}
    )
    assert runtime.invoke(nested, {}).answer == "sub.mod"


MARSHALLED = """
from decimal import Decimal
def handler(event, context):
    if event["kind"] == "bytes":
        return b"\\x00raw"
    if event["kind"] == "decimal":
        return {"amount": Decimal("1.50")}
    return object()
"""


def test_answers_are_marshalled_by_the_runtime_client(runtime: LambdaRuntime) -> None:
    spec = function(MARSHALLED, "Marshalled")
    assert runtime.invoke(spec, {"kind": "bytes"}).answer == b"\x00raw"  # raw, not JSON
    assert runtime.invoke(spec, {"kind": "decimal"}).answer == {"amount": 1.50}
    refused = runtime.invoke(spec, {"kind": "object"})
    assert refused.error_type == "Runtime.MarshalError"


CONTEXT = """
def handler(event, context):
    return {
        "identity": type(context.identity).__name__,
        "cognito_identity_id": context.identity.cognito_identity_id,
        "client_context": context.client_context,
        "tenant_id": context.tenant_id,
        "memory": context.memory_limit_in_mb,
        "has_log": callable(getattr(context, "log", None)),
    }
"""


def test_the_context_is_the_runtime_client_s(runtime: LambdaRuntime) -> None:
    answer = runtime.invoke(function(CONTEXT, "Context", memory_size=256), {}).answer
    assert answer == {
        "identity": "CognitoIdentity",
        "cognito_identity_id": None,
        "client_context": None,
        "tenant_id": None,
        "memory": "256",
        "has_log": True,
    }


LOGS = """
import logging
def handler(event, context):
    logging.getLogger().info("an info")
    logging.getLogger("mine").warning("a warning")
    print("printed")
"""


def test_text_logs_drop_nothing_and_json_logs_follow_the_application_log_level(
    runtime: LambdaRuntime,
) -> None:
    text = runtime.invoke(function(LOGS, "TextLogs"), {})
    assert re.search(rf"\[WARNING\]\t\S+Z\t{text.request_id}\ta warning\n", text.logs)
    assert "printed\n" in text.logs
    spec = function(LOGS, "JsonLogs")
    as_json = spec.__class__(
        **{**spec.__dict__, "log_format": "JSON", "application_log_level": "WARN"}
    )
    result = runtime.invoke(as_json, {})
    records = [json.loads(line) for line in result.logs.splitlines() if line.startswith("{")]
    assert [(r["level"], r["message"], r["logger"]) for r in records] == [
        ("WARNING", "a warning", "mine")
    ]
    assert records[0]["requestId"] == result.request_id and "timestamp" in records[0]
    assert "an info" not in result.logs and "printed\n" in result.logs


# "Building Lambda functions with Python": the runtime provides the standard library and the
# AWS SDK (boto3); anything else must be in the function's package or a layer.
IMPORTS = """
import importlib
def handler(event, context):
    found = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return found
"""


def test_the_function_imports_the_runtime_s_libraries_and_nothing_of_the_host_s(
    runtime: LambdaRuntime,
) -> None:
    modules = [
        "boto3",
        "botocore",
        "awslambdaric",
        "json",
        "pytest",
        "aws_cdk",
        "constructs_ses",
        "moto",
        "aws_lambda_powertools",
        "pydantic",
    ]
    answer = runtime.invoke(function(IMPORTS, "Imports"), {"modules": modules}).answer
    assert answer == {
        name: name in ("boto3", "botocore", "awslambdaric", "json") for name in modules
    }


def test_a_module_the_asset_lacks_fails_to_import_as_in_lambda(runtime: LambdaRuntime) -> None:
    code = "from aws_lambda_powertools import Logger\ndef handler(event, context):\n    pass\n"
    result = runtime.invoke(function(code, "NeedsPowertools"), {})
    assert result.error_type == "Runtime.ImportModuleError"
    assert "No module named 'aws_lambda_powertools'" in (result.error or "")


# "Working with layers for Python Lambda functions": a layer's python/ and
# python/lib/python3.x/site-packages are on the path, its bin/ on PATH; later layers win.
def test_layers_are_on_the_path_and_later_ones_win(runtime: LambdaRuntime, tmp_path: Path) -> None:
    first, second = tmp_path / "layer1", tmp_path / "layer2"
    (first / "python").mkdir(parents=True)
    (first / "python" / "shared.py").write_text("WHO = 'first'\n")
    (first / "python" / "only_first.py").write_text("WHO = 'only first'\n")
    version = runtime.python.version
    site = second / "python" / "lib" / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    (second / "python" / "shared.py").write_text("WHO = 'second'\n")
    (second / "bin").mkdir()
    tool = second / "bin" / "layer-tool"
    tool.write_text("#!/bin/sh\necho from the layer\n")
    tool.chmod(0o755)
    (site / "in_site.py").write_text("WHO = 'site-packages'\n")
    code = (
        "import subprocess, shared, only_first, in_site\n"
        "def handler(event, context):\n"
        "    tool = subprocess.run(['layer-tool'], capture_output=True, text=True).stdout\n"
        "    return [shared.WHO, only_first.WHO, in_site.WHO, tool.strip()]\n"
    )
    spec = function(code, "Layered")
    layered = spec.__class__(**{**spec.__dict__, "layers": (first, second)})
    result = runtime.invoke(layered, {})
    assert result.answer == ["second", "only first", "site-packages", "from the layer"], result.logs
