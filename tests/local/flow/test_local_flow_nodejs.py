"""Node.js functions in the local mail flow: a Node.js handler's answer controls the flow as a
Python one's does, and aws-cdk-lib's own drop-spam rule (a Node.js function) runs as it runs
in SES ("Invoke Lambda function action", Amazon SES Developer Guide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import MailFlow

from conftest import new_stack

# A TypeScript-style handler, as tsc or esbuild leaves it: an ES module of the asset.
TRIAGE = """
export const handler = async (event) => {
  const { mail } = event.Records[0].ses;
  console.log("triage %s: %s", mail.messageId, mail.commonHeaders.subject);
  if (mail.commonHeaders.subject.includes("crash")) {
    throw new RangeError(`cannot triage ${mail.commonHeaders.subject}`);
  }
  const urgent = mail.commonHeaders.subject.includes("urgent");
  return { disposition: urgent ? "STOP_RULE_SET" : "CONTINUE" };
};
"""

# A Node.js 22 callback handler, which Lambda's nodejs22.x runtime still runs.
AUDIT = """
exports.handler = (event, context, callback) => {
  const { mail } = event.Records[0].ses;
  console.log("audit", mail.commonHeaders.subject);
  if (mail.commonHeaders.subject.includes("flaky")) {
    callback(new Error(`audit store unavailable for ${mail.messageId}`));
  } else {
    callback(null, { disposition: "CONTINUE" });
  }
};
"""


def message(subject: str, to: str = "support@example.com") -> str:
    return (
        f"From: Jane Doe <jane@sender.example>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nHello\r\n"
    )


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailFlow]:
    """A Node.js triage function (RequestResponse) before the packaged Python template; audit@
    handed to a Node.js 22 callback handler (Event)."""

    def node_function(
        name: str, runtime: lambda_.Runtime, file: str, code: str
    ) -> lambda_.Function:
        asset = tmp_path_factory.mktemp(name.lower())
        (asset / file).write_text(code)
        return lambda_.Function(
            stack,
            name,
            runtime=runtime,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(asset)),
        )

    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_lambda_rule(
        "Triage",
        recipients=["support@example.com"],
        function=node_function("Triage", lambda_.Runtime.NODEJS_24_X, "index.mjs", TRIAGE),
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    mail.add_lambda_rule(
        "Template",
        recipients=["support@example.com"],
        invocation_type=InvocationType.REQUEST_RESPONSE,
    )
    audit = node_function("Audit", lambda_.Runtime.NODEJS_22_X, "index.js", AUDIT)
    mail.add_lambda_rule("Audit", recipients=["audit@example.com"], function=audit)
    with MailFlow.from_stack(
        stack, store_dir=tmp_path_factory.mktemp("store"), event_retry_delays=(0.1, 0.1)
    ) as mail_flow:
        yield mail_flow


def test_a_nodejs_disposition_stops_the_rule_set(flow: MailFlow) -> None:
    delivery = flow.deliver(message("urgent: refund"), recipients=["support@example.com"])
    assert delivery.stopped_by == "Triage"
    (triage,) = delivery.invocations
    assert triage.answer == {"disposition": "STOP_RULE_SET"}
    assert f"\tINFO\ttriage {delivery.message_id}: urgent: refund" in triage.logs


def test_a_nodejs_continue_lets_the_next_rule_run(flow: MailFlow) -> None:
    delivery = flow.deliver(message("order 42"), recipients=["support@example.com"])
    assert delivery.stopped_by is None
    assert [i.answer for i in delivery.invocations] == [
        {"disposition": "CONTINUE"},
        {"disposition": "CONTINUE"},
    ]


def test_a_nodejs_exception_is_lambdas_node_error_and_the_flow_continues(flow: MailFlow) -> None:
    """SES goes on with the rule set when a RequestResponse function fails; the invocation
    holds the Node.js client's error payload."""
    delivery = flow.deliver(message("crash me"), recipients=["support@example.com"])
    triage, template = delivery.invocations
    assert triage.error == "RangeError: cannot triage crash me"
    assert triage.error_payload is not None
    assert triage.error_payload["errorType"] == "RangeError"
    assert triage.error_payload["trace"][0] == "RangeError: cannot triage crash me"
    assert template.answer == {"disposition": "CONTINUE"}


def test_a_nodejs_22_callback_handler_runs_under_event_and_is_retried(flow: MailFlow) -> None:
    """An Event function's answer does not hold up the flow; one that calls back with an
    error is retried twice, as Lambda retries asynchronous invocations ("How Lambda handles
    errors and retries with asynchronous invocation")."""
    clean = flow.deliver(
        message("weekly report", "audit@example.com"), recipients=["audit@example.com"]
    ).wait(30)
    (audited,) = clean.invocations
    assert (audited.error, audited.attempts) == (None, 1), audited.logs
    assert "\tINFO\taudit weekly report" in audited.logs
    flaky = flow.deliver(
        message("flaky", "audit@example.com"), recipients=["audit@example.com"]
    ).wait(30)
    (failed,) = flaky.invocations
    assert failed.attempts == 3
    assert failed.error == f"Error: audit store unavailable for {flaky.message_id}"
    assert failed.error_payload is not None
    assert failed.error_payload["errorType"] == "Error"


def test_aws_cdk_libs_drop_spam_rule_runs_its_nodejs_function(tmp_path: Path) -> None:
    """``aws_ses.ReceiptRuleSet(drop_spam=True)``: aws-cdk-lib's Node.js filter stops the rule
    set for a FAIL verdict and lets clean mail through to the next rule."""
    stack = new_stack()
    recorder = lambda_.Function(
        stack,
        "Recorder",
        runtime=lambda_.Runtime.NODEJS_24_X,
        handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => ({ seen: true });"),
        timeout=cdk.Duration.seconds(5),
    )
    ses.ReceiptRuleSet(
        stack,
        "RuleSet",
        receipt_rule_set_name="cdk-drop-spam",
        drop_spam=True,
        rules=[
            ses.ReceiptRuleOptions(
                recipients=["example.com"],
                actions=[
                    ses_actions.Lambda(
                        function=recorder,
                        invocation_type=ses_actions.LambdaInvocationType.REQUEST_RESPONSE,
                    )
                ],
            )
        ],
    )
    with MailFlow.from_stack(stack, store_dir=tmp_path) as mail_flow:
        spam = mail_flow.deliver(
            message("win"), recipients=["a@example.com"], verdicts={"spam": "FAIL"}
        )
        clean = mail_flow.deliver(message("hello"), recipients=["a@example.com"])
    assert spam.stopped_by is not None and "DropSpam" in spam.stopped_by
    (dropped,) = spam.invocations
    assert dropped.answer == {"disposition": "STOP_RULE_SET"}
    assert "\tINFO\tDropping spam" in dropped.logs
    assert clean.stopped_by is None
    assert [i.answer for i in clean.invocations] == [None, {"seen": True}]
