"""The synth-time check of SES's limits and naming rules, for any receipt rule in a CDK app."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import IAspect, Stack, Token
from aws_cdk import aws_ses as ses
from constructs import IConstruct

from constructs_ses.findings import (
    Findings,
    add_nearest_aspect_validation,
    display_path,
)
from constructs_ses.limits import (
    MAX_ACTIONS_PER_RULE,
    MAX_RULE_SETS_PER_REGION,
    MAX_RULES_PER_RULE_SET,
    check_recipients,
    check_rule_name,
    check_rule_set_name,
)
from constructs_ses.references import rule_set_resource_of

__all__ = ["LIMITS_WARNING_ID", "ReceiptRuleLimitsCheck"]

LIMITS_WARNING_ID = "constructs-ses:ruleSetQuota"


def _errors_of(check: Any, *arguments: Any) -> tuple[str, ...]:
    try:
        check(*arguments)
    except ValueError as error:
        return (str(error),)
    return ()


def _environment(construct: IConstruct) -> tuple[str, str] | None:
    """The stack's account and region, or None when either is known only at deploy time."""
    stack = Stack.of(construct)
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        return None
    return stack.account, stack.region


class _AppIndex:
    """The rule sets and rules of an app, read once per synthesis."""

    def __init__(self, constructs: list[IConstruct]) -> None:
        self.size = len(constructs)
        self.rules_by_rule_set: dict[str, list[ses.CfnReceiptRule]] = {}
        self.rule_sets_by_environment: dict[tuple[str, str], int] = {}
        environments: dict[str, tuple[str, str] | None] = {}
        for construct in constructs:
            if isinstance(construct, ses.CfnReceiptRule):
                rule_set = rule_set_resource_of(construct)
                if rule_set is not None:
                    key = rule_set.node.path
                    self.rules_by_rule_set.setdefault(key, []).append(construct)
            elif isinstance(construct, ses.CfnReceiptRuleSet):
                stack = Stack.of(construct)
                path = stack.node.path
                if path not in environments:
                    environments[path] = _environment(stack)
                environment = environments[path]
                if environment is not None:
                    count = self.rule_sets_by_environment.get(environment, 0)
                    self.rule_sets_by_environment[environment] = count + 1


@jsii.implements(IAspect)
class ReceiptRuleLimitsCheck:
    """An aspect that fails synthesis when receipt rules break SES's limits or naming rules.

    For every ``AWS::SES::ReceiptRule``: a valid name, at most 10 actions, at most 500 valid
    recipients. For every ``AWS::SES::ReceiptRuleSet``: a valid name, at most 200 rules, rule
    names unique within it; and a warning when the app puts more than 40 rule sets into one
    account and region (SES's quota). ``InboundEmail`` applies it to its own rules; add it to
    an app whose rules are built with plain aws-cdk-lib: ``Aspects.of(app).add(...)``.
    """

    def __init__(self) -> None:
        self._index: tuple[IConstruct, _AppIndex] | None = None

    def visit(self, node: IConstruct) -> None:
        """Attach the check to rules and rule sets for which this is the nearest check."""
        if not isinstance(node, ses.CfnReceiptRule | ses.CfnReceiptRuleSet):
            return
        add_nearest_aspect_validation(
            node, self, ReceiptRuleLimitsCheck._findings, LIMITS_WARNING_ID
        )

    def _findings(self, node: IConstruct) -> Findings:
        if isinstance(node, ses.CfnReceiptRule):
            return _rule_findings(node)
        assert isinstance(node, ses.CfnReceiptRuleSet)
        return self._rule_set_findings(node)

    def _app_index(self, construct: IConstruct) -> _AppIndex:
        """The index of the app, rebuilt when the app has changed since it was made."""
        root = construct.node.root
        constructs = root.node.find_all()
        if (
            self._index is None
            or self._index[0] is not root
            or (self._index[1].size != len(constructs))
        ):
            self._index = (root, _AppIndex(constructs))
        return self._index[1]

    def _rule_set_findings(self, node: ses.CfnReceiptRuleSet) -> Findings:
        index = self._app_index(node)
        errors: list[str] = []
        name = node.rule_set_name
        if isinstance(name, str) and not Token.is_unresolved(name):
            errors.extend(_errors_of(check_rule_set_name, name, "RuleSetName"))
        rules = index.rules_by_rule_set.get(node.node.path, [])
        if len(rules) > MAX_RULES_PER_RULE_SET:
            errors.append(
                f"the rule set has {len(rules)} rules; SES allows at most "
                f"{MAX_RULES_PER_RULE_SET} per rule set: use a second rule set"
            )
        seen: dict[str, ses.CfnReceiptRule] = {}
        bodies = Stack.of(node).resolve([rule.rule for rule in rules]) if rules else []
        for rule, body in zip(rules, bodies, strict=True):
            rule_name = body.get("name") if isinstance(body, dict) else None
            if not isinstance(rule_name, str):
                continue
            if rule_name in seen:
                errors.append(
                    f"rules {display_path(seen[rule_name])} and {display_path(rule)} are both "
                    f"named {rule_name!r}; rule names must be unique within a rule set"
                )
            seen.setdefault(rule_name, rule)
        return Findings(errors=tuple(errors), warnings=_quota_warning(node, index))


def _resolved_rule(node: ses.CfnReceiptRule) -> dict[str, Any]:
    rule = Stack.of(node).resolve(node.rule)
    return rule if isinstance(rule, dict) else {}


def _rule_findings(node: ses.CfnReceiptRule) -> Findings:
    rule = _resolved_rule(node)
    errors: list[str] = []
    name = rule.get("name")
    if isinstance(name, str):
        errors.extend(_errors_of(check_rule_name, name, "Rule.Name"))
    actions = rule.get("actions")
    if isinstance(actions, list) and len(actions) > MAX_ACTIONS_PER_RULE:
        errors.append(
            f"the rule has {len(actions)} actions; SES allows at most "
            f"{MAX_ACTIONS_PER_RULE} per receipt rule: split it into several rules"
        )
    recipients = rule.get("recipients")
    if isinstance(recipients, list) and all(isinstance(r, str) for r in recipients):
        errors.extend(_errors_of(check_recipients, recipients, "Rule.Recipients"))
    return Findings(errors=tuple(errors))


def _quota_warning(rule_set: ses.CfnReceiptRuleSet, index: _AppIndex) -> tuple[str, ...]:
    environment = _environment(rule_set)
    count = index.rule_sets_by_environment.get(environment, 0) if environment else 0
    if environment is None or count <= MAX_RULE_SETS_PER_REGION:
        return ()
    account, region = environment
    return (
        f"this app puts {count} receipt rule sets into account {account}, region {region}; "
        f"SES allows {MAX_RULE_SETS_PER_REGION} per account and region unless the quota was "
        "raised, so deploying them all may fail",
    )
