"""SES's limits and naming rules, checked at synthesis for rules built with plain aws-cdk-lib."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk.assertions import Annotations, Match, Template

from constructs_ses import InboundEmail, InvocationType, LambdaAction, ReceiptRuleLimitsCheck

from conftest import inline_function, new_stack


def checked_stack(**kwargs: str | None) -> cdk.Stack:
    stack = new_stack(**kwargs)  # type: ignore[arg-type]
    cdk.Aspects.of(stack.node.root).add(ReceiptRuleLimitsCheck())
    return stack


def synth_errors(stack: cdk.Stack) -> str:
    with pytest.raises(RuntimeError, match="Validation failed") as error:
        Template.from_stack(stack)
    return str(error.value)


def test_fails_on_more_than_200_rules_and_repeated_names() -> None:
    stack = checked_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="inbound")
    for index in range(200):
        ses.CfnReceiptRule(
            stack,
            f"Rule{index}",
            rule_set_name=rule_set.receipt_rule_set_name,
            rule=ses.CfnReceiptRule.RuleProperty(name=f"rule-{index % 199}"),
        )
    ses.CfnReceiptRule(
        stack,
        "OneTooMany",
        rule_set_name=rule_set.receipt_rule_set_name,
        rule=ses.CfnReceiptRule.RuleProperty(name="last"),
    )
    errors = synth_errors(stack)
    assert "[Mail] Mail/RuleSet: the rule set has 201 rules; SES allows at most 200" in errors
    assert (
        "[Mail] Mail/RuleSet: rules Mail/Rule0 and Mail/Rule199 are both named 'rule-0'; "
        "rule names must be unique within a rule set" in errors
    )


def test_fails_on_rule_with_too_many_actions_bad_name_and_recipients() -> None:
    stack = checked_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
    rule_set.add_rule(
        "Busy",
        receipt_rule_name="has space",
        recipients=["support@example.com", "not an address"],
        actions=[ses_actions.AddHeader(name=f"X-Step-{i}", value="1") for i in range(11)],
    )
    errors = synth_errors(stack)
    assert "[Mail] Mail/RuleSet/Busy: Rule.Name='has space' is not a valid name" in errors
    assert "[Mail] Mail/RuleSet/Busy: the rule has 11 actions; SES allows at most 10" in errors
    assert (
        "[Mail] Mail/RuleSet/Busy: Rule.Recipients[1]='not an address' is not a recipient" in errors
    )


def test_fails_on_invalid_rule_set_name() -> None:
    stack = checked_stack()
    ses.CfnReceiptRuleSet(stack, "RuleSet", rule_set_name="with.period")
    errors = synth_errors(stack)
    assert "[Mail] Mail/RuleSet: RuleSetName='with.period' is not a valid name" in errors


def test_valid_rules_pass() -> None:
    stack = checked_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="inbound")
    rule_set.add_rule("A", recipients=["example.com"], actions=[ses_actions.Stop()])
    rule_set.add_rule("B", receipt_rule_name="b.rule", actions=[ses_actions.Stop()])
    Template.from_stack(stack).resource_count_is("AWS::SES::ReceiptRule", 2)


def test_warns_beyond_40_rule_sets_in_one_account_and_region() -> None:
    app = cdk.App()
    cdk.Aspects.of(app).add(ReceiptRuleLimitsCheck())
    first = new_stack(app, "First")
    second = new_stack(app, "Second")
    elsewhere = new_stack(app, "Elsewhere", region="eu-west-1")
    for index in range(21):
        ses.ReceiptRuleSet(first, f"Set{index}")
        ses.ReceiptRuleSet(second, f"Set{index}")
        ses.ReceiptRuleSet(elsewhere, f"Set{index}")
    app.synth()
    Annotations.from_stack(first).has_warning(
        "/First/Set0",
        Match.string_like_regexp(
            "puts 42 receipt rule sets into account 111111111111, region us-east-1; SES allows 40"
        ),
    )
    Annotations.from_stack(elsewhere).has_no_warning("*", Match.string_like_regexp("rule sets"))


def test_inbound_email_applies_it_once() -> None:
    stack = new_stack()
    cdk.Aspects.of(stack.node.root).add(ReceiptRuleLimitsCheck())
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("A")
    ses.CfnReceiptRule(
        stack,
        "Stray",
        rule_set_name=mail.rule_set.receipt_rule_set_name,
        rule=ses.CfnReceiptRule.RuleProperty(name="A"),
    )
    assert synth_errors(stack).count("are both named 'A'") == 1


# SES waits at most 30 seconds for a RequestResponse invocation (SES Developer Guide, "Invoke
# Lambda function action"), whichever way the rule names the function.


def slow_function_forms(stack: cdk.Stack) -> dict[str, lambda_.IFunction]:
    slow = inline_function(stack, "Slow", timeout=cdk.Duration.seconds(60))
    return {
        "function": slow,
        "alias": lambda_.Alias(stack, "Live", alias_name="live", version=slow.current_version),
        "version": lambda_.Version(stack, "V1", lambda_=slow),
    }


SLOW = (
    "has a timeout of 60 seconds, but SES waits at most 30 seconds for a RequestResponse "
    "invocation: set its timeout to 30 seconds or less, or use InvocationType.EVENT"
)


@pytest.mark.parametrize(
    ("form", "described"),
    [
        ("function", "Lambda function Mail/Slow"),
        ("alias", "Lambda function Mail/Slow (invoked through alias Mail/Live)"),
        ("version", "Lambda function Mail/Slow (invoked through version Mail/V1)"),
    ],
)
def test_fails_on_plain_request_response_action_of_a_slow_function_in_the_inbound_rule_set(
    form: str, described: str
) -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="inbound")
    mail.rule_set.add_rule(
        "Plain",
        actions=[
            ses_actions.Lambda(
                function=slow_function_forms(stack)[form],
                invocation_type=ses_actions.LambdaInvocationType.REQUEST_RESPONSE,
            )
        ],
    )
    assert f"[Mail/Inbound] Mail/Inbound/RuleSet/Plain: {described} {SLOW}" in synth_errors(stack)


def test_fails_on_slow_request_response_function_of_a_plain_rule_set_with_the_aspect() -> None:
    stack = checked_stack()
    ses.ReceiptRuleSet(stack, "RuleSet").add_rule(
        "Plain",
        actions=[
            ses_actions.Lambda(
                function=slow_function_forms(stack)["alias"],
                invocation_type=ses_actions.LambdaInvocationType.REQUEST_RESPONSE,
            )
        ],
    )
    assert (
        "[Mail] Mail/RuleSet/Plain: Lambda function Mail/Slow (invoked through alias Mail/Live) "
        + SLOW
    ) in synth_errors(stack)


@pytest.mark.parametrize(
    ("form", "described"),
    [
        ("alias", "function=Mail/Live (an alias of Mail/Slow)"),
        ("version", "function=Mail/V1 (a version of Mail/Slow)"),
    ],
)
def test_fails_on_request_response_rule_of_an_alias_or_version_of_a_slow_function(
    form: str, described: str
) -> None:
    stack = new_stack()
    function = slow_function_forms(stack)[form]
    with pytest.raises(ValueError, match=re.escape(f"{described} {SLOW}")):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", function=function, invocation_type=InvocationType.REQUEST_RESPONSE
        )
    with pytest.raises(ValueError, match=re.escape(f"{described} {SLOW}")):
        LambdaAction(function=function, invocation_type=InvocationType.REQUEST_RESPONSE)


def test_slow_functions_are_fine_for_event_actions_and_quick_ones_for_request_response() -> None:
    stack = checked_stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
    quick = inline_function(stack, "Quick", timeout=cdk.Duration.seconds(30))
    seconds = cdk.CfnParameter(stack, "Timeout", type="Number").value_as_number
    later = inline_function(stack, "Later", timeout=cdk.Duration.seconds(seconds))
    imported = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:us-east-1:111111111111:function:elsewhere"
    )
    for name, function in {**slow_function_forms(stack), "quick": quick}.items():
        invocation = (
            ses_actions.LambdaInvocationType.REQUEST_RESPONSE
            if function is quick
            else ses_actions.LambdaInvocationType.EVENT
        )
        rule_set.add_rule(
            name, actions=[ses_actions.Lambda(function=function, invocation_type=invocation)]
        )
    default = inline_function(stack, "Default")  # Lambda's default timeout: 3 seconds
    for name, waited_for in (("later", later), ("imported", imported), ("default", default)):
        rule_set.add_rule(
            name,
            actions=[
                ses_actions.Lambda(
                    function=waited_for,
                    invocation_type=ses_actions.LambdaInvocationType.REQUEST_RESPONSE,
                )
            ],
        )
    Template.from_stack(stack)  # no error


# Rule set names are unique per account and region (SES API Reference, CreateReceiptRuleSet:
# AlreadyExists).

SAME_NAME = (
    "are both named 'inbound' in {where}; SES rule set names are unique per account and "
    "region, so deploying the second would fail: give one of them another rule_set_name"
)


def test_fails_on_two_inbound_emails_of_one_name_in_one_stack() -> None:
    stack = new_stack()
    InboundEmail(stack, "First", rule_set_name="inbound")
    InboundEmail(stack, "Second", rule_set_name="inbound")
    errors = synth_errors(stack)
    where = SAME_NAME.format(where="account 111111111111, region us-east-1")
    assert "[Mail/First] Mail/First/RuleSet: rule sets Mail/First/RuleSet and " in errors
    assert f"Mail/First/RuleSet and Mail/Second/RuleSet {where}" in errors
    assert "[Mail/Second] Mail/Second/RuleSet: rule sets Mail/Second/RuleSet and " in errors
    assert f"Mail/Second/RuleSet and Mail/First/RuleSet {where}" in errors


def test_fails_on_two_inbound_emails_of_one_name_in_stacks_of_one_environment() -> None:
    first = new_stack(construct_id="One")
    second = new_stack(first.node.root, "Two")  # type: ignore[arg-type]
    InboundEmail(first, "Inbound", rule_set_name="inbound")
    InboundEmail(second, "Inbound", rule_set_name="inbound")
    where = SAME_NAME.format(where="account 111111111111, region us-east-1")
    expected = "[Two/Inbound] Two/Inbound/RuleSet: rule sets Two/Inbound/RuleSet and "
    assert expected + f"One/Inbound/RuleSet {where}" in synth_errors(second)


def test_fails_on_an_inbound_email_and_a_plain_rule_set_of_one_name_in_one_agnostic_stack() -> None:
    stack = new_stack(region=None)
    cdk.Aspects.of(stack).add(ReceiptRuleLimitsCheck())
    InboundEmail(stack, "Inbound", rule_set_name="inbound", receiving_regions=None)
    ses.ReceiptRuleSet(stack, "Plain", receipt_rule_set_name="inbound")
    errors = synth_errors(stack)
    assert (
        "[Mail] Mail/Plain: rule sets Mail/Plain and Mail/Inbound/RuleSet "
        + SAME_NAME.format(where="one stack")
    ) in errors
    assert (
        "[Mail/Inbound] Mail/Inbound/RuleSet: rule sets Mail/Inbound/RuleSet and Mail/Plain "
        + SAME_NAME.format(where="one stack")
    ) in errors


@pytest.mark.parametrize(
    "environments",
    [
        ({"region": "us-east-1"}, {"region": "eu-west-1"}),
        ({"account": "111111111111"}, {"account": "222222222222"}),
        ({"region": None}, {"region": None}),  # deployable to different places: not known here
    ],
)
def test_one_name_in_different_accounts_or_regions_is_fine(
    environments: tuple[dict[str, str | None], dict[str, str | None]],
) -> None:
    first = new_stack(construct_id="One", **environments[0])  # type: ignore[arg-type]
    second = new_stack(first.node.root, "Two", **environments[1])  # type: ignore[arg-type]
    InboundEmail(first, "Inbound", rule_set_name="inbound")
    InboundEmail(second, "Inbound", rule_set_name="inbound")
    Template.from_stack(first)
    Template.from_stack(second)
