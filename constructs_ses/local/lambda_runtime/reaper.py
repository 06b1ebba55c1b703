"""``python -I -S reaper.py -- COMMAND...``: run an execution environment's command outside a
sandbox and end every process it started when it ends, or when the reaper is asked to stop.

It becomes the parent of the command's orphans (Linux's child subreaper), so a process in a
session of its own, or a daemon that forked twice, is still found. On SIGTERM it kills the
command and all of them; when the command exits, it kills what it left running, then exits with
the command's status (128 + N for signal N). Elsewhere than Linux only the command's process
group is ended with it.

It stays one script of the standard library alone, run by its path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

_PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans() -> None:
    if sys.platform != "linux":
        return
    import ctypes  # noqa: PLC0415

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children() -> list[int]:
    """This process's children (none where there is no ``/proc``)."""
    me = os.getpid()
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if len(fields) > 1 and int(fields[1]) == me:
                found.append(int(entry.name))
    return found


def _end_all(command: int) -> None:
    """Kill the command's process group and every child (adopted orphans included), again as
    their own orphans are adopted, until none is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(command, signal.SIGKILL)
    while True:
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def main(argv: list[str]) -> int:
    if argv[:1] != ["--"] or len(argv) < 2:
        sys.stderr.write("usage: python -I -S reaper.py -- COMMAND...\n")
        return 2
    _adopt_orphans()
    started = [0]

    def stop(signum: int, frame: object) -> None:
        if started[0]:
            _end_all(started[0])
        os._exit(128 + signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    command = os.fork()
    if command == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setpgid(0, 0)
        os.execvp(argv[1], argv[1:])
    started[0] = command
    _, wait_status = os.waitpid(command, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    _end_all(command)
    return 128 - status if status < 0 else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
