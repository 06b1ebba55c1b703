"""The local flow's command line: what `serve` prints, and `demo` against the example app."""

from __future__ import annotations

import re
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from test_local_smtp import message, run_background, wait_for_port

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local.cli import main as cli
from constructs_ses.local.smtp import free_port

from conftest import cdk_json_context, new_stack
from scenarios import example_stack


@pytest.fixture(scope="module")
def example_assembly() -> Path:
    """The example app (a RequestResponse filter, an Event function that prints a line)."""
    app = cdk.App(context=cdk_json_context())
    example_stack(app)
    return Path(app.synth().directory)


def serve(assembly: Path, *options: str, until: str) -> str:
    """Serve ``assembly``, send one message to support@example.com, and read what the server
    prints until a line matches the pattern ``until``; all it printed."""
    port = free_port()
    command = [sys.executable, "-m", "constructs_ses.local", "serve", "--assembly", str(assembly)]
    server = run_background([*command, "--port", str(port), "--no-starttls", *options])
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for_port(port)
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            assert client.send_message(message("support@example.com")) == {}
        deadline = time.monotonic() + 60
        while not any(re.match(until, line) for line in list(lines)):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
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


def test_demo_fails_when_a_function_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = new_stack()
    broken = lambda_.Function(
        stack,
        "Broken",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    raise ValueError('x')"),
    )
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule(
        "Only",
        recipients=["only@example.com"],
        function=broken,
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    assembly = stack.node.root.synth().directory  # type: ignore[attr-defined]
    assert cli(["demo", "--assembly", assembly]) == 1
    output = capsys.readouterr().out
    assert "demo: FAILED" in output
    assert "failed: ValueError: x" in output
