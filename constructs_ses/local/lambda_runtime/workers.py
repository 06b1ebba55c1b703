"""A function's worker processes as the runtime keeps them: each worker's pipes and log, the pool
of one function configuration, and the environment a worker starts with ("Defined runtime
environment variables", AWS Lambda Developer Guide)."""

from __future__ import annotations

import marshal
import math
import os
import queue
import select
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS, FunctionSpec
from constructs_ses.local.lambda_runtime.results import (
    EncodedEvent,
    InvokeResult,
    LogFile,
    log_stream,
)
from constructs_ses.local.lambda_runtime.worker import ANSWER, REQUEST, write_all
from constructs_ses.local.lambda_runtime.zygote import WORKER, WorkerProcess

__all__ = [
    "Pool",
    "Worker",
    "close_idle",
    "configuration",
    "lambda_environment",
    "log_now",
    "log_stream_name",
    "request_ids",
]


def lambda_environment(
    function: FunctionSpec,
    *,
    code_dir: Path,
    log_stream: str,
    python: str,
    aws: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a function's worker: its own variables, then Lambda's reserved ones
    (which win, as Lambda refuses to let a function set them), then ``aws``: what reaches the
    local AWS (``AWS_ENDPOINT_URL`` and its credentials)."""
    interpreter_dir = str(Path(python).parent)
    reserved = {
        "_HANDLER": function.handler,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime or 'python'}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        **LOCAL_CREDENTIALS,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
        "LANG": "en_US.UTF-8",
        "PATH": os.pathsep.join([interpreter_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "TZ": ":UTC",
        # not Lambda's, but what keeps the developer's ~/.aws files out of reach
        "AWS_CONFIG_FILE": str(code_dir / ".no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(code_dir / ".no-aws-credentials"),
    }
    return {**function.environment, **reserved, **(aws or {})}


class Worker:
    """One worker process: its pipes and its log file."""

    def __init__(
        self, process: WorkerProcess, requests: int, answers: int, log: Path, generation: int
    ) -> None:
        self.process = process
        self.log = log
        self.generation = generation
        """The runtime's ``replace_workers`` count when it started."""
        self._requests = requests
        self._answers = os.fdopen(answers, "rb")
        self._answer_ready = select.poll()
        self._answer_ready.register(answers, select.POLLIN)
        self.lines = LogFile(log)
        self.init_ms: float | None = None
        """The init phase's duration, until the first invocation reports it."""

    def send(self, request_id: str, event: EncodedEvent, deadline: float) -> bool:
        """Send one request (``request_id`` is a UUID); False if the worker's end of the pipe
        is closed (it exited)."""
        try:
            write_all(
                self._requests, REQUEST.pack(len(event), request_id.encode(), deadline) + event
            )
        except OSError:
            return False
        return True

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next answer; None past ``timeout`` seconds; ``{}`` when the process ended (its
        answer cut short included)."""
        if not self._answer_ready.poll(max(0, math.ceil(timeout * 1000))):
            return None
        head = self._answers.read(ANSWER.size)
        if len(head) < ANSWER.size:
            return {}
        (size,) = ANSWER.unpack(head)
        payload = self._answers.read(size)
        if len(payload) < size:
            return {}
        answer: dict[str, Any] = marshal.loads(payload)  # a worker's answer, as it sent it
        return answer

    def exit_code(self) -> int:
        try:
            return self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.wait()

    def kill(self) -> None:
        """Stop the worker and every process it started (its process group)."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        """End the worker: closing its requests pipe ends its loop; killed if it lingers."""
        os.close(self._requests)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(2)
        self.kill()
        self._answers.close()
        self.log.unlink(missing_ok=True)  # still readable for the invocations that hold it


@dataclass
class Pool:
    """The workers of one function configuration."""

    limit: int
    problem: str | None
    """Why the function cannot run here; None when it can."""
    slots: queue.SimpleQueue[None]
    """One token for each worker it may have running at once."""
    events: ThreadPoolExecutor
    """Runs its Event invocations, as many at once as it has workers."""
    idle: list[Worker] = field(default_factory=list)
    """Its warm workers, the most recently used last (``list.append`` and ``pop`` are atomic)."""
    task_root: Path | None = None
    """The copy of the function's code its workers run in, once the first has started."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while its task root is made."""


def log_now(
    result: InvokeResult,
    worker: Worker,
    function: FunctionSpec,
    *,
    memory_mb: int | None = None,
    init_ms: float | None = None,
) -> None:
    """Give ``result`` everything its worker wrote since its last invocation, read now."""
    output = worker.lines.read(worker.lines.position)
    result._logs = log_stream(
        result, output, function.memory_size, memory_mb=memory_mb, init_ms=init_ms
    )


def close_idle(pool: Pool) -> None:
    while True:
        try:
            worker = pool.idle.pop()
        except IndexError:
            return
        worker.close()


_VARIANTS = "89ab" * 4
"""The variant digit of a version 4 UUID for each value of a random hex digit."""


def request_ids() -> list[str]:
    """64 request ids as Lambda's: random (version 4) UUIDs, from one read of randomness."""
    digits = os.urandom(16 * 64).hex()
    return [
        f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{_VARIANTS[int(d[16], 16)]}{d[17:20]}-{d[20:32]}"
        for d in (digits[start : start + 32] for start in range(0, len(digits), 32))
    ]


def configuration(function: FunctionSpec) -> tuple[object, ...]:
    """What a worker of ``function`` is started with, and how many it may have."""
    return (
        function.name,
        function.code_dir,
        function.inline_code,
        function.handler,
        function.memory_size,
        function.runtime,
        function.reserved_concurrency,
        frozenset(function.environment.items()),
    )


def log_stream_name() -> str:
    """A log stream name of Lambda's form: ``YYYY/MM/DD/[$LATEST]<32 hex digits>``."""
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
