"""The local Lambda runtime: Python functions of a cloud assembly, run the way Lambda runs them.

What it reproduces, each from the Lambda developer guide:

- **Execution environments** ("Understanding the Lambda execution environment lifecycle"): each
  function gets warm worker processes of its own, up to its reserved concurrency
  (``ReservedConcurrentExecutions``) or ``DEFAULT_CONCURRENCY``; an invocation waits for a free
  one, so one function's slowness never holds up another's. The handler's module is imported
  once per worker (its init phase, reported as ``Init Duration``). Workers are forked from one
  process per runtime (``zygote``), each in a session of its own.
- **Timeouts** ("Configure Lambda function timeout"): at the deadline the worker and every process
  it started are killed; the error is ``Task timed out after N.NN seconds``, and the next
  invocation gets a fresh worker. A worker that exits is reported as Lambda reports it
  (``Runtime exited with error: exit status N``) and replaced.
- **Logs** ("Log and monitor Python Lambda functions"): everything the function and its children
  write to stdout or stderr, and its log records (Lambda's format), between ``START``, ``END`` and
  ``REPORT`` lines; answers travel on a pipe of their own, never mixed with output.
- **Task root** ("Defined runtime environment variables", ``LAMBDA_TASK_ROOT``): each function
  configuration runs in a copy of its code of its own, made in the scratch directory when its
  first worker starts, so nothing the function writes there (nor Python's bytecode) reaches
  the cloud assembly or another function sharing its asset.
- **Environment** ("Defined runtime environment variables"): the function's variables and Lambda's
  reserved ones, never the host's: no credentials, profile or configuration of the developer
  (the AWS variables hold local stand-ins, the shared AWS files are hidden).
- **Context** ("Using the Lambda context object"): the function's name and ARN, memory size, log
  group and stream, and the remaining time counting down from the timeout.
- **Asynchronous invocation** ("Error handling and automatic retries"): a failed Event
  invocation is retried twice, after delays that are shorter here (``EVENT_RETRY_DELAYS``: 1 and
  2 seconds instead of about 1 and 2 minutes).

What it does not: memory is reported (``Max Memory Used``), not limited; the function runs with
this machine's Python (``python=``), with a warning when its runtime names another version; only
Python runtimes run.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from constructs_ses.local.lambda_runtime.file_names import store_name
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.results import EncodedEvent, InvokeResult, LogLines
from constructs_ses.local.lambda_runtime.worker import encode_value
from constructs_ses.local.lambda_runtime.workers import (
    Pool,
    Worker,
    close_idle,
    configuration,
    lambda_environment,
    log_now,
    log_stream_name,
    request_ids,
)
from constructs_ses.local.lambda_runtime.zygote import Zygote

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EVENT_RETRY_DELAYS",
    "EncodedEvent",
    "InvokeResult",
    "LambdaRuntime",
    "encode_value",
    "lambda_environment",
]

LOGGER = logging.getLogger("constructs_ses.local")
DEFAULT_CONCURRENCY = 10
"""Workers per function when it reserves no concurrency of its own."""
EVENT_RETRY_DELAYS = (1.0, 2.0)
"""Seconds before the two retries of a failed Event invocation (Lambda: about 1 and 2 minutes)."""
INIT_TIMEOUT_SECONDS = 10.0
"""Lambda's limit on a function's init phase."""
_KNOWN_FUNCTIONS = 256
"""How many ``FunctionSpec`` objects the runtime remembers the pool of (then it forgets them
all and finds each pool again by its configuration)."""


class LambdaRuntime:
    """Runs the Python Lambda functions of an assembly in local workers (see the module).

    :param scratch_dir: where the functions' task roots (copies of their code) and worker
        logs are written.
    :param python: the interpreter that runs functions. Default: this one.
    :param default_concurrency: workers per function without reserved concurrency.
    :param event_retry_delays: seconds before each retry of a failed Event invocation.
    :param aws_environment: gives the variables with which functions reach a local AWS
        (``AWS_ENDPOINT_URL``, credentials), asked for when a worker starts. Default: none; the
        credentials are stand-ins that reach nothing.
    """

    def __init__(
        self,
        scratch_dir: Path,
        *,
        python: str | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        event_retry_delays: Sequence[float] = EVENT_RETRY_DELAYS,
        aws_environment: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        if default_concurrency < 1:
            raise ValueError(f"default_concurrency={default_concurrency!r} must be 1 or more")
        self.scratch_dir = scratch_dir
        self.python = python or sys.executable
        self.default_concurrency = default_concurrency
        self.event_retry_delays = tuple(event_retry_delays)
        self._aws_environment = aws_environment
        self._pools: dict[tuple[object, ...], Pool] = {}
        self._known: dict[int, tuple[FunctionSpec, Pool]] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        """How many times ``replace_workers`` was called: workers started before are ended."""
        self._version = _interpreter_version(self.python)
        self._zygote = Zygote(self.python)
        self._request_ids: list[str] = []
        """Request ids made ahead (``list.pop`` and ``extend`` are atomic)."""

    def invoke(
        self, function: FunctionSpec, event: Any, *, timeout: float | None = None
    ) -> InvokeResult:
        """Invoke ``function`` synchronously (RequestResponse) with ``event``: anything JSON
        holds (the function gets what JSON gives back; TypeError or ValueError otherwise), or an
        ``EncodedEvent``.

        :param timeout: seconds it may run. Default: the function's timeout.
        """
        encoded = EncodedEvent.of_any(event)
        seconds = function.timeout if timeout is None else timeout
        request_id = self._request_id()
        pool = self._pool(function)
        if pool.problem is not None:
            return InvokeResult(request_id, error=pool.problem, error_type="Runtime.InvalidRuntime")
        if pool.limit == 0:
            return InvokeResult(
                request_id,
                error="Rate Exceeded. (the function's reserved concurrency is 0)",
                error_type="TooManyRequestsException",
            )
        pool.slots.get()
        try:
            return self._run(function, pool, request_id, encoded, seconds)
        finally:
            pool.slots.put(None)

    def invoke_event(
        self,
        function: FunctionSpec,
        event: Any,
        on_attempt: Callable[[InvokeResult], None] | None = None,
    ) -> Future[list[InvokeResult]]:
        """Invoke ``function`` asynchronously (Event) with ``event`` (as ``invoke`` takes it):
        retried twice on error, as Lambda does.

        :param on_attempt: called with the result of each attempt as it ends.
        :returns: the results of every attempt, once the last has ended.
        """
        encoded = EncodedEvent.of_any(event)
        return self._pool(function).events.submit(
            self._event_attempts, function, encoded, on_attempt
        )

    def close(self) -> None:
        """Wait for Event invocations, then end every worker."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            pool.events.shutdown(wait=True)
        for pool in pools:
            close_idle(pool)
        self._zygote.close()

    def replace_workers(self) -> None:
        """End every function's workers, the idle ones now and the busy ones once their
        invocation ends: later invocations get new ones, with the ``aws_environment`` of then
        (a new local AWS's endpoint, say)."""
        with self._lock:
            self._generation += 1
            pools = list(self._pools.values())
        for pool in pools:
            close_idle(pool)

    def _request_id(self) -> str:
        try:
            return self._request_ids.pop()
        except IndexError:
            self._request_ids.extend(request_ids())
            return self._request_ids.pop()

    def _event_attempts(
        self,
        function: FunctionSpec,
        event: EncodedEvent,
        on_attempt: Callable[[InvokeResult], None] | None,
    ) -> list[InvokeResult]:
        results: list[InvokeResult] = []
        for delay in (0.0, *self.event_retry_delays):
            time.sleep(delay)
            result = self.invoke(function, event)
            results.append(result)
            if on_attempt is not None:
                on_attempt(result)
            if result.error is None:
                break
        return results

    def _pool(self, function: FunctionSpec) -> Pool:
        """The function's workers: a function whose code or configuration changed (a redeploy
        in a local AWS) gets new ones, as Lambda starts new execution environments."""
        known = self._known.get(id(function))
        if known is not None and known[0] is function:
            return known[1]
        key = configuration(function)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                reserved = function.reserved_concurrency
                limit = reserved if reserved is not None else self.default_concurrency
                slots: queue.SimpleQueue[None] = queue.SimpleQueue()
                for _ in range(limit):
                    slots.put(None)
                pool = self._pools[key] = Pool(
                    limit,
                    self._unrunnable(function),
                    slots,
                    events=ThreadPoolExecutor(
                        max_workers=max(1, limit), thread_name_prefix=f"event-{function.name}"
                    ),
                )
            if len(self._known) >= _KNOWN_FUNCTIONS:
                self._known.clear()
            self._known[id(function)] = (function, pool)
            return pool

    def _unrunnable(self, function: FunctionSpec) -> str | None:
        """Why ``function`` cannot run here; warns once when its Python is not this one. Called
        with the lock held, once per configuration."""
        if function.inline_code is None and function.code_dir is None:
            return f"function {function.name} has no code in the assembly"
        runtime = function.runtime
        if runtime is not None and not runtime.startswith("python"):
            return f"the {runtime} runtime cannot run locally: only Python functions run"
        wanted = runtime.removeprefix("python") if runtime is not None else self._version
        warn = wanted != self._version and wanted not in self._warned
        self._warned.add(wanted)
        if warn:
            LOGGER.warning(
                "functions with runtime %s run locally with Python %s (%s); choose another "
                "interpreter with python= or --python",
                runtime,
                self._version,
                self.python,
            )
        return None

    def _task_root(self, function: FunctionSpec, pool: Pool) -> Path:
        """The pool's own copy of the function's code (``LAMBDA_TASK_ROOT`` and the workers'
        cwd), made when its first worker starts: what the function, or Python writing bytecode,
        writes there reaches neither the assembly nor another configuration."""
        with pool.lock:
            if pool.task_root is None:
                name = f"{store_name(function.name)}-{uuid.uuid4().hex[:12]}"
                root = self.scratch_dir / "task" / name
                if function.code_dir is not None:
                    shutil.copytree(function.code_dir, root, symlinks=True)
                else:
                    root.mkdir(parents=True)
                    (root / "index.py").write_text(function.inline_code or "")
                pool.task_root = root
            return pool.task_root

    def _give_back(self, pool: Pool, worker: Worker, *, alive: bool) -> None:
        """Keep a worker that lives for the next invocation; end it otherwise, and once the
        runtime is closed or its workers replaced (one given back meanwhile is ended here)."""
        if not alive or worker.generation != self._generation:
            worker.close()
            return
        pool.idle.append(worker)
        if self._closed or worker.generation != self._generation:
            close_idle(pool)

    def _start(self, function: FunctionSpec, pool: Pool) -> Worker:
        generation = self._generation  # before the environment: a replacement meanwhile ends it
        code_dir = self._task_root(function, pool)
        stream = log_stream_name()
        logs = self.scratch_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{store_name(function.name)}-{uuid.uuid4().hex[:12]}.log"
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        setup = {
            "handler": function.handler,
            "function_name": function.name,
            "function_version": "$LATEST",
            "invoked_function_arn": function.arn,
            "memory_limit_in_mb": function.memory_size,
            "log_group_name": function.log_group_name,
            "log_stream_name": stream,
        }
        environment = lambda_environment(
            function,
            code_dir=code_dir,
            log_stream=stream,
            python=self.python,
            aws=self._aws_environment() if self._aws_environment else None,
        )
        try:
            with log.open("wb") as output:
                process = self._zygote.fork(
                    setup=setup,
                    environment=environment,
                    cwd=code_dir,
                    requests=requests_read,
                    answers=answers_write,
                    log=output.fileno(),
                )
        except BaseException:
            os.close(requests_write)
            os.close(answers_read)
            raise
        finally:
            os.close(requests_read)
            os.close(answers_write)
        return Worker(process, requests_write, answers_read, log, generation)

    def _run(
        self,
        function: FunctionSpec,
        pool: Pool,
        request_id: str,
        event: EncodedEvent,
        timeout: float,
    ) -> InvokeResult:
        result = InvokeResult(request_id)
        try:
            worker = pool.idle.pop()
        except IndexError:
            worker = self._start(function, pool)
        alive = False
        try:
            while True:
                cold = worker.init_ms is None
                if cold and not self._init(worker, result):
                    log_now(result, worker, function)
                    return result
                started = time.monotonic()
                sent = worker.send(request_id, event, time.time() + timeout)
                if sent or cold:
                    break
                # it ended while idle: Lambda gives the invocation a new execution environment
                worker.close()
                worker = self._start(function, pool)
            answer = worker.receive(timeout) if sent else {}
            result.duration_ms = (time.monotonic() - started) * 1000
            if answer is None:
                worker.kill()
                result.error = f"Task timed out after {timeout:.2f} seconds"
                result.error_type = "Sandbox.Timedout"
            elif not answer:
                code = worker.exit_code()
                result.error = f"Runtime exited with error: exit status {code}"
                result.error_type = "Runtime.ExitError"
            else:
                alive = True
                error = answer.get("error")
                if error is not None:
                    result.error_type = str(error.get("errorType"))
                    result.error = f"{result.error_type}: {error.get('errorMessage')}"
                else:
                    result.answer = answer.get("result")
            memory = answer.get("max_rss_mb") if answer else None
            init_ms = worker.init_ms if cold else None
            end = answer.get("log_end") if answer else None
            if isinstance(end, int) and end >= worker.lines.position:
                start, worker.lines.position = worker.lines.position, end
                result._lines = LogLines(
                    worker.lines, start, end, function.memory_size, memory, init_ms
                )
            else:  # it ended, or cannot tell where its lines end: all it wrote is this one's
                log_now(result, worker, function, memory_mb=memory, init_ms=init_ms)
        finally:
            self._give_back(pool, worker, alive=alive)
        return result

    def _init(self, worker: Worker, result: InvokeResult) -> bool:
        """Wait for the worker's init phase; False (with the error in ``result``) if it failed."""
        ready = worker.receive(INIT_TIMEOUT_SECONDS)
        if ready is None:
            worker.kill()
            result.error = f"Init timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds"
            result.error_type = "Sandbox.Timedout"
            return False
        if not ready.get("ready"):
            error = ready.get("error") or {}
            result.error_type = str(error.get("errorType", "Runtime.ExitError"))
            message = error.get("errorMessage") or f"exit status {worker.exit_code()}"
            result.error = f"{result.error_type}: {message}"
            return False
        worker.init_ms = float(ready.get("init_ms", 0.0))
        return True


_VERSION = re.compile(r"[0-9]+\.[0-9]+")


def _interpreter_version(python: str) -> str:
    """``3.11`` for the interpreter at ``python``."""
    if python == sys.executable:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        found = subprocess.run(
            [python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except OSError as error:
        raise ValueError(f"python={python!r} does not run: {error}") from None
    if found.returncode != 0:
        why = found.stderr.strip() or f"exit status {found.returncode}"
        raise ValueError(f"python={python!r} does not run: {why}")
    version = found.stdout.strip()
    if not _VERSION.fullmatch(version):
        raise ValueError(
            f"python={python!r} does not run Python: asked for its version, it printed "
            f"{version[:80]!r}"
        )
    return version
