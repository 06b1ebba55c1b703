"""The same-region check: synthesis fails when a rule uses another region's resources."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from constructs_ses import InboundEmail, SameRegionCheck

from conftest import ACCOUNT, cdk_cli, inline_function, new_stack

FUNCTION_EU = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:elsewhere"
FUNCTION_US = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:here"
TOPIC_AP = f"arn:aws:sns:ap-southeast-2:{ACCOUNT}:alerts"
KEY_EU = f"arn:aws:kms:eu-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def synth_errors(stack: cdk.Stack) -> str:
    """The validation errors that make synthesizing ``stack`` fail."""
    with pytest.raises(RuntimeError, match="Validation failed") as error:
        Template.from_stack(stack)
    return str(error.value)


def test_fails_on_imported_function_of_another_region(stack: cdk.Stack) -> None:
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_EU)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    errors = synth_errors(stack)
    assert (
        f"[Mail/Inbound] Mail/Inbound/Rules/R: Lambda function {FUNCTION_EU} is in eu-west-1, "
        "but the receipt rule set is in us-east-1" in errors
    )


def test_imported_function_of_the_same_region_passes(stack: cdk.Stack) -> None:
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_US)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    Template.from_stack(stack).resource_count_is("AWS::SES::ReceiptRule", 1)


def test_fails_on_topic_and_keys_of_other_regions(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("Imported", topic=sns.Topic.from_topic_arn(stack, "T", TOPIC_AP))
    owned = sns.Topic(stack, "Owned", master_key=kms.Key.from_key_arn(stack, "K", KEY_EU))
    mail.add_lambda_rule("OwnedTopic", topic=owned)
    with_key = sns.Topic.from_topic_attributes(
        stack,
        "WithKey",
        topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:encrypted",
        key_arn=KEY_EU.replace("eu-west-2", "eu-central-1"),
    )
    mail.add_lambda_rule("ImportedWithKey", topic=with_key)
    errors = synth_errors(stack)
    assert (
        f"[Mail/Inbound] Mail/Inbound/Rules/Imported: SNS topic {TOPIC_AP} is in ap-southeast-2"
        in errors
    )
    assert (
        "[Mail/Inbound] Mail/Inbound/Rules/OwnedTopic: KMS key of SNS topic Mail/Owned "
        f"{KEY_EU} is in eu-west-2, but the receipt rule set is in us-east-1" in errors
    )
    assert (
        "[Mail/Inbound/Rules/ImportedWithKey] KMS key of SNS topic Mail/WithKey "
        f"{KEY_EU.replace('eu-west-2', 'eu-central-1')} is in eu-central-1" in errors
    )


def test_fails_on_function_of_another_stack_with_physical_name() -> None:
    app = cdk.App()
    other = new_stack(app, "Other", region="eu-west-1")
    function = inline_function(other, "Fn", function_name="mail-handler")
    stack = new_stack(app, "Mail")
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    errors = synth_errors(stack)
    assert (
        "Lambda function arn:${AWS::Partition}:lambda:eu-west-1:111111111111:function:"
        "mail-handler is in eu-west-1, but the receipt rule set is in us-east-1" in errors
    )


def test_fails_on_function_read_by_a_cross_region_reference() -> None:
    app = cdk.App()
    env = cdk.Environment(account=ACCOUNT, region="eu-west-1")
    other = cdk.Stack(app, "Other", env=env, cross_region_references=True)
    function = inline_function(other, "Fn")
    env = cdk.Environment(account=ACCOUNT, region="us-east-1")
    stack = cdk.Stack(app, "Mail", env=env, cross_region_references=True)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    assert re.search(
        r"\[Mail/Inbound\] Mail/Inbound/Rules/R: Lambda function read by cross-region reference "
        r"/cdk/exports/Mail/\S+ is in another region, but the receipt rule set is in us-east-1",
        synth_errors(stack),
    )


def test_fails_on_rule_added_to_the_rule_set_directly(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_EU)
    mail.rule_set.add_rule("Direct", actions=[ses_actions.Lambda(function=function)])
    assert (
        f"[Mail/Inbound] Mail/Inbound/RuleSet/Direct: Lambda function {FUNCTION_EU} is in "
        "eu-west-1" in synth_errors(stack)
    )


def test_function_of_another_stack_in_the_same_region_passes() -> None:
    app = cdk.App()
    other = new_stack(app, "Other")
    function = inline_function(other, "Fn")
    stack = new_stack(app, "Mail")
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SES::ReceiptRule", 1)
    # the permission sits beside the rule it serves, naming the function by its exported ARN
    (permission,) = template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "ses.amazonaws.com"}}
    )
    template.has_resource("AWS::SES::ReceiptRule", {"DependsOn": [permission]})
    Template.from_stack(other).resource_count_is("AWS::Lambda::Permission", 0)


def test_fails_in_a_region_that_does_not_receive_email() -> None:
    stack = new_stack(region="ap-east-1")
    InboundEmail(stack, "Inbound").add_lambda_rule("R")
    errors = synth_errors(stack)
    assert re.search(
        r"\[Mail/Inbound\] Mail/Inbound/RuleSet: region 'ap-east-1' does not receive email "
        r"with Amazon SES.*"
        r"use one of: .*eu-west-1.*us-east-1",
        errors,
    )
    assert "Mail/Inbound/Rules/R: region" not in errors  # reported once, at the rule set


def test_receiving_regions_override_the_packaged_list() -> None:
    stack = new_stack(region="us-east-1")
    InboundEmail(stack, "Inbound", receiving_regions=["eu-west-1"])
    assert "region 'us-east-1' does not receive email" in synth_errors(stack)
    allowed = new_stack(region="us-west-1")
    InboundEmail(allowed, "Inbound", receiving_regions=["us-west-1"]).add_lambda_rule("R")
    Template.from_stack(allowed).resource_count_is("AWS::SES::ReceiptRuleSet", 1)


def test_fails_on_invalid_receiving_regions_at_construction(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"^\[Mail/Inbound\] receiving_regions=\[\] names no region"
    ):
        InboundEmail(stack, "Inbound", receiving_regions=[])


def test_environment_agnostic_stack_synthesizes_with_warnings() -> None:
    stack = new_stack(region=None)
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_EU)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    Template.from_stack(stack).resource_count_is("AWS::SES::ReceiptRule", 1)
    annotations = Annotations.from_stack(stack)
    annotations.has_warning(
        "/Mail/Inbound/RuleSet", Match.string_like_regexp("region receives email could not run")
    )
    annotations.has_warning(
        "/Mail/Inbound/Rules/R", Match.string_like_regexp("same-region check could not run")
    )


def test_token_arn_synthesizes_with_a_warning(stack: cdk.Stack) -> None:
    arn = cdk.CfnParameter(stack, "FunctionArn").value_as_string
    function = lambda_.Function.from_function_arn(stack, "FromParameter", arn)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    Template.from_stack(stack).resource_count_is("AWS::SES::ReceiptRule", 1)
    Annotations.from_stack(stack).has_warning(
        "/Mail/Inbound/Rules/R",
        Match.string_like_regexp("could not run for Lambda function .* known at deploy time"),
    )


def test_app_synth_fails_too(stack: cdk.Stack) -> None:
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_EU)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    app = stack.node.root
    assert isinstance(app, cdk.App)
    with pytest.raises(RuntimeError, match=r"Lambda function .* is in eu-west-1"):
        app.synth()


@pytest.fixture(scope="module")
def plain_rule_errors() -> str:
    """The aspect on rules built with aws-cdk-lib alone, every action kind at once."""
    stack = new_stack()
    cdk.Aspects.of(stack.node.root).add(SameRegionCheck())
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
    elsewhere = s3.Bucket.from_bucket_attributes(
        stack, "Bucket", bucket_name="mail-archive", region="eu-west-1"
    )
    topic_ap = sns.Topic.from_topic_arn(stack, "TopicAp", TOPIC_AP)
    rule_set.add_rule(
        "Store",
        actions=[
            ses_actions.S3(bucket=elsewhere),  # buckets may be elsewhere
            ses_actions.S3(bucket=elsewhere, kms_key=kms.Key.from_key_arn(stack, "Key", KEY_EU)),
            ses_actions.Sns(topic=topic_ap),
        ],
    )
    rule_set.add_rule(
        "Invoke",
        actions=[
            ses_actions.Lambda(
                function=lambda_.Function.from_function_arn(stack, "Fn", FUNCTION_EU)
            ),
            ses_actions.Stop(topic=sns.Topic(stack, "Local")),
        ],
    )
    return synth_errors(stack)


def test_fails_on_s3_action_key_but_not_bucket(plain_rule_errors: str) -> None:
    assert f"[Mail] Mail/RuleSet/Store: KMS key {KEY_EU} is in eu-west-2" in plain_rule_errors
    assert "mail-archive" not in plain_rule_errors


def test_fails_on_sns_action_topic(plain_rule_errors: str) -> None:
    assert f"[Mail] Mail/RuleSet/Store: SNS topic {TOPIC_AP} is in ap-southeast-2" in (
        plain_rule_errors
    )


def test_fails_on_lambda_action_function_only(plain_rule_errors: str) -> None:
    assert (
        f"[Mail] Mail/RuleSet/Invoke: Lambda function {FUNCTION_EU} is in eu-west-1"
        in plain_rule_errors
    )
    assert "Mail/Local" not in plain_rule_errors


def test_aspect_checks_rules_of_an_imported_rule_set() -> None:
    stack = new_stack(region="ap-east-1")
    cdk.Aspects.of(stack).add(SameRegionCheck())
    rule_set = ses.ReceiptRuleSet.from_receipt_rule_set_name(stack, "Existing", "existing")
    ses.ReceiptRule(stack, "Rule", rule_set=rule_set, actions=[ses_actions.Stop()])
    assert "[Mail] Mail/Rule: region 'ap-east-1' does not receive email" in synth_errors(stack)


def test_nearest_check_reports_each_problem_once(stack: cdk.Stack) -> None:
    cdk.Aspects.of(stack.node.root).add(SameRegionCheck())
    function = lambda_.Function.from_function_arn(stack, "Imported", FUNCTION_EU)
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
    assert synth_errors(stack).count("is in eu-west-1") == 1


def test_fails_on_invalid_aspect_regions() -> None:
    with pytest.raises(ValueError, match=r"receiving_regions\[0\]='' is not a region name"):
        SameRegionCheck(receiving_regions=[""])


def test_cdk_synth_fails_with_the_message(tmp_path: Path) -> None:
    app_file = tmp_path / "app.py"
    app_file.write_text(
        textwrap.dedent(
            f"""
            import aws_cdk as cdk
            from aws_cdk import aws_lambda as lambda_
            from constructs_ses import InboundEmail

            app = cdk.App()
            env = cdk.Environment(account="{ACCOUNT}", region="us-east-1")
            stack = cdk.Stack(app, "Mail", env=env)
            function = lambda_.Function.from_function_arn(stack, "Imported", "{FUNCTION_EU}")
            InboundEmail(stack, "Inbound").add_lambda_rule("R", function=function)
            app.synth()
            """
        )
    )
    result = cdk_cli(
        "synth",
        "--app",
        f"{sys.executable} {app_file}",
        "--output",
        str(tmp_path / "cdk.out"),
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert (
        f"[Mail/Inbound] Mail/Inbound/Rules/R: Lambda function {FUNCTION_EU} is in eu-west-1, "
        "but the receipt rule set is in us-east-1" in result.stderr + result.stdout
    )
