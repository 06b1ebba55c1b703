"""Names: a rule's of ASCII letters, digits, ``_``, ``-`` and ``.``, a rule set's of letters,
digits, ``_`` and ``-``, each starting and ending with a letter or digit, at most 64
("ReceiptRule", "ReceiptRuleSetMetadata", Amazon SES API Reference); a rule set's unique in its
account and region."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings
from constructs_ses.checks.limits_check import errors_of, rule_set_name_findings
from constructs_ses.checks.rendered import RenderedRule, RenderedRuleSet
from constructs_ses.ses.limits import check_rule_name

__all__ = ["rule_name", "rule_set_name"]


def rule_name(context: CheckContext, rule: RenderedRule) -> Findings:
    """An error for a rule name SES refuses (one known at synthesis)."""
    name = rule.body.get("name")
    if not isinstance(name, str):
        return Findings()
    return Findings(errors=errors_of(check_rule_name, name, "Rule.Name"))


def rule_set_name(context: CheckContext, rule_set: RenderedRuleSet) -> Findings:
    """An error for a rule set name SES refuses, or one another rule set of the app has in the
    same account and region."""
    if context.census is None:
        return Findings()
    return rule_set_name_findings(rule_set, context.environment, context.census)
