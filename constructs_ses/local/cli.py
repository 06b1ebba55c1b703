"""``python -m constructs_ses.local``: serve a synthesized app's rules over SMTP, send to it."""

from __future__ import annotations

import argparse
import json
import smtplib
import ssl
import sys
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from constructs_ses.local.assembly import AssemblyError
from constructs_ses.local.engine import Delivery, MailFlow
from constructs_ses.local.smtp import (
    VERDICTS_HEADER,
    FlowHandler,
    free_port,
    parse_verdicts,
    serving,
)

__all__ = ["main"]

DEFAULT_PORT = 2525


def print_delivery(delivery: Delivery) -> None:
    """One message's trace, as the server prints it."""
    print(f"message {delivery.message_id} to {', '.join(delivery.recipients)}")
    for step in delivery.steps:
        print(f"  {step}")
    for path in delivery.stored:
        print(f"  stored: {path}")
    for invocation in delivery.invocations:
        outcome = invocation.error or f"answered {json.dumps(invocation.answer)}"
        attempts = f", {invocation.attempts} attempts" if invocation.attempts > 1 else ""
        print(f"  {invocation.function} ({invocation.invocation_type}): {outcome}{attempts}")
    if delivery.bounce is not None:
        print(f"  bounced: {delivery.bounce.smtp_reply_code} {delivery.bounce.message}")
    print(f"  result: {'stopped by ' + delivery.stopped_by if delivery.stopped_by else 'done'}")
    sys.stdout.flush()


def _flow(arguments: argparse.Namespace) -> MailFlow:
    return MailFlow.from_assembly(
        arguments.assembly,
        rule_set=arguments.rule_set,
        stack=arguments.stack,
        store_dir=arguments.store,
    )


def _verdicts(pairs: Sequence[str]) -> dict[str, str]:
    try:
        return parse_verdicts(pairs)
    except ValueError as error:
        raise SystemExit(f"error: --verdict {error}") from None


def serve(arguments: argparse.Namespace) -> int:
    """Serve until interrupted."""
    flow = _flow(arguments)
    handler = FlowHandler(flow, verdicts=_verdicts(arguments.verdict), report=print_delivery)
    with serving(
        handler, host=arguments.host, port=arguments.port, starttls=not arguments.no_starttls
    ) as (host, port):
        rules = ", ".join(r.name for r in flow.rule_set.rules) or "none"
        print(f"Rule set {flow.rule_set.name!r} ({rules}) receives mail on {host}:{port}.")
        print(f"Stored messages and notifications go to {flow.store_dir}.")
        print(
            "Send one:  python -m constructs_ses.local send "
            f"--port {port} --to support@example.com --subject Hello"
        )
        print("Stop with Ctrl-C.")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped")
    flow.close()
    return 0


def _message(arguments: argparse.Namespace) -> EmailMessage | bytes:
    if arguments.eml:
        return Path(arguments.eml).read_bytes()
    message = EmailMessage()
    message["From"] = arguments.sender
    message["To"] = ", ".join(arguments.to)
    message["Subject"] = arguments.subject
    message.set_content(arguments.body)
    return message


def send(arguments: argparse.Namespace) -> int:
    """Send one message; print the server's answer; exit 1 when it refused."""
    message = _message(arguments)
    raw = message.as_bytes() if isinstance(message, EmailMessage) else message
    if arguments.verdict:
        header = ", ".join(f"{k}={v}" for k, v in _verdicts(arguments.verdict).items())
        raw = f"{VERDICTS_HEADER}: {header}\r\n".encode() + raw
    try:
        with smtplib.SMTP(arguments.host, arguments.port, timeout=60) as client:
            if arguments.starttls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE  # the local server's own certificate
                client.starttls(context=context)
            refused = client.sendmail(arguments.sender, arguments.to, raw)
    except smtplib.SMTPRecipientsRefused as error:
        for address, (code, reply) in error.recipients.items():
            print(f"refused {address}: {code} {reply.decode()}")
        return 1
    except smtplib.SMTPDataError as error:
        reason = error.smtp_error
        text = reason.decode() if isinstance(reason, bytes) else reason
        print(f"rejected: {error.smtp_code} {text}")
        return 1
    for address, (code, reply) in refused.items():
        print(f"refused {address}: {code} {reply.decode()}")
    print(f"accepted for {', '.join(a for a in arguments.to if a not in refused)}")
    return 1 if refused else 0


DEMO_MESSAGES = (
    ("a clean message to support@", "support@example.com", ""),
    ("spam to support@", "support@example.com", "spam=FAIL"),
    ("a message for a domain no rule receives", "someone@elsewhere.example", ""),
)


def demo(arguments: argparse.Namespace) -> int:
    """Serve on a free port, send the demo messages through SMTP, print what happened."""
    flow = _flow(arguments)
    deliveries: list[Delivery] = []
    handler = FlowHandler(flow, report=deliveries.append)
    port = free_port()
    failures = 0
    with serving(handler, port=port):
        for title, recipient, verdicts in DEMO_MESSAGES:
            print(f"== {title} ({recipient}{', ' + verdicts if verdicts else ''})")
            sent = argparse.Namespace(
                eml=None,
                host="127.0.0.1",
                port=port,
                to=[recipient],
                sender="jane@example.org",
                subject=f"Demo: {title}",
                body="Sent by make demo.",
                verdict=[verdicts] if verdicts else [],
                starttls=True,
            )
            status = send(sent)
            expected_refusal = not flow.accepts(recipient)
            failures += int(bool(status) != expected_refusal)
            for delivery in deliveries:
                print_delivery(delivery.wait(60))
            deliveries.clear()
    flow.close()
    print("demo: every message was answered as expected" if not failures else "demo: FAILED")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m constructs_ses.local")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="receive mail for a synthesized rule set")
    serve_parser.add_argument("--assembly", default="cdk.out", help="cloud assembly (cdk.out)")
    serve_parser.add_argument("--rule-set", help="the rule set (default: the only one)")
    serve_parser.add_argument("--stack", help="only this stack's rule sets")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    serve_parser.add_argument("--store", help="where S3 actions store messages (default: temp)")
    serve_parser.add_argument(
        "--verdict", action="append", default=[], help="default verdict, e.g. spam=FAIL"
    )
    serve_parser.add_argument("--no-starttls", action="store_true", help="offer no STARTTLS")
    send_parser = commands.add_parser("send", help="send a message to a local server")
    send_parser.add_argument("eml", nargs="?", help="an .eml file (default: a generated message)")
    send_parser.add_argument("--host", default="127.0.0.1")
    send_parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    send_parser.add_argument("--to", action="append", required=True, help="a recipient")
    send_parser.add_argument("--from", dest="sender", default="sender@example.org")
    send_parser.add_argument("--subject", default="Hello from the local mail flow")
    send_parser.add_argument("--body", default="This message was sent to the local mail flow.")
    send_parser.add_argument("--verdict", action="append", default=[], help="e.g. spam=FAIL")
    send_parser.add_argument("--starttls", action="store_true")
    demo_parser = commands.add_parser("demo", help="send sample messages through a rule set")
    demo_parser.add_argument("--assembly", default="cdk.out", help="cloud assembly (cdk.out)")
    demo_parser.add_argument("--rule-set", help="the rule set (default: the only one)")
    demo_parser.add_argument("--stack", help="only this stack's rule sets")
    demo_parser.add_argument("--store", help="where S3 actions store messages (default: temp)")
    arguments = parser.parse_args(argv)
    if arguments.command == "serve" and arguments.port == 0:
        arguments.port = free_port(arguments.host)
    try:
        run = {"serve": serve, "send": send, "demo": demo}[arguments.command]
        return run(arguments)
    except (AssemblyError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
