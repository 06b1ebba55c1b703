"""add_lambda_rule's options for the function it creates: policy, stored messages, own code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Capture, Match, Template

from constructs_ses import (
    Disposition,
    HandlerPolicy,
    InboundEmail,
    InvocationType,
    StopVerdict,
)
from constructs_ses.scaffold import new_handler

from conftest import inline_function, logical_id, new_stack


class StoredMessages:
    """A rule that stores each message under a prefix, then runs the template with a policy."""

    def __init__(self) -> None:
        self.stack = new_stack()
        self.bucket = s3.Bucket(self.stack, "Archive")
        self.policy = HandlerPolicy(
            stop_on=(StopVerdict.SPAM, StopVerdict.SPF),
            on_stop=Disposition.STOP_RULE,
            deny_senders=("spam.example",),
        )
        self.rule = InboundEmail(self.stack, "Inbound").add_lambda_rule(
            "Support",
            recipients=["support@example.com"],
            invocation_type=InvocationType.REQUEST_RESPONSE,
            policy=self.policy,
            bucket=self.bucket,
            object_key_prefix="inbound/support/",
        )
        self.template = Template.from_stack(self.stack)

    def logical_id(self, construct: Any) -> str:
        return logical_id(self.stack, construct)


@pytest.fixture(scope="module")
def stored() -> StoredMessages:
    return StoredMessages()


def test_message_is_stored_before_the_function_runs(stored: StoredMessages) -> None:
    stored.template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": Match.object_like(
                {
                    "Actions": [
                        {
                            "S3Action": {
                                "BucketName": {"Ref": stored.logical_id(stored.bucket)},
                                "ObjectKeyPrefix": "inbound/support/",
                            }
                        },
                        {"LambdaAction": Match.object_like({"InvocationType": "RequestResponse"})},
                    ]
                }
            )
        },
    )


def test_function_reads_exactly_the_stored_messages(stored: StoredMessages) -> None:
    statements = Capture()
    stored.template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": statements}},
    )
    bucket_id = stored.logical_id(stored.bucket)
    reads = [s for s in statements.as_array() if "s3:" in str(s["Action"])]
    assert reads == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/inbound/support/*"]]
            },
        }
    ]


def test_function_may_decrypt_messages_of_an_encrypted_bucket() -> None:
    stack = new_stack()
    key = kms.Key(stack, "ArchiveKey")
    bucket = s3.Bucket.from_bucket_attributes(
        stack, "Archive", bucket_name="mail-archive", encryption_key=key
    )
    InboundEmail(stack, "Inbound").add_lambda_rule(
        "Support",
        invocation_type=InvocationType.REQUEST_RESPONSE,
        bucket=bucket,
        object_key_prefix="support/",
    )
    key_id = logical_id(stack, key)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "kms:Decrypt",
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
                        }
                    ]
                )
            }
        },
    )


def test_function_gets_the_policy_and_where_messages_are(stored: StoredMessages) -> None:
    stored.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    **stored.policy.to_environment(),
                    "SES_MESSAGE_BUCKET": {"Ref": stored.logical_id(stored.bucket)},
                    "SES_MESSAGE_PREFIX": "inbound/support/",
                }
            }
        },
    )
    assert stored.policy.to_environment()["SES_STOP_ON"] == "spam,spf"


def test_ses_may_write_to_the_bucket_before_the_rule_is_created(stored: StoredMessages) -> None:
    policy_id = next(iter(stored.template.find_resources("AWS::S3::BucketPolicy")))
    stored.template.has_resource(
        "AWS::SES::ReceiptRule", {"DependsOn": Match.array_with([policy_id])}
    )


def test_default_function_without_policy_has_no_environment() -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound").add_lambda_rule("R")
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert [f for f in functions.values() if "Environment" in f["Properties"]] == []


def test_users_function_gets_bucket_access_and_environment() -> None:
    stack = new_stack()
    function = inline_function(stack)
    bucket = s3.Bucket(stack, "Archive")
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function, bucket=bucket)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.handler",
            "Environment": {
                "Variables": {"SES_MESSAGE_BUCKET": Match.any_value(), "SES_MESSAGE_PREFIX": ""}
            },
        },
    )


def test_handler_directory_becomes_the_function_code(tmp_path: Path) -> None:
    target = new_handler(tmp_path / "support")
    target.write_text(target.read_text() + "\n# customised\n")
    stack = new_stack()
    InboundEmail(stack, "Inbound").add_lambda_rule("R", handler_directory=tmp_path / "support")
    template = Template.from_stack(stack)
    key = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "handler.handler", "Code": {"S3Key": key}}
    )
    outdir = Path(stack.node.root.outdir)  # type: ignore[attr-defined]
    asset = outdir / f"asset.{key.as_string().removesuffix('.zip')}"
    assert (asset / "handler.py").read_text().endswith("# customised\n")


# Bad input


def test_fails_on_policy_with_users_function(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"policy=.* configures the function the rule creates"):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", function=inline_function(stack), policy=HandlerPolicy()
        )


def test_fails_on_handler_directory_with_users_function(stack: cdk.Stack, tmp_path: Path) -> None:
    new_handler(tmp_path)
    with pytest.raises(ValueError, match=r"handler_directory=.* configures the function"):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", function=inline_function(stack), handler_directory=tmp_path
        )


def test_fails_on_handler_directory_without_handler(stack: cdk.Stack, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"has no handler\.py .*'python -m constructs_ses new-handler"
    ):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", handler_directory=tmp_path)


def test_fails_on_bucket_with_imported_function(stack: cdk.Stack) -> None:
    function = lambda_.Function.from_function_arn(
        stack, "F", "arn:aws:lambda:us-east-1:111111111111:function:x"
    )
    with pytest.raises(ValueError, match=r"bucket= needs a function whose role and environment"):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", function=function, bucket=s3.Bucket(stack, "B")
        )


def test_fails_on_prefix_without_bucket(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"object_key_prefix='mail/' was given without bucket="):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", object_key_prefix="mail/")


def test_fails_on_overlong_prefix(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"object_key_prefix is 1000 bytes long"):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", bucket=s3.Bucket(stack, "B"), object_key_prefix="x" * 1000
        )


def test_fails_on_bucket_given_by_name(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"bucket='archive' is not an aws_s3.IBucket"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", bucket="archive")  # type: ignore[arg-type]


def test_fails_on_policy_of_another_type(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"policy=\{'stop_on': \[\]\} is not a HandlerPolicy"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", policy={"stop_on": []})  # type: ignore[arg-type]


def test_drop_spam_rule_comes_first_and_stops_spam_and_viruses() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", drop_spam=True)
    support = mail.add_lambda_rule("Support", recipients=["support@example.com"])
    drop = mail.drop_spam_rule
    assert drop is not None
    assert mail.rules == [drop, support]
    template = Template.from_stack(stack)
    rules = template.find_resources("AWS::SES::ReceiptRule")
    drop_id = logical_id(stack, drop.rule)
    support_id = logical_id(stack, support.rule)
    drop_rule = rules[drop_id]["Properties"]
    assert "After" not in drop_rule
    assert "Recipients" not in drop_rule["Rule"]
    assert drop_rule["Rule"]["ScanEnabled"] is True
    (action,) = drop_rule["Rule"]["Actions"]
    assert action["LambdaAction"]["InvocationType"] == "RequestResponse"
    assert rules[support_id]["Properties"]["After"] == {"Ref": drop_id}
    function_id = logical_id(stack, drop.function)
    function = template.to_json()["Resources"][function_id]["Properties"]
    assert function["Environment"]["Variables"]["SES_STOP_ON"] == "spam,virus"
    assert function["Environment"]["Variables"]["SES_ON_STOP"] == "STOP_RULE_SET"
    permissions = template.find_resources(
        "AWS::Lambda::Permission",
        {"Properties": {"FunctionName": {"Fn::GetAtt": [function_id, "Arn"]}}},
    )
    (permission_id,) = permissions
    assert permission_id in rules[drop_id]["DependsOn"]


def test_fails_on_drop_spam_that_is_not_a_boolean(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"^\[Mail/Inbound\] drop_spam='yes' must be True or False"
    ):
        InboundEmail(stack, "Inbound", drop_spam="yes")  # type: ignore[arg-type]
