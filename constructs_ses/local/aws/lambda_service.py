"""moto's Lambda, extended: the functions it holds run in the local Lambda runtime.

moto 5.2 runs a function only in Docker, and without Docker answers every ``Invoke`` with a
canned payload. Here (``install()``) ``Invoke`` runs the function's own code (the zip moto holds)
in ``LambdaRuntime``, as the Invoke API describes it ("Invoke", AWS Lambda API Reference):

- ``RequestResponse`` (the default) answers with the function's response; a function error
  answers with Lambda's error payload and ``X-Amz-Function-Error: Unhandled``; ``LogType:
  Tail`` gives the last 4 KB of the invocation's log in ``X-Amz-Log-Result``;
- ``Event`` queues the invocation (202) and Lambda's retries run it, twice more on error;
- ``DryRun`` checks only that the function exists (204).

Custom resources reach their functions the same way (``cloudformation.custom_resources``), and
so do functions that invoke other functions, such as aws-cdk-lib's Provider framework.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

from constructs_ses.local.lambda_runtime.file_names import store_name
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.runtime import LambdaRuntime

__all__ = ["LOG_TAIL_BYTES", "LocalFunctions", "install"]

LOG_TAIL_BYTES = 4096
"""How much of the log ``LogType: Tail`` returns ("Invoke": the last 4 KB)."""


@dataclass
class LocalFunctions:
    """Runs moto's functions in ``runtime``, their code unpacked under ``code_root``."""

    runtime: LambdaRuntime
    code_root: Path
    environment: dict[str, str] = field(default_factory=dict)
    """Variables every function gets besides its own (the custom resource answer receiver)."""

    def spec(self, function: LambdaFunction) -> FunctionSpec:
        """``function`` as the runtime runs it (its code unpacked once per version)."""
        version = function.code_sha_256[:16]
        code_dir = self.code_root / f"{store_name(function.function_name)}-{version}"
        if not code_dir.is_dir():
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(code_dir)
        return FunctionSpec(
            name=function.function_name,
            arn=function.function_arn,
            code_dir=code_dir,
            inline_code=None,
            handler=str(function.handler),
            timeout=float(function.timeout),
            environment={**function.environment_vars, **self.environment},
            memory_size=int(function.memory_size),
            runtime=function.run_time,
            reserved_concurrency=function.reserved_concurrency,
        )

    def invoke(
        self,
        function: LambdaFunction,
        body: str | bytes,
        request_headers: Mapping[str, str],
        response_headers: dict[str, str],
    ) -> bytes:
        """moto's ``LambdaFunction.invoke``: run ``function`` with the request's payload."""
        kind = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if kind == "DryRun":
            return b""
        event = json.loads(body) if body else {}
        spec = self.spec(function)
        if kind == "Event":
            self.runtime.invoke_event(spec, event)
            return b""
        result = self.runtime.invoke(spec, event)
        tail = result.logs.encode()[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        if result.error_payload is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(result.error_payload).encode()
        if isinstance(result.answer, bytes):
            return result.answer
        return json.dumps(result.answer).encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    found = headers.get(name)
    if found is None:
        lowered = {key.lower(): value for key, value in headers.items()}
        found = lowered.get(name.lower())
    return found


def install(runtime: LambdaRuntime, code_root: Path) -> LocalFunctions:
    """Have moto's ``Invoke`` run functions in ``runtime``; returns what runs them."""
    functions = LocalFunctions(runtime, code_root)

    def invoke(
        self: LambdaFunction, body: str, request_headers: Any, response_headers: Any
    ) -> bytes:
        return functions.invoke(self, body, request_headers, response_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    return functions
