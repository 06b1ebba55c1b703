"""Runs one Lambda invocation in its own process: ``python worker.py`` with a JSON request.

The request on standard input: ``{"code_dir", "handler", "event", "function_name", "timeout"}``.
The answer on standard output: ``{"result": ...}`` or ``{"error": ..., "type": ...}``. What the
handler prints or logs goes to standard error, as Lambda sends it to CloudWatch Logs. Runs with
the standard library alone, so the handler sees only what its own code dir and environment give.
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import sys
import time
import traceback
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


def main() -> int:
    request = json.loads(sys.stdin.read())
    answer_stream = sys.stdout
    sys.stdout = sys.stderr  # the handler's prints are logs, not the answer
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    answer: dict[str, Any]
    try:
        sys.path.insert(0, request["code_dir"])
        module_name, _, function_name = request["handler"].rpartition(".")
        function = getattr(importlib.import_module(module_name), function_name)
        timeout = float(request["timeout"])
        context = Context(request["function_name"], timeout)
        signal.signal(signal.SIGALRM, _time_out)
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
    answer_stream.write(json.dumps(answer, default=str))
    answer_stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
