"""Grants to SES are scoped to this account and this rule set's rules, and exist before rules."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Capture, Match, Template

from constructs_ses import InboundEmail, LambdaAction

from conftest import ACCOUNT, inline_function, logical_id, new_stack


def rules_arn(rule_set_name: str) -> str:
    return f"arn:aws:ses:us-east-1:{ACCOUNT}:receipt-rule-set/{rule_set_name}:receipt-rule/*"


def test_invoke_permission_names_the_rule_sets_rules_literally() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.add_lambda_rule("R")
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Principal": "ses.amazonaws.com",
            "SourceAccount": ACCOUNT,
            "SourceArn": rules_arn("inbound"),
        },
    )


@pytest.mark.parametrize(
    ("region", "partition_literals", "arn_start"),
    [
        ("us-east-1", False, "arn:aws:ses:us-east-1:"),  # the packaged list's partition
        ("cn-north-1", True, "arn:aws-cn:ses:cn-north-1:"),  # aws-cdk-lib's, for other regions
    ],
)
def test_source_arn_names_the_partition_of_the_region(
    region: str, partition_literals: bool, arn_start: str
) -> None:
    context = {"@aws-cdk/core:enablePartitionLiterals": partition_literals}
    stack = new_stack(cdk.App(context=context), region=region)
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound", receiving_regions=[region])
    mail.add_lambda_rule("R")
    arn = Capture()
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Permission", {"Principal": "ses.amazonaws.com", "SourceArn": arn}
    )
    assert arn.as_string().startswith(arn_start)


def test_default_rule_set_name_is_in_the_source_arn() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("R")
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Permission", {"SourceArn": rules_arn(mail.rule_set_name)}
    )


def test_plain_rule_set_names_work_too() -> None:
    stack = new_stack()
    named = ses.ReceiptRuleSet(stack, "Named", receipt_rule_set_name="named")
    named.add_rule("R", actions=[LambdaAction(function=inline_function(stack))])
    imported = ses.ReceiptRuleSet.from_receipt_rule_set_name(stack, "Imported", "existing")
    ses.ReceiptRule(
        stack,
        "Other",
        rule_set=imported,
        actions=[LambdaAction(function=inline_function(stack, "G"))],
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Permission", {"SourceArn": rules_arn("named")})
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"SourceArn": rules_arn("existing")}
    )


def test_unnamed_plain_rule_set_is_referenced_without_a_cycle() -> None:
    stack = new_stack()
    rule_set = ses.ReceiptRuleSet(stack, "Unnamed")
    rule_set.add_rule("R", actions=[LambdaAction(function=inline_function(stack))])
    template = Template.from_stack(stack)
    rule_set_id = logical_id(stack, rule_set)
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"SourceArn": {"Fn::Join": ["", Match.array_with([{"Ref": rule_set_id}])]}},
    )


def test_encrypted_topic_key_lets_ses_in_before_the_rule() -> None:
    stack = new_stack()
    key = kms.Key(stack, "TopicKey")
    topic = sns.Topic(stack, "Alerts", master_key=key)
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    rule = mail.add_lambda_rule("R", topic=topic)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowSesReceiptRules",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                                "ArnLike": {"aws:SourceArn": rules_arn("inbound")},
                            },
                        }
                    ]
                )
            }
        },
    )
    key_id = logical_id(stack, key)
    rule_id = logical_id(stack, rule.rule)
    assert key_id in template.to_json()["Resources"][rule_id]["DependsOn"]


def test_imported_topic_key_gets_a_warning() -> None:
    stack = new_stack()
    topic = sns.Topic.from_topic_attributes(
        stack,
        "Alerts",
        topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
        key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("R", topic=topic)
    Annotations.from_stack(stack).has_warning(
        "/Mail/Inbound/Rules/R",
        Match.string_like_regexp(
            "whose policy this app cannot change: allow ses.amazonaws.com kms:GenerateDataKey"
        ),
    )


FAR_FUNCTION = "arn:aws:lambda:us-east-1:222222222222:function:elsewhere"


@pytest.mark.parametrize("made_by", ["InboundEmail", "LambdaAction"])
def test_function_of_another_account_gets_no_permission_but_a_warning(made_by: str) -> None:
    stack = new_stack()
    far = lambda_.Function.from_function_arn(stack, "Far", FAR_FUNCTION)
    if made_by == "InboundEmail":
        mail = InboundEmail(stack, "Inbound")
        mail.add_lambda_rule("R", function=far)
        mail.add_lambda_rule("S", function=far)
        paths = ["/Mail/Inbound/Rules/R", "/Mail/Inbound/Rules/S"]
    else:
        rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
        rule_set.add_rule("R", actions=[LambdaAction(function=far)])
        paths = ["/Mail/RuleSet/R"]
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::Permission", 0)
    template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Actions": [
                    {"LambdaAction": {"FunctionArn": FAR_FUNCTION, "InvocationType": "Event"}}
                ]
            }
        },
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    texts = {(w.id, str(w.entry.data)) for w in warnings}
    expected = {
        (
            path,
            f"Lambda function Mail/Far is in account 222222222222, not {ACCOUNT}: its owner must "
            "allow ses.amazonaws.com to invoke it (lambda:InvokeFunction, SourceAccount "
            f"{ACCOUNT}) before this rule deploys. "
            "[ack: Annotation::constructs-ses:crossAccountFunction]",
        )
        for path in paths
    }
    assert texts == expected  # aws-cdk-lib's own, vaguer warning is not among them


def test_fails_when_bound_to_something_without_a_receipt_rule(stack: cdk.Stack) -> None:
    action = LambdaAction(function=inline_function(stack))
    with pytest.raises(ValueError, match=r"can only be bound to an aws_ses.ReceiptRule"):
        action.bind(cdk.Resource(stack, "NotARule"))  # type: ignore[arg-type]


def test_bucket_policy_lets_ses_write_only_the_prefix_for_this_rule_set() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Archive")
    rule = InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule(
        "R", bucket=bucket, object_key_prefix="mail/"
    )
    template = Template.from_stack(stack)
    bucket_id = logical_id(stack, bucket)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowSesReceiptRulesToStoreMail",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {
                                "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/mail/*"]]
                            },
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                                "ArnLike": {"aws:SourceArn": rules_arn("inbound")},
                            },
                        }
                    ]
                )
            }
        },
    )
    (policy_id,) = template.find_resources("AWS::S3::BucketPolicy")
    rule_id = logical_id(stack, rule.rule)
    assert policy_id in template.to_json()["Resources"][rule_id]["DependsOn"]


def test_imported_bucket_gets_a_warning() -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Archive", "existing-archive")
    InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("R", bucket=bucket)
    Annotations.from_stack(stack).has_warning(
        "/Mail/Inbound/Rules/R",
        Match.string_like_regexp("bucket existing-archive is imported, .* s3:PutObject on \\*"),
    )
