"""The local flow's AWS side: the stack's resources in moto, and SES's events and notifications.

Shapes are checked against the Amazon SES Developer Guide ("Contents of notifications for Amazon
SES email receiving", "Examples of notifications for Amazon SES email receiving", "Lambda action:
sample incoming email event") and read by Powertools for AWS Lambda's ``SESEvent`` and its
parser's ``SesModel``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_lambda_powertools.utilities.data_classes import SESEvent
from aws_lambda_powertools.utilities.parser.models import SesModel

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import MailFlow
from constructs_ses.local.aws.cloud_assembly import physical_name
from constructs_ses.local.aws.local_aws import LocalAws
from constructs_ses.local.flow.assembly import rule_sets_of_template
from constructs_ses.local.flow.message import Arrival
from constructs_ses.scaffold import new_handler

from conftest import ACCOUNT, cdk_json_context, logical_id, new_stack, ses_notification

MESSAGE = (
    'From: "Doe, Jane" <jane@sender.example>\r\n'
    "To: support@example.com\r\n"
    "Subject: Order 42\r\n"
    "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <42@sender.example>\r\n"
    "\r\n"
    "Where is my order?\r\n"
)
SES_HEADERS = [
    "Return-Path",
    "Received",
    "X-SES-Spam-Verdict",
    "X-SES-Virus-Verdict",
    "Received-SPF",
    "Authentication-Results",
    "X-SES-RECEIPT",
]
"""The headers SES puts first, in the order of its sample incoming email event."""

CLERK = """
import json
import os

import boto3

from handler import SesEvent, fetch_message


def handler(event, context):
    mail = SesEvent(event).record.mail
    message = fetch_message(mail)
    ticket = {"id": mail.message_id, "subject": message["Subject"]}
    boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps(ticket))
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=mail.message_id)
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={"id": {"S": mail.message_id}, "body": {"S": message.get_content().strip()}},
    )
    return {
        "disposition": "CONTINUE",
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "bucket": os.environ["SES_MESSAGE_BUCKET"],
    }
"""
"""A function that uses boto3 against its stack's bucket, topic, queue and table, as in AWS."""


def clerk_code(directory: Path) -> lambda_.Code:
    """The clerk beside the handler template (whose ``fetch_message`` it uses)."""
    new_handler(directory)
    (directory / "clerk.py").write_text(CLERK)
    return lambda_.Code.from_asset(str(directory))


@pytest.fixture(scope="module")
def clerk_stack(tmp_path_factory: pytest.TempPathFactory) -> cdk.Stack:
    """support@: stored in an unnamed bucket, then the clerk (RequestResponse) reads it and
    writes to an unnamed topic, queue and table; everyone else: the template, as an Event."""
    stack = new_stack(region="eu-west-1", account="111122223333")
    bucket = s3.Bucket(stack, "Archive")
    topic = sns.Topic(stack, "Tickets")
    queue = sqs.Queue(stack, "Work")
    table = dynamodb.Table(
        stack,
        "Ledger",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    )
    clerk = lambda_.Function(
        stack,
        "Clerk",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="clerk.handler",
        code=clerk_code(tmp_path_factory.mktemp("clerk")),
        timeout=cdk.Duration.seconds(10),
        environment={
            "TOPIC_ARN": topic.topic_arn,
            "QUEUE_URL": queue.queue_url,
            "TABLE_NAME": table.table_name,
        },
    )
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_lambda_rule(
        "Support",
        recipients=["support@example.com"],
        function=clerk,
        invocation_type=InvocationType.REQUEST_RESPONSE,
        bucket=bucket,
        object_key_prefix="support/",
        notify=True,
    )
    mail.add_lambda_rule("Everyone", invocation_type=InvocationType.EVENT)
    return stack


@pytest.fixture(scope="module")
def clerk_flow(clerk_stack: cdk.Stack) -> Iterator[MailFlow]:
    with MailFlow.from_stack(clerk_stack) as flow:
        yield flow


@pytest.fixture(scope="module")
def support(clerk_flow: MailFlow) -> Any:
    delivery = clerk_flow.deliver(
        MESSAGE,
        recipients=["support@example.com"],
        arrival=Arrival(client_address="192.0.2.7", helo="mx.sender.example"),
    )
    return delivery.wait(60)


def test_a_boto3_function_reaches_its_stacks_own_resources_in_the_local_aws(
    clerk_flow: MailFlow, support: Any
) -> None:
    (clerk, everyone) = support.invocations
    assert clerk.error is None, clerk.logs
    assert clerk.answer["endpoint"] == clerk_flow.endpoint_url
    bucket = clerk_flow.physical_name("Archive")
    assert clerk.answer["bucket"] == bucket
    key = f"support/{support.message_id}"
    stored = clerk_flow.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert stored == support.stored[0].read_bytes()
    queue = clerk_flow.physical_name("Work")
    queue_url = clerk_flow.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]
    (received,) = clerk_flow.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert received["Body"] == support.message_id
    item = clerk_flow.client("dynamodb").get_item(
        TableName=clerk_flow.physical_name("Ledger"),
        Key={"id": {"S": support.message_id}},
    )["Item"]
    assert item["body"] == {"S": "Where is my order?"}
    topic_file = clerk_flow.store_dir / "sns" / f"{clerk_flow.physical_name('Tickets')}.jsonl"
    (ticket,) = [json.loads(line) for line in topic_file.read_text().splitlines()]
    assert json.loads(ticket["Message"]) == {"id": support.message_id, "subject": "Order 42"}
    assert everyone.error is None


def test_resources_have_cloudformation_s_names_in_the_stack_s_account_and_region(
    clerk_flow: MailFlow,
) -> None:
    topic = clerk_flow.physical_name("Tickets")
    archive = clerk_flow.resource("Archive")
    assert archive.name == physical_name("Mail", archive.logical_id, "AWS::S3::Bucket")
    assert re.fullmatch(r"mail-archive[0-9a-f]{8}-[a-z0-9]{12}", archive.name)
    assert re.fullmatch(r"Mail-Tickets[0-9A-F]{8}-[A-Z0-9]{12}", topic)
    topics = clerk_flow.client("sns").list_topics()["Topics"]
    expected = f"arn:aws:sns:eu-west-1:111122223333:{topic}"
    assert expected in [t["TopicArn"] for t in topics]
    region = clerk_flow.client("s3").get_bucket_location(Bucket=archive.name)
    assert region["LocationConstraint"] == "eu-west-1"


CLERK_KINDS = [
    ("Archive", "AWS::S3::Bucket"),
    ("Tickets", "AWS::SNS::Topic"),
    ("Work", "AWS::SQS::Queue"),
    ("Ledger", "AWS::DynamoDB::Table"),
    ("Clerk", "AWS::Lambda::Function"),
]
"""The clerk stack's constructs of each kind ``MailFlow.resource`` finds."""


@pytest.mark.parametrize(("construct_id", "kind"), CLERK_KINDS)
def test_a_resource_is_found_by_its_construct_path_or_logical_id(
    clerk_stack: cdk.Stack, clerk_flow: MailFlow, construct_id: str, kind: str
) -> None:
    construct = clerk_stack.node.find_child(construct_id)
    found = clerk_flow.resource(f"Mail/{construct_id}/Resource")
    assert (found.kind, found.path) == (kind, f"Mail/{construct_id}/Resource")
    assert found.logical_id == logical_id(clerk_stack, construct)
    for reference in (f"Mail/{construct_id}", f"{construct_id}/Resource", construct_id):
        assert clerk_flow.resource(reference) == found, reference
    assert clerk_flow.resource(found.logical_id) == found
    assert clerk_flow.physical_name(f"/Mail/{construct_id}") == found.name
    assert clerk_flow.physical_name(found.logical_id) == found.name


def test_physical_names_and_arns_are_those_of_the_local_aws_and_the_functions(
    clerk_flow: MailFlow, support: Any
) -> None:
    """What a user listed the local AWS for: each resource under the name the flow gives."""
    assert [b["Name"] for b in clerk_flow.client("s3").list_buckets()["Buckets"]] == [
        clerk_flow.physical_name("Archive")
    ]
    assert clerk_flow.client("dynamodb").list_tables()["TableNames"] == [
        clerk_flow.physical_name("Ledger")
    ]
    (queue_url,) = clerk_flow.client("sqs").list_queues()["QueueUrls"]
    assert queue_url.endswith("/" + clerk_flow.physical_name("Work"))
    topics = [t["TopicArn"] for t in clerk_flow.client("sns").list_topics()["Topics"]]
    assert clerk_flow.resource("Tickets").arn in topics
    (clerk, _) = support.invocations
    assert (clerk.function, clerk.function_arn) == (
        clerk_flow.physical_name("Clerk"),
        clerk_flow.resource("Clerk").arn,
    )
    table = clerk_flow.resource("Ledger")
    assert table.arn == f"arn:aws:dynamodb:eu-west-1:111122223333:table/{table.name}"


def test_a_resource_of_a_stack_in_a_stage_is_found_without_the_stage_s_path() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(cdk.Stage(app, "Staged"), "Mail")
    s3.Bucket(stack, "Archive")
    InboundEmail(stack, "Inbound").add_lambda_rule("Only", recipients=["only@example.com"])
    with MailFlow.from_stack(stack) as flow:
        found = flow.resource("Staged/Mail/Archive")
        assert found.path == "Staged/Mail/Archive/Resource"
        assert flow.resource("Archive") == found
        assert found.name == physical_name(stack.artifact_id, found.logical_id, found.kind)


def test_fails_to_find_a_resource_no_path_or_logical_id_names(clerk_flow: MailFlow) -> None:
    for reference in ("Mail/Nothing", "Ledger/Table", "Other/Ledger", "Mail/Clerk/ServiceRole"):
        with pytest.raises(ValueError, match="no bucket, topic, queue, table or function") as e:
            clerk_flow.physical_name(reference)
        assert repr(reference) in str(e.value)
        assert "Mail/Ledger/Resource (AWS::DynamoDB::Table Ledger" in str(e.value)  # what is


def test_fails_to_find_a_resource_a_path_names_twice() -> None:
    """``Mail/Archive``: the stack's Archive without ``/Resource``, and the Archive of its
    construct Mail without the stack's path."""
    bucket = {"Type": "AWS::S3::Bucket"}
    template = {
        "Resources": {
            "ArchiveA1B2C3D4": {**bucket, "Metadata": {"aws:cdk:path": "Mail/Archive/Resource"}},
            "MailArchive5E6F7A8B": {
                **bucket,
                "Metadata": {"aws:cdk:path": "Mail/Mail/Archive/Resource"},
            },
            "Set": {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {"RuleSetName": "set"}},
        }
    }
    (rule_set,) = rule_sets_of_template(template, stack="Mail")
    with MailFlow(rule_set) as flow:
        with pytest.raises(ValueError, match="'Mail/Archive' names several resources") as e:
            flow.resource("Mail/Archive")
        assert "ArchiveA1B2C3D4" in str(e.value) and "MailArchive5E6F7A8B" in str(e.value)
        assert flow.resource("Mail/Mail/Archive").logical_id == "MailArchive5E6F7A8B"
        assert flow.resource("ArchiveA1B2C3D4").path == "Mail/Archive/Resource"


def test_ses_puts_its_headers_first_in_the_event_and_the_stored_object(support: Any) -> None:
    mail = support.invocations[0].event["Records"][0]["ses"]["mail"]
    names = [h["name"] for h in mail["headers"]]
    assert names[: len(SES_HEADERS)] == SES_HEADERS
    assert names[len(SES_HEADERS)] == "From"  # then the message's own
    values = {h["name"]: h["value"] for h in mail["headers"]}
    assert values["Return-Path"] == "<jane@sender.example>"
    assert re.fullmatch(
        rf"from mx\.sender\.example \(\[192\.0\.2\.7\]\) by localhost with SMTP id "
        rf"{support.message_id} for support@example.com; \w{{3}}, .* \+0000 \(UTC\)",
        values["Received"],
    )
    assert values["Authentication-Results"].startswith(
        "amazonses.com; spf=pass (spfCheck: domain of sender.example designates 192.0.2.7 as "
        "permitted sender) client-ip=192.0.2.7; envelope-from=jane@sender.example; "
        "helo=mx.sender.example;"
    )
    assert values["Authentication-Results"].endswith(
        "dkim=pass header.i=@sender.example; dmarc=pass header.from=sender.example;"
    )
    stored = support.stored[0].read_bytes().decode()
    assert [line.split(":", 1)[0] for line in stored.splitlines()[:7]] == SES_HEADERS


def test_verdicts_show_in_the_added_headers(clerk_flow: MailFlow) -> None:
    delivery = clerk_flow.deliver(
        MESSAGE,
        recipients=["else@example.com"],
        verdicts={"spam": "FAIL", "spf": "GRAY", "dkim": "FAIL", "dmarc": "FAIL"},
    ).wait(60)
    headers = {
        h["name"]: h["value"]
        for h in delivery.invocations[0].event["Records"][0]["ses"]["mail"]["headers"]
    }
    assert headers["X-SES-Spam-Verdict"] == "FAIL"
    assert headers["Received-SPF"].startswith("none (spfCheck: 127.0.0.1 is neither permitted")
    assert "dkim=fail header.i=@sender.example; dmarc=fail" in headers["Authentication-Results"]


def test_times_are_when_the_message_arrived_and_when_each_action_ran(support: Any) -> None:
    record = support.invocations[0].event["Records"][0]["ses"]
    arrived = datetime.fromisoformat(record["mail"]["timestamp"])
    ran = datetime.fromisoformat(record["receipt"]["timestamp"])
    assert arrived <= ran
    assert record["receipt"]["processingTimeMillis"] >= 1
    for stamp in (record["mail"]["timestamp"], record["receipt"]["timestamp"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)


def test_common_headers_are_those_ses_fills(support: Any) -> None:
    common = support.invocations[0].event["Records"][0]["ses"]["mail"]["commonHeaders"]
    assert common == {
        "returnPath": "jane@sender.example",
        "from": ['"Doe, Jane" <jane@sender.example>'],  # quoted as in SES's sample event
        "to": ["support@example.com"],
        "date": "Wed, 02 Dec 2026 10:00:00 +0000",
        "messageId": "<42@sender.example>",
        "subject": "Order 42",
    }


def test_a_message_without_date_or_message_id_has_neither_in_common_headers(
    clerk_flow: MailFlow,
) -> None:
    bare = "From: jane@sender.example\r\nTo: else@example.com\r\n\r\nhi\r\n"
    delivery = clerk_flow.deliver(bare, recipients=["else@example.com"]).wait(60)
    common = delivery.invocations[0].event["Records"][0]["ses"]["mail"]["commonHeaders"]
    assert "date" not in common and "messageId" not in common and "subject" not in common
    assert common["from"] == ["jane@sender.example"]


def test_powertools_reads_the_events(clerk_flow: MailFlow, support: Any) -> None:
    for invocation in support.invocations:
        record = SESEvent(invocation.event).record
        assert record.ses.mail.message_id == support.message_id
        assert record.ses.mail.common_headers.subject == "Order 42"
        assert record.ses.receipt.processing_time_millis >= 1
        assert record.ses.receipt.action.function_arn == invocation.function_arn
    # Powertools' parser model knows Event invocations only (invocationType: Literal["Event"]).
    (event,) = [i.event for i in support.invocations if i.invocation_type == "Event"]
    parsed = SesModel.model_validate(event)
    assert parsed.Records[0].ses.mail.commonHeaders.messageId == "<42@sender.example>"
    assert parsed.Records[0].ses.receipt.processingTimeMillis >= 1


def test_the_rule_s_topic_receives_sns_s_envelope_of_ses_s_notification(
    clerk_flow: MailFlow, support: Any
) -> None:
    (lambda_note,) = support.notifications
    for envelope in support.notifications:
        assert set(envelope) >= {
            "Type",
            "MessageId",
            "TopicArn",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
        }
    invoked = ses_notification(lambda_note)
    assert invoked["receipt"]["action"] == {
        "type": "Lambda",
        "topicArn": lambda_note["TopicArn"],
        "functionArn": support.invocations[0].function_arn,
        "invocationType": "RequestResponse",
    }
    assert "content" not in invoked
    assert invoked["mail"]["messageId"] == support.message_id
    topic = lambda_note["TopicArn"].rsplit(":", 1)[1]
    lines = (clerk_flow.store_dir / "sns" / f"{topic}.jsonl").read_text().splitlines()
    assert lambda_note in [json.loads(line) for line in lines]  # one shape in both


def test_every_action_kind_notifies_with_ses_s_action_object(tmp_path: Path) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alerts")
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    rule_set.add_rule(
        "Copy",
        actions=[
            ses_actions.S3(
                bucket=s3.Bucket(stack, "Box", bucket_name="box"),
                object_key_prefix="in/",
                topic=topic,
            ),
            ses_actions.Sns(topic=topic, encoding=ses_actions.EmailEncoding.BASE64),
        ],
    )
    rule_set.add_rule(
        "Refuse",
        actions=[
            ses_actions.Bounce(
                sender="mailer@example.com",
                template=ses_actions.BounceTemplate.MAILBOX_DOES_NOT_EXIST,
                topic=topic,
            ),
            ses_actions.Stop(topic=topic),
        ],
    )
    with MailFlow.from_stack(stack, store_dir=tmp_path) as flow:
        delivery = flow.deliver(MESSAGE, recipients=["a@example.com"])
    stored, copy, bounce, stop = (
        ses_notification(n)["receipt"]["action"] for n in delivery.notifications
    )
    arn = delivery.notifications[0]["TopicArn"]
    assert stored == {
        "type": "S3",
        "topicArn": arn,
        "bucketName": "box",
        "objectKeyPrefix": "in/",
        "objectKey": f"in/{delivery.message_id}",
    }
    assert copy == {"type": "SNS", "topicArn": arn, "encoding": "Base64"}
    assert bounce == {
        "type": "Bounce",
        "topicArn": arn,
        "smtpReplyCode": "550",
        "statusCode": "5.1.1",
        "message": "Mailbox does not exist",
        "sender": "mailer@example.com",
    }
    assert stop == {"type": "Stop", "topicArn": arn}
    contents = ["content" in ses_notification(n) for n in delivery.notifications]
    assert contents == [False, True, False, False]  # only the SNS action's carries the message


def test_local_aws_answers_for_its_account_on_loopback_and_stops() -> None:
    with LocalAws(account="444455556666", region="ap-southeast-2") as aws:
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
        assert aws.client("sts").get_caller_identity()["Account"] == "444455556666"
        assert aws.env["AWS_ENDPOINT_URL"] == aws.endpoint_url
        assert aws.env["AWS_REGION"] == "ap-southeast-2"
        endpoint = aws.endpoint_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=5)


def test_one_local_aws_serves_several_flows_of_its_account(tmp_path: Path) -> None:
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="plain")
    rule_set.add_rule(
        "Keep", actions=[ses_actions.S3(bucket=s3.Bucket(stack, "Keep", bucket_name="kept"))]
    )
    with LocalAws(account=ACCOUNT) as aws:
        for run in ("one", "two"):
            with MailFlow.from_stack(stack, aws=aws, store_dir=tmp_path / run) as flow:
                flow.deliver(MESSAGE, recipients=["a@example.com"])
        assert len(aws.client("s3").list_objects_v2(Bucket="kept")["Contents"]) == 2


def test_fails_on_a_local_aws_of_another_account(tmp_path: Path) -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="inbound")
    aws = LocalAws(account="123456789012")
    with pytest.raises(
        ValueError,
        match=rf"aws is a local AWS of account 123456789012; rule set 'inbound' is in account "
        rf"{ACCOUNT}",
    ):
        MailFlow.from_stack(stack, aws=aws, store_dir=tmp_path)


def test_fails_on_an_account_that_is_not_twelve_digits() -> None:
    with pytest.raises(ValueError, match=r"account='12' is not an AWS account id \(12 digits\)"):
        LocalAws(account="12")


OWNER = """
import sys, time
from constructs_ses.local.aws.local_aws import LocalAws
aws = LocalAws().start()
print(aws.endpoint_url, flush=True)
time.sleep(600)
"""


def test_local_aws_ends_with_the_program_that_started_it() -> None:
    """Killed without a chance to stop it, its owner still takes the server down with it."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    endpoint = owner.stdout.readline().strip()
    assert urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10).status == 200
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2)
        except OSError:  # refused: nothing listens there any more
            return
        time.sleep(0.1)
    raise AssertionError(f"the local AWS at {endpoint} outlived its owner")
