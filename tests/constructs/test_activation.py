"""InboundEmail(activate=True): the custom resource, its permissions and its ordering."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from constructs_ses import InboundEmail
from constructs_ses.activation import ACTIVATION_RESOURCE_TYPE

from conftest import logical_id, new_stack


class Activated:
    def __init__(self, *, replace_active_rule_set: bool = False) -> None:
        self.stack = new_stack()
        self.mail = InboundEmail(
            self.stack, "Inbound", activate=True, replace_active_rule_set=replace_active_rule_set
        )
        self.first = self.mail.add_lambda_rule("First")
        self.second = self.mail.add_lambda_rule("Second")
        self.by_hand = self.mail.rule_set.add_rule("ByHand")
        self.template = Template.from_stack(self.stack)

    def logical_id(self, construct: cdk.IResource) -> str:
        return logical_id(self.stack, construct)


@pytest.fixture(scope="module")
def activated() -> Activated:
    return Activated()


def test_custom_resource_names_the_rule_set_and_refuses_to_replace(activated: Activated) -> None:
    activated.template.has_resource_properties(
        ACTIVATION_RESOURCE_TYPE,
        {
            "RuleSetName": activated.mail.rule_set_name,
            "ReplaceActive": "false",
            "ServiceToken": {"Fn::GetAtt": [Match.string_like_regexp("ActivationHandler"), "Arn"]},
        },
    )


def test_activates_after_the_rule_set_and_every_rule(activated: Activated) -> None:
    (resource,) = activated.template.find_resources(ACTIVATION_RESOURCE_TYPE).values()
    depends_on = set(resource["DependsOn"])
    assert activated.logical_id(activated.mail.rule_set) in depends_on
    assert activated.logical_id(activated.first.rule) in depends_on
    assert activated.logical_id(activated.second.rule) in depends_on
    assert activated.logical_id(activated.by_hand) in depends_on  # added with plain aws-cdk-lib


def test_handler_may_only_read_and_set_the_active_rule_set(activated: Activated) -> None:
    activated.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": [
                            "ses:DescribeActiveReceiptRuleSet",
                            "ses:SetActiveReceiptRuleSet",
                        ],
                        "Effect": "Allow",
                        "Resource": "*",
                    }
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("ActivationHandlerRole")}],
        },
    )


def test_handler_is_the_packaged_python_code(activated: Activated) -> None:
    activated.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "handler.on_event", "Runtime": Match.string_like_regexp(r"^python3\.")},
    )


def test_replacing_the_active_rule_set_is_opt_in() -> None:
    Activated(replace_active_rule_set=True).template.has_resource_properties(
        ACTIVATION_RESOURCE_TYPE, {"ReplaceActive": "true"}
    )


def test_without_activate_there_is_no_custom_resource() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("R")
    assert mail.activation is None
    Template.from_stack(stack).resource_count_is(ACTIVATION_RESOURCE_TYPE, 0)


def test_fails_on_replace_without_activate(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"replace_active_rule_set=True only applies with activate"
    ):
        InboundEmail(stack, "Inbound", replace_active_rule_set=True)
