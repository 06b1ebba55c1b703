"""The pure parts of the local AWS's CloudFormation: SES's policy reading and dependency order."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_ses.local.aws.cloudformation.ses_checks import ses_allowed
from constructs_ses.local.aws.cloudformation.template_graph import in_dependency_order, references

ACCOUNT = "111111111111"
RULES = f"arn:aws:ses:us-east-1:{ACCOUNT}:receipt-rule-set/mail:receipt-rule/*"
RULE = RULES.replace("*", "support")


def statement(**overrides: Any) -> dict[str, Any]:
    """A statement that lets SES write under support/ for the rules of rule set mail."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::archive/support/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": RULES},
        },
        **overrides,
    }


def allowed(*statements: dict[str, Any], resource: str = "arn:aws:s3:::archive/support/x") -> bool:
    return ses_allowed(
        statements, action="s3:PutObject", account=ACCOUNT, rule_arn=RULE, resource=resource
    )


def test_a_statement_for_the_rule_set_s_rules_admits_the_rule() -> None:
    assert allowed(statement())


def test_condition_keys_are_case_insensitive_and_values_may_be_lists() -> None:
    condition = {"StringEquals": {"AWS:SOURCEACCOUNT": ["222222222222", ACCOUNT]}}
    assert allowed(statement(Condition=condition, Principal={"Service": ["ses.amazonaws.com"]}))


@pytest.mark.parametrize(
    "refused",
    [
        {"Effect": "Deny"},
        {"Principal": {"Service": "sns.amazonaws.com"}},
        {"Action": "s3:GetObject"},
        {"Resource": "arn:aws:s3:::archive/other/*"},
        {"Condition": {"StringEquals": {"aws:SourceAccount": "222222222222"}}},
        {"Condition": {"ArnLike": {"aws:SourceArn": RULE.replace("support", "sales")}}},
    ],
    ids=["deny", "other principal", "other action", "other prefix", "other account", "other rule"],
)
def test_fails_to_admit_what_the_statement_does_not_allow(refused: dict[str, Any]) -> None:
    assert not allowed(statement(**refused))


def test_wildcard_actions_admit() -> None:
    assert allowed(statement(Action=["s3:*"]))


def test_references_are_refs_attributes_and_substitutions() -> None:
    fragment = {
        "A": {"Ref": "Bucket"},
        "B": {"Fn::GetAtt": ["Function", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket2}/${Key.Arn}"},
        "D": [{"Fn::GetAtt": "Topic.TopicName"}],
    }
    assert references(fragment) == {
        "Bucket",
        "Function",
        "AWS::Partition",
        "Bucket2",
        "Key",
        "Topic",
    }


def test_dependency_order_puts_dependencies_first_and_keeps_the_rest_in_order() -> None:
    resources = {
        "Rule": {"DependsOn": ["Permission"], "Properties": {"RuleSetName": {"Ref": "Set"}}},
        "Permission": {"Properties": {"FunctionName": {"Fn::GetAtt": ["Function", "Arn"]}}},
        "Set": {},
        "Function": {},
        "Other": {},
    }
    order = in_dependency_order(["Other", "Rule", "Permission", "Set", "Function"], resources)
    assert order == ["Other", "Function", "Permission", "Set", "Rule"]
