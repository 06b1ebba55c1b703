"""SES's limits and naming rules, checked at synthesis for rules built with plain aws-cdk-lib."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk.assertions import Annotations, Match, Template

from constructs_ses import InboundEmail, ReceiptRuleLimitsCheck

from conftest import new_stack


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
