"""A warm Lambda container for the local mail flow: ``python worker.py``, one function per process.

Each line on standard input is a request ``{"handler", "event", "function_name", "timeout"}``;
each answer is one line on standard output: ``{"result": ..., "logs": ...}`` or
``{"error": ..., "type": ..., "logs": ...}``. The handler's module is imported once, at the first
request, as Lambda keeps it between invocations of a warm container; what the handler prints or
logs during an invocation is returned as its logs. The code directory is the working directory.
Runs with the standard library alone.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


class Context:
    """The parts of Lambda's context object handlers use."""

    def __init__(self, function_name: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = f"local-{time.time_ns()}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionTimeoutError(Exception):
    """The function ran past its timeout."""


def _time_out(signum: int, frame: object) -> None:
    raise FunctionTimeoutError


def _function(handler: str) -> Callable[..., Any]:
    module_name, _, function_name = handler.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    return function


def invoke(request: dict[str, Any], log_handler: logging.StreamHandler[Any]) -> dict[str, Any]:
    """Run one invocation; its prints and log records become the answer's logs."""
    logs = io.StringIO()
    log_handler.setStream(logs)
    timeout = float(request["timeout"])
    answer: dict[str, Any]
    with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
        try:
            function = _function(request["handler"])
            context = Context(request["function_name"], timeout)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                answer = {"result": function(request["event"], context)}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            json.dumps(answer)
        except FunctionTimeoutError:
            answer = {"error": f"timed out after {timeout:g} seconds", "type": "Timeout"}
        except Exception as error:
            traceback.print_exc()
            answer = {"error": str(error), "type": type(error).__name__}
    answer["logs"] = logs.getvalue()
    return answer


def main() -> int:
    sys.path.insert(0, os.getcwd())
    signal.signal(signal.SIGALRM, _time_out)
    log_handler: logging.StreamHandler[Any] = logging.StreamHandler(sys.stderr)
    log_handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[log_handler])
    answers = sys.stdout
    for line in sys.stdin:
        answer = invoke(json.loads(line), log_handler)
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
