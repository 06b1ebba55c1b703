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
import marshal
import math
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_ses.local.lambda_runtime.file_names import store_name
from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS, FunctionSpec
from constructs_ses.local.lambda_runtime.worker import (
    ANSWER,
    REQUEST,
    EventPath,
    decode_event,
    encode_event,
    encode_value,
    write_all,
)
from constructs_ses.local.lambda_runtime.zygote import WORKER, WorkerProcess, Zygote

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
_LOG_CHUNK = 1 << 16


class EncodedEvent(bytes):
    """An event encoded for the workers once (``of``) and sent as it is, every attempt."""

    __slots__ = ()

    @classmethod
    def of(
        cls,
        event: Any,
        *,
        json_types: bool = False,
        inserts: Iterable[tuple[EventPath, bytes]] = (),
    ) -> EncodedEvent:
        """``event`` as the function gets it: what JSON gives back (``worker.encode_event``;
        ``json_types``: it is built of JSON's types alone, so it goes as it is; ``inserts``:
        values many events share, each encoded once by ``worker.encode_value``, and where in
        this one they go)."""
        return cls(encode_event(event, json_types=json_types, inserts=inserts))

    @classmethod
    def of_any(cls, event: Any) -> EncodedEvent:
        """``event`` as it is when already encoded, otherwise ``of(event)``."""
        return event if isinstance(event, EncodedEvent) else cls.of(event)

    def decoded(self) -> Any:
        """A new copy of the event."""
        return decode_event(self)


class _LogFile:
    """A worker's log file, open for reading as long as an invocation whose lines it holds may
    be asked for them (the file itself goes with its worker)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self.position = 0
        """Where the lines of the worker's last invocation end."""

    def read(self, start: int, end: int | None = None) -> str:
        """Its text from ``start`` to ``end`` (None: to its end, which becomes ``position``)."""
        if end is not None:
            return os.pread(self._fd, end - start, start).decode(errors="replace")
        chunks = []
        while chunk := os.pread(self._fd, _LOG_CHUNK, start):
            chunks.append(chunk)
            start += len(chunk)
        self.position = start
        return b"".join(chunks).decode(errors="replace")


@dataclass
class _Lines:
    """Where an invocation's output lies in its worker's log, and what its REPORT line says."""

    log: _LogFile
    start: int
    end: int
    memory_size: int
    max_memory_mb: int | None
    init_ms: float | None


@dataclass
class InvokeResult:
    """One invocation of a function: its answer or error, and its log stream's lines."""

    request_id: str
    answer: Any = None
    error: str | None = None
    """``ErrorType: message`` for an error the function raised; Lambda's own wording for a
    timeout, a runtime failure or a throttle; None when it answered."""
    error_type: str | None = None
    """Lambda's ``errorType``: the exception's name, ``Sandbox.Timedout``,
    ``Runtime.ExitError``, ``Runtime.ImportModuleError``, ``Runtime.MarshalError``..."""
    duration_ms: float = 0.0
    _logs: str | None = field(default=None, repr=False, compare=False)
    _lines: _Lines | None = field(default=None, repr=False, compare=False)

    @property
    def logs(self) -> str:
        """Its lines as Lambda's log stream holds them: START, what the function and its
        children wrote and logged, END and REPORT; read from the worker's log when first asked
        for."""
        if self._logs is None:
            lines = self._lines
            self._logs = (
                ""
                if lines is None
                else _stream(
                    self,
                    lines.log.read(lines.start, lines.end),
                    lines.memory_size,
                    memory_mb=lines.max_memory_mb,
                    init_ms=lines.init_ms,
                )
            )
            self._lines = None
        return self._logs


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


class _Worker:
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
        self.lines = _LogFile(log)
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
class _Pool:
    """The workers of one function configuration."""

    limit: int
    problem: str | None
    """Why the function cannot run here; None when it can."""
    slots: queue.SimpleQueue[None]
    """One token for each worker it may have running at once."""
    events: ThreadPoolExecutor
    """Runs its Event invocations, as many at once as it has workers."""
    idle: list[_Worker] = field(default_factory=list)
    """Its warm workers, the most recently used last (``list.append`` and ``pop`` are atomic)."""
    task_root: Path | None = None
    """The copy of the function's code its workers run in, once the first has started."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while its task root is made."""


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
        self._pools: dict[tuple[object, ...], _Pool] = {}
        self._known: dict[int, tuple[FunctionSpec, _Pool]] = {}
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
            _close_idle(pool)
        self._zygote.close()

    def replace_workers(self) -> None:
        """End every function's workers, the idle ones now and the busy ones once their
        invocation ends: later invocations get new ones, with the ``aws_environment`` of then
        (a new local AWS's endpoint, say)."""
        with self._lock:
            self._generation += 1
            pools = list(self._pools.values())
        for pool in pools:
            _close_idle(pool)

    def _request_id(self) -> str:
        try:
            return self._request_ids.pop()
        except IndexError:
            self._request_ids.extend(_request_ids())
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

    def _pool(self, function: FunctionSpec) -> _Pool:
        """The function's workers: a function whose code or configuration changed (a redeploy
        in a local AWS) gets new ones, as Lambda starts new execution environments."""
        known = self._known.get(id(function))
        if known is not None and known[0] is function:
            return known[1]
        key = _configuration(function)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                reserved = function.reserved_concurrency
                limit = reserved if reserved is not None else self.default_concurrency
                slots: queue.SimpleQueue[None] = queue.SimpleQueue()
                for _ in range(limit):
                    slots.put(None)
                pool = self._pools[key] = _Pool(
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

    def _task_root(self, function: FunctionSpec, pool: _Pool) -> Path:
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

    def _give_back(self, pool: _Pool, worker: _Worker, *, alive: bool) -> None:
        """Keep a worker that lives for the next invocation; end it otherwise, and once the
        runtime is closed or its workers replaced (one given back meanwhile is ended here)."""
        if not alive or worker.generation != self._generation:
            worker.close()
            return
        pool.idle.append(worker)
        if self._closed or worker.generation != self._generation:
            _close_idle(pool)

    def _start(self, function: FunctionSpec, pool: _Pool) -> _Worker:
        generation = self._generation  # before the environment: a replacement meanwhile ends it
        code_dir = self._task_root(function, pool)
        stream = _log_stream_name()
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
        return _Worker(process, requests_write, answers_read, log, generation)

    def _run(
        self,
        function: FunctionSpec,
        pool: _Pool,
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
                    _log_now(result, worker, function)
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
                result._lines = _Lines(
                    worker.lines, start, end, function.memory_size, memory, init_ms
                )
            else:  # it ended, or cannot tell where its lines end: all it wrote is this one's
                _log_now(result, worker, function, memory_mb=memory, init_ms=init_ms)
        finally:
            self._give_back(pool, worker, alive=alive)
        return result

    def _init(self, worker: _Worker, result: InvokeResult) -> bool:
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


def _log_now(
    result: InvokeResult,
    worker: _Worker,
    function: FunctionSpec,
    *,
    memory_mb: int | None = None,
    init_ms: float | None = None,
) -> None:
    """Give ``result`` everything its worker wrote since its last invocation, read now."""
    output = worker.lines.read(worker.lines.position)
    result._logs = _stream(
        result, output, function.memory_size, memory_mb=memory_mb, init_ms=init_ms
    )


def _stream(
    result: InvokeResult,
    output: str,
    memory_size: int,
    *,
    memory_mb: int | None = None,
    init_ms: float | None = None,
) -> str:
    """An invocation's lines as Lambda's log stream holds them."""
    request_id = result.request_id
    if output and not output.endswith("\n"):
        output += "\n"
    if result.error_type == "Sandbox.Timedout":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        output += f"{stamp} {request_id} {result.error}\n"
    duration = result.duration_ms
    init = "" if init_ms is None else f"\tInit Duration: {init_ms:.2f} ms"
    return (
        f"START RequestId: {request_id} Version: $LATEST\n{output}END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {memory_mb if memory_mb is not None else '-'} MB{init}\n"
    )


def _close_idle(pool: _Pool) -> None:
    while True:
        try:
            worker = pool.idle.pop()
        except IndexError:
            return
        worker.close()


_VARIANTS = "89ab" * 4
"""The variant digit of a version 4 UUID for each value of a random hex digit."""


def _request_ids() -> list[str]:
    """64 request ids as Lambda's: random (version 4) UUIDs, from one read of randomness."""
    digits = os.urandom(16 * 64).hex()
    return [
        f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{_VARIANTS[int(d[16], 16)]}{d[17:20]}-{d[20:32]}"
        for d in (digits[start : start + 32] for start in range(0, len(digits), 32))
    ]


def _configuration(function: FunctionSpec) -> tuple[object, ...]:
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


def _log_stream_name() -> str:
    """A log stream name of Lambda's form: ``YYYY/MM/DD/[$LATEST]<32 hex digits>``."""
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


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
