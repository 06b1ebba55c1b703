"""The registry of synth-time checks (``constructs_ses.checks``): one small function each, with
its own id, run by ``RuleChecks`` for the families it is asked for."""

from __future__ import annotations

import inspect
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses

from constructs_ses import InboundEmail, ReceiptRuleLimitsCheck, SameRegionCheck
from constructs_ses.checks import (
    LIMITS,
    REGION,
    RULE_CHECKS,
    RULE_SET_CHECKS,
    Check,
    CheckContext,
)
from constructs_ses.checks.names import rule_name
from constructs_ses.checks.receiving_region import rule_set_receives
from constructs_ses.checks.rendered import RenderedRule, StackContents
from constructs_ses.checks.runner import RuleChecks

from conftest import new_stack

CHECKS: list[Check[Any]] = [*RULE_SET_CHECKS, *RULE_CHECKS]


def test_each_check_has_an_id_of_its_own_a_family_and_a_documented_module() -> None:
    assert len({check.id for check in CHECKS}) == len(CHECKS)
    assert {check.family for check in CHECKS} == {REGION, LIMITS}
    for check in CHECKS:
        assert inspect.getdoc(check.check), check.id
        module = inspect.getmodule(check.check)
        assert module is not None and "Amazon SES" in " ".join((module.__doc__ or "").split())


def context_of(region: str) -> tuple[CheckContext, ses.CfnReceiptRule]:
    stack = new_stack(region=region)
    rule_set = ses.CfnReceiptRuleSet(stack, "RuleSet")
    rule = ses.CfnReceiptRule(
        stack, "Rule", rule_set_name=rule_set.ref, rule=ses.CfnReceiptRule.RuleProperty()
    )
    context = CheckContext(
        contents=StackContents(stack),
        receiving_regions=("us-east-1", "eu-west-1"),
        environment=None,
        census=None,
        own_rule_sets=frozenset({rule_set.ref}),
    )
    return context, rule


@pytest.mark.parametrize(("region", "errors"), [("eu-west-1", 0), ("ap-south-2", 1)])
def test_the_receiving_region_check_is_a_function_of_the_stack_s_region(
    region: str, errors: int
) -> None:
    context, _ = context_of(region)
    rule_set = context.contents.rule_sets[0]
    assert len(rule_set_receives(context, rule_set).errors) == errors


@pytest.mark.parametrize(("name", "errors"), [("support", 0), ("-support", 1), ("a" * 65, 1)])
def test_the_rule_name_check_is_a_function_of_the_rendered_rule(name: str, errors: int) -> None:
    context, resource = context_of("us-east-1")
    rendered = RenderedRule(resource, "rules", {"name": name})
    found = rule_name(context, rendered)
    assert len(found.errors) == errors
    assert all(name in error for error in found.errors)


def test_rule_checks_run_only_the_families_asked_for() -> None:
    context, resource = context_of("ap-south-2")  # receives no email
    rendered = RenderedRule(resource, "elsewhere", {"name": "-bad"})
    rules = [rendered]
    region_only = RuleChecks(receiving_regions=("us-east-1",)).run(context.contents, [], rules)
    limits_only = RuleChecks(limits=True).run(context.contents, [], rules)
    region_errors = [e for _, _, found in region_only for e in found.errors]
    limits_errors = [e for _, _, found in limits_only for e in found.errors]
    assert region_errors and all("ap-south-2" in error for error in region_errors)
    assert limits_errors and all("-bad" in error for error in limits_errors)


@pytest.fixture
def stacks_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the stacks read (``StackContents`` made), in order."""
    read: list[str] = []
    init = StackContents.__init__

    def counted(self: StackContents, stack: cdk.Stack) -> None:
        read.append(stack.node.path)
        init(self, stack)

    monkeypatch.setattr(StackContents, "__init__", counted)
    return read


def test_one_runner_reads_each_stack_once(stacks_read: list[str]) -> None:
    """Two InboundEmails and both aspects over plain rules of one stack: the stack is read once,
    and each validation still reports its own errors after its own path."""
    stack = new_stack()
    elsewhere = "arn:aws:lambda:eu-west-1:111111111111:function:elsewhere"
    function = lambda_.Function.from_function_arn(stack, "Elsewhere", elsewhere)
    for name in ("First", "Second"):
        InboundEmail(stack, name).add_lambda_rule("R", function=function)
    plain = ses.ReceiptRuleSet(stack, "Plain")
    plain.add_rule("Plain", receipt_rule_name="-bad-")
    cdk.Aspects.of(stack).add(SameRegionCheck())
    cdk.Aspects.of(stack).add(ReceiptRuleLimitsCheck())
    with pytest.raises(RuntimeError, match="Validation failed") as failed:
        stack.node.root.synth()  # type: ignore[attr-defined]
    assert stacks_read == ["Mail"]
    errors = sorted(line.strip() for line in str(failed.value).splitlines() if "[Mail" in line)
    assert [error.split(": ")[0] for error in errors] == [
        "[Mail/First] Mail/First/Rules/R",
        "[Mail/Second] Mail/Second/Rules/R",
        "[Mail] Mail/Plain/Plain",
    ]


def test_the_mx_check_reads_each_stack_of_the_app_once(stacks_read: list[str]) -> None:
    """Two stacks with InboundEmails whose domains the MX check looks up in every stack, and a
    stack of DNS records: each stack is read once, for its own checks and the others' alike."""
    app = cdk.App()
    for name in ("One", "Two"):
        mail = InboundEmail(new_stack(app, name), "Inbound")
        mail.add_domain(f"{name.lower()}.example.com")
        mail.add_domain(f"more.{name.lower()}.example.com")
    dns = new_stack(app, "Dns")
    zone = route53.PublicHostedZone(dns, "Zone", zone_name="example.com")
    for name in ("one", "two"):
        route53.MxRecord(
            dns,
            name,
            zone=zone,
            record_name=name,
            values=[
                route53.MxRecordValue(host_name="inbound-smtp.us-east-1.amazonaws.com", priority=1)
            ],
        )
    app.synth()
    assert sorted(stacks_read) == ["Dns", "One", "Two"]
