"""A function's execution environments as the runtime keeps them: each one's process, Runtime
API and log file, and the pool of one function configuration."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.language import LanguageRuntime
from constructs_ses.local.lambda_runtime.runtime_api import RuntimeApi

__all__ = [
    "LOG_FILE_LIMIT",
    "OUTPUT_LIMIT",
    "LogFile",
    "Pool",
    "Worker",
    "close_idle",
    "configuration",
    "request_ids",
]

OUTPUT_LIMIT = 1024 * 1024
"""The most of one invocation's output its result keeps (the rest is counted, not kept)."""
LOG_FILE_LIMIT = 8 * 1024 * 1024
"""A worker's log file is emptied after an invocation once it is longer than this."""
_READ = 1 << 16
_PAGE = os.sysconf("SC_PAGE_SIZE")


_FRAME = b"\xa5\x5a\x00"
"""How the runtime client's log frames begin (``_LAMBDA_TELEMETRY_LOG_FD``: type 0xA55A00xx,
then a 4-byte length and an 8-byte timestamp, big-endian, then the message)."""
_FRAME_HEAD = 16


def unframed(data: bytes) -> bytes:
    """``data`` with each of the runtime client's log frames replaced by its message, on a line
    of its own, as Lambda's log stream shows each record."""
    start = data.find(_FRAME)
    if start < 0:
        return data
    parts = []
    while start >= 0 and start + _FRAME_HEAD <= len(data):
        parts.append(data[:start])
        length = int.from_bytes(data[start + 4 : start + 8], "big")
        message = data[start + _FRAME_HEAD : start + _FRAME_HEAD + length]
        parts.append(message if message.endswith(b"\n") else message + b"\n")
        data = data[start + _FRAME_HEAD + length :]
        start = data.find(_FRAME)
    parts.append(data)
    return b"".join(parts)


class LogFile:
    """A worker's log: the file its stdout and stderr append to, and the runtime client's log
    frames (``_LAMBDA_TELEMETRY_LOG_FD``, as in Lambda, so that logging reaches the log whatever
    the function does with its stdout), read one invocation at a time and emptied once long
    (``LOG_FILE_LIMIT``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._reader = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.position = 0
        """Where what the last invocation was given ends."""

    def take(self) -> str:
        """What was written since the last ``take``: at most ``OUTPUT_LIMIT`` bytes of it, with
        a line saying how much more there was."""
        end = os.fstat(self._reader).st_size
        if end < self.position:  # emptied meanwhile
            self.position = 0
        size = end - self.position
        if not size:
            return ""
        kept = os.pread(self._reader, min(size, OUTPUT_LIMIT), self.position)
        self.position = end
        if end > LOG_FILE_LIMIT:
            os.ftruncate(self.fd, 0)
            self.position = 0
        text = unframed(kept).decode(errors="replace")
        if size > len(kept):
            text += f"\n[{size - len(kept)} more bytes of output were not kept]\n"
        return text

    def close(self) -> None:
        for fd in (self.fd, self._reader):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.path.unlink(missing_ok=True)


class Worker:
    """One execution environment: its process, its Runtime API and its log."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        api: RuntimeApi,
        log: LogFile,
        *,
        generation: int,
        depth: int,
        started: float,
        reaped: bool,
    ) -> None:
        self.process = process
        self.api = api
        self.log = log
        self.generation = generation
        """The runtime's ``replace_workers`` count when it started."""
        self.started = started
        """When it was started (monotonic)."""
        self.init_ms: float | None = None
        """Its init phase's duration, once the runtime client asked for its first invocation."""
        self._depth = depth
        self._reaped = reaped
        self._client: int | None = None
        self._status: int | None = None
        self.out_of_memory = False
        """Whether it was ended for holding more memory than its function's ``MemorySize``."""
        api.watch(process)

    def max_memory_mb(self) -> int | None:
        """The runtime client's peak resident memory (``VmHWM``), in MB; None where it cannot
        be read."""
        if self._status is None:
            pid = self._client_pid()
            if pid is None:
                return None
            try:
                self._status = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        try:
            status = os.pread(self._status, 4096, 0)
            start = status.index(b"VmHWM:") + 6
            return int(status[start : status.index(b"kB", start)]) // 1024 + 1
        except (OSError, ValueError):
            return None

    def resident_mb(self) -> int:
        """The resident memory of every process of the environment, in MB."""
        total = 0
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            pending.extend(_children(pid))
            try:
                with open(f"/proc/{pid}/statm") as statm:
                    total += int(statm.read().split()[1]) * _PAGE
            except (OSError, ValueError, IndexError):
                continue
        return total // (1024 * 1024)

    def limit_memory(self, limit_mb: int) -> None:
        """End the environment if it holds more than ``limit_mb`` (``out_of_memory`` says
        so)."""
        if self.resident_mb() > limit_mb:
            self.out_of_memory = True
            self.kill()

    def _client_pid(self) -> int | None:
        """The runtime client's process: ``depth`` generations below the one started."""
        if self._client is None:
            pid = self.process.pid
            for _ in range(self._depth):
                below = _children(pid)
                if not below:
                    return None
                pid = below[0]
            self._client = pid
        return self._client

    def exit_code(self) -> int:
        """Its exit status (negative: the signal that ended it), once it ended."""
        try:
            return self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.wait()

    def kill(self) -> None:
        """End it and every process it started."""
        if self.process.poll() is None:
            if self._reaped:  # the reaper ends what the function started, then itself
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(2)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        """End it, its Runtime API and its log."""
        self.kill()
        self.api.close()
        self.log.close()
        if self._status is not None:
            os.close(self._status)
            self._status = None


def _children(pid: int) -> list[int]:
    """The children of process ``pid`` (none once it ended, or where Linux's ``/proc`` does not
    list them)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        return []


@dataclass
class Pool:
    """The execution environments of one function configuration."""

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
    """Its code as its workers see it, once the first has started."""
    opt: Path | None = None
    """Its layers merged, once the first has started (None without layers)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while its task root is made."""
    language: LanguageRuntime | None = None
    """The language's runtime its workers run (None when it cannot run here)."""


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
        function.layers,
        function.missing_layers,
        function.ephemeral_storage,
        function.log_format,
        function.application_log_level,
        frozenset(function.environment.items()),
    )
