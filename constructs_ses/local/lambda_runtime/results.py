"""What an invocation is made of: its event, encoded once for every attempt, and its result, with
its lines of the function's log stream as Lambda writes them ("Log and monitor Python Lambda
functions": START, the function's output, END, REPORT)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EncodedEvent",
    "EventPath",
    "EventTemplate",
    "InvokeResult",
    "Report",
    "encode_value",
    "log_stream",
]

EventPath = tuple[str | int, ...]
"""Where a value sits in an event: its keys and list indexes, from the top."""


def encode_value(value: Any) -> bytes:
    """``value`` as JSON, encoded once for the many events that hold it (``EventTemplate``);
    TypeError or ValueError for a value JSON cannot hold."""
    return json.dumps(value, allow_nan=False).encode()


class EncodedEvent(bytes):
    """An event as the Runtime API hands it to the function: JSON, encoded once (``of``) and
    sent as it is, every attempt."""

    __slots__ = ()

    @classmethod
    def of(cls, event: Any) -> EncodedEvent:
        """``event`` as JSON (TypeError or ValueError for one JSON cannot hold)."""
        return cls(json.dumps(event, allow_nan=False).encode())

    @classmethod
    def of_any(cls, event: Any) -> EncodedEvent:
        """``event`` as it is when already encoded, otherwise ``of(event)``."""
        return event if isinstance(event, EncodedEvent) else cls.of(event)

    def decoded(self) -> Any:
        """A new copy of the event, as the function gets it."""
        return json.loads(self)


class EventTemplate:
    """Events that differ only in a few values, encoded once: ``fill`` gives each event with
    its values at ``slots`` (each already JSON, ``encode_value``) for the cost of joining bytes.

    :param event: the events' shared shape (left as it is).
    :param slots: where the values that differ go.
    """

    def __init__(self, event: Any, slots: Iterable[EventPath]) -> None:
        paths = list(slots)
        for index, path in enumerate(paths):
            event = _with(event, path, f"\0slot{index}\0")
        text = json.dumps(event, allow_nan=False).encode()
        marks = sorted(
            (text.index(json.dumps(f"\0slot{index}\0").encode()), index)
            for index in range(len(paths))
        )
        self._order = tuple(index for _, index in marks)
        self._parts: list[bytes] = []
        start = 0
        for position, index in marks:
            self._parts.append(text[start:position])
            start = position + len(json.dumps(f"\0slot{index}\0"))
        self._parts.append(text[start:])

    def fill(self, *values: bytes) -> EncodedEvent:
        """The event with ``values``, one for each slot in the order they were given."""
        pieces = [self._parts[0]]
        for index, part in zip(self._order, self._parts[1:], strict=True):
            pieces.append(values[index])
            pieces.append(part)
        return EncodedEvent(b"".join(pieces))


def _with(node: Any, path: EventPath, value: Any) -> Any:
    """A copy of ``node`` with ``value`` at ``path``, copying only the containers on it."""
    if not path:
        return value
    copy: Any = list(node) if isinstance(node, list) else dict(node)
    step = path[0]
    inner = node.get(step, {}) if isinstance(node, dict) else node[step]
    copy[step] = _with(inner, path[1:], value)
    return copy


@dataclass(frozen=True)
class Report:
    """What an invocation's REPORT line says beside its duration."""

    memory_size: int
    max_memory_mb: int | None = None
    init_ms: float | None = None


@dataclass
class InvokeResult:
    """One invocation of a function: its answer or error, and its log stream's lines."""

    request_id: str
    answer: Any = None
    """The function's answer: what its JSON response holds, or the response's bytes when it
    is not JSON (a handler that returned bytes)."""
    error: str | None = None
    """``ErrorType: message`` for an error the function raised; Lambda's own wording for a
    timeout, a runtime failure or a throttle; None when it answered."""
    error_type: str | None = None
    """Lambda's ``errorType``: the exception's name, ``Sandbox.Timedout``,
    ``Runtime.ExitError``, ``Runtime.ImportModuleError``, ``Runtime.MarshalError``..."""
    error_payload: dict[str, Any] | None = None
    """Lambda's error payload, as its Invoke API returns it: ``errorMessage``, ``errorType``,
    and from the runtime client ``requestId`` and ``stackTrace``."""
    duration_ms: float = 0.0
    output: str = field(default="", repr=False)
    """What the function and its processes wrote during the invocation."""
    report: Report | None = field(default=None, repr=False)
    _logs: str | None = field(default=None, repr=False, compare=False)

    @property
    def logs(self) -> str:
        """Its lines as Lambda's log stream holds them: START, what the function and its
        children wrote and logged, END and REPORT."""
        if self._logs is None:
            self._logs = "" if self.report is None else log_stream(self, self.output, self.report)
        return self._logs

    def raised(self, payload: dict[str, Any], error_type: str = "") -> None:
        """The error the runtime client posted: ``payload`` as it posted it."""
        self.error_type = error_type or str(payload.get("errorType") or "Runtime.Unknown")
        self.error_payload = payload
        self.error = f"{self.error_type}: {payload.get('errorMessage', '')}"

    def failed(self, error_type: str, message: str) -> None:
        """An error of Lambda's own (a timeout, an exit, a throttle): ``message`` as Lambda
        words it, and its payload as the Invoke API returns it ("Troubleshoot invocation issues
        in Lambda")."""
        self.error_type = error_type
        self.error = message
        self.error_payload = {
            "errorType": error_type,
            "errorMessage": f"RequestId: {self.request_id} Error: {message}",
        }


def log_stream(result: InvokeResult, output: str, report: Report) -> str:
    """An invocation's lines as Lambda's log stream holds them."""
    request_id = result.request_id
    if output and not output.endswith("\n"):
        output += "\n"
    if result.error_type == "Sandbox.Timedout":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        output += f"{stamp} {request_id} {result.error}\n"
    duration = result.duration_ms
    init = "" if report.init_ms is None else f"\tInit Duration: {report.init_ms:.2f} ms"
    memory = report.max_memory_mb if report.max_memory_mb is not None else "-"
    return (
        f"START RequestId: {request_id} Version: $LATEST\n{output}END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {report.memory_size} MB\t"
        f"Max Memory Used: {memory} MB{init}\n"
    )
