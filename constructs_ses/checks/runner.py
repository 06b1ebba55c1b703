"""The synth-time checks of receipt rule sets and their rules, run once per stack.

``InboundEmail`` checks its own rule set and every rule of the stack that is added to it; the
aspects (``SameRegionCheck``, ``ReceiptRuleLimitsCheck``) check the other rules and rule sets
they visit. One runner per stack (``stack_findings``) reads the stack once (``StackContents``)
and runs the registered checks (``constructs_ses.checks``) for all of them, the first time one
of their validations asks; each validation then reports its own share (an ``InboundEmail``'s
errors after its path, the aspects' after the stack's), and each error names the rule or rule
set it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import jsii
from aws_cdk import Stack, Validations
from aws_cdk import aws_ses as ses
from constructs import IConstruct, IValidation

from constructs_ses.checks import LIMITS, REGION, RULE_CHECKS, RULE_SET_CHECKS, CheckContext
from constructs_ses.checks.findings import Findings, display_path, display_scope, nearest_aspect
from constructs_ses.checks.limits_check import environment_of, rule_set_census
from constructs_ses.checks.rendered import RenderedRule, RenderedRuleSet, StackContents, contents_of
from constructs_ses.records import record_of

__all__ = [
    "CheckingAspect",
    "RuleChecks",
    "SubjectFindings",
    "check_rule_set_itself",
    "stack_findings",
    "visit_for_checks",
]

SubjectFindings = tuple[IConstruct, str, Findings]
"""What a check found about one rule or rule set, and the ID its warnings are acknowledged by."""


@dataclass
class StackChecks:
    """A stack's record of who checks its rules and rule sets, and what the checks found."""

    self_checked: dict[str, RuleChecks] = field(default_factory=dict)
    """By Ref token, the rule sets that ``InboundEmail`` checks with their rules of the stack,
    and the checks it runs."""
    visits: dict[type, _StackVisits] = field(default_factory=dict)
    """What the aspects of each type visited."""
    found: dict[object, list[SubjectFindings]] | None = None
    """What the runner found, by Ref token (``InboundEmail``) or aspect type; None until it ran
    (at the first validation: the tree cannot change after synthesis starts)."""


def check_rule_set_itself(
    reference: str, stack: Stack, checks: RuleChecks
) -> Callable[[], list[SubjectFindings]]:
    """Leave the rule set whose Ref token is ``reference``, and its rules in ``stack``, to the
    construct that made it, which checks them with ``checks``; returns what its validation
    reports."""
    record_of(stack, StackChecks).self_checked[reference] = checks
    return partial(_share_of, stack, reference)


def stack_findings(stack: Stack) -> dict[object, list[SubjectFindings]]:
    """Every check of ``stack``'s rules and rule sets, run once: by Ref token for the rule sets
    of ``InboundEmail``, by aspect type for what the aspects visited."""
    record = record_of(stack, StackChecks)
    if record.found is None:
        contents = contents_of(stack)
        found: dict[object, list[SubjectFindings]] = {}
        for reference, checks in record.self_checked.items():
            rule_sets = [each for each in contents.rule_sets if each.reference == reference]
            found[reference] = checks.run(contents, rule_sets, contents.rules({reference}))
        for kind, visits in record.visits.items():
            found[kind] = visits.findings(contents)
        record.found = found
    return record.found


def _share_of(stack: Stack, owner: object) -> list[SubjectFindings]:
    return stack_findings(stack).get(owner, [])


@dataclass(frozen=True)
class RuleChecks:
    """Which checks run: the region check (with these receiving regions), SES's limits."""

    receiving_regions: tuple[str, ...] | None = None
    limits: bool = False

    def run(
        self,
        contents: StackContents,
        rule_sets: Sequence[RenderedRuleSet],
        rules: Sequence[RenderedRule],
    ) -> list[SubjectFindings]:
        """Findings for ``rule_sets`` (with all their rules in the stack) and ``rules``: every
        registered check (``constructs_ses.checks``) of the families these checks run, for each
        rule set and then each rule, in the order of the registry."""
        families = {REGION} if self.receiving_regions is not None else set()
        if self.limits:
            families.add(LIMITS)
        census = rule_set_census(contents.stack.node.root) if self.limits and rule_sets else None
        context = CheckContext(
            contents=contents,
            receiving_regions=self.receiving_regions or (),
            environment=environment_of(contents.account, contents.region),
            census=census,
            own_rule_sets=frozenset(rule_set.reference for rule_set in rule_sets),
        )
        set_checks = [check for check in RULE_SET_CHECKS if check.family in families]
        rule_checks = [check for check in RULE_CHECKS if check.family in families]
        found: list[SubjectFindings] = []
        for rule_set in rule_sets:
            for set_check in set_checks:
                findings = set_check.check(context, rule_set)
                found.append((rule_set.resource, set_check.warning_id, findings))
        for rule in rules:
            for rule_check in rule_checks:
                found.append(
                    (rule.resource, rule_check.warning_id, rule_check.check(context, rule))
                )
        return found


@jsii.implements(IValidation)
class SubjectsValidation:
    """Fails synthesis with the errors of ``produce``, each after the path of its subject, and
    adds its warnings to their subjects."""

    def __init__(self, produce: Callable[[], list[SubjectFindings]]) -> None:
        self._produce = produce

    def validate(self) -> list[str]:
        errors: list[str] = []
        for subject, warning_id, findings in self._produce():
            for warning in findings.warnings:
                Validations.of(display_scope(subject)).add_warning(warning_id, warning)
            if findings.errors:
                path = display_path(subject)
                errors.extend(f"{path}: {error}" for error in findings.errors)
        return errors


class CheckingAspect(Protocol):
    """An aspect that checks the receipt rules and rule sets it visits."""

    def checks(self) -> RuleChecks:
        """The checks it runs."""
        ...


class _StackVisits:
    """The rules and rule sets of one stack that aspects of one type visited."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.visitors: dict[str, tuple[IConstruct, list[CheckingAspect]]] = {}
        """By the logical ID token of the rule or rule set: it and the aspects that visited it."""

    def owner(self, logical_id: str) -> CheckingAspect | None:
        """The aspect that checks the visited element: the nearest, if several visited it."""
        node, aspects = self.visitors[logical_id]
        if len(aspects) == 1:
            return aspects[0]
        return nearest_aspect(node, type(aspects[0]))

    def findings(self, contents: StackContents) -> list[SubjectFindings]:
        """The findings of the checks of the visiting aspects, in the stack ``contents``."""
        owners: dict[int, CheckingAspect] = {}
        rule_sets: dict[int, list[RenderedRuleSet]] = {}
        rules: dict[int, list[RenderedRule]] = {}
        self_checked = record_of(self.stack, StackChecks).self_checked.keys()
        for rule_set in contents.rule_sets:
            owner = self._owner_of(rule_set, self_checked)
            if owner is not None:
                owners[id(owner)] = owner
                rule_sets.setdefault(id(owner), []).append(rule_set)
        for rule in contents.rules():
            owner = self._owner_of(rule, self_checked)
            if owner is not None:
                owners[id(owner)] = owner
                rules.setdefault(id(owner), []).append(rule)
        found: list[SubjectFindings] = []
        for key, owner in owners.items():
            found.extend(owner.checks().run(contents, rule_sets.get(key, []), rules.get(key, [])))
        return found

    def _owner_of(
        self, item: RenderedRule | RenderedRuleSet, self_checked: Collection[str]
    ) -> CheckingAspect | None:
        """The aspect that checks ``item``: None if none visited it or its rule set's owner
        checks it."""
        reference = item.reference if isinstance(item, RenderedRuleSet) else item.rule_set
        if reference in self_checked:
            return None
        logical_id = item.resource.logical_id
        return self.owner(logical_id) if logical_id in self.visitors else None


def visit_for_checks(node: IConstruct, aspect: CheckingAspect) -> None:
    """Have ``aspect`` check ``node`` if it is a receipt rule or rule set: one validation per
    stack and aspect type runs the checks of the aspect nearest to each."""
    if not isinstance(node, ses.CfnReceiptRule | ses.CfnReceiptRuleSet):
        return
    stack = Stack.of(node)
    record = record_of(stack, StackChecks)
    visits = record.visits.get(type(aspect))
    if visits is None:
        visits = record.visits[type(aspect)] = _StackVisits(stack)
        stack.node.add_validation(SubjectsValidation(partial(_share_of, stack, type(aspect))))
    _, aspects = visits.visitors.setdefault(node.logical_id, (node, []))
    aspects.append(aspect)
