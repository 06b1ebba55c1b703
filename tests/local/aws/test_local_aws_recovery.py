"""A local AWS that ends under the flow (its process killed): the next message gets a new one,
with the stack's resources made again and the functions' workers pointed at it, said once; the
flow and ``serve`` still close cleanly."""

from __future__ import annotations

import logging
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from test_local_flow import python_function
from test_local_smtp import message, wait_for_port

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import Delivery, MailFlow
from constructs_ses.local.aws.local_aws import LocalAws
from constructs_ses.local.flow.smtp import free_port

from conftest import ACCOUNT, new_stack
from scenarios import example_stack

READER = """
import os

import boto3


def handler(event, context):
    mail = event["Records"][0]["ses"]["mail"]
    key = os.environ["SES_MESSAGE_PREFIX"] + mail["messageId"]
    stored = boto3.client("s3").get_object(Bucket=os.environ["SES_MESSAGE_BUCKET"], Key=key)
    return {
        "disposition": "CONTINUE",
        "read": len(stored["Body"].read()),
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
    }
"""
"""A function that reads the stored message back with boto3, and says where it reached."""
RECIPIENT = "support@example.com"
SERVE = (sys.executable, "-m", "constructs_ses.local", "serve")
WARNING = re.compile(
    r"the local AWS at (http://127\.0\.0\.1:\d+) (ended \(killed by SIGKILL\)|was replaced); "
    r"the stack's buckets, topics, queues and tables of rule set '(\w+)' are made again, empty, "
    r"in the local AWS at (http://127\.0\.0\.1:\d+): the objects, messages and items the old one "
    r"held are lost \(the copies of stored messages and notifications under \S+ remain\)"
)


def reader_stack(rule_set_name: str = "inbound") -> cdk.Stack:
    """support@: stored in a bucket and notified, then read back by ``READER``
    (RequestResponse)."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name=rule_set_name)
    mail.add_lambda_rule(
        "Support",
        recipients=[RECIPIENT],
        function=python_function(stack, "Reader", READER, timeout=cdk.Duration.seconds(10)),
        invocation_type=InvocationType.REQUEST_RESPONSE,
        bucket=s3.Bucket(stack, "Archive"),
        object_key_prefix="in/",
        notify=True,
    )
    return stack


def kill(aws: LocalAws) -> None:
    """Kill the local AWS's process (SIGKILL), as a crash would end it."""
    process = aws._process
    assert process is not None
    process.kill()
    process.wait()


def read_back(delivery: Delivery) -> dict[str, object]:
    """The reader's answer, which must have read the stored message."""
    (invocation,) = delivery.invocations
    assert invocation.error is None, invocation.logs
    answer: dict[str, object] = invocation.answer
    assert answer["read"] == delivery.stored[0].stat().st_size
    return answer


def warnings(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    """The warnings about the local AWS, each as ``WARNING`` matched it."""
    found = [
        record.getMessage()
        for record in caplog.records
        if record.levelname == "WARNING" and record.getMessage().startswith("the local AWS")
    ]
    matched = [WARNING.fullmatch(text) for text in found]
    assert all(matched), found
    return [each for each in matched if each is not None]


def test_a_killed_local_aws_is_replaced_with_the_stack_s_resources_for_the_next_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with MailFlow.from_stack(reader_stack(), store_dir=tmp_path, concurrency=1) as flow:
        first = flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT])
        old = read_back(first)["endpoint"]
        kill(flow.aws)
        with caplog.at_level(logging.WARNING, logger="constructs_ses.local"):
            later = [
                flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT])
                for _ in range(2)
            ]
        # the one warm worker had the old endpoint: it was replaced by one with the new one
        assert [read_back(each)["endpoint"] for each in later] == [flow.endpoint_url] * 2
        assert flow.endpoint_url != old
        assert [len(each.notifications) for each in later] == [1, 1]  # subscribed again
        (warning,) = warnings(caplog)
        assert warning.group(1, 2, 3, 4) == (
            old,
            "ended (killed by SIGKILL)",
            "inbound",
            flow.endpoint_url,
        )
        bucket = next(r.name for r in flow.rule_set.resources if r.kind == "AWS::S3::Bucket")
        listed = flow.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
        assert sorted(item["Key"] for item in listed) == sorted(
            f"in/{each.message_id}" for each in later
        )  # the first message's object went with the old one; its copy stays in the store
        assert first.stored[0].exists()


def test_flows_sharing_a_killed_local_aws_both_go_on_in_the_new_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        LocalAws(account=ACCOUNT) as aws,
        MailFlow.from_stack(reader_stack("one"), aws=aws, store_dir=tmp_path / "1") as one,
        MailFlow.from_stack(reader_stack("two"), aws=aws, store_dir=tmp_path / "2") as two,
    ):
        for flow in (one, two):
            read_back(flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT]))
        old = aws.endpoint_url
        kill(aws)
        with caplog.at_level(logging.WARNING, logger="constructs_ses.local"):
            for flow in (one, two):
                answer = read_back(
                    flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT])
                )
                assert answer["endpoint"] == aws.endpoint_url != old
        said = [(each.group(2), each.group(3)) for each in warnings(caplog)]
        assert said == [("ended (killed by SIGKILL)", "one"), ("was replaced", "two")]
        assert aws.running  # the flows' shared one was started again, not another


def test_a_flow_whose_local_aws_was_killed_closes_cleanly() -> None:
    flow = MailFlow.from_stack(reader_stack())
    read_back(flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT]))
    kill(flow.aws)
    flow.close()
    assert not flow.store_dir.exists()
    assert not flow.runtime.scratch_dir.exists()
    assert not flow.aws.running


def wait_for_lines(lines: list[str], pattern: str, count: int, seconds: float = 90) -> None:
    """Wait until ``count`` of ``lines`` (which another thread extends) match ``pattern``."""
    deadline = time.monotonic() + seconds
    while sum(bool(re.match(pattern, line)) for line in list(lines)) < count:
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)


def local_aws_pid(parent: int) -> int:
    """The pid of the local AWS's process that process ``parent`` started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if ppid == parent and b"constructs_ses.local.aws.server" in command:
            return int(stat.parent.name)
    raise AssertionError(f"process {parent} has no local AWS")


@contextmanager
def serving_the_example_app(
    env: dict[str, str],
) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    """``serve`` of the example app as a program of its own, with ``env``, on a free port: the
    process, its port and its output's lines as they come; stopped with SIGTERM at the end."""
    app = cdk.App()
    example_stack(app)
    port = free_port()
    server = subprocess.Popen(
        [*SERVE, "--assembly", app.synth().directory, "--port", str(port), "--no-starttls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for_port(port)
        yield server, port, lines
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(90)
        reader.join(10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the process in /proc")
def test_serve_replaces_a_killed_local_aws_and_stops_cleanly(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with serving_the_example_app({**os.environ, "TMPDIR": str(scratch)}) as (server, port, lines):
        for sent in range(2):
            if sent:
                os.kill(local_aws_pid(server.pid), signal.SIGKILL)
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                client.sendmail("jane@sender.example", [RECIPIENT], message(RECIPIENT).as_bytes())
            # the tickets function (Event) reads the stored message and publishes with boto3
            wait_for_lines(lines, r"  \S+ \(Event\): answered null$", sent + 1)
    output = "".join(lines)
    assert server.returncode == 0, output
    assert len(re.findall(r"ended \(killed by SIGKILL\)", output)) == 1, output
    assert "Traceback" not in output and "451 4.3.0" not in output, output  # no delivery failed
    assert list(scratch.iterdir()) == []  # no directory of the flow's left behind
