"""The local mail flow runs a synthesized stack's rules with SES's semantics."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_ses import HandlerPolicy, InboundEmail, InvocationType, StopVerdict
from constructs_ses.lambda_src.handler import SesEvent
from constructs_ses.local import MailFlow
from constructs_ses.local.flow.actions import lambda_ as lambda_action
from constructs_ses.local.flow.assembly import AssemblyError, rule_sets_of_template
from constructs_ses.local.lambda_runtime.function import FunctionSpec

from conftest import new_stack, ses_notification

MESSAGE = (
    "From: Jane Doe <jane@sender.example>\r\n"
    "To: support@example.com\r\n"
    "Subject: Order 42\r\n"
    "Message-ID: <42@sender.example>\r\n"
    "\r\n"
    "Where is my order?\r\n"
)

RECORDER = """
import json, os, pathlib
def handler(event, context):
    out = pathlib.Path(os.environ["RECORD_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    mail = event["Records"][0]["ses"]["mail"]
    (out / (mail["messageId"] + "-" + str(len(list(out.iterdir()))))).write_text(json.dumps(event))
    if os.environ.get("FAIL") == "yes":
        raise RuntimeError("recorder told to fail")
"""

SLOW = """
import time
def handler(event, context):
    time.sleep(5)
    return {"disposition": "STOP_RULE_SET"}
"""


QUICK_RETRIES = (0.05, 0.05)
"""Event retry delays for tests (Lambda's are about 1 and 2 minutes; the flow's 1 and 2 s)."""


def request_response_rule(
    mail: InboundEmail, name: str, code: str, **function_props: Any
) -> lambda_.Function:
    """A rule ``name`` for ``<name in lower case>@example.com`` whose one action invokes
    (RequestResponse) a new Python function of inline ``code`` with ``function_props``."""
    function = python_function(cdk.Stack.of(mail), name, code, **function_props)
    mail.add_lambda_rule(
        name,
        recipients=[f"{name.lower()}@example.com"],
        function=function,
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    return function


def python_function(
    scope: cdk.Stack, name: str, code: str, **function_props: Any
) -> lambda_.Function:
    """A Python function of inline ``code`` (``index.handler``) with ``function_props``."""
    return lambda_.Function(
        scope,
        name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
        **function_props,
    )


def inline(scope: cdk.Stack, name: str, code: str, **environment: str) -> lambda_.Function:
    return python_function(
        scope, name, code, timeout=cdk.Duration.seconds(1), environment=environment
    )


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def flow(record_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailFlow]:
    """Drop-spam first; support@ stored in S3 then decided by the template (DMARC quarantine
    stops it); sales@ handed to a recorder (Event); a disabled rule; one that fails under Event."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound", drop_spam=True)
    mail.add_lambda_rule(
        "Support",
        recipients=["support@example.com"],
        invocation_type=InvocationType.REQUEST_RESPONSE,
        policy=HandlerPolicy(stop_on=(StopVerdict.DMARC_QUARANTINE,)),
        bucket=s3.Bucket(stack, "Archive", bucket_name="archive"),
        object_key_prefix="support/",
        notify=True,
    )
    mail.add_lambda_rule(
        "Sales",
        recipients=["example.com"],
        function=inline(stack, "Recorder", RECORDER, RECORD_DIR=str(record_dir)),
    )
    mail.add_lambda_rule("Paused", recipients=["paused@example.com"], enabled=False)
    mail.add_lambda_rule(
        "Flaky",
        recipients=["flaky@example.com"],
        function=inline(
            stack, "Failing", RECORDER, RECORD_DIR=str(record_dir / "flaky"), FAIL="yes"
        ),
    )
    mail.add_lambda_rule(
        "Slow",
        recipients=["slow@example.com"],
        function=inline(stack, "Sleeper", SLOW),
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    flow = MailFlow.from_stack(
        stack,
        store_dir=tmp_path_factory.mktemp("store"),
        event_retry_delays=QUICK_RETRIES,
        sandbox=False,  # its functions write to this test's files
    )
    yield flow
    flow.close()


def test_rules_are_read_in_order(flow: MailFlow) -> None:
    names = [rule.name for rule in flow.rule_set.rules]
    assert names == ["DropSpam", "Support", "Sales", "Paused", "Flaky", "Slow"]
    assert flow.rule_set.name == "inbound"


def test_clean_message_is_stored_decided_and_handed_on(flow: MailFlow, record_dir: Path) -> None:
    delivery = flow.deliver(MESSAGE, recipients=["support@example.com"])
    delivery.wait(30)
    assert delivery.stopped_by is None
    (stored,) = delivery.stored
    assert stored == flow.store_dir / "archive" / f"support/{delivery.message_id}"
    key = f"support/{delivery.message_id}"
    in_bucket = flow.client("s3").get_object(Bucket="archive", Key=key)["Body"].read()
    assert in_bucket == stored.read_bytes()
    assert in_bucket.startswith(b"Return-Path: <jane@sender.example>\r\n")  # SES's headers first
    assert in_bucket.endswith(MESSAGE.encode())
    outcomes = [(s.rule, s.outcome) for s in delivery.steps]
    assert ("DropSpam", "CONTINUE") in outcomes
    assert ("Support", "stored") in outcomes
    assert ("Support", "CONTINUE") in outcomes
    assert ("Sales", "invoked") in outcomes  # example.com covers support@ too
    recorded = list(record_dir.glob(f"{delivery.message_id}-*"))
    assert len(recorded) == 1
    assert f"Support: S3 -> stored (s3://archive/{key})" in delivery.trace().splitlines()


ADDRESSED = MESSAGE.replace(
    "To: support@example.com\r\n",
    "To: Support <support@example.com>, sales@example.com\r\n"
    'Cc: "Doe, John" <john@elsewhere.example>, sales@example.com\r\n',
)


def test_event_is_exactly_the_ses_format(flow: MailFlow) -> None:
    """``mail.destination``: "A complete list of all recipient addresses (including To: and CC:
    recipients) from the MIME headers of the incoming email"; ``receipt.recipients``: the
    envelope (RCPT TO) addresses the rule matched ("Contents of notifications for Amazon SES
    email receiving", Amazon SES Developer Guide)."""
    delivery = flow.deliver(
        ADDRESSED,
        recipients=["support+orders@example.com", "other@elsewhere.example"],  # the 2nd: Bcc
        verdicts={"dmarc": "FAIL", "dmarc_policy": "none"},
    )
    support = next(i for i in delivery.invocations if i.function.startswith("Mail-InboundSupport"))
    record = SesEvent(support.event).record
    assert record is not None
    assert record.event_source == "aws:ses"
    assert record.mail.message_id == delivery.message_id
    assert record.mail.source == "jane@sender.example"
    assert record.mail.destination == [
        "support@example.com",
        "sales@example.com",
        "john@elsewhere.example",
    ]
    assert record.mail.common_headers.cc == [
        '"Doe, John" <john@elsewhere.example>',
        "sales@example.com",
    ]
    assert record.mail.common_headers.subject == "Order 42"
    assert record.mail.common_headers.from_ == ["Jane Doe <jane@sender.example>"]
    assert record.mail.header("Message-ID") == "<42@sender.example>"
    receipt = record.receipt
    assert receipt.recipients == ["support+orders@example.com"]
    assert receipt.spam_verdict.passed and receipt.virus_verdict.passed
    assert receipt.dmarc_verdict.failed and receipt.dmarc_policy == "none"
    assert receipt.action.type == "Lambda"
    assert receipt.action.invocation_type == "RequestResponse"
    assert support.answer == {"disposition": "CONTINUE"}


def test_functions_get_the_events_their_invocations_show(flow: MailFlow, record_dir: Path) -> None:
    """Each message's ``mail`` is encoded once for all its events; what a function gets is
    still exactly its invocation's event, its own receipt included."""
    delivery = flow.deliver(MESSAGE, recipients=["sales@example.com"])
    delivery.wait(60)
    (recorded,) = record_dir.glob(f"{delivery.message_id}-*")
    sales = next(i for i in delivery.invocations if i.function.startswith("Mail-Recorder"))
    assert json.loads(recorded.read_text()) == sales.event == json.loads(sales.event_json)
    drop_spam = delivery.invocations[0]
    assert drop_spam.event["Records"][0]["ses"]["mail"] == sales.event["Records"][0]["ses"]["mail"]
    assert (
        drop_spam.event["Records"][0]["ses"]["receipt"]["action"]
        != (sales.event["Records"][0]["ses"]["receipt"]["action"])
    )
    # the same action for other recipients and verdicts: its own receipt, not the last one's
    other = flow.deliver(
        MESSAGE, recipients=["sales@example.com", "x@example.com"], verdicts={"spf": "FAIL"}
    )
    other.wait(60)
    (again,) = record_dir.glob(f"{other.message_id}-*")
    got = json.loads(again.read_text())
    assert got == next(i for i in other.invocations if i.function == sales.function).event
    receipt = got["Records"][0]["ses"]["receipt"]
    assert receipt["recipients"] == ["sales@example.com", "x@example.com"]
    assert receipt["spfVerdict"] == {"status": "FAIL"}


def test_spam_stops_the_rule_set_at_the_first_rule(flow: MailFlow) -> None:
    delivery = flow.deliver(MESSAGE, recipients=["support@example.com"], verdicts={"spam": "FAIL"})
    assert delivery.stopped_by == "DropSpam"
    assert delivery.stored == []
    assert [s.rule for s in delivery.steps if s.action == "rule"] == ["DropSpam"]


def test_policy_of_a_later_rule_stops_it(flow: MailFlow) -> None:
    delivery = flow.deliver(
        MESSAGE,
        recipients=["support@example.com"],
        verdicts={"dmarc": "FAIL", "dmarc_policy": "quarantine"},
    )
    assert delivery.stopped_by == "Support"
    assert len(delivery.stored) == 1  # stored before the function decided
    assert not any(s.rule == "Sales" for s in delivery.steps)


def test_topic_of_the_lambda_action_is_notified_without_content(flow: MailFlow) -> None:
    delivery = flow.deliver(MESSAGE, recipients=["support@example.com"])
    (notification,) = [
        n
        for n in map(ses_notification, delivery.notifications)
        if n["receipt"]["action"]["type"] == "Lambda"
    ]
    assert notification["notificationType"] == "Received"
    assert "content" not in notification
    assert notification["mail"]["messageId"] == delivery.message_id
    lines = (flow.store_dir / "sns").glob("*.jsonl")
    assert any(delivery.message_id in path.read_text() for path in lines)


def test_drop_spam_rule_receives_every_recipient(flow: MailFlow) -> None:
    assert flow.accepts("someone@other.example")
    delivery = flow.deliver(MESSAGE, recipients=["someone@other.example"])
    assert [s.rule for s in delivery.steps if s.outcome == "matched"] == ["DropSpam"]
    paused = flow.deliver(MESSAGE, recipients=["paused@example.com"])
    assert ("Paused", "skipped") in [(s.rule, s.outcome) for s in paused.steps]


def test_recipients_no_enabled_rule_matches_are_not_accepted(tmp_path: Path) -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_lambda_rule("Support", recipients=["support@example.com"])
    mail.add_lambda_rule("Off", recipients=["off@example.com"], enabled=False)
    flow = MailFlow.from_stack(stack, store_dir=tmp_path)
    assert flow.accepts("support+x@example.com")
    assert not flow.accepts("off@example.com")
    assert not flow.accepts("sales@example.com")
    delivery = flow.deliver(MESSAGE, recipients=["sales@example.com"])
    assert not delivery.matched
    assert delivery.steps == [] and delivery.invocations == [] and delivery.recipients == []
    (refusal,) = delivery.refused
    assert refusal.recipient == "sales@example.com"
    assert refusal.smtp_reply_code == "550"
    assert refusal.reply == (
        "550 5.1.1 <sales@example.com>: no enabled receipt rule of rule set 'inbound' "
        "receives mail for this address"
    )
    assert refusal.reason.startswith("<sales@example.com>: no enabled receipt rule")


def test_refused_recipients_are_reported_and_the_others_receive_the_message(
    tmp_path: Path,
) -> None:
    """As SMTP's RCPT TO refuses them (RFC 5321 4.2.3 codes): a domain the stack does not verify
    (550), an address no enabled rule receives (550), one that is not a mailbox (553)."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_domain("example.com")
    mail.add_lambda_rule("Support", recipients=["support@example.com"])
    flow = MailFlow.from_stack(stack, store_dir=tmp_path)
    delivery = flow.deliver(
        MESSAGE,
        recipients=[
            "nobody@elsewhere.example",
            "support@example.com",
            "sales@example.com",
            "not an address",
        ],
    )
    assert delivery.recipients == ["support@example.com"]
    assert [s.detail for s in delivery.steps if s.outcome == "matched"] == ["support@example.com"]
    assert [(r.recipient, r.smtp_reply_code) for r in delivery.refused] == [
        ("nobody@elsewhere.example", "550"),
        ("sales@example.com", "550"),
        ("not an address", "553"),
    ]
    assert "its domain is not one that the stack verifies in SES (example.com)" in str(
        delivery.refused[0]
    )
    assert delivery.refused[2].reply == (
        "553 5.1.3 'not an address' is not a mailbox: it is not local-part@domain"
    )
    assert flow.refusal("support@example.com") is None
    assert flow.refusal("nobody@elsewhere.example") == delivery.refused[0]
    flow.close()


@pytest.mark.parametrize(
    ("recipients", "sender", "error"),
    [
        ([], None, r"recipients=\[\] must be a list of one or more addresses"),
        ("support@example.com", None, r"recipients='support@example.com' must be a list"),
        (["support@example.com"], "jane@", r"sender='jane@' is not a mailbox \(MAIL FROM\)"),
        (["support@example.com"], "a\r\nX: 1@b.example", r"sender='a\\r\\nX: 1@b.example'"),
    ],
)
def test_fails_on_an_envelope_smtp_would_refuse(
    flow: MailFlow, recipients: Any, sender: str | None, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        flow.deliver(MESSAGE, recipients=recipients, sender=sender)


def test_failing_event_function_is_retried_twice(flow: MailFlow, record_dir: Path) -> None:
    delivery = flow.deliver(MESSAGE, recipients=["flaky@example.com"]).wait(60)
    flaky = next(i for i in delivery.invocations if i.function.startswith("Mail-Failing"))
    assert flaky.attempts == 3
    assert flaky.error == "RuntimeError: recorder told to fail"
    # Lambda's error payload, as the runtime interface client posted it
    assert flaky.error_payload is not None
    assert flaky.error_payload["errorType"] == "RuntimeError"
    assert flaky.error_payload["errorMessage"] == "recorder told to fail"
    assert flaky.error_payload["stackTrace"] and flaky.error_payload["requestId"]
    assert "recorder told to fail" in flaky.logs
    assert len(list((record_dir / "flaky").glob(f"{delivery.message_id}-*"))) == 3


def test_request_response_timeout_is_reported_and_mail_flows_on(flow: MailFlow) -> None:
    delivery = flow.deliver(MESSAGE, recipients=["slow@example.com"])
    slow = next(i for i in delivery.invocations if i.function.startswith("Mail-Sleeper"))
    assert slow.error == "Task timed out after 1.00 seconds"  # Lambda's wording
    assert slow.error_payload is not None
    assert slow.error_payload["errorType"] == "Sandbox.Timedout"
    assert ("Slow", "error") in [(s.rule, s.outcome) for s in delivery.steps]
    assert delivery.stopped_by is None


def test_plain_actions_add_header_sns_bounce_stop_and_tls(tmp_path: Path) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Copies")
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    rule_set.add_rule(
        "Tag",
        actions=[
            ses_actions.AddHeader(name="X-Seen-By", value="local"),
            ses_actions.Sns(topic=topic, encoding=ses_actions.EmailEncoding.BASE64),
        ],
    )
    rule_set.add_rule(
        "Refuse",
        recipients=["nobody@example.com"],
        actions=[
            ses_actions.Bounce(
                sender="mailer@example.com",
                template=ses_actions.BounceTemplate.MAILBOX_DOES_NOT_EXIST,
            ),
            ses_actions.Stop(),
        ],
    )
    rule_set.add_rule("Secure", recipients=["secure@example.com"], tls_policy=ses.TlsPolicy.REQUIRE)
    rule_set.add_rule("After", actions=[ses_actions.AddHeader(name="X-After", value="yes")])
    flow = MailFlow.from_stack(stack, store_dir=tmp_path)
    delivery = flow.deliver(MESSAGE, recipients=["nobody@example.com"])
    (copy,) = map(ses_notification, delivery.notifications)
    content = base64.b64decode(copy["content"]).decode()
    assert content.startswith("X-Seen-By: local\r\n")
    assert {"name": "X-Seen-By", "value": "local"} in copy["mail"]["headers"]  # re-read after it
    assert copy["receipt"]["action"]["type"] == "SNS"
    assert delivery.bounce is not None and delivery.bounce.smtp_reply_code == "550"
    assert delivery.stopped_by is not None and delivery.stopped_by.startswith("RuleSetRefuse")
    assert not any(s.rule == "After" for s in delivery.steps)
    plaintext = flow.deliver(MESSAGE, recipients=["secure@example.com"], tls=False)
    assert [r.reply for r in plaintext.refused] == ["530 5.7.0 Must issue a STARTTLS command first"]
    assert plaintext.steps == [] and plaintext.bounce is None
    encrypted = flow.deliver(MESSAGE, recipients=["secure@example.com"], tls=True)
    assert encrypted.bounce is None
    flow.close()


def test_fails_on_unknown_rule_set(tmp_path: Path) -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound")
    with pytest.raises(
        AssemblyError, match=r"rule set 'other' is not in the assembly; its rule sets: 'inbound'"
    ):
        MailFlow.from_stack(stack, rule_set="other", store_dir=tmp_path)


def test_fails_on_unknown_verdict(flow: MailFlow) -> None:
    with pytest.raises(ValueError, match=r"verdicts has unknown keys \['phishing'\]"):
        flow.deliver(MESSAGE, recipients=["support@example.com"], verdicts={"phishing": "FAIL"})


@pytest.mark.parametrize(
    ("verdicts", "error"),
    [
        (
            {"spam": "NOPE"},
            r"verdicts\['spam'\]='NOPE' is not a value SES sends; "
            r"allowed: PASS, FAIL, GRAY, PROCESSING_FAILED$",
        ),
        ({"dkim": ""}, r"verdicts\['dkim'\]='' is not a value SES sends"),
        ({"virus": None}, r"verdicts\['virus'\]=None is not a value SES sends"),
        (
            {"dmarc": "FAIL", "dmarc_policy": "strict"},
            r"verdicts\['dmarc_policy'\]='strict' is not a value SES sends; "
            r"allowed: none, quarantine, reject",
        ),
    ],
)
def test_fails_on_a_verdict_value_ses_never_sends(
    flow: MailFlow, verdicts: dict[str, Any], error: str
) -> None:
    """The statuses of the verdict objects and the values of ``dmarcPolicy`` ("Contents of
    notifications for Amazon SES email receiving", Amazon SES Developer Guide)."""
    with pytest.raises(ValueError, match=error):
        flow.deliver(MESSAGE, recipients=["support@example.com"], verdicts=verdicts)


def test_verdicts_are_taken_in_any_case(flow: MailFlow) -> None:
    delivery = flow.deliver(
        MESSAGE,
        recipients=["support@example.com"],
        verdicts={
            "spf": "gray",
            "dkim": "Processing_Failed",
            "dmarc": "fail",
            "dmarc_policy": "NONE",
        },
    )
    receipt = delivery.invocations[0].event["Records"][0]["ses"]["receipt"]
    assert receipt["spfVerdict"] == {"status": "GRAY"}
    assert receipt["dkimVerdict"] == {"status": "PROCESSING_FAILED"}
    assert receipt["dmarcVerdict"] == {"status": "FAIL"}
    assert receipt["dmarcPolicy"] == "none"


def test_reads_a_cdk_out_directory(tmp_path: Path) -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("Only")
    directory = stack.node.root.synth().directory  # type: ignore[attr-defined]
    flow = MailFlow.from_assembly(directory, store_dir=tmp_path)
    assert [r.name for r in flow.rule_set.rules] == ["Only"]
    assert json.loads((Path(directory) / "manifest.json").read_text())["artifacts"]


COUNTER = """
import os
calls = 0
def handler(event, context):
    global calls
    calls += 1
    if event["Records"][0]["ses"]["mail"]["commonHeaders"].get("subject") == "crash":
        os._exit(3)
    return {"disposition": "CONTINUE", "calls": calls}
"""


def test_workers_stay_warm_and_a_crashed_one_is_replaced(tmp_path: Path) -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_lambda_rule(
        "Count",
        function=inline(stack, "Counter", COUNTER),
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    with MailFlow.from_stack(stack, store_dir=tmp_path) as flow:
        first = flow.deliver(MESSAGE, recipients=["a@example.com"]).invocations[0]
        second = flow.deliver(MESSAGE, recipients=["a@example.com"]).invocations[0]
        assert (first.answer["calls"], second.answer["calls"]) == (1, 2)  # module state kept
        crash = MESSAGE.replace("Subject: Order 42", "Subject: crash")
        crashed = flow.deliver(crash, recipients=["a@example.com"])
        assert crashed.invocations[0].error == "Runtime exited with error: exit status 3"
        assert ("Count", "error") in [(s.rule, s.outcome) for s in crashed.steps]
        after = flow.deliver(MESSAGE, recipients=["a@example.com"]).invocations[0]
        assert after.error is None and after.answer["calls"] == 1  # a fresh worker


def test_sns_action_bounces_messages_over_150_kb(tmp_path: Path) -> None:
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    rule_set.add_rule("Publish", actions=[ses_actions.Sns(topic=sns.Topic(stack, "Copies"))])
    with MailFlow.from_stack(stack, store_dir=tmp_path) as flow:
        small = flow.deliver(MESSAGE, recipients=["a@example.com"])
        assert small.bounce is None and len(small.notifications) == 1
        big = flow.deliver(MESSAGE + "x" * 160 * 1024, recipients=["a@example.com"])
        assert big.bounce is not None and big.bounce.smtp_reply_code == "552"
        assert big.notifications == []


def test_object_key_prefixes_that_climb_out_are_stored_inside_the_store(tmp_path: Path) -> None:
    """S3 keys may hold '..' and a leading '/'; locally they name files in the store only."""
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    bucket = s3.Bucket(stack, "Archive", bucket_name="archive")
    absolute = tmp_path / "absolute"
    for name, prefix in (("Climb", "../../climbed/"), ("Absolute", f"{absolute}/")):
        rule_set.add_rule(name, actions=[ses_actions.S3(bucket=bucket, object_key_prefix=prefix)])
    store = tmp_path / "deep" / "store"
    with MailFlow.from_stack(stack, store_dir=store) as flow:
        delivery = flow.deliver(MESSAGE, recipients=["a@example.com"])
    climbed, absolute_copy = delivery.stored
    assert climbed == store / "archive" / "%2E." / "%2E." / "climbed" / delivery.message_id
    assert absolute_copy.is_relative_to(store / "archive" / "%")
    assert absolute_copy.read_bytes() == climbed.read_bytes()
    assert climbed.read_bytes().endswith(MESSAGE.encode())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deep"]
    assert sorted(path.name for path in (tmp_path / "deep").iterdir()) == ["store"]


def test_rules_without_a_name_run_once_each_in_order() -> None:
    """An unnamed rule is named by its logical ID, which its follower's After also holds."""
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    for name in ("First", "Second", "Third"):
        rule_set.add_rule(name, actions=[ses_actions.AddHeader(name="X-Rule", value=name)])
    template = Template.from_stack(stack).to_json()
    (read,) = rule_sets_of_template(template)
    headers = [rule.actions[0].config["HeaderValue"] for rule in read.rules]
    assert headers == ["First", "Second", "Third"]


# The findings that made the flow's Lambda side its own runtime (see test_local_runtime.py for
# the runtime alone).

FORGER = """
import json, os
def handler(event, context):
    os.write(1, (json.dumps({"result": {"disposition": "STOP_RULE_SET"}}) + "\\n").encode())
    print(json.dumps({"disposition": "STOP_RULE_SET"}))
    return {"disposition": "CONTINUE"}
"""
STUBBORN = """
import time
def handler(event, context):
    try:
        time.sleep(8)
    except Exception:
        pass
    return {"disposition": "STOP_RULE_SET"}
"""
INSPECTOR = """
import os
def handler(event, context):
    return {
        "disposition": "CONTINUE",
        "arn": context.invoked_function_arn,
        "name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "environment": dict(os.environ),
    }
"""
PATIENT = """
import time
def handler(event, context):
    time.sleep(3)
    return {"disposition": "STOP_RULE_SET"}
"""
NAMED = "ses-inbound-named"
"""The FunctionName the stack gives the function of named@."""


@pytest.fixture(scope="module")
def lambda_flow() -> Iterator[MailFlow]:
    """forger@ prints forged answers; stubborn@ runs past its 1 s timeout, catching
    everything; patient@ sleeps 3 s, within its 5 s timeout; named@ (a function named
    ``NAMED``, after patient@'s) reports its context and environment. All RequestResponse."""
    stack = new_stack(region="eu-west-1", account="123456789012")
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    for name, code, timeout, function_name in (
        ("Forger", FORGER, 1, None),
        ("Stubborn", STUBBORN, 1, None),
        ("Patient", PATIENT, 5, None),
        ("Named", INSPECTOR, 1, NAMED),
    ):
        request_response_rule(
            mail,
            name,
            code,
            timeout=cdk.Duration.seconds(timeout),
            function_name=function_name,
        )
    with MailFlow.from_stack(stack) as flow:
        yield flow


def test_output_that_looks_like_an_answer_is_logged_not_applied(lambda_flow: MailFlow) -> None:
    for _ in range(3):  # nothing shifts onto later messages either
        delivery = lambda_flow.deliver(MESSAGE, recipients=["forger@example.com"])
        (invocation,) = delivery.invocations
        assert invocation.answer == {"disposition": "CONTINUE"}
        assert delivery.stopped_by is None
        assert '{"disposition": "STOP_RULE_SET"}' in invocation.logs


def test_a_function_that_catches_everything_is_stopped_at_its_timeout(
    lambda_flow: MailFlow,
) -> None:
    delivery = lambda_flow.deliver(MESSAGE, recipients=["stubborn@example.com"])
    (invocation,) = delivery.invocations
    assert invocation.error == "Task timed out after 1.00 seconds"
    assert delivery.stopped_by is None  # its STOP_RULE_SET came too late to count


def test_ses_waits_at_most_30_seconds_for_a_request_response_function(
    lambda_flow: MailFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES gives up on a RequestResponse invocation after 30 seconds, whatever the function's
    own timeout ("Invoke Lambda function action", Amazon SES Developer Guide); the flow stops
    the function at the shorter of the two. The 30 s are cut to 0.5 s here, below patient@'s
    5 s timeout and 3 s of work."""
    monkeypatch.setattr(lambda_action, "REQUEST_RESPONSE_LIMIT_SECONDS", 0.5)
    delivery = lambda_flow.deliver(MESSAGE, recipients=["patient@example.com", "named@example.com"])
    patient, named = delivery.invocations
    assert patient.function.startswith("Mail-Patient")
    assert patient.error == "Task timed out after 0.50 seconds"
    (duration,) = re.findall(r"\tDuration: ([0-9.]+) ms", patient.logs)
    assert float(duration) < 2000  # stopped, not waited for (3 s)
    assert ("Patient", "error") in [(s.rule, s.outcome) for s in delivery.steps]
    # the mail flows on: its late STOP_RULE_SET does not count, the next rule runs
    assert delivery.stopped_by is None
    assert named.function == NAMED
    assert named.error is None and named.answer["disposition"] == "CONTINUE"


def test_a_function_named_in_the_stack_goes_by_that_name_in_event_context_and_environment(
    lambda_flow: MailFlow,
) -> None:
    """A FunctionName names the function and its ARN, ``arn:aws:lambda:<region>:<account>:
    function:<name>``: SES's event holds it as ``receipt.action.functionArn`` ("Invoking Lambda
    functions", Amazon SES Developer Guide), the handler's context as ``invoked_function_arn``
    and ``function_name`` ("Using the Lambda context object"), its environment as
    ``AWS_LAMBDA_FUNCTION_NAME`` ("Defined runtime environment variables")."""
    delivery = lambda_flow.deliver(MESSAGE, recipients=["named@example.com"])
    (invocation,) = delivery.invocations
    arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{NAMED}"
    assert invocation.function == NAMED
    assert invocation.function_arn == arn
    assert invocation.event["Records"][0]["ses"]["receipt"]["action"]["functionArn"] == arn
    answer = invocation.answer
    assert (answer["arn"], answer["name"]) == (arn, NAMED)
    assert answer["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == NAMED
    assert answer["environment"]["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{NAMED}"


def test_the_function_sees_its_context_and_lambda_s_environment_not_the_host_s(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The function gets its own variables and Lambda's, none of the developer's ("Defined
    runtime environment variables", Lambda Developer Guide). The host's settings are in place
    before the flow, its local AWS, its zygote and its worker start, so none of them can pass
    them on."""
    import boto3  # noqa: PLC0415 (the local extra)

    # boto3's default session reads AWS_PROFILE once: keep this test's out of later tests
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    config = tmp_path / "aws-config"
    config.write_text("[profile developer]\nregion = ap-south-1\n")
    host = {
        "HOST_ONLY": "leaked",
        "AWS_ACCESS_KEY_ID": "AKIADEVELOPERKEY0000",
        "AWS_SECRET_ACCESS_KEY": "the-developer-s-secret",
        "AWS_SESSION_TOKEN": "the-developer-s-token",
        "AWS_PROFILE": "developer",
        "AWS_CONFIG_FILE": str(config),
        "AWS_REGION": "ap-south-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
    }
    for name, value in host.items():
        monkeypatch.setenv(name, value)
    stack = new_stack(region="eu-west-1", account="123456789012")
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    request_response_rule(
        mail, "Inspect", INSPECTOR, timeout=cdk.Duration.seconds(5), memory_size=1024
    )
    with MailFlow.from_stack(stack) as flow:
        delivery = flow.deliver(MESSAGE, recipients=["inspect@example.com"])
    (invocation,) = delivery.invocations
    answer = invocation.answer
    event_arn = invocation.event["Records"][0]["ses"]["receipt"]["action"]["functionArn"]
    assert answer["arn"] == event_arn == invocation.function_arn
    assert event_arn == f"arn:aws:lambda:eu-west-1:123456789012:function:{invocation.function}"
    assert invocation.function.startswith("Mail-Inspect")
    assert answer["memory"] == "1024"  # a string, as the runtime client gives it
    environment = answer["environment"]
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == invocation.function
    assert [name for name in host if environment.get(name) == host[name]] == []
    assert "HOST_ONLY" not in environment
    assert "AWS_PROFILE" not in environment


TIMED = """
import os, pathlib, time
def handler(event, context):
    started = time.time()
    if os.environ.get("STARTED_MARK"):
        pathlib.Path(os.environ["STARTED_MARK"]).touch()
    time.sleep(float(os.environ["SECONDS"]))
    return {"disposition": "CONTINUE", "pid": os.getpid(), "started": started, "ended": time.time()}
"""


@pytest.fixture(scope="module")
def concurrency_flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailFlow]:
    """Functions that sleep ``SECONDS`` and report their process and when they ran: one@
    (reserved concurrency 1) and many@ (none reserved) 1 s, closed@ (reserved concurrency 0),
    slow@ 2 s (touching ``STARTED_MARK`` as it starts), quick@ none. All RequestResponse."""
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mark = tmp_path_factory.mktemp("marks") / "slow-started"
    for name, seconds, reserved, environment in (
        ("One", 1, 1, {}),
        ("Many", 1, None, {}),
        ("Closed", 0, 0, {}),
        ("Slow", 2, None, {"STARTED_MARK": str(mark)}),
        ("Quick", 0, None, {}),
    ):
        request_response_rule(
            mail,
            name,
            TIMED,
            timeout=cdk.Duration.seconds(10),
            reserved_concurrent_executions=reserved,
            environment={"SECONDS": str(seconds), **environment},
        )
    with MailFlow.from_stack(stack, sandbox=False) as flow:  # one touches this test's file
        yield flow


def function_of(flow: MailFlow, rule: str) -> FunctionSpec:
    """The function of the (first) Lambda action of ``rule``, as the flow read it."""
    (found,) = [r for r in flow.rule_set.rules if r.name == rule]
    function = next(a.function for a in found.actions if a.function is not None)
    assert function is not None
    return function


def test_reserved_concurrency_of_the_stack_caps_the_function_s_execution_environments(
    concurrency_flow: MailFlow,
) -> None:
    """ReservedConcurrentExecutions is the most execution environments a function has at once
    ("Configuring reserved concurrency", Lambda Developer Guide): with 1, two messages that
    come together are handled one after the other by the same environment; a function that
    reserves none handles them side by side."""
    assert function_of(concurrency_flow, "One").reserved_concurrency == 1
    assert function_of(concurrency_flow, "Many").reserved_concurrency is None

    def two_at_once(recipient: str) -> list[dict[str, float]]:
        with ThreadPoolExecutor(2) as threads:
            deliveries = list(
                threads.map(
                    lambda _: concurrency_flow.deliver(MESSAGE, recipients=[recipient]), range(2)
                )
            )
        answers = [d.invocations[0].answer for d in deliveries]
        return sorted(answers, key=lambda answer: answer["started"])

    first, second = two_at_once("one@example.com")
    assert second["pid"] == first["pid"]
    assert second["started"] >= first["ended"]
    first, second = two_at_once("many@example.com")
    assert second["pid"] != first["pid"]
    assert second["started"] < first["ended"]


def test_a_reserved_concurrency_of_0_throttles_the_function_and_mail_flows_on(
    concurrency_flow: MailFlow,
) -> None:
    """A reserved concurrency of 0 lets no invocation run: Lambda throttles each one
    (TooManyRequestsException, "Configuring reserved concurrency", Lambda Developer Guide);
    SES goes on with the next rule."""
    delivery = concurrency_flow.deliver(
        MESSAGE, recipients=["closed@example.com", "quick@example.com"]
    )
    closed, quick = delivery.invocations
    assert closed.error == "Rate Exceeded. (the function's reserved concurrency is 0)"
    assert closed.answer is None and closed.logs == ""  # it never ran
    assert ("Closed", "error") in [(s.rule, s.outcome) for s in delivery.steps]
    assert quick.error is None and quick.answer["disposition"] == "CONTINUE"
    result = concurrency_flow.runtime.invoke(function_of(concurrency_flow, "Closed"), {})
    assert result.error_type == "TooManyRequestsException"


def test_a_slow_function_holds_up_no_other(concurrency_flow: MailFlow) -> None:
    """Each function runs in execution environments of its own ("Understanding the Lambda
    execution environment lifecycle", Lambda Developer Guide), and ``deliver`` may be called
    from several threads: a message for quick@ is handled at once while slow@'s function is
    still at work on another."""
    mark = Path(function_of(concurrency_flow, "Slow").environment["STARTED_MARK"])
    mark.unlink(missing_ok=True)
    with ThreadPoolExecutor(1) as thread:
        slow = thread.submit(concurrency_flow.deliver, MESSAGE, recipients=["slow@example.com"])
        deadline = time.monotonic() + 30
        while not mark.exists() and not slow.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert mark.exists()  # slow@'s function is at work (for 2 s)
        started = time.monotonic()
        quick = concurrency_flow.deliver(MESSAGE, recipients=["quick@example.com"])
        took = time.monotonic() - started
        assert not slow.done()
        slow_answer = slow.result(30).invocations[0].answer
    quick_answer = quick.invocations[0].answer
    assert took < 1.5
    assert slow_answer["started"] < quick_answer["started"]
    assert quick_answer["ended"] < slow_answer["ended"]


def test_a_flow_without_a_store_directory_removes_its_own_on_close() -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("Only")
    flow = MailFlow.from_stack(stack)
    delivery = flow.deliver(MESSAGE, recipients=["a@example.com"])
    assert delivery.invocations[0].error is None
    store = flow.store_dir
    assert store.is_dir()
    flow.close()
    assert not store.exists()


def test_a_given_store_directory_is_kept(tmp_path: Path) -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("Only")
    with MailFlow.from_stack(stack, store_dir=tmp_path / "kept"):
        pass
    assert (tmp_path / "kept").is_dir()


LAYERED = """
import json, logging
from shared_rules import RULE
def handler(event, context):
    logging.getLogger("layered").warning("from %s", RULE)
    return {"disposition": "CONTINUE", "rule": RULE}
"""


def test_the_template_s_layers_storage_and_logging_config_reach_the_function(
    tmp_path: Path,
) -> None:
    """A LayerVersion of the template is unpacked at /opt ("Working with layers for Python
    Lambda functions"), ``EphemeralStorage`` sizes its /tmp, ``LoggingConfig`` chooses JSON logs
    ("Configuring advanced logging controls"); a layer from outside the assembly is refused,
    saying which."""
    layer_code = tmp_path / "layer"
    (layer_code / "python").mkdir(parents=True)
    (layer_code / "python" / "shared_rules.py").write_text("RULE = 'the layer'\n")
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    layer = lambda_.LayerVersion(stack, "Shared", code=lambda_.Code.from_asset(str(layer_code)))
    request_response_rule(
        mail,
        "Layered",
        LAYERED,
        layers=[layer],
        ephemeral_storage_size=cdk.Size.mebibytes(2048),
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel.WARN,
    )
    elsewhere = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Elsewhere", "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertools:1"
    )
    request_response_rule(mail, "Outside", LAYERED, layers=[elsewhere])
    with MailFlow.from_stack(stack) as flow:
        spec = function_of(flow, "Layered")
        assert len(spec.layers) == 1 and spec.ephemeral_storage == 2048
        assert (spec.log_format, spec.application_log_level) == ("JSON", "WARN")
        (layered,) = flow.deliver(MESSAGE, recipients=["layered@example.com"]).invocations
        assert layered.answer == {"disposition": "CONTINUE", "rule": "the layer"}, layered.logs
        (record,) = [json.loads(line) for line in layered.logs.splitlines() if line[:1] == "{"]
        assert (record["level"], record["message"]) == ("WARNING", "from the layer")
        (outside,) = flow.deliver(MESSAGE, recipients=["outside@example.com"]).invocations
        assert outside.error is not None
        assert "uses layers the assembly does not hold" in outside.error
        assert "AWSLambdaPowertools" in outside.error
