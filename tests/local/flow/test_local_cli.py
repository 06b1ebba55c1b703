"""The local flow's command line: what `serve` prints, and `demo` against the example app."""

from __future__ import annotations

import platform
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from test_local_smtp import message, run_background, wait_for_port

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local.cli import main as cli
from constructs_ses.local.flow.smtp import FlowHandler, free_port

from conftest import cdk_json_context, new_stack
from scenarios import example_stack


@pytest.fixture(scope="module")
def example_assembly() -> Path:
    """The example app (a RequestResponse filter, an Event function that prints a line)."""
    app = cdk.App(context=cdk_json_context())
    example_stack(app)
    return Path(app.synth().directory)


def serve(
    assembly: Path,
    *options: str,
    until: str,
    to: Callable[[str], str] = lambda banner: "support@example.com",
) -> str:
    """Serve ``assembly``, send one message to ``to(banner)`` (the banner: what the server
    printed before it waits for mail), and read what the server prints until a line matches the
    pattern ``until``; all it printed."""
    port = free_port()
    command = [sys.executable, "-m", "constructs_ses.local", "serve", "--assembly", str(assembly)]
    server = run_background([*command, "--port", str(port), "--no-starttls", *options])
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for_port(port)
        wait_for_line(lines, r"Stop with Ctrl-C\.$")
        recipient = to("".join(lines))
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.ehlo()
            assert client.mail("jane@sender.example")[0] == 250
            assert client.rcpt(recipient)[0] == 250
            assert client.data(message(recipient).as_bytes())[0] == 250
        wait_for_line(lines, until)
    finally:
        server.terminate()
        try:
            server.wait(90)  # it finishes the Event invocations under way first
        except subprocess.TimeoutExpired:
            server.kill()
            reader.join(10)
            raise AssertionError("serve did not stop on SIGTERM:\n" + "".join(lines)) from None
        reader.join(10)
    assert server.returncode == 0  # SIGTERM stops it as Ctrl-C does
    assert lines[-1] == "stopped\n"
    return "".join(lines)


def wait_for_line(lines: list[str], pattern: str, seconds: float = 60) -> None:
    """Wait until one of ``lines`` (which another thread extends) matches ``pattern``."""
    deadline = time.monotonic() + seconds
    while not any(re.match(pattern, line) for line in list(lines)):
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)


def test_serve_prints_event_outcomes_and_every_invocation_s_logs(example_assembly: Path) -> None:
    output = serve(example_assembly, until=r"message \S+:$")
    assert "--to demo@example.com" in output  # the banner names an address a rule receives
    assert re.search(r"in a local AWS at http://127\.0\.0\.1:\d+ \(account", output)
    assert "aws --endpoint-url http://127.0.0.1:" in output
    assert re.search(r"  notified arn:aws:sns:\S+: SNS message [0-9a-f-]{36}\n", output)
    message_id = next(line for line in output.splitlines() if line.startswith("message "))
    message_id = message_id.split()[1]
    assert '(RequestResponse): answered {"disposition": "CONTINUE"}' in output
    assert "  | START RequestId: " in output and "  | REPORT RequestId: " in output
    assert f"message {message_id}:\n" in output  # the Event invocation's outcome, later
    event_part = output.split(f"message {message_id}:\n", 1)[1]
    assert "(Event): answered null" in event_part
    assert f'"ticketFor": "{message_id}"' in event_part  # what the function printed


def test_serve_quiet_prints_one_line_a_message(example_assembly: Path) -> None:
    output = serve(example_assembly, "--quiet", until=r"message .*: done$")
    lines = [line for line in output.splitlines() if line.startswith("message ")]
    assert len(lines) == 1 and lines[0].endswith("to support@example.com: done")
    assert "START RequestId" not in output


def test_demo_fails_when_a_function_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assembly = stack_with_function(
        "def handler(event, context):\n    raise ValueError('x')", InvocationType.REQUEST_RESPONSE
    )
    assert cli(["demo", "--assembly", str(assembly)]) == 1
    output = capsys.readouterr().out
    assert "demo: FAILED" in output
    assert "failed: ValueError: x" in output


def stack_with_function(code: str, invocation_type: InvocationType) -> Path:
    """An assembly whose one rule, for support@example.com, invokes a function of ``code``."""
    stack = new_stack()
    function = lambda_.Function(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_11,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule(
        "Support",
        recipients=["support@example.com"],
        function=function,
        invocation_type=invocation_type,
    )
    return Path(stack.node.root.synth().directory)  # type: ignore[attr-defined]


FAILING = """\
def handler(event, context):
    print('opening a ticket for', event['Records'][0]['ses']['mail']['messageId'])
    raise RuntimeError('the ticket system is down')
"""


def test_serve_prints_a_failed_event_invocation_s_error_attempts_and_logs() -> None:
    """serve has no way to shorten the retry delays: the three attempts take the flow's 1 + 2 s
    (Lambda's are about 1 and 2 minutes)."""
    assembly = stack_with_function(FAILING, InvocationType.EVENT)
    output = serve(assembly, until=r"message \S+:$")
    message_id = next(line for line in output.splitlines() if line.startswith("message "))
    message_id = message_id.split()[1]
    assert "(Event): invoked; its outcome follows" in output
    event_part = output.split(f"message {message_id}:\n", 1)[1]
    assert "(Event): RuntimeError: the ticket system is down, 3 attempts\n" in event_part
    assert event_part.count(f"    | opening a ticket for {message_id}\n") == 3  # every attempt's
    assert event_part.count("    | START RequestId: ") == 3
    assert "    | Traceback (most recent call last):" in event_part


def test_demo_fails_when_a_message_is_answered_otherwise_than_the_rules_say(
    example_assembly: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server refuses support@, which a rule receives, and accepts mail no rule receives."""

    class Contrary(FlowHandler):
        async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
        ) -> str:
            if address == "support@example.com":
                return "550 5.1.1 refused by this test"
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

    monkeypatch.setattr("constructs_ses.local.cli.FlowHandler", Contrary)
    assert cli(["demo", "--assembly", str(example_assembly)]) == 1
    output = capsys.readouterr().out
    failures = output.split("demo: FAILED\n", 1)[1].splitlines()
    assert failures == [
        "  a clean message to support@example.com: refused",
        "  a message for a domain no rule receives: accepted",
    ]


INTERPRETER = """\
import sys

def handler(event, context):
    print('interpreter:', sys.version.split()[0])
    return {'disposition': 'CONTINUE'}
"""


@pytest.fixture(scope="module")
def interpreter_assembly() -> Path:
    """A RequestResponse function for support@example.com that prints its interpreter."""
    return stack_with_function(INTERPRETER, InvocationType.REQUEST_RESPONSE)


OTHER_PYTHON = Path("/usr/bin/python3.11")
"""Debian's Python 3.11, another installation than the one running the tests, for which the
runtime's libraries installed here are made (the same minor version)."""


def chosen_python(tmp_path: Path) -> tuple[Path, str]:
    """Another installation's Python under another name, which only ``--python`` could give,
    and its version."""
    if not OTHER_PYTHON.exists() or platform.python_version() == _version(OTHER_PYTHON):
        pytest.skip(f"{OTHER_PYTHON} is not another Python 3.11 here")
    link = tmp_path / "chosen" / "python3"
    link.parent.mkdir()
    link.symlink_to(OTHER_PYTHON)
    return link, _version(OTHER_PYTHON)


def _version(python: Path) -> str:
    found = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def test_serve_runs_the_functions_with_the_chosen_interpreter(
    interpreter_assembly: Path, tmp_path: Path
) -> None:
    python, version = chosen_python(tmp_path)
    output = serve(interpreter_assembly, "--python", str(python), until=r"  result: ")
    assert f"    | interpreter: {version}\n" in output


def test_demo_runs_the_functions_with_the_chosen_interpreter(
    interpreter_assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python, version = chosen_python(tmp_path)
    assert cli(["demo", "--assembly", str(interpreter_assembly), "--python", str(python)]) == 0
    assert f"    | interpreter: {version}\n" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["demo"]], ids=["serve", "demo"])
@pytest.mark.parametrize(
    "broken",
    [
        ("", "does not run: [Errno 2] No such file or directory"),
        ("#!/bin/sh\necho 'this is no python' >&2\nexit 1\n", "does not run: this is no python"),
        ("#!/bin/sh\nexit 1\n", "does not run: exit status 1"),
        (
            "#!/bin/sh\necho hello\n",
            "does not run Python: asked for its version, it printed 'hello'",
        ),
    ],
    ids=["missing", "failing", "silent", "not-python"],
)
def test_fails_when_the_chosen_interpreter_does_not_run(
    interpreter_assembly: Path,
    tmp_path: Path,
    *,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    broken: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path that does not exist, one that exits 1 (saying why, or not), one that is no Python;
    the flow leaves no directory behind."""
    script, why = broken
    python = tmp_path / "python3"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    if script:
        python.write_text(script)
        python.chmod(0o755)
    sigterm = signal.getsignal(signal.SIGTERM)  # serve sets its own
    try:
        status = cli([*command, "--assembly", str(interpreter_assembly), "--python", str(python)])
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: python={str(python)!r} {why}")
    assert list(temporary.iterdir()) == []


def test_serve_banner_s_example_recipient_is_accepted(example_assembly: Path) -> None:
    recipients: list[str] = []

    def banner_s_recipient(banner: str) -> str:
        (found,) = re.findall(r"^Send one: .* --to (\S+) ", banner, re.MULTILINE)
        recipients.append(found)
        return str(found)

    output = serve(example_assembly, until=r"  result: ", to=banner_s_recipient)
    (recipient,) = recipients
    assert re.search(rf"^message \S+ to {re.escape(recipient)}\n", output, re.MULTILINE)
    assert "  result: done\n" in output
