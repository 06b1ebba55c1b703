"""The local Lambda runtime: functions run under AWS's own runtime interface client against a
local Lambda Runtime API, each execution environment in a sandbox where one can be had.

``runtime`` is the part the flow and the local AWS use (``LambdaRuntime``); ``runtime_api``
serves the Runtime API, ``python`` starts Python's runtime client, ``sandbox`` places the
processes, ``environment`` gives them Lambda's variables (each point's AWS page is named where it
is emulated).

May import: nothing else of ``constructs_ses.local`` (the flow and the local AWS use it).
"""

from constructs_ses.local.lambda_runtime.runtime import (
    DEFAULT_CONCURRENCY,
    EVENT_RETRY_DELAYS,
    EncodedEvent,
    InvokeResult,
    LambdaRuntime,
    encode_value,
    lambda_environment,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EVENT_RETRY_DELAYS",
    "EncodedEvent",
    "InvokeResult",
    "LambdaRuntime",
    "encode_value",
    "lambda_environment",
]
