"""The local Lambda runtime behaves as Lambda does (each behaviour from the Lambda developer
guide, named at its test)."""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from constructs_ses.local.aws.cloud_assembly import physical_name
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.results import EventTemplate
from constructs_ses.local.lambda_runtime.runtime import (
    DEFAULT_CONCURRENCY,
    LambdaRuntime,
    encode_value,
)

REGION, ACCOUNT = "eu-west-1", "123456789012"


def function(
    code: str,
    name: str = "Fn",
    *,
    timeout: float = 3.0,
    memory_size: int = 256,
    runtime: str | None = None,
    reserved: int | None = None,
    **environment: str,
) -> FunctionSpec:
    physical = physical_name("Mail", name)
    return FunctionSpec(
        name=physical,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}",
        code_dir=None,
        inline_code=code,
        handler="index.handler",
        timeout=timeout,
        environment=environment,
        memory_size=memory_size,
        runtime=runtime,
        reserved_concurrency=reserved,
    )


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    """The runtime as users get it: sandboxed where a sandbox can be had."""
    lambda_runtime = LambdaRuntime(tmp_path, event_retry_delays=(0.01, 0.01))
    yield lambda_runtime
    lambda_runtime.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LambdaRuntime]:
    """A runtime whose functions run as plain processes, for tests that share files with them."""
    lambda_runtime = LambdaRuntime(tmp_path / "host", sandbox=False)
    yield lambda_runtime
    lambda_runtime.close()


@pytest.fixture(params=["sandboxed", "unsandboxed"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LambdaRuntime]:
    """Each way functions run: in a sandbox, and as plain processes."""
    lambda_runtime = LambdaRuntime(tmp_path / request.param, sandbox=request.param == "sandboxed")
    yield lambda_runtime
    lambda_runtime.close()


# "Log and monitor Python Lambda functions": what the function and its children write is its log.
NOISY = """
import json, logging, os, subprocess, sys
def handler(event, context):
    print(json.dumps({"disposition": "STOP_RULE_SET"}))
    os.write(1, b'{"result": {"disposition": "STOP_RULE_SET"}}\\n')
    os.write(2, b"to stderr\\n")
    subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
    logging.getLogger("mine").warning("a warning")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("mine").exception("it failed")
    return {"disposition": "CONTINUE", "n": event["n"]}
"""


def test_output_of_the_function_and_its_children_is_its_log_never_its_answer(
    runtime: LambdaRuntime,
) -> None:
    noisy = function(NOISY)
    results = [runtime.invoke(noisy, {"n": n}) for n in range(3)]
    assert [r.answer for r in results] == [{"disposition": "CONTINUE", "n": n} for n in range(3)]
    logs = results[1].logs
    request = results[1].request_id
    assert logs.startswith(f"START RequestId: {request} Version: $LATEST\n")
    for line in ('{"disposition": "STOP_RULE_SET"}', "to stderr", "from a child process"):
        assert line in logs
    # the Python runtime's line: level, UTC time with milliseconds, request id, message
    log_line = re.compile(rf"\[WARNING\]\t(\S+)\t{request}\ta warning\n")
    (written,) = log_line.findall(logs)
    stamp = datetime.strptime(written, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    # a logged exception's traceback follows its line, as logging.Formatter writes it
    assert f"\t{request}\tit failed\nTraceback (most recent call last):\n" in logs
    assert "\nValueError: boom\n" in logs
    assert f"END RequestId: {request}\nREPORT RequestId: {request}\tDuration: " in logs
    assert "\tMemory Size: 256 MB\tMax Memory Used: " in logs
    assert "Init Duration" in results[0].logs and "Init Duration" not in logs
    assert results[0].request_id not in logs  # each invocation's own lines


# The Python runtime's log handler (a plain logging.Handler on the root logger) writes to the
# runtime's log sink, not through the function's stdout: logging still reaches the log when the
# function points sys.stdout or file descriptor 1 elsewhere.
ELSEWHERE = """
import io, logging, os, sys
def handler(event, context):
    sys.stdout = io.StringIO()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    print("printed to nowhere")
    logging.getLogger("mine").warning("logged anyway")
"""


def test_logging_reaches_the_log_whatever_the_function_does_with_its_stdout(
    runtime: LambdaRuntime,
) -> None:
    result = runtime.invoke(function(ELSEWHERE), {})
    assert result.error is None
    assert f"\t{result.request_id}\tlogged anyway\n" in result.logs
    assert "printed to nowhere" not in result.logs


def test_each_invocation_s_lines_stay_its_own_after_its_worker_ended(tmp_path: Path) -> None:
    """Lines are read when asked for: later invocations, the worker's end and the runtime's
    close take none of them away."""
    lambda_runtime = LambdaRuntime(tmp_path)
    noisy = function(NOISY)
    results = [lambda_runtime.invoke(noisy, {"n": n}) for n in range(3)]
    lambda_runtime.close()
    assert not list((tmp_path / "logs").iterdir())  # the worker's log file went with it
    for result in reversed(results):
        logs = result.logs
        assert logs.startswith(f"START RequestId: {result.request_id} Version: $LATEST\n")
        assert logs.count("from a child process") == 1 and logs.count("START RequestId") == 1
        assert re.search(rf"\nREPORT RequestId: {result.request_id}\tDuration: [\d.]+ ms\t", logs)


# "Configure Lambda function timeout": the runtime stops the function at its timeout.
STUBBORN = """
import time
calls = 0
def handler(event, context):
    global calls
    calls += 1
    if event.get("slow"):
        try:
            time.sleep(30)
        except Exception:
            pass
    return {"disposition": "STOP_RULE_SET", "calls": calls}
"""


def test_timeout_kills_a_function_that_catches_everything_and_the_next_call_is_fresh(
    runtime: LambdaRuntime,
) -> None:
    stubborn = function(STUBBORN, timeout=1.0)
    warm = runtime.invoke(stubborn, {})
    assert warm.answer == {"disposition": "STOP_RULE_SET", "calls": 1}
    timed_out = runtime.invoke(stubborn, {"slow": True})
    assert timed_out.answer is None
    assert timed_out.error == "Task timed out after 1.00 seconds"
    assert timed_out.error_type == "Sandbox.Timedout"
    assert f"{timed_out.request_id} Task timed out after 1.00 seconds" in timed_out.logs
    fresh = runtime.invoke(stubborn, {})
    assert fresh.answer == {"disposition": "STOP_RULE_SET", "calls": 1}  # a new environment


# "Configure Lambda function timeout": at the timeout the execution environment is stopped, and
# with it every process the function started.
STARTS_A_CHILD = """
import subprocess, sys, time
def handler(event, context):
    how, seconds = event["how"], event["seconds"]
    if how == "daemon":  # a daemon: in a session of its own, and its parent gone
        script = (
            "import subprocess as s; "
            f"s.Popen(['sleep', '{seconds}'], stdout=s.DEVNULL, start_new_session=True)"
        )
        subprocess.run([sys.executable, "-c", script])
    else:
        subprocess.Popen(["sleep", seconds], start_new_session=how == "session")
    time.sleep(30)
"""


def _sleeping(seconds: str) -> list[int]:
    """The processes of this machine running ``sleep <seconds>`` (and not yet ended)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if command[:2] == [b"sleep", seconds.encode()] and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("how", "timeout"),
    [("child", 0.5), ("session", 0.5), ("daemon", 3.0)],  # a daemon takes an interpreter's start
)
def test_a_timeout_kills_the_processes_the_function_started(
    either: LambdaRuntime, how: str, timeout: float
) -> None:
    """In its own process group and session, or an orphan whose parent ended: Lambda stops the
    execution environment with every process in it (sandboxed or not)."""
    seconds = f"{60 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000}"
    function_ = function(STARTS_A_CHILD, timeout=timeout)
    result = either.invoke(function_, {"how": how, "seconds": seconds})
    assert result.error == f"Task timed out after {timeout:.2f} seconds"
    _wait_for(lambda: not _sleeping(seconds), seconds=3.0)


def test_a_timeout_shorter_than_the_function_s_own_applies(runtime: LambdaRuntime) -> None:
    stubborn = function(STUBBORN, timeout=60.0)
    assert runtime.invoke(stubborn, {"slow": True}, timeout=0.5).error == (
        "Task timed out after 0.50 seconds"
    )


CRASHING = """
import os
def handler(event, context):
    os._exit(7)
"""


def test_a_worker_that_exits_is_reported_as_lambda_does_and_replaced(
    runtime: LambdaRuntime,
) -> None:
    result = runtime.invoke(function(CRASHING), {})
    assert result.error == "Runtime exited with error: exit status 7"
    assert result.error_type == "Runtime.ExitError"
    leaving = function("import sys\ndef handler(event, context):\n    sys.exit(3)\n", "Leaves")
    assert runtime.invoke(leaving, {}).error == "Runtime exited with error: exit status 3"


# "Lambda execution environment": each environment is a process tree of its own.
OWN_STATE = """
import os, random
def handler(event, context):
    return {"pid": os.getpid(), "random": random.random(), "sid": os.getsid(0),
            "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
"""


def test_each_worker_is_an_environment_of_its_own(either: LambdaRuntime) -> None:
    one, other = (either.invoke(function(OWN_STATE, name), {}).answer for name in ("A", "B"))
    assert one["random"] != other["random"]
    if either.isolation.sandboxed:  # a PID namespace each: only its own processes are seen
        assert one["pid"] == other["pid"] and max(one["processes"]) < 10
        assert os.getpid() not in one["processes"]
    else:
        assert one["pid"] != other["pid"] and os.getpid() not in (one["pid"], other["pid"])


# "Understanding the Lambda execution environment lifecycle": an environment that ended between
# invocations is not the next invocation's failure; that one gets a new environment (an init).
EXITS_WHEN_IDLE = """
import os, threading
def handler(event, context):
    threading.Timer(0.2, os._exit, (3,)).start()
    return {"pid": os.getpid()}
"""


def test_a_worker_that_ends_while_idle_is_replaced_before_the_next_invocation(
    host: LambdaRuntime,
) -> None:
    leaving = function(EXITS_WHEN_IDLE)
    first = host.invoke(leaving, {})
    time.sleep(1.0)
    second = host.invoke(leaving, {})
    assert first.error is None and second.error is None
    assert second.answer["pid"] != first.answer["pid"]
    assert "Init Duration" in second.logs


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import not_a_module\n", "Runtime.ImportModuleError: Unable to import module 'index': "),
        ("x = 1\n", "Runtime.HandlerNotFound: Handler 'handler' missing on module 'index'"),
        (
            "def handler(event, context):\n    return object()\n",
            "Runtime.MarshalError: Unable to marshal response: Object of type object is not",
        ),
        (
            "def handler(event, context):\n    raise KeyError('nope')\n",
            "KeyError: 'nope'",
        ),
    ],
)
def test_errors_carry_lambda_s_error_types(runtime: LambdaRuntime, code: str, error: str) -> None:
    result = runtime.invoke(function(code), {})
    assert result.error is not None and result.error.startswith(error)


# "Lambda runtime API": the event reaches the function as JSON text and its answer leaves as JSON,
# so each side gets what JSON gives back, whatever carries it here.
AS_JSON = """
from enum import Enum
class Word(str, Enum):
    STOP = "STOP_RULE"
def handler(event, context):
    kinds = sorted(type(value).__name__ for value in event.values())
    return [event, kinds, (1, 2), {3: Word.STOP}, {"disposition": Word.STOP}, Word.STOP]
"""


def test_the_function_gets_its_event_and_the_caller_its_answer_as_json_carries_them(
    runtime: LambdaRuntime,
) -> None:
    event = {"pair": (1, "a"), 7: None, "nested": {"values": [1.5, True]}}
    result = runtime.invoke(function(AS_JSON), event)
    expected_event = {"pair": [1, "a"], "7": None, "nested": {"values": [1.5, True]}}
    assert result.answer == [
        expected_event,
        ["NoneType", "dict", "list"],
        [1, 2],
        {"3": "STOP_RULE"},
        {"disposition": "STOP_RULE"},
        "STOP_RULE",
    ]
    assert type(result.answer[-1]) is str and type(result.answer[-2]["disposition"]) is str


def test_fails_to_invoke_with_an_event_json_cannot_hold(runtime: LambdaRuntime) -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        runtime.invoke(function(QUICK), {"recipients": {"a@example.com"}})


def test_an_event_template_fills_its_slots_with_values_encoded_once() -> None:
    shared = encode_value({"headers": [{"name": "To", "value": "a@example.com"}]})
    event = {"Records": [{"mail": None, "n": 1, "receipt": {"timestamp": None}}]}
    template = EventTemplate(
        event, [("Records", 0, "mail"), ("Records", 0, "receipt", "timestamp")]
    )
    assert event == {"Records": [{"mail": None, "n": 1, "receipt": {"timestamp": None}}]}
    encoded = template.fill(shared, encode_value("2026-12-07T10:00:00.000Z"))
    first, second = encoded.decoded(), encoded.decoded()
    assert first == {
        "Records": [
            {
                "mail": {"headers": [{"name": "To", "value": "a@example.com"}]},
                "n": 1,
                "receipt": {"timestamp": "2026-12-07T10:00:00.000Z"},
            }
        ]
    }
    first["Records"][0]["mail"]["headers"].clear()  # each decoding is a copy of its own
    assert second["Records"][0]["mail"]["headers"] == [{"name": "To", "value": "a@example.com"}]
    other = template.fill(encode_value(None), encode_value("later"))
    assert other.decoded()["Records"][0] == {
        "mail": None,
        "n": 1,
        "receipt": {"timestamp": "later"},
    }


# "Defined runtime environment variables": the function's variables and Lambda's, not the host's.
ENVIRONMENT = """
import os
def handler(event, context):
    return {
        "environ": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "cwd": os.getcwd(),
    }
"""


def test_the_environment_is_lambda_s_and_the_function_s_never_the_host_s(
    runtime: LambdaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-developer-s-secret")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("HOST_ONLY", "leaked")
    spec = function(ENVIRONMENT, memory_size=512, runtime="python3.11", TABLE="tickets")
    result = runtime.invoke(spec, {})
    environ = result.answer["environ"]
    assert environ["TABLE"] == "tickets"
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == REGION
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == spec.name
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{spec.name}"
    assert environ["_HANDLER"] == "index.handler"
    assert environ["TZ"] == ":UTC"
    assert environ["LAMBDA_TASK_ROOT"] == result.answer["cwd"]
    assert environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert "HOST_ONLY" not in environ and "AWS_PROFILE" not in environ
    assert environ["AWS_SECRET_ACCESS_KEY"] != "the-developer-s-secret"
    assert not Path(environ["AWS_SHARED_CREDENTIALS_FILE"]).exists()
    # the Runtime API's address, and the trace header the runtime client sets per invocation
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+", environ["AWS_LAMBDA_RUNTIME_API"])
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0",
        environ["_X_AMZN_TRACE_ID"],
    )
    assert environ["LAMBDA_RUNTIME_DIR"] in environ["PYTHONPATH"].split(":")
    assert environ["PATH"].endswith("/opt/bin") or environ["PATH"].endswith("no-layers/bin")
    assert environ["LD_LIBRARY_PATH"].split(":")[-1].endswith("/lib")
    assert environ["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert environ["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"


# "Defined runtime environment variables": LAMBDA_TASK_ROOT, the function's own code directory;
# "Lambda execution environment": /var/task is read-only.
WRITER = """
import os
from helper import NAME
def handler(event, context):
    seen = sorted(os.listdir("."))
    try:
        with open(NAME, "w") as out:
            out.write(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
        wrote = None
    except OSError as error:
        wrote = error.errno
    return {"cwd": os.getcwd(), "root": os.environ["LAMBDA_TASK_ROOT"], "seen": seen,
            "refused": wrote}
"""


def test_each_function_runs_in_its_own_code_and_its_asset_stays_as_it_was(
    either: LambdaRuntime, tmp_path: Path
) -> None:
    asset = tmp_path / "asset.0123abcd"
    asset.mkdir()
    (asset / "writer.py").write_text(WRITER)
    (asset / "helper.py").write_text('NAME = "written.txt"\n')
    before = {path: path.stat().st_mtime_ns for path in asset.rglob("*")}
    sharing = [
        replace(function("", name), code_dir=asset, inline_code=None, handler="writer.handler")
        for name in ("First", "Second")
    ]
    first, second = (either.invoke(spec, {}).answer for spec in sharing)
    assert first["cwd"] == first["root"]
    assert "written.txt" not in second["seen"]  # the first one's write is its own
    if either.isolation.sandboxed:  # the asset itself, read-only, at Lambda's path
        assert first["root"] == second["root"] == "/var/task"
        assert first["refused"] == second["refused"] == errno.EROFS
    else:  # a copy of its own
        assert first["root"] != second["root"] and str(asset) not in (first["root"], second["root"])
        assert first["refused"] is None
        assert Path(first["root"], "written.txt").read_text() == sharing[0].name
    assert {path: path.stat().st_mtime_ns for path in asset.rglob("*")} == before


# "Using the Lambda context object to retrieve Python function information".
def test_the_context_names_the_function_as_the_event_does(runtime: LambdaRuntime) -> None:
    spec = function(ENVIRONMENT, memory_size=1024, timeout=7.0)
    result = runtime.invoke(spec, {})
    context = result.answer["context"]
    # the request id is a random (version 4) UUID, written as Lambda writes it
    assert context["aws_request_id"] == result.request_id
    request_id = uuid.UUID(result.request_id)
    assert (request_id.version, request_id.variant) == (4, uuid.RFC_4122)
    assert str(request_id) == result.request_id
    assert context["invoked_function_arn"] == spec.arn
    assert spec.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.name}"
    assert context["function_name"] == spec.name
    assert context["memory_limit_in_mb"] == "1024"  # a string, as the runtime client gives it
    assert context["log_group_name"] == f"/aws/lambda/{spec.name}"
    assert context["log_stream_name"].endswith("]" + context["log_stream_name"][-32:])
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 7000


COUNTDOWN = """
import time
def handler(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.3)
    return [first, context.get_remaining_time_in_millis()]
"""


# "Using the Lambda context object to retrieve Python function information":
# get_remaining_time_in_millis is the time left before the invocation times out.
def test_the_remaining_time_counts_down_from_the_timeout(runtime: LambdaRuntime) -> None:
    result = runtime.invoke(function(COUNTDOWN, timeout=5.0), {})
    first, second = result.answer
    assert 4000 < first <= 5000
    assert 250 <= first - second < 2000


def test_physical_names_have_cloudformation_s_form_and_stay_the_same() -> None:
    name = physical_name("Mail", "InboundSupportFunction1A2B3C4D")
    assert name.startswith("Mail-InboundSupportFunction1A2B3C4D-")
    assert len(name.rsplit("-", 1)[1]) == 12 and name.rsplit("-", 1)[1].isalnum()
    assert name == physical_name("Mail", "InboundSupportFunction1A2B3C4D")
    assert len(physical_name("S" * 80, "L" * 80)) == 64


# "Understanding Lambda function scaling": each function scales on its own, up to its
# reserved concurrency.
GATED = """
import os, pathlib, time
def handler(event, context):
    gate = pathlib.Path(os.environ["GATE"])
    (gate.parent / f"started-{context.aws_request_id}").touch()
    waited = 0.0
    while not gate.exists() and waited < 20:
        time.sleep(0.02)
        waited += 0.02
    return {"disposition": "CONTINUE", "released": gate.exists()}
"""
"""Waits (20 s at most) for the file $GATE, after marking its start beside it."""
QUICK = "def handler(event, context):\n    return {'quick': True}\n"


def test_a_busy_function_holds_up_no_other_function(host: LambdaRuntime, tmp_path: Path) -> None:
    runtime = host
    gate = tmp_path / "gate"
    gated = function(GATED, "Gated", timeout=30.0, GATE=str(gate))
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke(gated, {})))
        for _ in range(DEFAULT_CONCURRENCY + 2)
    ]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(list(tmp_path.glob("started-*"))) == DEFAULT_CONCURRENCY)
    assert runtime.invoke(function(QUICK, "Quick"), {}).answer == {"quick": True}
    assert results == []  # the quick answer came while every gated call still waited
    gate.touch()
    for thread in threads:
        thread.join(30)
    released = {"disposition": "CONTINUE", "released": True}
    assert [r.answer for r in results] == [released] * (DEFAULT_CONCURRENCY + 2)


def test_reserved_concurrency_limits_the_workers_of_a_function(
    host: LambdaRuntime, tmp_path: Path
) -> None:
    runtime = host
    gate = tmp_path / "gate"
    gated = function(GATED, "Gated", timeout=30.0, reserved=1, GATE=str(gate))
    threads = [threading.Thread(target=runtime.invoke, args=(gated, {})) for _ in range(2)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(list(tmp_path.glob("started-*"))) == 1)
    time.sleep(0.3)  # a second worker would have started by now
    assert len(list(tmp_path.glob("started-*"))) == 1
    gate.touch()
    for thread in threads:
        thread.join(30)
    assert len(list(tmp_path.glob("started-*"))) == 2


def test_reserved_concurrency_of_zero_throttles(runtime: LambdaRuntime) -> None:
    result = runtime.invoke(function(QUICK, reserved=0), {})
    assert result.error_type == "TooManyRequestsException"


def test_a_reserved_concurrency_changed_by_a_redeploy_applies(runtime: LambdaRuntime) -> None:
    assert runtime.invoke(function(QUICK, reserved=1), {}).error is None
    throttled = runtime.invoke(function(QUICK, reserved=0), {})
    assert throttled.error_type == "TooManyRequestsException"
    assert runtime.invoke(function(QUICK, reserved=2), {}).error is None


# "Error handling and automatic retries in Lambda": two retries of a failing Event invocation.
FAILING = "def handler(event, context):\n    raise RuntimeError('always')\n"


def test_a_failing_event_invocation_is_tried_three_times(runtime: LambdaRuntime) -> None:
    seen: list[str | None] = []
    attempts = runtime.invoke_event(function(FAILING), {}, lambda r: seen.append(r.error))
    results = attempts.result(30)
    assert [r.error for r in results] == ["RuntimeError: always"] * 3 == seen
    succeeding = runtime.invoke_event(function(QUICK, "Quick"), {}).result(30)
    assert [r.answer for r in succeeding] == [{"quick": True}]


def test_warns_once_when_the_function_s_python_is_not_the_one_running_it(
    runtime: LambdaRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="constructs_ses.local")
    for name in ("A", "B"):
        assert runtime.invoke(function(QUICK, name, runtime="python3.99"), {}).error is None
    warnings = [r.getMessage() for r in caplog.records if "python3.99" in r.getMessage()]
    assert len(warnings) == 1
    assert "run locally as python3." in warnings[0] and "python= or --python" in warnings[0]


def test_functions_of_other_runtimes_are_refused(runtime: LambdaRuntime) -> None:
    result = runtime.invoke(function(QUICK, runtime="java21"), {})
    assert result.error == (
        "the java21 runtime cannot run locally: only Python and Node.js functions run"
    )


def test_the_interpreter_can_be_chosen(tmp_path: Path) -> None:
    code = "import sys\ndef handler(event, context):\n    return sys.version\n"
    python = os.path.realpath(sys.executable)
    with_chosen = LambdaRuntime(tmp_path, python=python)
    try:
        assert with_chosen.invoke(function(code), {}).answer == sys.version
    finally:
        with_chosen.close()
    with pytest.raises(ValueError, match=r"python='/no/such/python' does not run"):
        LambdaRuntime(tmp_path, python="/no/such/python")


def _wait_for(condition: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.02)


def test_a_function_whose_code_or_environment_changed_gets_fresh_workers(
    runtime: LambdaRuntime,
) -> None:
    """A redeploy of the same function with other code or variables ("Lambda execution
    environment lifecycle": a new version runs in new execution environments)."""
    code = "import os\n\ndef handler(event, context):\n    return {answer!r} + os.environ['V']\n"
    before = function(code.format(answer="old:"), V="1")
    assert runtime.invoke(before, {}).answer == "old:1"
    changed_code = function(code.format(answer="new:"), V="1")
    assert runtime.invoke(changed_code, {}).answer == "new:1"
    changed_variables = function(code.format(answer="new:"), V="2")
    assert runtime.invoke(changed_variables, {}).answer == "new:2"
