"""Same region: what a rule's actions use (functions, topics, buckets, keys) is in the rule's
region, as SES requires ("Receipt rules", Amazon SES Developer Guide)."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings
from constructs_ses.checks.region_check import rule_region_findings
from constructs_ses.checks.rendered import RenderedRule

__all__ = ["same_region"]


def same_region(context: CheckContext, rule: RenderedRule) -> Findings:
    """Errors for what ``rule`` uses in another region; warnings where that is not known."""
    return rule_region_findings(context.contents, rule)
