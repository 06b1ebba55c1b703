"""SES's limits ("Service quotas", Amazon SES Developer Guide): per rule at most 10 actions and
500 recipients; per rule set at most 200 rules with distinct names; a warning past the quota of
rule sets in an account and region."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings
from constructs_ses.checks.limits_check import rule_limit_findings, rule_set_limit_findings
from constructs_ses.checks.rendered import RenderedRule, RenderedRuleSet

__all__ = ["rule_limits", "rule_set_limits"]


def rule_limits(context: CheckContext, rule: RenderedRule) -> Findings:
    """At most 10 actions and at most 500 valid recipients."""
    return rule_limit_findings(context.contents, rule)


def rule_set_limits(context: CheckContext, rule_set: RenderedRuleSet) -> Findings:
    """The number and names of its rules, and the rule sets of its environment."""
    if context.census is None:
        return Findings()
    members = context.contents.rules({rule_set.reference})
    return rule_set_limit_findings(members, context.environment, context.census)
