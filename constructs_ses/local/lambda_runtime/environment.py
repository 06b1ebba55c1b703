"""The environment a function's execution environment starts with ("Defined runtime environment
variables", AWS Lambda Developer Guide), with the paths where the function sees its code, its
runtime, its layers and its interpreter (Lambda's own inside a sandbox, this machine's outside)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS, FunctionSpec

__all__ = ["Paths", "lambda_environment", "log_stream_name", "trace_id"]


@dataclass(frozen=True)
class Paths:
    """Where the function sees what Lambda gives it."""

    task_root: str
    """``LAMBDA_TASK_ROOT``: its code (``/var/task``)."""
    runtime_dir: str
    """``LAMBDA_RUNTIME_DIR``: the runtime's libraries (``/var/runtime``)."""
    opt: str
    """Its layers (``/opt``)."""
    lang: str
    """The language's installation (``/var/lang``)."""
    language_variables: tuple[tuple[str, str], ...] = ()
    """Variables of the runtime's language (``PYTHONPATH``, ``NODE_PATH``)."""


LAMBDA_PATHS = Paths(
    task_root="/var/task", runtime_dir="/var/runtime", opt="/opt", lang="/var/lang"
)
"""Lambda's own paths."""


def lambda_environment(
    function: FunctionSpec,
    paths: Paths,
    *,
    runtime_api: str,
    log_stream: str,
    runtime_name: str,
    aws: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The execution environment's variables: the function's own, then Lambda's reserved ones
    (which win, as Lambda refuses to let a function set them), then ``aws``: what reaches the
    local AWS (``AWS_ENDPOINT_URL`` and its credentials). ``runtime_name``: the runtime's
    identifier, such as ``python3.13``. ``_X_AMZN_TRACE_ID`` is set by the
    runtime client for each invocation, from its trace id header."""
    unreserved = {
        "LANG": "en_US.UTF-8",
        "PATH": ":".join(
            [f"{paths.lang}/bin", "/usr/local/bin", "/usr/bin", "/bin", f"{paths.opt}/bin"]
        ),
        "LD_LIBRARY_PATH": ":".join(
            [
                f"{paths.lang}/lib",
                "/lib64",
                "/usr/lib64",
                paths.runtime_dir,
                f"{paths.runtime_dir}/lib",
                paths.task_root,
                f"{paths.task_root}/lib",
                f"{paths.opt}/lib",
            ]
        ),
        **dict(paths.language_variables),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    }
    reserved = {
        "_HANDLER": function.handler,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime_name}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        **LOCAL_CREDENTIALS,
        "AWS_ACCESS_KEY": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "LAMBDA_TASK_ROOT": paths.task_root,
        "LAMBDA_RUNTIME_DIR": paths.runtime_dir,
        "TZ": ":UTC",
        **function.log_variables,
        # not Lambda's, but what keeps the developer's ~/.aws files out of reach
        "AWS_CONFIG_FILE": "/dev/null/no-aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null/no-aws-credentials",
    }
    return {**unreserved, **function.environment, **reserved, **(aws or {})}


def log_stream_name() -> str:
    """A log stream name of Lambda's form: ``YYYY/MM/DD/[$LATEST]<32 hex digits>``."""
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


def trace_id() -> str:
    """An X-Ray trace header of Lambda's form, not sampled: ``Root=1-<epoch hex>-<24 hex
    digits>;Parent=<16 hex digits>;Sampled=0`` ("Tracing header", AWS X-Ray Developer
    Guide)."""
    digits = os.urandom(20).hex()
    return f"Root=1-{int(time.time()):08x}-{digits[:24]};Parent={digits[24:]};Sampled=0"
