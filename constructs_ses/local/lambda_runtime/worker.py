"""The local runtime's Lambda execution environments, each a process of its own.

``python -I -u worker.py --zygote FD`` starts the process that makes them: it imports what a
Python runtime imports before the function (the standard library modules below, as Lambda's
runtime interface client does), then, for each request on the Unix socket ``FD`` (the worker's
setup as JSON, with its request pipe, answer pipe, log file and status pipe attached), forks a
watcher that forks the worker and writes the worker's pid, then its exit status, to the status
pipe. Its forks share the interpreter it started, pages included, until they write to them.

It stays one module: run as a script by its path, it could import a module of its own beside it
only by putting its directory on the function's path, where the function's modules would meet it.

A worker runs with the standard library alone, in the function's code directory, in a session of
its own, with Lambda's environment and nothing else (see ``lambda_runtime``); its stdout and
stderr are the log file. It talks to the runtime over two pipes of its own, so nothing the handler
or its child processes write to stdout or stderr (the invocation's logs) can be taken for an
answer; neither pipe is inherited by child processes.

Both pipes carry frames: a header (``REQUEST`` or ``ANSWER``) and a ``marshal`` payload. Lambda
hands a function its event decoded from JSON and returns its answer encoded as JSON; both sides
here hold only what JSON holds (the runtime passes events through JSON unless they are built of
its types alone, ``encode_event``; answers go through JSON unless they are, ``_as_json``), so
the handler and the runtime see what JSON would have given them, decoded in half the time; a
part that many events share (SES's ``mail`` object) is encoded once for all of them.

- Init, as Lambda's init phase: the handler's module is imported once; then one answer goes to
  the runtime, ``{"ready": True, "init_ms": ...}`` or ``{"ready": False, "error": {...}}``.
- Each request (its id, deadline in epoch seconds, and event) gets one answer ``{"id",
  "result", "max_rss_mb", "log_end"}`` or ``{"id", "error": {"errorMessage", "errorType",
  "stackTrace"}, "max_rss_mb", "log_end"}`` (the error in the shape of Lambda's error response;
  ``log_end``: where the log's text ends, so the runtime can read an invocation's lines when
  they are asked for).

Timeouts are not this process's business: the runtime kills it at the deadline, as Lambda does;
its watcher then ends every process it started (``_end_descendants``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import json
import logging
import marshal
import os
import resource
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, NoReturn

LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
"""The Python runtime's log line (Lambda developer guide, "Log and monitor Python Lambda
functions")."""


class Context:
    """Lambda's context object (Lambda developer guide, "Using the Lambda context object to
    retrieve Python function information"). What is the function's is set once, on the class
    (``configure``); each invocation's object holds its request id and deadline."""

    function_name = ""
    function_version = "$LATEST"
    invoked_function_arn = ""
    memory_limit_in_mb = 128
    log_group_name = ""
    log_stream_name = ""
    identity = None
    client_context = None

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self._deadline = deadline

    @classmethod
    def configure(cls, setup: dict[str, Any]) -> None:
        """The function's settings, from the worker's ``SETUP``."""
        cls.function_name = str(setup["function_name"])
        cls.function_version = str(setup["function_version"])
        cls.invoked_function_arn = str(setup["invoked_function_arn"])
        cls.memory_limit_in_mb = int(setup["memory_limit_in_mb"])
        cls.log_group_name = str(setup["log_group_name"])
        cls.log_stream_name = str(setup["log_stream_name"])

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        return max(0, int((self._deadline - time.time()) * 1000))


@functools.lru_cache(maxsize=1)
def utc_second(second: int) -> str:
    """The epoch second ``second`` in UTC, ``2026-11-23T20:32:33``: made once a second, as log
    lines and receipts ask for the same one many times (``strftime`` is a good share of their
    cost)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class _LogFormatter(logging.Formatter):
    """Lambda's log line (``LOG_FORMAT``), written straight rather than through a format string,
    its time in UTC (``utc_second``)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return utc_second(int(record.created))

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        line = (
            f"[{record.levelname}]\t{self.formatTime(record)}.{int(record.msecs):03d}Z\t"
            f"{getattr(record, 'aws_request_id', '')}\t{record.message}"
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for more in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if more:  # after a line break, as logging.Formatter adds them
                separator = "" if line.endswith("\n") else "\n"
                line = f"{line}{separator}{more}"
        return line


class _LogHandler(logging.Handler):
    """The Python runtime's log handler on the root logger: a plain ``logging.Handler`` (as the
    runtime interface client's ``LambdaLoggerHandler``) that writes each record, as Lambda's
    line, to the log itself rather than through ``sys.stdout`` and its layers."""

    def __init__(self, log: int) -> None:
        super().__init__()
        self.log = log
        self.setFormatter(_LogFormatter(LOG_FORMAT))
        self.addFilter(_RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_all(self.log, self.format(record) + "\n")
        except Exception:  # as logging.StreamHandler: reported, never the function's error
            self.handleError(record)


class _RequestIdFilter(logging.Filter):
    """Gives every log record the request id of the invocation running."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _load(handler: str) -> Callable[..., Any]:
    """The handler function, importing its module (Lambda's init)."""
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise _InitError(
            f"Unable to import module '{module_name}': {error}", "Runtime.ImportModuleError"
        ) from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitError(
            f"Handler '{function_name}' missing on module '{module_name}'",
            "Runtime.HandlerNotFound",
        )
    return function  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def write_all(channel: int, data: str | bytes) -> None:
    """Write all of ``data`` (text: as UTF-8) to the file descriptor ``channel``."""
    if isinstance(data, str):
        data = data.encode()
    while data:
        data = data[os.write(channel, data) :]


def _max_rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024) + 1


def _log_end(log: int) -> int | None:
    """Where the log's text ends: ``log`` shares its offset with fd 1 and 2 and every child's
    (None when that cannot be told, as when the function closed it)."""
    try:
        return os.lseek(log, 0, os.SEEK_CUR)
    except OSError:
        return None


def _invoke(function: Callable[..., Any], request: dict[str, Any], log: int) -> dict[str, Any]:
    request_id = str(request["id"])
    _RequestIdFilter.request_id = request_id
    context = Context(request_id, float(request["deadline"]))
    answer: dict[str, Any] = {"id": request_id}
    try:
        result = function(request["event"], context)
    except Exception as error:
        answer["error"] = _error(error)
        # as the Python runtime logs an uncaught error
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stdout)
        traceback.print_exc(file=sys.stdout)
    else:
        answer["result"] = result
    sys.stdout.flush()
    sys.stderr.flush()
    answer["max_rss_mb"] = _max_rss_mb()
    answer["log_end"] = _log_end(log)
    return answer


MARSHAL_VERSION = 4
"""The ``marshal`` format of both pipes: every Python since 3.4 reads it, whatever Python the
runtime and the worker each run."""
REQUEST = struct.Struct("<I36sd")
"""A request's header: its event's length, its request id (a UUID) and its deadline (epoch
seconds); the event (``encode_event``) follows."""
ANSWER = struct.Struct("<I")
"""An answer's header: its length; the answer, ``marshal``-encoded, follows."""
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_FLAT_FIELDS = 16

EventPath = tuple[str | int, ...]
"""Where a value sits in an event: its keys and list indexes, from the top."""


def encode_value(value: Any) -> bytes:
    """``value``, built of JSON's types alone (dicts with string keys, lists, strings, numbers,
    booleans, None), encoded once for the many events that hold it (``encode_event``)."""
    return marshal.dumps(value, MARSHAL_VERSION)


def encode_event(
    event: Any, *, json_types: bool = False, inserts: Iterable[tuple[EventPath, bytes]] = ()
) -> bytes:
    """``event`` as a request carries it, as JSON would give it back (``json.loads`` of
    ``json.dumps``: TypeError or ValueError for an event JSON cannot hold), encoded straight when
    ``json_types`` says it is built of JSON's types alone; ``inserts``: values already encoded
    (``encode_value``), each set at its path in the event when it is decoded."""
    value = event if json_types else json.loads(json.dumps(event))
    return marshal.dumps((value, tuple(inserts)), MARSHAL_VERSION)


def decode_event(data: bytes) -> Any:
    """The event ``encode_event`` encoded, a new copy of it each time."""
    event, inserts = marshal.loads(data)
    for path, value in inserts:
        node = event
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = marshal.loads(value)
    return event


def _as_json(result: Any) -> Any:
    """``result`` as Lambda's caller gets it: ``json.loads(json.dumps(result))`` (TypeError or
    ValueError when JSON cannot hold it), without the round trip for None, a JSON scalar or a
    small flat dict of them with string keys (what a handler answers SES)."""
    kind = type(result)
    if kind in _JSON_SCALARS:
        return result
    if (
        kind is dict
        and len(result) <= _FLAT_FIELDS
        and all(type(k) is str and type(v) in _JSON_SCALARS for k, v in result.items())
    ):
        return result
    return json.loads(json.dumps(result))


def _framed(answer: dict[str, Any]) -> bytes:
    payload = marshal.dumps(answer, MARSHAL_VERSION)
    return ANSWER.pack(len(payload)) + payload


def _encoded(answer: dict[str, Any]) -> bytes:
    """The answer as a frame; a result JSON cannot hold becomes Lambda's marshal error."""
    if "result" in answer:
        try:
            answer["result"] = _as_json(answer["result"])
        except (TypeError, ValueError) as error:
            del answer["result"]
            message = Exception(f"Unable to marshal response: {error}")
            answer["error"] = _error(message, "Runtime.MarshalError")
    return _framed(answer)


def _requests(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The requests on ``stream``, until it ends."""
    while len(head := stream.read(REQUEST.size)) == REQUEST.size:
        size, request_id, deadline = REQUEST.unpack(head)
        event = stream.read(size)
        if len(event) < size:
            return
        yield {"id": request_id.decode(), "deadline": deadline, "event": decode_event(event)}


def main(setup: dict[str, Any]) -> int:
    """Run one worker: its init, then one answer for each request, until the requests end."""
    requests, answers = int(setup["requests_fd"]), int(setup["answers_fd"])
    for channel in (requests, answers):
        os.set_inheritable(channel, False)
    log = os.dup(1)  # the log's offset, whatever the function does with fd 1 (not inherited)
    sys.path.insert(0, os.getcwd())
    Context.configure(setup)
    logging.getLogger().addHandler(_LogHandler(log))
    started = time.perf_counter()
    try:
        function = _load(str(setup["handler"]))
    except _InitError as error:
        print(f"[ERROR] {error.error_type}: {error}", file=sys.stdout)
        sys.stdout.flush()
        write_all(answers, _encoded({"ready": False, "error": _error(error, error.error_type)}))
        return 1
    write_all(answers, _encoded({"ready": True, "init_ms": (time.perf_counter() - started) * 1000}))
    with os.fdopen(requests, "rb") as stream:
        for request in _requests(stream):
            write_all(answers, _encoded(_invoke(function, request, log)))
    return 0


def _zygote(control: int) -> int:
    """Fork a watched worker for each request until the runtime closes its end."""
    channel = socket.socket(fileno=control)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 4)
        except OSError:
            return 0
        if not message:
            return 0
        _reap()
        if os.fork() == 0:
            channel.close()
            _watch(json.loads(message), fds)
        for fd in fds:
            os.close(fd)


def _reap() -> None:
    """Collect the watchers that ended (each ends with its worker)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _watch(request: dict[str, Any], fds: list[int]) -> NoReturn:
    """Fork the worker, then report its pid and, once it ended and every process it started
    has ended too, its exit status (negative: the signal that ended it) on the status pipe."""
    requests, answers, log, status = fds
    _adopt_orphans()
    pid = os.fork()
    if pid == 0:
        os.close(status)
        _become_worker(request, requests, answers, log)
    for fd in (requests, answers, log):
        os.close(fd)
    os.write(status, f"{pid}\n".encode())
    _, wait_status = os.waitpid(pid, 0)
    _end_descendants()
    os.write(status, f"{os.waitstatus_to_exitcode(wait_status)}\n".encode())
    os._exit(0)


_PR_SET_CHILD_SUBREAPER = 36
"""Linux's ``prctl`` option that makes a process the parent of its descendants' orphans."""


def _adopt_orphans() -> None:
    """Become the parent of every process the worker starts once that process's own parent
    has ended (Linux's child subreaper), so that a process in a session or process group of its
    own, or a daemon that forked twice, is still found when the worker ends. Elsewhere only the
    worker's process group is ended with it."""
    if sys.platform != "linux":
        return
    import ctypes  # noqa: PLC0415 (the watcher's alone: the worker does not get it imported)

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _end_descendants() -> None:
    """Kill what the worker left running, as Lambda ends an execution environment with every
    process in it: each child of this process (the worker's orphans, adopted), again as their
    own orphans are adopted in turn, until none is left."""
    while True:
        for pid in _children(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _children(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (none where there is no ``/proc``)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue  # it ended while the others were read
            if len(fields) > 1 and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def _become_worker(request: dict[str, Any], requests: int, answers: int, log: int) -> NoReturn:
    """The worker: its own session, directory, stdio and environment, then ``main``; it exits as
    the interpreter would (``sys.exit``'s code, exit handlers run)."""
    os.setsid()
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in (null, log):
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["environment"])
    time.tzset()
    sys.argv = [__file__]
    code = 1
    try:
        code = main({**request["setup"], "requests_fd": requests, "answers_fd": answers})
    except SystemExit as exit_request:
        code = _exit_code(exit_request.code)
    except BaseException:  # as the interpreter reports an uncaught exception
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    """The exit status of ``sys.exit(code)``: a message is printed and exits 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1:2] != ["--zygote"]:
        sys.exit("usage: python -I -u worker.py --zygote FD")
    sys.exit(_zygote(int(sys.argv[2])))
