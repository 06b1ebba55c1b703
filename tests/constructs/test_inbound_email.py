"""InboundEmail and its Lambda rules, synthesized once per scenario."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Capture, Match, Template

from constructs_ses import (
    InboundEmail,
    InvocationType,
    LambdaRule,
    RuleSetLambdaAction,
    TlsPolicy,
)
from constructs_ses.ses.limits import check_rule_set_name

from conftest import inline_function, logical_id, new_stack
from dependency_graph import dependency_cycle


class Scenario:
    """An app with two rules: a RequestResponse filter (default function) and an Event rule with
    the user's function and a topic of its own."""

    def __init__(self) -> None:
        self.stack = new_stack()
        self.mail = InboundEmail(self.stack, "Inbound")
        self.filter = self.mail.add_lambda_rule(
            "Filter",
            recipients=["example.com"],
            invocation_type=InvocationType.REQUEST_RESPONSE,
            tls_policy=TlsPolicy.REQUIRE,
        )
        self.user_function = inline_function(self.stack)
        self.support = self.mail.add_lambda_rule(
            "Support",
            recipients=["support@example.com", ".example.org"],
            function=self.user_function,
            notify=True,
            scan_enabled=False,
            enabled=False,
            rule_name="support.v1",
        )
        self.third = self.mail.add_lambda_rule("Third", function=self.user_function)
        self.template = Template.from_stack(self.stack)
        self.assembly_dir = Path(self.stack.node.root.outdir)  # type: ignore[attr-defined]

    def resource(self, construct: cdk.IResource | ses.ReceiptRule) -> str:
        return logical_id(self.stack, construct)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


def test_rule_set_has_a_valid_deterministic_default_name(scenario: Scenario) -> None:
    name = scenario.mail.rule_set_name
    check_rule_set_name(name)
    assert re.fullmatch(r"Mail-Inbound-[0-9A-F]{8}", name)
    scenario.template.has_resource_properties("AWS::SES::ReceiptRuleSet", {"RuleSetName": name})
    again = InboundEmail(new_stack(), "Inbound")
    assert again.rule_set_name == name


def test_explicit_rule_set_name() -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound", rule_set_name="prod-inbound")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::ReceiptRuleSet", {"RuleSetName": "prod-inbound"}
    )


def test_request_response_rule_states_its_invocation_type_and_settings(scenario: Scenario) -> None:
    scenario.template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "RuleSetName": {"Ref": scenario.resource(scenario.mail.rule_set)},
            "Rule": {
                "Name": "Filter",
                "Enabled": True,
                "Recipients": ["example.com"],
                "ScanEnabled": True,
                "TlsPolicy": "Require",
                "Actions": [
                    {
                        "LambdaAction": {
                            "FunctionArn": {
                                "Fn::GetAtt": [scenario.resource(scenario.filter.function), "Arn"]
                            },
                            "InvocationType": "RequestResponse",
                        }
                    }
                ],
            },
        },
    )


def test_event_rule_with_topic_states_invocation_type_and_topic(scenario: Scenario) -> None:
    assert scenario.support.topic is not None
    scenario.template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Name": "support.v1",
                "Enabled": False,
                "ScanEnabled": False,
                "Recipients": ["support@example.com", ".example.org"],
                "Actions": [
                    {
                        "LambdaAction": {
                            "FunctionArn": {
                                "Fn::GetAtt": [scenario.resource(scenario.user_function), "Arn"]
                            },
                            "InvocationType": "Event",
                            "TopicArn": {"Ref": scenario.resource(scenario.support.topic)},
                        }
                    }
                ],
            },
        },
    )


def test_rule_without_topic_renders_no_topic_and_default_tls(scenario: Scenario) -> None:
    rule = scenario.template.find_resources(
        "AWS::SES::ReceiptRule", {"Properties": {"Rule": {"Name": "Third"}}}
    )
    (properties,) = (r["Properties"] for r in rule.values())
    assert properties["Rule"]["TlsPolicy"] == "Optional"
    assert "Recipients" not in properties["Rule"]
    assert properties["Rule"]["Actions"] == [
        {
            "LambdaAction": {
                "FunctionArn": {"Fn::GetAtt": [scenario.resource(scenario.user_function), "Arn"]},
                "InvocationType": "Event",
            }
        }
    ]


def test_rules_run_in_the_order_they_were_added(scenario: Scenario) -> None:
    filter_id, support_id, third_id = (
        scenario.resource(rule.rule) for rule in (scenario.filter, scenario.support, scenario.third)
    )
    rules = scenario.template.find_resources("AWS::SES::ReceiptRule")
    assert "After" not in rules[filter_id]["Properties"]
    assert rules[support_id]["Properties"]["After"] == {"Ref": filter_id}
    assert rules[third_id]["Properties"]["After"] == {"Ref": support_id}
    assert scenario.mail.rules == [scenario.filter, scenario.support, scenario.third]


def test_each_rule_depends_on_the_ses_invoke_permission(scenario: Scenario) -> None:
    permissions = scenario.template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "ses.amazonaws.com"}}
    )
    by_function = {
        p["Properties"]["FunctionName"]["Fn::GetAtt"][0]: logical_id
        for logical_id, p in permissions.items()
    }
    rules = scenario.template.find_resources("AWS::SES::ReceiptRule")
    for rule in (scenario.filter, scenario.support, scenario.third):
        permission = by_function[scenario.resource(rule.function)]
        assert permission in rules[scenario.resource(rule.rule)]["DependsOn"]


def test_rules_are_in_the_rules_scope_and_what_is_made_for_them_beside_it(
    scenario: Scenario,
) -> None:
    paths = [rule.rule.node.path for rule in scenario.mail.rules]
    assert paths == [
        "Mail/Inbound/Rules/Filter",
        "Mail/Inbound/Rules/Support",
        "Mail/Inbound/Rules/Third",
    ]
    assert scenario.filter.function.node.path == "Mail/Inbound/Filter/Function"
    assert scenario.support.topic is not None
    assert scenario.support.topic.node.path == "Mail/Inbound/Support/Topic"
    assert scenario.mail.node.try_find_child("Third") is None  # nothing was made for it


def test_the_rule_set_itself_waits_for_no_grant(scenario: Scenario) -> None:
    (rule_set,) = scenario.template.find_resources("AWS::SES::ReceiptRuleSet").values()
    assert "DependsOn" not in rule_set


def test_a_function_may_refer_to_the_rule_set_it_serves() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    manager = inline_function(stack, environment={"RULE_SET": mail.rule_set.receipt_rule_set_name})
    mail.add_lambda_rule("Manage", function=manager)
    mail.add_lambda_rule("Filter")
    template = Template.from_stack(stack).to_json()
    assert dependency_cycle(template) is None


def test_a_plain_lambda_action_of_the_same_function_makes_its_own_permission() -> None:
    stack = new_stack()
    function = inline_function(stack)
    InboundEmail(stack, "Inbound").add_lambda_rule("Ours", function=function)
    plain = ses.ReceiptRuleSet(stack, "Plain").add_rule(
        "Theirs", actions=[ses_actions.Lambda(function=function)]
    )
    template = Template.from_stack(stack)
    permissions = template.find_resources("AWS::Lambda::Permission")
    scoped = [name for name, p in permissions.items() if "SourceArn" in p["Properties"]]
    unscoped = [name for name, p in permissions.items() if "SourceArn" not in p["Properties"]]
    assert len(scoped) == len(unscoped) == 1  # ours is not taken for aws-cdk-lib's AllowSes
    rules = template.find_resources("AWS::SES::ReceiptRule")
    assert rules[logical_id(stack, plain)]["DependsOn"] == unscoped


def test_permission_is_scoped_to_the_account_and_shared_within_the_rule_set(
    scenario: Scenario,
) -> None:
    scenario.template.resource_properties_count_is(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "ses.amazonaws.com",
            "SourceAccount": Match.any_value(),
        },
        2,  # the default function's, and one for the user's function used by two rules
    )
    account = Capture()
    scenario.template.has_resource_properties("AWS::Lambda::Permission", {"SourceAccount": account})
    assert account.as_string() == "111111111111"


def test_default_function_runs_the_packaged_template(scenario: Scenario) -> None:
    timeout = Capture()
    scenario.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.handler",
            "Runtime": Match.string_like_regexp(r"^python3\.\d+$"),
            "Timeout": timeout,
        },
    )
    assert timeout.as_number() <= 30
    function = scenario.filter.function
    assert isinstance(function, lambda_.Function)
    object_key = Capture(Match.string_like_regexp(r"^[0-9a-f]{64}\.zip$"))
    scenario.template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "handler.handler", "Code": {"S3Key": object_key}}
    )
    asset = scenario.assembly_dir / f"asset.{object_key.as_string().removesuffix('.zip')}"
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*"))
    assert "handler.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_notify_creates_a_topic_per_rule(scenario: Scenario) -> None:
    scenario.template.resource_count_is("AWS::SNS::Topic", 1)
    assert isinstance(scenario.support.topic, sns.Topic)
    assert scenario.filter.topic is None


def test_rule_exposes_function_topic_and_rule(scenario: Scenario) -> None:
    assert isinstance(scenario.support, LambdaRule)
    assert scenario.support.function is scenario.user_function
    assert isinstance(scenario.support.rule, ses.ReceiptRule)
    assert scenario.support.invocation_type is InvocationType.EVENT
    assert scenario.filter.invocation_type is InvocationType.REQUEST_RESPONSE
    assert scenario.support.rule_name == "support.v1"
    assert isinstance(scenario.support.action, RuleSetLambdaAction)
    assert scenario.support.action.function is scenario.user_function


def test_user_topic_is_notified() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alerts")
    InboundEmail(stack, "Inbound").add_lambda_rule("Rule", topic=topic)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Actions": [
                    {
                        "LambdaAction": Match.object_like(
                            {"TopicArn": {"Ref": Match.string_like_regexp("^Alerts")}}
                        )
                    }
                ]
            }
        },
    )


def test_rules_accept_invocation_type_strings() -> None:
    stack = new_stack()
    rule = InboundEmail(stack, "Inbound").add_lambda_rule("R", invocation_type="RequestResponse")
    assert rule.invocation_type is InvocationType.REQUEST_RESPONSE


# Bad input: every argument fails at construction, naming the construct, argument and value.


def test_fails_on_unknown_invocation_type(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    with pytest.raises(
        ValueError, match=r"^\[Mail/Inbound/R\] invocation_type='Sync' is not allowed; use one of"
    ):
        mail.add_lambda_rule("R", invocation_type="Sync")


def test_fails_on_malformed_recipient(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    with pytest.raises(
        ValueError,
        match=r"^\[Mail/Inbound/R\] recipients\[0\]='support@@example.com' is not a recipient",
    ):
        mail.add_lambda_rule("R", recipients=["support@@example.com"])


def test_fails_on_empty_recipients(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"recipients=\[\] matches nothing"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", recipients=[])


def test_fails_on_too_many_recipients(stack: cdk.Stack) -> None:
    recipients = [f"u{i}@example.com" for i in range(501)]
    with pytest.raises(ValueError, match=r"recipients has 501 entries; SES allows at most 500"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", recipients=recipients)


def test_fails_on_invalid_rule_name(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"^\[Mail/Inbound/R\] rule_name='bad name' is not a valid name"
    ):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", rule_name="bad name")


def test_fails_on_duplicate_rule_name(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("First", rule_name="support")
    with pytest.raises(ValueError, match=r"rule_name='support' is already used"):
        mail.add_lambda_rule("Second", rule_name="support")


@pytest.mark.parametrize("taken", ["RuleSet", "Rules", "Activation"])
def test_fails_on_construct_id_of_the_inbound_emails_own_children(
    stack: cdk.Stack, taken: str
) -> None:
    with pytest.raises(
        ValueError, match=rf"^\[Mail/Inbound/{taken}\] construct id '{taken}' is taken by"
    ):
        InboundEmail(stack, "Inbound").add_lambda_rule(taken)


def test_fails_on_construct_id_without_name_characters(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"construct id '___' has no letters or digits"):
        InboundEmail(stack, "Inbound").add_lambda_rule("___")


def test_fails_on_invalid_rule_set_name(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"^\[Mail/Inbound\] rule_set_name='my.rules' is not a valid name"
    ):
        InboundEmail(stack, "Inbound", rule_set_name="my.rules")


def test_fails_on_topic_together_with_notify(stack: cdk.Stack) -> None:
    topic = sns.Topic(stack, "Alerts")
    with pytest.raises(ValueError, match=r"topic=Mail/Alerts and notify=True were both given"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", topic=topic, notify=True)


def test_fails_on_request_response_function_slower_than_ses_waits(stack: cdk.Stack) -> None:
    slow = inline_function(stack, timeout=cdk.Duration.seconds(31))
    with pytest.raises(
        ValueError, match=r"function=Mail/Fn has a timeout of 31 seconds, but SES waits at most 30"
    ):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R", function=slow, invocation_type=InvocationType.REQUEST_RESPONSE
        )


def test_slow_function_is_fine_for_event_invocation(stack: cdk.Stack) -> None:
    slow = inline_function(stack, timeout=cdk.Duration.minutes(5))
    InboundEmail(stack, "Inbound").add_lambda_rule("R", function=slow)


def test_fails_on_invalid_tls_policy(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"tls_policy='Always' is not allowed"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", tls_policy="Always")


def test_fails_beyond_200_rules(stack: cdk.Stack) -> None:
    mail = InboundEmail(stack, "Inbound")
    fn = inline_function(stack)
    for index in range(200):
        mail.add_lambda_rule(f"R{index}", function=fn)
    with pytest.raises(ValueError, match=r"this rule would be number 201; SES allows at most 200"):
        mail.add_lambda_rule("R200", function=fn)


def test_fails_on_function_given_as_an_arn(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"function='arn:aws:lambda:.*' is not an aws_lambda.IFunction: import"
    ):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R",
            function="arn:aws:lambda:us-east-1:111111111111:function:x",  # type: ignore[arg-type]
        )


def test_fails_on_topic_given_as_an_arn(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"topic='arn:aws:sns:.*' is not an aws_sns.ITopic"):
        InboundEmail(stack, "Inbound").add_lambda_rule(
            "R",
            topic="arn:aws:sns:us-east-1:111111111111:t",  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("flag", ["notify", "scan_enabled", "enabled"])
def test_fails_on_flags_that_are_not_booleans(stack: cdk.Stack, flag: str) -> None:
    with pytest.raises(ValueError, match=rf"{flag}='false' must be True or False"):
        InboundEmail(stack, "Inbound").add_lambda_rule("R", **{flag: "false"})  # type: ignore[arg-type]


def test_timeout_from_a_parameter_is_not_judged(stack: cdk.Stack) -> None:
    seconds = cdk.CfnParameter(stack, "Timeout", type="Number").value_as_number
    fn = inline_function(stack, timeout=cdk.Duration.seconds(seconds))
    InboundEmail(stack, "Inbound").add_lambda_rule(
        "R", function=fn, invocation_type=InvocationType.REQUEST_RESPONSE
    )


def test_rules_that_invoke_a_function_the_same_way_share_one_action(stack: cdk.Stack) -> None:
    function = inline_function(stack)
    topic = sns.Topic(stack, "Alerts")
    mail = InboundEmail(stack, "Inbound")
    first, second = (mail.add_lambda_rule(name, function=function, topic=topic) for name in "AB")
    waiting = mail.add_lambda_rule(
        "C", function=function, topic=topic, invocation_type=InvocationType.REQUEST_RESPONSE
    )
    notified = mail.add_lambda_rule("D", function=function, notify=True)
    assert first.action is second.action
    assert waiting.action is not first.action
    assert notified.action is not first.action
    assert notified.action.topic is notified.topic
    template = Template.from_stack(stack)
    permissions = template.find_resources("AWS::Lambda::Permission")
    assert len(permissions) == 1
    rules = template.find_resources("AWS::SES::ReceiptRule")
    assert len(rules) == 4
    assert all(list(permissions) == rule["DependsOn"] for rule in rules.values())
