"""1,000 messages from 20 concurrent SMTP clients: none lost, each processed exactly once."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from pathlib import Path

from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import Delivery, MailFlow
from constructs_ses.local.flow.smtp import FlowHandler, free_port, serving

from conftest import new_stack

CLIENTS = 20
MESSAGES_PER_CLIENT = 50
REFUSED_EVERY = 10  # every tenth message goes to a domain no rule receives


def test_thousand_messages_from_twenty_clients(tmp_path: Path) -> None:
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="load")
    archive = s3.Bucket(stack, "Archive", bucket_name="archive")
    rule_set.add_rule(
        "Store",
        recipients=["example.com"],
        actions=[ses_actions.S3(bucket=archive, object_key_prefix="in/")],
    )
    flow = MailFlow.from_stack(stack, store_dir=tmp_path)
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def report(delivery: Delivery) -> None:
        with lock:
            deliveries.append(delivery)

    accepted: list[str] = []
    refused: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    port = free_port()

    def client(number: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for index in range(MESSAGES_PER_CLIENT):
                    token = f"client{number}-message{index}"
                    domain = "elsewhere.example" if index % REFUSED_EVERY == 0 else "example.com"
                    raw = f"Subject: {token}\r\nFrom: c{number}@sender.example\r\n\r\n{token}\r\n"
                    try:
                        smtp.sendmail(f"c{number}@sender.example", [f"to@{domain}"], raw)
                    except smtplib.SMTPRecipientsRefused as error:
                        ((code, _),) = error.recipients.values()
                        with lock:
                            refused.append((token, code))
                        smtp.rset()
                    else:
                        with lock:
                            accepted.append(token)
        except BaseException as error:  # reported below, with the counts
            errors.append(error)

    with serving(FlowHandler(flow, report=report), port=port, starttls=False):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    flow.close()

    assert errors == []
    total = CLIENTS * MESSAGES_PER_CLIENT
    assert len(accepted) + len(refused) == total
    assert len(refused) == total // REFUSED_EVERY
    assert {code for _, code in refused} == {550}
    stored = sorted((tmp_path / "archive" / "in").iterdir())
    bodies = Counter(path.read_bytes().decode().rsplit("\r\n\r\n", 1)[1].strip() for path in stored)
    assert len(deliveries) == len(accepted) == len(stored)
    assert set(bodies) == set(accepted)
    assert max(bodies.values()) == 1  # each accepted message processed exactly once
    assert {p.name for p in stored} == {d.message_id for d in deliveries}


def test_concurrent_clients_with_a_request_response_function(tmp_path: Path) -> None:
    """Warm workers under concurrency: each accepted message is decided exactly once."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="load", drop_spam=True)
    mail.add_lambda_rule(
        "Archive",
        recipients=["example.com"],
        bucket=s3.Bucket(stack, "Archive", bucket_name="archive"),
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def report(delivery: Delivery) -> None:
        with lock:
            deliveries.append(delivery)

    port = free_port()
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
                for index in range(20):
                    spam = "X-Local-Verdicts: spam=FAIL\r\n" if index % 4 == 0 else ""
                    raw = f"{spam}Subject: c{number}m{index}\r\n\r\nbody\r\n"
                    smtp.sendmail("a@sender.example", ["to@example.com"], raw)
        except BaseException as error:
            failures.append(error)

    with (
        MailFlow.from_stack(stack, store_dir=tmp_path) as flow,
        serving(FlowHandler(flow, report=report), port=port, starttls=False),
    ):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    assert failures == []
    assert len(deliveries) == 200
    stopped = [d for d in deliveries if d.stopped_by == "DropSpam"]
    assert len(stopped) == 50
    for delivery in deliveries:
        answers = [i.answer for i in delivery.invocations]
        expected = 1 if delivery in stopped else 2
        assert len(answers) == expected and all(a and "disposition" in a for a in answers)
    assert len(list((tmp_path / "archive").iterdir())) == 150
