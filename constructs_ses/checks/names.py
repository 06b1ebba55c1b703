"""Rule name: ASCII letters, digits, ``_``, ``-`` and ``.``, starting and ending with a letter
or digit, at most 64 ("ReceiptRule", Amazon SES API Reference)."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.findings import Findings
from constructs_ses.limits import check_rule_name
from constructs_ses.limits_check import errors_of
from constructs_ses.rendered import RenderedRule

__all__ = ["rule_name"]


def rule_name(context: CheckContext, rule: RenderedRule) -> Findings:
    """An error for a rule name SES refuses (one known at synthesis)."""
    name = rule.body.get("name")
    if not isinstance(name, str):
        return Findings()
    return Findings(errors=errors_of(check_rule_name, name, "Rule.Name"))
