"""Benchmark of the local mail flow: deliveries per second, through the API and over SMTP.

A rule set of 10 rules, each with a RequestResponse Lambda action running the handler template,
all receiving example.com: every message makes 10 invocations. Run with ``make bench``.
"""

from __future__ import annotations

import os
import platform
import smtplib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import MailFlow
from constructs_ses.local.smtp import FlowHandler, free_port, serving

from conftest import new_stack

RULES = 10
MESSAGES = 100
RAW = b"From: a@sender.example\r\nTo: to@example.com\r\nSubject: bench\r\n\r\nbody\r\n"


def main() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="bench")
    for index in range(RULES):
        mail.add_lambda_rule(
            f"Rule{index}",
            recipients=["example.com"],
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )
    with tempfile.TemporaryDirectory() as store:
        flow = MailFlow.from_stack(stack, store_dir=store)
        flow.deliver(RAW, recipients=["to@example.com"])  # starts the warm workers
        started = time.perf_counter()
        for _ in range(MESSAGES):
            delivery = flow.deliver(RAW, recipients=["to@example.com"])
            assert len(delivery.invocations) == RULES
        api = MESSAGES / (time.perf_counter() - started)
        port = free_port()
        with (
            serving(FlowHandler(flow), port=port, starttls=False),
            smtplib.SMTP("127.0.0.1", port, timeout=120) as client,
        ):
            started = time.perf_counter()
            for _ in range(MESSAGES):
                client.sendmail("a@sender.example", ["to@example.com"], RAW)
            smtp = MESSAGES / (time.perf_counter() - started)
        flow.close()
    print(
        f"Local mail flow, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores: {RULES} rules, each a RequestResponse "
        "Lambda action running the handler template (10 invocations per message), workers warm"
    )
    print()
    print("| measure | result | over |")
    print("| --- | --- | --- |")
    print(f"| deliveries through the Python API | {api:.2f} messages/s | {MESSAGES} messages |")
    print(f"| deliveries over SMTP (one client) | {smtp:.2f} messages/s | {MESSAGES} messages |")


if __name__ == "__main__":
    main()
