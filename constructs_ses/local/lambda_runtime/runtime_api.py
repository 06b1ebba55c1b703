"""A local Lambda Runtime API: the HTTP API through which a runtime client (``awslambdaric``, or
any other runtime's) gets its invocations and answers them ("Using the Lambda runtime API for
custom runtimes", AWS Lambda Developer Guide).

One ``RuntimeApi`` serves one execution environment on a port of its own (the client reads the
address from ``AWS_LAMBDA_RUNTIME_API``). Nothing here knows the runtime's language: it speaks
the documented paths and headers alone. It is driven by the thread that invokes the function, so
an invocation costs no thread hand-over:

- ``GET /2018-06-01/runtime/invocation/next`` is held until ``invoke`` answers it with the event
  (``Content-Type: application/json`` always: Python's native client crashes without one) and
  the request id, deadline, function ARN, trace id, client context and Cognito identity headers;
- ``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../error`` end the invocation
  (``202``); an unknown id is ``400``, a response over ``RESPONSE_LIMIT`` ``413``;
- ``POST /2018-06-01/runtime/init/error`` reports a failed init (``202``; ``403`` once init is
  over);
- anything else is ``404``.

A client that went away while it waited for ``next`` (its connection closed) is never handed an
invocation: ``invoke`` reports it, and the invocation goes to a new execution environment.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RESPONSE_LIMIT",
    "Answered",
    "Ended",
    "Failed",
    "InitFailed",
    "Ready",
    "RuntimeApi",
    "TimedOut",
    "TooLarge",
]

RESPONSE_LIMIT = 6 * 1024 * 1024
"""Lambda's limit on a synchronous invocation's response ("Lambda quotas": 6 MB)."""
_PREFIX = "/2018-06-01/runtime/"
_NEXT = _PREFIX + "invocation/next"
_INIT_ERROR = _PREFIX + "init/error"
_HEAD_LIMIT = 64 * 1024
_READ = 1 << 16
_POLL_SECONDS = 0.05
"""How often the process is checked where its exit cannot be waited for (no pidfd)."""


@dataclass(frozen=True)
class Ready:
    """The client asked for its next invocation."""


@dataclass(frozen=True)
class Answered:
    """The invocation's response, as the client posted it."""

    body: bytes
    content_type: str


@dataclass(frozen=True)
class Failed:
    """The invocation's error, as the client posted it."""

    payload: dict[str, Any]
    error_type: str


@dataclass(frozen=True)
class InitFailed(Failed):
    """The client reported a failed init: Lambda's error payload and its error type header."""


@dataclass(frozen=True)
class TooLarge:
    """A response longer than ``RESPONSE_LIMIT`` (refused with 413)."""

    size: int


@dataclass(frozen=True)
class Ended:
    """The execution environment's process ended (or its client went away)."""


@dataclass(frozen=True)
class TimedOut:
    """Nothing came before the deadline."""


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    size: int


class _Connection:
    """One HTTP/1.1 connection from the client, read as far as its requests have come."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer = bytearray()
        self.closed = False
        self._head: tuple[str, str, dict[str, str], int] | None = None
        self._skipped = 0

    def receive(self) -> None:
        """Read what has arrived (the socket is readable)."""
        try:
            data = self.sock.recv(_READ)
        except OSError:
            data = b""
        if data:
            self.buffer += data
        else:
            self.closed = True

    def request(self, limit: int) -> _Request | None:
        """The next complete request, if it has arrived; a body over ``limit`` is dropped as it
        comes (``size`` tells how long it was)."""
        if self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _HEAD_LIMIT:
                    self.closed = True
                return None
            self._head = _parse_head(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        method, path, headers, length = self._head
        if length > limit:
            taken = min(len(self.buffer), length - self._skipped)
            del self.buffer[:taken]
            self._skipped += taken
            if self._skipped < length:
                return None
            body = b""
        else:
            if len(self.buffer) < length:
                return None
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
        self._head, self._skipped = None, 0
        return _Request(method, path, headers, body, length)

    def answer(self, status: str, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if not headers or "Content-Type" not in headers:
            lines.append("Content-Type: application/json")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.sock.sendall(head + body)
        except OSError:
            self.closed = True

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str], int]:
    """Method, path, headers (names in lower case) and body length of a request's head; a head
    that is not HTTP gets method ``""``, which is answered 400."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        length = -1
    if len(parts) != 3 or length < 0 or "chunked" in headers.get("transfer-encoding", ""):
        return "", "", headers, 0
    return parts[0], parts[1].split("?", 1)[0], headers, length


_ACCEPTED = b'{"status":"OK"}'


def _problem(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _payload(body: bytes) -> dict[str, Any]:
    """An error body as the client posted it: Lambda's error payload, or its text as the
    message when it is not a JSON object."""
    try:
        found = json.loads(body) if body else {}
    except ValueError:
        found = None
    if isinstance(found, dict):
        return found
    return {"errorMessage": body.decode(errors="replace"), "errorType": "Runtime.Unknown"}


class RuntimeApi:
    """The Runtime API of one execution environment (see the module).

    :param response_limit: the longest response accepted (``RESPONSE_LIMIT``).
    """

    def __init__(self, *, response_limit: int = RESPONSE_LIMIT) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self._listener, select.POLLIN)
        self._by_fd: dict[int, _Connection] = {}
        self.address = "{}:{}".format(*self._listener.getsockname())
        """``host:port``, for ``AWS_LAMBDA_RUNTIME_API``."""
        self.response_limit = response_limit
        self._connections: list[_Connection] = []
        self._waiting: _Connection | None = None
        """The connection whose ``next`` is held, once it has asked."""
        self._request_id: str | None = None
        self._initialised = False
        self._exited: int | None = None
        self._process: Any = None

    def watch(self, process: Any) -> None:
        """Report ``Ended`` once ``process`` (a ``subprocess.Popen``) has ended."""
        self._process = process
        try:
            self._exited = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            self._exited = None
        else:
            self._poll.register(self._exited, select.POLLIN)

    def wait_ready(self, deadline: float) -> Ready | InitFailed | Ended | TimedOut:
        """Wait until the client asks for its next invocation (``deadline``: monotonic)."""
        if self._waiting is not None and not self._gone(self._waiting):
            return Ready()
        while True:
            found = self._next_request(deadline)
            if not isinstance(found, tuple):
                return found
            connection, request = found
            if request.method == "GET" and request.path == _NEXT:
                if self._request_id is not None:  # it asks again without answering
                    connection.answer("400 Bad Request", _problem("InvalidStateTransition", ""))
                    continue
                self._waiting = connection
                self._initialised = True
                return Ready()
            if request.method == "POST" and request.path == _INIT_ERROR:
                if self._initialised:
                    self._refuse(connection, request)
                    continue
                connection.answer("202 Accepted", _ACCEPTED)
                error_type = request.headers.get("lambda-runtime-function-error-type", "")
                payload = _payload(request.body)
                return InitFailed(payload, error_type or str(payload.get("errorType", "")))
            self._refuse(connection, request)

    def invoke(
        self,
        request_id: str,
        event: bytes,
        *,
        deadline_ms: int,
        function_arn: str,
        trace_id: str,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> bool:
        """Answer the held ``next`` with an invocation; False (nothing sent) when the client
        is gone. Call after ``wait_ready`` returned ``Ready``."""
        connection = self._waiting
        if connection is None or self._gone(connection):
            return False
        if self._exited is None and self._has_exited():  # with a pidfd, its end closes the socket
            return False
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": function_arn,
            "Lambda-Runtime-Trace-Id": trace_id,
        }
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = client_context
        if cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = cognito_identity
        self._waiting = None
        self._request_id = request_id
        connection.answer("200 OK", event, headers)
        return not connection.closed

    def wait_answer(
        self, deadline: float, *, every: tuple[float, Callable[[], None]] | None = None
    ) -> Answered | Failed | TooLarge | Ended | TimedOut:
        """Wait for the invocation's response or error (``deadline``: monotonic); ``every``:
        seconds and what to call each time they pass meanwhile (a check of the environment's
        memory, say)."""
        while True:
            found = self._next_request(deadline, every)
            if not isinstance(found, tuple):
                return found
            connection, request = found
            invocation = _PREFIX + f"invocation/{self._request_id}/"
            if request.method == "POST" and request.path in (
                invocation + "response",
                invocation + "error",
            ):
                self._request_id = None
                if request.path.endswith("/error"):
                    connection.answer("202 Accepted", _ACCEPTED)
                    payload = _payload(request.body)
                    error_type = request.headers.get("lambda-runtime-function-error-type", "")
                    return Failed(payload, error_type or str(payload.get("errorType", "")))
                if request.size > self.response_limit:
                    message = (
                        "Response payload size exceeded maximum allowed payload size "
                        f"({self.response_limit} bytes)."
                    )
                    connection.answer(
                        "413 Request Entity Too Large",
                        _problem("RequestEntityTooLarge", message),
                    )
                    return TooLarge(request.size)
                connection.answer("202 Accepted", _ACCEPTED)
                content_type = request.headers.get("content-type", "application/json")
                return Answered(request.body, content_type)
            if request.method == "GET" and request.path == _NEXT:
                connection.answer("400 Bad Request", _problem("InvalidStateTransition", ""))
                continue
            self._refuse(connection, request)

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        self._listener.close()
        if self._exited is not None:
            os.close(self._exited)
            self._exited = None

    def _refuse(self, connection: _Connection, request: _Request) -> None:
        if not request.method:
            connection.answer("400 Bad Request", _problem("InvalidRequest", "not HTTP/1.1"))
        elif request.path == _INIT_ERROR:
            connection.answer("403 Forbidden", _problem("InvalidStateTransition", "init is over"))
        elif request.path.startswith(_PREFIX + "invocation/"):
            connection.answer(
                "400 Bad Request",
                _problem("InvalidRequestID", f"{request.method} {request.path}: no such request"),
            )
        else:
            connection.answer(
                "404 Not Found",
                _problem("NotFound", f"{request.method} {request.path} is not a Runtime API path"),
            )

    def _gone(self, connection: _Connection) -> bool:
        """Whether the client closed ``connection`` (looked at now, without waiting)."""
        if not connection.closed:
            try:
                if not connection.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    connection.closed = True
            except BlockingIOError:
                pass
            except OSError:
                connection.closed = True
        return connection.closed

    def _has_exited(self) -> bool:
        return self._process is not None and self._process.poll() is not None

    def _next_request(
        self, deadline: float, every: tuple[float, Callable[[], None]] | None = None
    ) -> tuple[_Connection, _Request] | Ended | TimedOut:
        tick = time.monotonic() + every[0] if every else math.inf
        while True:
            for connection in self._connections:
                request = connection.request(self.response_limit)
                if request is not None:
                    return connection, request
            for connection in [c for c in self._connections if c.closed]:
                self._drop(connection)
            left = deadline - time.monotonic()
            if left <= 0:
                return TimedOut()
            wait = left if self._exited is not None else min(left, _POLL_SECONDS)
            if every is not None:
                now = time.monotonic()
                if now >= tick:
                    every[1]()
                    tick = now + every[0]
                wait = min(wait, max(0.0, tick - now))
            events = self._poll.poll(math.ceil(wait * 1000))
            if not events and self._exited is None and self._has_exited():
                return Ended()
            if self._read(events):
                return Ended()

    def _read(self, events: list[tuple[int, int]]) -> bool:
        """Take in what ``events`` say arrived; whether the process ended (and nothing else
        came with its end)."""
        exited = False
        for fd, _ in events:
            reader = self._by_fd.get(fd)
            if reader is not None:
                reader.receive()
            elif fd == self._exited:
                exited = True
            else:
                self._accept()
        return exited and not any(fd in self._by_fd for fd, _ in events)

    def _drop(self, connection: _Connection) -> None:
        if connection is self._waiting:
            self._waiting = None
        self._by_fd.pop(connection.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._poll.unregister(connection.sock)
        connection.close()
        self._connections.remove(connection)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                return
            sock.setblocking(True)
            connection = _Connection(sock)
            self._connections.append(connection)
            self._by_fd[sock.fileno()] = connection
            self._poll.register(sock, select.POLLIN)
