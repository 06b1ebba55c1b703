"""What an invocation is made of: its event, encoded once for every attempt, and its result, with
its lines of the function's log stream as Lambda writes them ("Log and monitor Python Lambda
functions": START, the function's output, END, REPORT)."""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_ses.local.lambda_runtime.worker import EventPath, decode_event, encode_event

__all__ = ["EncodedEvent", "InvokeResult", "LogFile", "LogLines", "log_stream"]

LOG_CHUNK = 1 << 16
"""How much of a log file one read takes."""


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


class LogFile:
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
        while chunk := os.pread(self._fd, LOG_CHUNK, start):
            chunks.append(chunk)
            start += len(chunk)
        self.position = start
        return b"".join(chunks).decode(errors="replace")


@dataclass
class LogLines:
    """Where an invocation's output lies in its worker's log, and what its REPORT line says."""

    log: LogFile
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
    _lines: LogLines | None = field(default=None, repr=False, compare=False)

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
                else log_stream(
                    self,
                    lines.log.read(lines.start, lines.end),
                    lines.memory_size,
                    memory_mb=lines.max_memory_mb,
                    init_ms=lines.init_ms,
                )
            )
            self._lines = None
        return self._logs


def log_stream(
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
