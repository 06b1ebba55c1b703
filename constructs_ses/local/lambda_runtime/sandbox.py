"""Where an execution environment's processes run: in a sandbox that shows them what Lambda shows
a function and nothing of this machine, or, where none can be had, as plain processes here.

**Sandboxed** (bubblewrap, Debian's ``bubblewrap``, where it runs): a user, PID, IPC and UTS
namespace and a mount namespace of its own, as Lambda's execution environments ("Lambda execution
environment", AWS Lambda Developer Guide): the function runs as ``sbx_user1051`` (uid 993), sees
its code read-only at ``/var/task`` (the asset itself: nothing, bytecode included, is written to
the cloud assembly), its layers at ``/opt``, the runtime's libraries at ``/var/runtime``, the
interpreter's installation at ``/var/lang`` without its site-packages, a private ``/tmp`` of its
``EphemeralStorage`` size, the system's ``/usr`` read-only and a few files of ``/etc``; no other
process, no home directory, no project. The network is this machine's: the function reaches the
local AWS on 127.0.0.1.

**Not sandboxed** (no bubblewrap, or no user namespaces): the function runs in a copy of its
code, with the runtime's libraries and a private temporary directory, as this machine's user,
under a small reaper (``reaper.py``) that ends every process it started. A warning says so once,
naming what is not isolated.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from constructs_ses.local.lambda_runtime.environment import LAMBDA_PATHS, Paths
from constructs_ses.local.lambda_runtime.language import LanguageRuntime

__all__ = ["HostProcesses", "Isolation", "Placement", "Sandbox", "choose_isolation"]

LOGGER = logging.getLogger("constructs_ses.local")
SANDBOX_UID, SANDBOX_GID = 993, 990
"""Lambda's function user, ``sbx_user1051``, and its group."""
REAPER = Path(__file__).with_name("reaper.py")
_ETC = (
    "resolv.conf",
    "hosts",
    "nsswitch.conf",
    "host.conf",
    "ld.so.cache",
    "ssl",
    "ca-certificates",
    "alternatives",
    "mime.types",
)
"""What of this machine's ``/etc`` the function sees (Lambda's own has name resolution,
certificates and the dynamic linker's cache too)."""
_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"sbx_user1051:x:{SANDBOX_UID}:{SANDBOX_GID}::/tmp:/sbin/nologin\n"
)
_GROUP = f"root:x:0:\nsbx_user1051:x:{SANDBOX_GID}:\n"
NOT_ISOLATED = (
    "functions run as plain processes of this machine's user: they can read its files (the "
    "project and your home directory included), see and signal its other processes and "
    "read their environment, and write anywhere this user can"
)


@dataclass(frozen=True)
class Placement:
    """What one execution environment is made of, on this machine."""

    task_root: Path
    """The function's code (read-only in a sandbox; a copy of its own otherwise)."""
    opt: Path | None
    """Its layers, merged; None without layers."""
    runtime: LanguageRuntime
    runtime_dir: Path
    """The runtime's libraries as one directory (outside a sandbox)."""
    tmp_mb: int
    """Its ``/tmp``'s size."""
    tmp_dir: Path
    """Its temporary directory outside a sandbox."""
    scratch: Path
    """Where files the sandbox shows (its ``/etc/passwd``) are written."""


class Isolation:
    """How execution environments' processes are started."""

    sandboxed = False
    client_depth = 1
    """How many generations below the process started the runtime client runs."""
    reaped = False
    """Whether the process started is a reaper that ends the others when asked (SIGTERM)."""

    def paths(self, placement: Placement) -> Paths:
        """Where the function sees what it is given."""
        raise NotImplementedError

    def command(self, placement: Placement, handler: str) -> list[str]:
        """The command that starts the runtime client for ``handler``."""
        raise NotImplementedError


class Sandbox(Isolation):
    """bubblewrap (see the module)."""

    sandboxed = True
    client_depth = 2  # bwrap, then bwrap as the PID namespace's init, then the client

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap
        self._lock = threading.Lock()

    def paths(self, placement: Placement) -> Paths:
        return placement.runtime.paths(LAMBDA_PATHS)

    def command(self, placement: Placement, handler: str) -> list[str]:
        runtime = placement.runtime
        with self._lock:
            etc = _etc_files(placement.scratch)
        argv = [
            self.bwrap,
            "--unshare-user",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_GID),
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "localhost",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/", top)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        for name in _ETC:
            argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        argv += ["--ro-bind", str(etc / "passwd"), "/etc/passwd"]
        argv += ["--ro-bind", str(etc / "group"), "/etc/group"]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        argv += ["--size", str(placement.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        argv += ["--ro-bind", str(runtime.prefix), LAMBDA_PATHS.lang]
        for hidden in runtime.hidden:
            if hidden.is_dir():
                inside = Path(LAMBDA_PATHS.lang, hidden.relative_to(runtime.prefix))
                argv += ["--tmpfs", str(inside), "--remount-ro", str(inside)]
        argv += ["--ro-bind", str(placement.task_root), LAMBDA_PATHS.task_root]
        if placement.opt is not None:
            argv += ["--ro-bind", str(placement.opt), LAMBDA_PATHS.opt]
        else:
            argv += ["--dir", LAMBDA_PATHS.opt]
        if runtime.packages_dir is not None:
            argv += ["--ro-bind", str(runtime.packages_dir), LAMBDA_PATHS.runtime_dir]
        for package in runtime.packages:
            argv += ["--ro-bind", str(package), f"{LAMBDA_PATHS.runtime_dir}/{package.name}"]
        argv += ["--remount-ro", "/", "--chdir", LAMBDA_PATHS.task_root, "--"]
        interpreter = runtime.interpreter_in(LAMBDA_PATHS.lang)
        return argv + runtime.command(interpreter, handler, self.paths(placement))


class HostProcesses(Isolation):
    """Plain processes of this machine (see the module)."""

    reaped = True

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def paths(self, placement: Placement) -> Paths:
        with self._lock:
            lang = placement.runtime.host_lang(placement.scratch)
        base = Paths(
            task_root=str(placement.task_root),
            runtime_dir=str(placement.runtime_dir),
            opt=str(placement.opt or placement.scratch / "no-layers"),
            lang=str(lang),
        )
        return placement.runtime.paths(base)

    def command(self, placement: Placement, handler: str) -> list[str]:
        paths = self.paths(placement)
        interpreter = placement.runtime.interpreter_in(paths.lang)
        reaper = [sys.executable, "-I", "-S", str(REAPER), "--"]
        return reaper + placement.runtime.command(interpreter, handler, paths)


def _etc_files(scratch: Path) -> Path:
    etc = scratch / "etc"
    if not (etc / "group").exists():
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "passwd").write_text(_PASSWD)
        (etc / "group").write_text(_GROUP)
    return etc


def runtime_directory(runtime: LanguageRuntime, where: Path) -> Path:
    """The runtime's libraries as one directory (links to each), outside a sandbox."""
    if runtime.packages_dir is not None:
        return runtime.packages_dir
    where.mkdir(parents=True, exist_ok=True)
    for package in runtime.packages:
        link = where / package.name
        if not link.exists():
            link.symlink_to(package)
    return where


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why no sandbox can be had here; None when bubblewrap runs."""
    if sys.platform != "linux":
        return f"sandboxes need Linux, and this is {sys.platform}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    try:
        tried = subprocess.run(
            [
                bwrap,
                "--unshare-user",
                "--uid",
                str(SANDBOX_UID),
                "--unshare-pid",
                "--ro-bind",
                "/",
                "/",
                "--tmpfs",
                "/tmp",
                "true",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap does not run: {error}"
    if tried.returncode != 0:
        return f"bubblewrap cannot make a sandbox here: {tried.stderr.strip() or tried.returncode}"
    return None


@functools.lru_cache(maxsize=1)
def _warn_unsandboxed(problem: str) -> None:
    LOGGER.warning("Lambda functions run WITHOUT A SANDBOX: %s. So %s.", problem, NOT_ISOLATED)


def choose_isolation(sandbox: bool | None) -> Isolation:
    """A sandbox when ``sandbox`` is True or None and one can be had; plain processes when it
    is False, or None and none can be had (with a warning, once). ``sandbox=True`` where none
    can be had is a ValueError saying why."""
    if sandbox is False:
        return HostProcesses()
    problem = sandbox_problem()
    if problem is None:
        return Sandbox(shutil.which("bwrap") or "bwrap")
    if sandbox:
        raise ValueError(f"sandbox=True, but {problem}")
    _warn_unsandboxed(problem)
    return HostProcesses()
