"""Receiving region: the rule set's region receives email ("Email receiving endpoints", Amazon
SES Developer Guide); so must the region of a rule whose rule set this app does not make."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings
from constructs_ses.checks.references import RuleSetReferences, rule_set_resource_of
from constructs_ses.checks.region_check import judge_receiving_region
from constructs_ses.checks.rendered import RenderedRule, RenderedRuleSet
from constructs_ses.records import record_of

__all__ = ["rule_set_elsewhere_receives", "rule_set_receives"]


def rule_set_receives(context: CheckContext, rule_set: RenderedRuleSet) -> Findings:
    """An error when the stack's region does not receive email."""
    return judge_receiving_region(context.contents.region, context.receiving_regions)


def rule_set_elsewhere_receives(context: CheckContext, rule: RenderedRule) -> Findings:
    """For a rule of a rule set made elsewhere (no rule set here to say it), the same."""
    if rule.rule_set in context.own_rule_sets:
        return Findings()
    references = record_of(context.contents.stack.node.root, RuleSetReferences)
    if rule_set_resource_of(rule.rule_set, references) is not None:
        return Findings()
    return judge_receiving_region(context.contents.region, context.receiving_regions)
