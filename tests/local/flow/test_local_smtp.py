"""The SMTP front and the command line of the local mail flow, on loopback."""

from __future__ import annotations

import re
import shlex
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from test_local_runtime import GATED

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import Delivery, MailFlow
from constructs_ses.local.cli import main as cli
from constructs_ses.local.flow.smtp import FlowHandler, free_port, serving

from conftest import new_stack, run


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Drop-spam, then support@ stored and decided; bounce.me@ bounced; secure@ needs TLS."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound", drop_spam=True)
    mail.add_lambda_rule(
        "Support",
        recipients=["support@example.com"],
        invocation_type=InvocationType.REQUEST_RESPONSE,
        bucket=s3.Bucket(stack, "Archive", bucket_name="archive"),
    )
    ses.ReceiptRule(
        stack,
        "Refuse",
        rule_set=mail.rule_set,
        after=mail.rules[-1].rule,
        recipients=["bounce.me@example.com", "secure@example.com"],
        tls_policy=ses.TlsPolicy.REQUIRE,
        actions=[
            ses_actions.Bounce(
                sender="mailer@example.com",
                template=ses_actions.BounceTemplate.MAILBOX_DOES_NOT_EXIST,
            )
        ],
    )
    return Path(stack.node.root.synth().directory)  # type: ignore[attr-defined]


@pytest.fixture
def server(assembly: Path, tmp_path: Path) -> Iterator[tuple[int, list[Delivery]]]:
    flow = MailFlow.from_assembly(assembly, store_dir=tmp_path)
    deliveries: list[Delivery] = []
    port = free_port()
    with serving(FlowHandler(flow, report=deliveries.append), port=port):
        yield port, deliveries
    flow.close()


def message(to: str, subject: str = "Hi") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "jane@sender.example"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content("Hello, café ☕")
    return mail


def tls_client() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_accepted_message_runs_the_rules(server: tuple[int, list[Delivery]]) -> None:
    port, deliveries = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        assert client.send_message(message("support@example.com")) == {}
    (delivery,) = deliveries
    assert [s.rule for s in delivery.steps if s.outcome == "matched"] == ["DropSpam", "Support"]
    (stored,) = delivery.stored
    assert b"Subject: Hi" in stored.read_bytes()
    # SES's Received header names the client's address and EHLO name
    received = rf"Received: from \S+ \(\[127\.0\.0\.1\]\) by \S+ with SMTP id {delivery.message_id}"
    assert re.search(received.encode(), stored.read_bytes())


def test_drop_spam_rule_makes_every_recipient_acceptable(
    server: tuple[int, list[Delivery]],
) -> None:
    port, _ = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        assert client.docmd("MAIL FROM:<jane@sender.example>")[0] == 250
        assert client.docmd("RCPT TO:<anyone@elsewhere.example>")[0] == 250


def test_recipient_no_rule_receives_is_refused_at_rcpt(tmp_path: Path) -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule(
        "Support", recipients=["support@example.com"]
    )
    refused, accepted = rcpt_replies(
        MailFlow.from_stack(stack, store_dir=tmp_path), "sales@example.com", "support+x@example.com"
    )
    assert refused[0] == 550 and b"no enabled receipt rule of rule set 'inbound'" in refused[1]
    assert accepted[0] == 250


def rcpt_replies(flow: MailFlow, *recipients: str) -> list[tuple[int, bytes]]:
    """The server's replies to RCPT TO for each of ``recipients`` in one session; closes
    ``flow``."""
    port = free_port()
    with (
        flow,
        serving(FlowHandler(flow), port=port, starttls=False),
        smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
    ):
        client.ehlo()
        assert client.docmd("MAIL FROM:<jane@sender.example>")[0] == 250
        return [client.docmd(f"RCPT TO:<{recipient}>") for recipient in recipients]


def test_mail_for_a_domain_the_stack_does_not_verify_is_refused_at_rcpt(tmp_path: Path) -> None:
    """With domains declared (``add_domain``), SES receives mail for them and their
    subdomains only, even for a rule of every recipient ("Verifying your domain for Amazon SES
    email receiving", Amazon SES Developer Guide)."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_domain("example.com")
    mail.add_lambda_rule("Everyone")  # every recipient of every verified domain
    flow = MailFlow.from_stack(stack, store_dir=tmp_path)
    assert flow.rule_set.domains == ("example.com",)
    other, apex, subdomain = rcpt_replies(
        flow, "someone@other.example", "someone@Example.com", "someone@eu.example.com"
    )
    assert other[0] == 550
    assert b"its domain is not one that the stack verifies in SES (example.com)" in other[1]
    assert apex[0] == subdomain[0] == 250


def test_verdicts_header_sets_the_verdicts_and_is_removed(
    server: tuple[int, list[Delivery]],
) -> None:
    port, deliveries = server
    spam = message("support@example.com")
    spam["X-Local-Verdicts"] = "spam=FAIL"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(spam)
    (delivery,) = deliveries
    assert delivery.stopped_by == "DropSpam"
    event = delivery.invocations[0].event
    assert event["Records"][0]["ses"]["receipt"]["spamVerdict"] == {"status": "FAIL"}
    names = [h["name"] for h in event["Records"][0]["ses"]["mail"]["headers"]]
    assert "X-Local-Verdicts" not in names


def test_bounce_action_answers_with_its_code(server: tuple[int, list[Delivery]]) -> None:
    port, _ = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=tls_client())
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.send_message(message("bounce.me@example.com"))
    assert error.value.smtp_code == 550


def test_tls_policy_require_refuses_plaintext_sessions(
    server: tuple[int, list[Delivery]],
) -> None:
    port, _ = server
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as error,
    ):
        client.send_message(message("secure@example.com"))
    ((code, reply),) = error.value.recipients.values()
    assert code == 530
    assert b"STARTTLS" in reply


def test_oversized_message_is_refused(server: tuple[int, list[Delivery]]) -> None:
    port, deliveries = server
    huge = b"From: a@example.org\r\nSubject: big\r\n\r\n" + b"x" * (41 * 1024 * 1024)
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=60) as client,
        pytest.raises(smtplib.SMTPException) as error,
    ):
        client.sendmail("a@example.org", ["support@example.com"], huge)
    assert "552" in str(error.value) or isinstance(error.value, smtplib.SMTPDataError)
    assert deliveries == []


@pytest.mark.parametrize(
    "raw",
    [
        b"no headers at all, just text",
        b"Subject: =?bogus?Q?x?=\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        b"Subject: big\r\n"
        + b"".join(b"X-Many-%d: %s\r\n" % (i, b"y" * 500) for i in range(40))
        + b"\r\nbody",
        "Subject: caf\u00e9\r\nFrom: \u00e9@example.org\r\n\r\n8-bit \u2713".encode(),
    ],
)
def test_malformed_huge_and_8bit_messages_are_processed(
    server: tuple[int, list[Delivery]], raw: bytes
) -> None:
    port, deliveries = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.sendmail("a@example.org", ["support@example.com"], raw)
    (delivery,) = deliveries
    assert delivery.matched
    assert delivery.stored[0].read_bytes().rstrip(b"\r\n").endswith(raw.rstrip(b"\r\n")[-20:])


def test_huge_headers_are_truncated_in_the_event(server: tuple[int, list[Delivery]]) -> None:
    port, deliveries = server
    raw = b"Subject: big\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"y" * 500) for i in range(40))
    raw += b"To: Late <late@example.com>\r\n"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("a@example.org", ["support@example.com"], raw + b"\r\nbody")
    (delivery,) = deliveries
    mail = delivery.invocations[0].event["Records"][0]["ses"]["mail"]
    assert mail["headersTruncated"] is True
    assert 0 < len(mail["headers"]) < 41
    assert "To" not in {header["name"] for header in mail["headers"]}
    # commonHeaders is read from every header, those past the cut too
    assert mail["commonHeaders"]["to"] == ["Late <late@example.com>"]
    assert mail["commonHeaders"]["subject"] == "big"


def test_overlong_line_is_refused_and_the_server_goes_on(
    server: tuple[int, list[Delivery]],
) -> None:
    port, deliveries = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.org", ["support@example.com"], b"Subject: " + b"h" * 5000)
        assert error.value.smtp_code == 500
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        assert client.send_message(message("support@example.com")) == {}
    assert len(deliveries) == 1


def test_cli_serve_and_send(assembly: Path, tmp_path: Path) -> None:
    port = free_port()
    serve = run_background(
        [
            sys.executable,
            "-m",
            "constructs_ses.local",
            "serve",
            "--assembly",
            str(assembly),
            "--port",
            str(port),
            "--store",
            str(tmp_path),
        ],
    )
    banner: list[str] = []
    try:
        assert serve.stdout is not None
        while not (banner and banner[-1].startswith(("Send one:", "No enabled rule"))):
            banner.append(serve.stdout.readline())
            assert banner[-1], "serve ended before its banner"
        # the printed command works from another directory, without the venv on PATH
        printed = shlex.split(banner[-1].removeprefix("Send one:"))
        assert printed[0] == sys.executable and printed[1:4] == [
            "-m",
            "constructs_ses.local",
            "send",
        ]
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        from_banner = run(printed, cwd=outside, env={"PATH": "/usr/bin:/bin"})
        assert from_banner.returncode == 0, from_banner.stdout + from_banner.stderr
        assert from_banner.stdout.startswith(f"accepted for {printed[7]}")
        sent = run(
            [
                sys.executable,
                "-m",
                "constructs_ses.local",
                "send",
                "--port",
                str(port),
                "--to",
                "support@example.com",
                "--verdict",
                "virus=FAIL",
            ],
            cwd=tmp_path,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "accepted for support@example.com" in sent.stdout
        eml = tmp_path / "order.eml"
        eml.write_bytes(b"From: jane@sender.example\r\nSubject: From a file\r\n\r\nHi\r\n")
        from_file = run(
            [
                sys.executable,
                "-m",
                "constructs_ses.local",
                "send",
                str(eml),
                "--port",
                str(port),
                "--to",
                "support@example.com",
                "--starttls",
            ],
            cwd=tmp_path,
        )
        assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    finally:
        serve.terminate()
        output, _ = serve.communicate(timeout=30)
    output = "".join(banner) + output
    assert "receives mail on 127.0.0.1" in output
    assert "DropSpam: Lambda" in output and "-> STOP_RULE_SET" in output
    assert "Support: S3 -> stored" in output


def test_cli_reports_a_missing_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["serve", "--assembly", str(tmp_path / "nowhere"), "--port", "0"]) == 2
    assert "is not a cloud assembly: it has no manifest.json" in capsys.readouterr().err


def run_background(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


def test_cli_refuses_a_verdict_without_a_status() -> None:
    with pytest.raises(SystemExit, match=r"--verdict 'spam' is not NAME=STATUS, e.g. spam=FAIL"):
        cli(["send", "--to", "a@example.com", "--verdict", "spam"])


@pytest.mark.parametrize("command", ["send", "serve"])
@pytest.mark.parametrize(
    ("verdict", "error"),
    [
        ("spam=NOPE", r"--verdict verdicts\['spam'\]='NOPE' is not a value SES sends; allowed: "),
        ("dmarc_policy=strict", r"verdicts\['dmarc_policy'\]='strict' .* none, quarantine"),
        ("phishing=FAIL", r"--verdict verdicts has unknown keys \['phishing'\]"),
    ],
)
def test_fails_on_a_verdict_ses_never_sends(
    assembly: Path, command: str, verdict: str, error: str
) -> None:
    """Refused before a message is sent or the server starts."""
    arguments = ["--to", "a@example.com"] if command == "send" else ["--assembly", str(assembly)]
    with pytest.raises(SystemExit, match=error):
        cli([command, *arguments, "--verdict", verdict])


def test_a_verdicts_header_ses_would_never_send_is_refused_at_data(
    server: tuple[int, list[Delivery]],
) -> None:
    port, deliveries = server
    bad = message("support@example.com")
    bad["X-Local-Verdicts"] = "virus=MAYBE"
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.send_message(bad)
    assert refused.value.smtp_code == 501
    assert b"verdicts['virus']='MAYBE' is not a value SES sends" in refused.value.smtp_error
    assert deliveries == []


def test_mail_for_a_slow_function_holds_up_no_other_mail(tmp_path: Path) -> None:
    """Eight messages wait for a RequestResponse function; one for another rule still passes."""
    gate = tmp_path / "gate"
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    gated = lambda_.Function(
        stack,
        "Gated",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline(GATED),
        timeout=cdk.Duration.seconds(30),
        environment={"GATE": str(gate)},
    )
    mail.add_lambda_rule(
        "Slow",
        recipients=["slow@example.com"],
        function=gated,
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    mail.add_lambda_rule(
        "Quick", recipients=["quick@example.com"], invocation_type=InvocationType.REQUEST_RESPONSE
    )
    port = free_port()
    answers: list[str] = []

    def send(to: str) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.sendmail("jane@sender.example", [to], message(to).as_bytes())
        answers.append(to)

    with (
        # its functions mark their start in this test's directory: plain processes
        MailFlow.from_stack(stack, store_dir=tmp_path / "store", sandbox=False) as flow,
        serving(FlowHandler(flow), port=port, starttls=False),
    ):
        slow = [threading.Thread(target=send, args=("slow@example.com",)) for _ in range(8)]
        for thread in slow:
            thread.start()
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("started-*"))) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(tmp_path.glob("started-*"))) == 8
        send("quick@example.com")
        assert answers == ["quick@example.com"]  # while all eight still wait
        gate.touch()
        for thread in slow:
            thread.join(60)
    assert answers.count("slow@example.com") == 8


def delivery_threads() -> int:
    return sum(thread.name == "ses-delivery" for thread in threading.enumerate())


def test_messages_one_after_another_reuse_an_idle_delivery_thread(
    server: tuple[int, list[Delivery]],
) -> None:
    """A delivery thread waits for the next message instead of a thread started per message."""
    port, deliveries = server
    before = delivery_threads()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for number in range(5):
            client.send_message(message("support@example.com", subject=f"n{number}"))
    time.sleep(0.2)
    assert len(deliveries) == 5
    assert 1 <= delivery_threads() <= max(before, 1)


def smtp_session(port: int) -> tuple[Any, Any]:
    """A raw SMTP session on ``port`` and a function that sends a line and reads the reply."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    replies = connection.makefile("rb")
    assert replies.readline().startswith(b"220")

    def command(line: bytes) -> bytes:
        connection.sendall(line + b"\r\n")
        reply = b""
        while True:
            part = replies.readline()
            reply += part
            if part[3:4] != b"-":
                return reply

    return connection, command


def send_to_support(command: Any) -> None:
    """Finish a transaction whose MAIL FROM was accepted: RCPT TO support@, DATA, a message."""
    assert command(b"RCPT TO:<support@example.com>").startswith(b"250")
    assert command(b"DATA").startswith(b"354")
    assert command(b"Subject: still here\r\n\r\nbody\r\n.").startswith(b"250")


@pytest.mark.parametrize(
    ("path", "reply"),
    [
        (b"<example.com>", b"553 5.1.3 'example.com' is not a mailbox"),
        (b"<support@example.com", b"501 5.5.4 Syntax: RCPT TO:<address>"),
        (b"support@example.com", b"501 5.5.4 Syntax: RCPT TO:<address>"),
        (b"<sup port@example.com>", b"553 5.1.3 'sup port@example.com' is not a mailbox"),
        (b"<sup\x00port@example.com>", b"553 5.1.3 'sup\\x00port@example.com' is not a mailbox"),
        (  # each byte that is not UTF-8 shown as U+FFFD
            b"<\xff\xfe@example.com>",
            b"553 5.1.3 '\xef\xbf\xbd\xef\xbf\xbd@example.com' is not a mailbox: "
            b"it is not valid UTF-8",
        ),
        (b"<support@-example.com>", b"553 5.1.3 'support@-example.com' is not a mailbox"),
    ],
)
def test_malformed_recipients_are_refused_and_the_session_goes_on(
    server: tuple[int, list[Delivery]], path: bytes, reply: bytes
) -> None:
    """RFC 5321, 4.1.2 (the forward path) and 4.2.3 (501, 553)."""
    port, deliveries = server
    connection, command = smtp_session(port)
    with connection:
        assert command(b"EHLO client.example").startswith(b"250")
        assert command(b"MAIL FROM:<jane@sender.example>").startswith(b"250")
        assert reply in command(b"RCPT TO:" + path)
        send_to_support(command)
        command(b"QUIT")
    assert deliveries[-1].recipients == ["support@example.com"]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (
            b"EHLO bad\rX-Helo-Injected: 1",
            b"501 5.5.2 Syntax: EHLO domain or address literal: "
            b"'bad\\rX-Helo-Injected: 1' is not a domain or an address literal",
        ),
        (b"HELO bad\x00name", b"501 5.5.2 Syntax: HELO domain or address literal: 'bad\\x00name'"),
        (b"EHLO two words", b"501 5.5.2 Syntax: EHLO domain or address literal: 'two words'"),
        (b"EHLO under_score.example", b"501 5.5.2 Syntax: EHLO domain or address literal"),
    ],
)
def test_helo_names_outside_rfc_5321_are_refused_and_never_reach_a_header(
    server: tuple[int, list[Delivery]], line: bytes, reply: bytes
) -> None:
    """RFC 5321 4.1.1.1: EHLO / HELO take a domain or an address literal; the name goes into
    SES's Received, Received-SPF and Authentication-Results headers."""
    port, deliveries = server
    connection, command = smtp_session(port)
    with connection:
        assert command(line).startswith(reply)
        assert command(b"MAIL FROM:<jane@sender.example>").startswith(b"503")  # no EHLO yet
        assert command(b"EHLO [127.0.0.1]").startswith(b"250")
        assert command(b"MAIL FROM:<jane@sender.example>").startswith(b"250")
        send_to_support(command)
        command(b"QUIT")
    (delivery,) = deliveries
    headers = delivery.invocations[0].event["Records"][0]["ses"]["mail"]["headers"]
    assert not any("Injected" in h["name"] or "Injected" in h["value"] for h in headers)
    received = next(h["value"] for h in headers if h["name"] == "Received")
    assert received.startswith("from [127.0.0.1] ([127.0.0.1]) by ")


@pytest.mark.parametrize(
    ("path", "reply"),
    [
        (b"<nul\x00x@b.example>", b"553 5.1.3 'nul\\x00x@b.example' is not a mailbox"),
        (b"<a\rReturn-Path: x@b.example>", b"553 5.1.3 'a\\rReturn-Path: x@b.example'"),
        (b"<jane@>", b"553 5.1.3 'jane@' is not a mailbox: '' is not a domain"),
        (b"jane@sender.example", b"501 5.5.4 Syntax: MAIL FROM:<address>"),
    ],
)
def test_senders_outside_rfc_5321_are_refused_and_the_session_goes_on(
    server: tuple[int, list[Delivery]], path: bytes, reply: bytes
) -> None:
    """RFC 5321 4.1.2: the reverse path is a mailbox in angle brackets, or ``<>``; it becomes
    SES's Return-Path and the event's ``source``."""
    port, deliveries = server
    connection, command = smtp_session(port)
    with connection:
        assert command(b"EHLO client.example").startswith(b"250")
        assert command(b"MAIL FROM:" + path).startswith(reply)
        assert command(b"MAIL FROM:<jane@sender.example> BODY=8BITMIME").startswith(b"250")
        send_to_support(command)
        assert command(b"MAIL FROM:<>").startswith(b"250")  # the null reverse path (bounces)
        command(b"QUIT")
    (delivery,) = deliveries
    assert delivery.invocations[0].event["Records"][0]["ses"]["mail"]["source"] == (
        "jane@sender.example"
    )


def test_auth_is_not_offered_and_the_tls_key_is_private(
    server: tuple[int, list[Delivery]], tmp_path: Path
) -> None:
    port, _ = server
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.example")
        assert not client.has_extn("auth")
        client.starttls(context=tls_client())
        client.ehlo("client.example")
        assert client.has_extn("size") and not client.has_extn("auth")
    key = tmp_path / "tls" / "local-smtp.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
