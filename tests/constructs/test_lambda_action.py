"""LambdaAction on its own, in rules built with aws-cdk-lib's ReceiptRuleSet."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk.assertions import Annotations, Match, Template

from constructs_ses import InvocationType, LambdaAction

from conftest import inline_function, new_stack


def test_two_rules_of_one_rule_set_share_one_permission_and_depend_on_it() -> None:
    stack = new_stack()
    function = inline_function(stack)
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
    first = rule_set.add_rule(
        "First",
        actions=[LambdaAction(function=function, invocation_type=InvocationType.REQUEST_RESPONSE)],
    )
    second = rule_set.add_rule("Second", actions=[LambdaAction(function=function)])
    other_set = ses.ReceiptRuleSet(stack, "OtherSet")
    other_set.add_rule("Third", actions=[LambdaAction(function=function)])
    template = Template.from_stack(stack)
    permissions = template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "ses.amazonaws.com"}}
    )
    assert len(permissions) == 2  # one per rule set
    rules = template.find_resources("AWS::SES::ReceiptRule")
    for rule in (first, second):
        child = rule.node.default_child
        assert isinstance(child, cdk.CfnElement)
        depends_on = rules[stack.get_logical_id(child)]["DependsOn"]
        assert len(set(depends_on) & set(permissions)) == 1
    template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Actions": [
                    {"LambdaAction": Match.object_like({"InvocationType": "RequestResponse"})}
                ]
            }
        },
    )


def test_imported_function_gets_its_permission_in_the_rule_stack() -> None:
    stack = new_stack()
    function = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:us-east-1:111111111111:function:x"
    )
    ses.ReceiptRuleSet(stack, "RuleSet").add_rule("Rule", actions=[LambdaAction(function=function)])
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "FunctionName": "arn:aws:lambda:us-east-1:111111111111:function:x",
            "Principal": "ses.amazonaws.com",
            "SourceAccount": "111111111111",
        },
    )


def test_function_of_another_account_gets_a_warning_instead_of_a_permission() -> None:
    stack = new_stack()
    function = lambda_.Function.from_function_arn(
        stack, "Foreign", "arn:aws:lambda:us-east-1:222222222222:function:x"
    )
    ses.ReceiptRuleSet(stack, "RuleSet").add_rule("Rule", actions=[LambdaAction(function=function)])
    Template.from_stack(stack).resource_count_is("AWS::Lambda::Permission", 0)
    Annotations.from_stack(stack).has_warning(
        "/Mail/RuleSet/Rule",
        Match.string_like_regexp("is in account 222222222222, not 111111111111: its owner must"),
    )


def test_fails_on_unknown_invocation_type_for_a_standalone_action(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"invocation_type='async' is not allowed"):
        LambdaAction(function=inline_function(stack), invocation_type="async")
