"""The local Lambda runtime: Python functions in warm worker processes of their own.

Each function runs its code in a task root of its own, with Lambda's environment, context, logs
(START, END, REPORT), timeouts, concurrency and Event retries, as the AWS Lambda Developer Guide
describes them (each point's page is named where it is emulated, ``runtime``); ``worker`` is the
process side, ``zygote`` the process that forks the workers.

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
