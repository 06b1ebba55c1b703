"""The synth-time check of SES's limits and naming rules, on rendered receipt rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ses as ses
from constructs import IConstruct

from constructs_ses.checks.findings import Findings, display_path
from constructs_ses.checks.rendered import RenderedRule, RenderedRuleSet, StackContents
from constructs_ses.ses.limits import (
    MAX_ACTIONS_PER_RULE,
    MAX_RULE_SETS_PER_REGION,
    MAX_RULES_PER_RULE_SET,
    check_recipients,
    check_rule_set_name,
)
from constructs_ses.ses.tokens import is_unresolved

__all__ = [
    "LIMITS_WARNING_ID",
    "Environment",
    "RuleSetCensus",
    "environment_of",
    "errors_of",
    "rule_limit_findings",
    "rule_set_census",
    "rule_set_limit_findings",
    "rule_set_name_findings",
]

LIMITS_WARNING_ID = "constructs-ses:ruleSetQuota"

Environment = tuple[str, str]
"""An account and a region, both known at synthesis."""


def errors_of(check: Callable[..., object], *arguments: Any) -> tuple[str, ...]:
    """The message of the ValueError ``check(*arguments)`` raises, if it raises one."""
    try:
        check(*arguments)
    except ValueError as error:
        return (str(error),)
    return ()


def environment_of(account: str, region: str) -> Environment | None:
    """An account and region, or None when either is known only at deploy time."""
    if is_unresolved(account) or is_unresolved(region):
        return None
    return account, region


@dataclass
class RuleSetCensus:
    """The receipt rule sets of an app: how many in each account and region, and which share
    a name where SES would see them as one."""

    counts: Counter[Environment] = field(default_factory=Counter)
    """How many rule sets the app puts into each account and region it names."""
    by_name: dict[tuple[Environment | str, str], list[ses.CfnReceiptRuleSet]] = field(
        default_factory=dict
    )
    """The rule sets with a name known at synthesis, by where they are (an account and region,
    or the path of a stack whose environment is known only at deploy time) and that name."""

    def namesakes(self, rule_set: ses.CfnReceiptRuleSet) -> list[ses.CfnReceiptRuleSet]:
        """The other rule sets with the name of ``rule_set`` in its account and region."""
        shared = [others for others in self.by_name.values() if len(others) > 1]
        if not shared:
            return []
        path = rule_set.node.path  # compared by path: each lookup gives another Python object
        for others in shared:
            paths = [other.node.path for other in others]
            if path in paths:
                return [other for other, at in zip(others, paths, strict=True) if at != path]
        return []


def rule_set_census(root: IConstruct) -> RuleSetCensus:
    """The app's receipt rule sets, counted and named per account and region."""
    stacks: dict[str, Environment | None] = {}
    census = RuleSetCensus()
    for construct in root.node.find_all():
        if isinstance(construct, ses.CfnReceiptRuleSet):
            stack = Stack.of(construct)
            path = stack.node.path
            if path not in stacks:
                stacks[path] = environment_of(stack.account, stack.region)
            environment = stacks[path]
            if environment is not None:
                census.counts[environment] += 1
            name = construct.rule_set_name
            if isinstance(name, str) and not is_unresolved(name):
                place = environment if environment is not None else path
                census.by_name.setdefault((place, name), []).append(construct)
    return census


def rule_limit_findings(contents: StackContents, rule: RenderedRule) -> Findings:
    """At most 10 actions and at most 500 valid recipients."""
    errors: list[str] = []
    actions = rule.body.get("actions")
    if isinstance(actions, list) and len(actions) > MAX_ACTIONS_PER_RULE:
        errors.append(
            f"the rule has {len(actions)} actions; SES allows at most "
            f"{MAX_ACTIONS_PER_RULE} per receipt rule: split it into several rules"
        )
    recipients = rule.body.get("recipients")
    if isinstance(recipients, list) and all(isinstance(r, str) for r in recipients):
        errors.extend(errors_of(check_recipients, recipients, "Rule.Recipients"))
    return Findings(errors=tuple(errors))


def rule_set_name_findings(
    rule_set: RenderedRuleSet, environment: Environment | None, census: RuleSetCensus
) -> Findings:
    """A valid name that no other rule set of the app has in the same account and region."""
    errors: list[str] = []
    name = rule_set.name
    if isinstance(name, str) and not is_unresolved(name):
        errors.extend(errors_of(check_rule_set_name, name, "RuleSetName"))
    where = (
        f"account {environment[0]}, region {environment[1]}"
        if environment is not None
        else "one stack"
    )
    for other in census.namesakes(rule_set.resource):
        errors.append(
            f"rule sets {display_path(rule_set.resource)} and {display_path(other)} are both "
            f"named {name!r} in {where}; SES rule set names are unique per account and region, "
            "so deploying the second would fail: give one of them another rule_set_name"
        )
    return Findings(errors=tuple(errors))


def rule_set_limit_findings(
    rules: Sequence[RenderedRule], environment: Environment | None, census: RuleSetCensus
) -> Findings:
    """At most 200 rules with distinct names; a warning beyond SES's quota of rule sets in the
    account and region."""
    errors: list[str] = []
    rule_sets_there = census.counts[environment] if environment is not None else 0
    if len(rules) > MAX_RULES_PER_RULE_SET:
        errors.append(
            f"the rule set has {len(rules)} rules; SES allows at most "
            f"{MAX_RULES_PER_RULE_SET} per rule set: use a second rule set"
        )
    seen: dict[str, RenderedRule] = {}
    for rule in rules:
        rule_name = rule.body.get("name")
        if not isinstance(rule_name, str):
            continue
        if rule_name in seen:
            errors.append(
                f"rules {display_path(seen[rule_name].resource)} and "
                f"{display_path(rule.resource)} are both named {rule_name!r}; rule names must be "
                "unique within a rule set"
            )
        seen.setdefault(rule_name, rule)
    warnings: tuple[str, ...] = ()
    if environment is not None and rule_sets_there > MAX_RULE_SETS_PER_REGION:
        account, region = environment
        warnings = (
            f"this app puts {rule_sets_there} receipt rule sets into account {account}, region "
            f"{region}; SES allows {MAX_RULE_SETS_PER_REGION} per account and region unless the "
            "quota was raised, so deploying them all may fail",
        )
    return Findings(errors=tuple(errors), warnings=warnings)
