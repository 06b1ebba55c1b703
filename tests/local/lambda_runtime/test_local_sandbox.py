"""Functions see what Lambda gives them and nothing of this machine ("Lambda execution
environment", "Lambda quotas", AWS Lambda Developer Guide): in a sandbox where one can be had,
and, where none can, as plain processes with a warning that says what is not isolated."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_local_runtime import function

from constructs_ses.local.lambda_runtime import sandbox
from constructs_ses.local.lambda_runtime.python import installed_packages
from constructs_ses.local.lambda_runtime.runtime import LambdaRuntime
from constructs_ses.local.lambda_runtime.workers import LOG_FILE_LIMIT, OUTPUT_LIMIT

PROBLEM = sandbox.sandbox_problem()


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaRuntime]:
    if PROBLEM is not None:
        pytest.skip(f"no sandbox here: {PROBLEM}")
    runtime = LambdaRuntime(tmp_path_factory.mktemp("sandboxed"), sandbox=True)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime(tmp_path_factory.mktemp("unsandboxed"), sandbox=False)
    yield runtime
    runtime.close()


LOOKS_AROUND = """
import os, pathlib
def handler(event, context):
    secrets = []
    for environ in pathlib.Path("/proc").glob("[0-9]*/environ"):
        try:
            if event["secret"].encode() in environ.read_bytes():
                secrets.append(environ.parent.name)
        except OSError:
            pass
    def readable(path):
        try:
            pathlib.Path(path).read_bytes()
            return True
        except OSError:
            return False
    return {
        "secret_seen": bool(secrets),
        "shadow": readable("/etc/shadow"),
        "project": readable(event["project_file"]),
        "scratch": os.path.exists(event["scratch"]),
        "home": os.path.exists(os.path.expanduser("~/.bashrc")) or os.path.isdir("/root/.cache"),
        "uid": os.getuid(),
    }
"""


def _look_around(runtime: LambdaRuntime) -> dict[str, object]:
    secret = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    holder = subprocess.Popen(  # a process of this machine whose environment holds a key
        [sys.executable, "-c", "import time; time.sleep(30)"],
        env={**os.environ, "AWS_SECRET_ACCESS_KEY": secret},
    )
    try:
        event = {
            "secret": secret,
            "project_file": str(Path(__file__).resolve()),
            "scratch": str(runtime.scratch_dir),
        }
        result = runtime.invoke(function(LOOKS_AROUND, "LooksAround"), event)
        assert result.error is None, result.logs
        answer: dict[str, object] = result.answer
        return answer
    finally:
        holder.kill()
        holder.wait()


def test_a_sandboxed_function_sees_nothing_of_this_machine(sandboxed: LambdaRuntime) -> None:
    """Its own PID namespace (no other process's environment), no /etc/shadow, no project, no
    other local AWS's files, no home; it runs as Lambda's sbx_user1051 (uid 993)."""
    assert _look_around(sandboxed) == {
        "secret_seen": False,
        "shadow": False,
        "project": False,
        "scratch": False,
        "home": False,
        "uid": sandbox.SANDBOX_UID,
    }


def test_an_unsandboxed_function_sees_what_the_warning_says(unsandboxed: LambdaRuntime) -> None:
    seen = _look_around(unsandboxed)
    assert seen["project"] is True and seen["scratch"] is True  # as the warning says
    assert seen["uid"] == os.getuid()


TMP = """
import os
def handler(event, context):
    stats = os.statvfs("/tmp")
    mine = f"/tmp/{context.function_name}"
    others = sorted(os.listdir("/tmp"))
    open(mine, "w").close()
    return {"size_mb": stats.f_blocks * stats.f_frsize // (1024 * 1024), "others": others}
"""


def test_each_environment_has_a_private_tmp_of_its_ephemeral_storage(
    sandboxed: LambdaRuntime,
) -> None:
    first = sandboxed.invoke(function(TMP, "TmpA"), {}).answer
    sized = replace(function(TMP, "TmpB"), ephemeral_storage=1024)
    second = sandboxed.invoke(sized, {}).answer
    assert first["size_mb"] == 512 and second["size_mb"] == 1024
    assert first["others"] == second["others"] == []  # neither sees the other's file


def test_without_a_sandbox_a_warning_says_so_once_naming_what_is_not_isolated(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
    sandbox._warn_unsandboxed.cache_clear()
    caplog.set_level(logging.WARNING, logger="constructs_ses.local")
    first, second = sandbox.choose_isolation(None), sandbox.choose_isolation(None)
    assert not first.sandboxed and not second.sandboxed
    (warning,) = [r.getMessage() for r in caplog.records if "SANDBOX" in r.getMessage()]
    assert "WITHOUT A SANDBOX: bubblewrap (bwrap) is not installed" in warning
    assert "read its files" in warning and "read their environment" in warning
    with pytest.raises(ValueError, match="sandbox=True, but bubblewrap"):
        sandbox.choose_isolation(True)
    sandbox._warn_unsandboxed.cache_clear()


# "Lambda quotas": invocation payload (response) 6 MB for synchronous invocations.
ANSWERS_SIZE = "def handler(event, context):\n    return 'x' * event['size']\n"


def test_a_response_over_6_mb_fails_as_lambda_fails_it(sandboxed: LambdaRuntime) -> None:
    spec = function(ANSWERS_SIZE, "Large")
    too_large = sandboxed.invoke(spec, {"size": 6 * 1024 * 1024 + 10})
    assert too_large.error_type == "Function.ResponseSizeTooLarge"
    assert too_large.error == (
        "Response payload size exceeded maximum allowed payload size (6291456 bytes)."
    )
    assert sandboxed.invoke(spec, {"size": 5 * 1024 * 1024}).answer == "x" * (5 * 1024 * 1024)


PRINTS = "import sys\ndef handler(event, context):\n    sys.stdout.write('y' * event['size'])\n"


def test_output_is_capped_per_invocation_and_the_log_file_emptied(
    unsandboxed: LambdaRuntime,
) -> None:
    spec = function(PRINTS, "Prints")
    big = LOG_FILE_LIMIT + 1024 * 1024
    result = unsandboxed.invoke(spec, {"size": big})
    assert result.error is None
    assert len(result.output) < OUTPUT_LIMIT + 200
    assert result.output.endswith(f"[{big - OUTPUT_LIMIT} more bytes of output were not kept]\n")
    logs = list((unsandboxed.scratch_dir / "logs").glob("*Prints*"))
    assert logs and all(log.stat().st_size < LOG_FILE_LIMIT for log in logs)
    small = unsandboxed.invoke(spec, {"size": 10})
    assert small.output == "y" * 10


# "Configure Lambda function memory": the function gets at most its MemorySize; over it, Lambda
# ends the runtime (seen from Lambda: "Runtime exited with error: signal: killed", error type
# Runtime.OutOfMemory, Max Memory Used at the memory size).
GREEDY = """
import time
def handler(event, context):
    held = b"x" * (event["mb"] * 1024 * 1024)
    time.sleep(event["hold"])
    return len(held)
"""


@pytest.mark.parametrize("hold", [2.0, 0.0], ids=["held", "released-at-once"])
@pytest.mark.parametrize("isolation", ["sandboxed", "unsandboxed"])
def test_memory_over_the_memory_size_ends_the_invocation(
    request: pytest.FixtureRequest, isolation: str, hold: float
) -> None:
    unsandboxed: LambdaRuntime = request.getfixturevalue(isolation)
    spec = replace(function(GREEDY, f"Greedy{int(hold)}"), memory_size=128)
    result = unsandboxed.invoke(spec, {"mb": 200, "hold": hold})
    assert result.error_type == "Runtime.OutOfMemory"
    assert result.error == "Runtime exited with error: signal: killed"
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in result.logs
    assert result.duration_ms < 1500  # ended at once, not at the end of its sleep
    within = unsandboxed.invoke(spec, {"mb": 20, "hold": 0.0})
    assert within.answer == 20 * 1024 * 1024 and within.error is None


def test_runtime_packages_of_ones_own_serve_both_ways_and_nothing_is_written_beside_them(
    tmp_path: Path,
) -> None:
    """A directory of the runtime's libraries given as ``runtime_packages`` is what functions
    import them from, sandboxed or not; the runtime writes its own files in its scratch
    directory, never beside that directory."""
    packages = tmp_path / "mine" / "packages"
    packages.mkdir(parents=True)
    for package in installed_packages(("awslambdaric",)):  # a copy, as pip --target makes
        if package.is_dir():
            shutil.copytree(package, packages / package.name)
        else:
            shutil.copy2(package, packages / package.name)
    code = (
        "import sys\ndef handler(event, context):\n"
        "    return sys.modules['awslambdaric'].__file__\n"
    )
    for sandboxed in ([True] if PROBLEM is None else []) + [False]:
        runtime = LambdaRuntime(
            tmp_path / f"scratch-{sandboxed}", sandbox=sandboxed, runtime_packages=packages
        )
        try:
            answer = runtime.invoke(function(code, "OwnPackages"), {}).answer
        finally:
            runtime.close()
        runtime_dir = "/var/runtime" if sandboxed else str(packages)
        assert answer == f"{runtime_dir}/awslambdaric/__init__.py"
    assert sorted(path.name for path in (tmp_path / "mine").iterdir()) == ["packages"]
