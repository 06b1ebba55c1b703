"""The runtime's side of ``worker.py --zygote``: workers forked from one process per runtime.

Forking from a process that has already started the interpreter and imported what a Python
runtime imports before the function makes a worker start sooner, and the workers share those
pages (the machine's caches hold one copy of them instead of one per function). Each worker is
still a process of its own, in a session of its own, with only Lambda's environment.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["WorkerProcess", "Zygote"]

WORKER = Path(__file__).with_name("worker.py")
_ENVIRONMENT = MappingProxyType({"LANG": "en_US.UTF-8", "TZ": ":UTC"})
"""The zygote's own environment (a worker's is set when it is forked)."""
_START_SECONDS = 10.0
"""How long a fork may take before the zygote counts as stuck (stopped, say) and is replaced."""


class WorkerProcess:
    """A forked worker: its pid, and its exit status as its watcher reports it (the worker is
    the watcher's child, not this process's)."""

    def __init__(self, status: int) -> None:
        self._status = status
        self._pending = b""
        line = self._line(_START_SECONDS)
        if not line:
            os.close(status)
            raise OSError("the local Lambda runtime's zygote did not start the worker")
        self.pid = int(line)
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status (negative: the signal that ended it); TimeoutExpired past
        ``timeout`` seconds."""
        if self.returncode is None:
            line = self._line(timeout)
            if line is None:
                raise subprocess.TimeoutExpired(str(WORKER), timeout or 0)
            self.returncode = int(line) if line else -1
            os.close(self._status)
        return self.returncode

    def _line(self, timeout: float | None) -> str | None:
        """The next line of the status pipe; "" at its end; None past ``timeout``."""
        while b"\n" not in self._pending:
            if timeout is not None and not select.select([self._status], [], [], timeout)[0]:
                return None
            chunk = os.read(self._status, 64)
            if not chunk:
                return ""
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()


class Zygote:
    """Forks workers with interpreter ``python``; started with the first, restarted if it ended.

    :param python: the interpreter the workers run.
    """

    def __init__(self, python: str) -> None:
        self.python = python
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None

    def fork(
        self,
        *,
        setup: dict[str, Any],
        environment: dict[str, str],
        cwd: Path,
        requests: int,
        answers: int,
        log: int,
    ) -> WorkerProcess:
        """A new worker with ``setup`` (as ``worker.main`` takes it), in ``cwd`` with only
        ``environment``, reading requests from fd ``requests`` and answering on ``answers``,
        its stdout and stderr the file ``log``."""
        request = json.dumps({"setup": setup, "environment": environment, "cwd": str(cwd)})
        encoded, fds = request.encode(), [requests, answers, log]
        with self._lock:
            try:
                return self._ask(encoded, fds)
            except OSError:
                # A zygote that was ending (killed, but not yet gone when it was asked) drops
                # the request: it is asked again of a new zygote.
                self._stop()
                return self._ask(encoded, fds)

    def _ask(self, request: bytes, fds: list[int]) -> WorkerProcess:
        status_read, status_write = os.pipe()
        try:
            socket.send_fds(self._running(), [request], [*fds, status_write])
        except OSError:
            os.close(status_read)
            raise
        finally:
            os.close(status_write)
        return WorkerProcess(status_read)  # which closes status_read if no worker started

    def close(self) -> None:
        """Stop the zygote (its workers run on until they are closed)."""
        with self._lock:
            self._stop()

    def _running(self) -> socket.socket:
        if self._process is not None and self._process.poll() is None and self._channel:
            return self._channel
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(
                [self.python, "-I", "-u", str(WORKER), "--zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=dict(_ENVIRONMENT),
                cwd="/",
                start_new_session=True,
            )
        self._channel = ours
        return ours

    def _stop(self) -> None:
        if self._channel is not None:
            self._channel.close()  # the zygote ends when its socket does
            self._channel = None
        if self._process is not None:
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
