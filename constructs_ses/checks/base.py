"""What a check is: its id, family, warning id and function; and what it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from constructs_ses.checks.findings import Findings
from constructs_ses.checks.limits_check import Environment, RuleSetCensus
from constructs_ses.checks.rendered import (
    RenderedMxRecord,
    RenderedRule,
    RenderedRuleSet,
    StackContents,
    app_mx_records,
)

__all__ = ["LIMITS", "REGION", "Check", "CheckContext", "RuleCheck", "RuleSetCheck"]

REGION = "region"
"""Checks that run where the receiving regions are known (``RuleChecks.receiving_regions``)."""
LIMITS = "limits"
"""Checks of SES's limits and naming rules (``RuleChecks.limits``)."""


@dataclass(frozen=True)
class CheckContext:
    """What checks of one stack read besides the rule set or rule they check."""

    contents: StackContents
    """The stack's rendered rule sets, rules and what they refer to."""
    receiving_regions: tuple[str, ...]
    """The regions that receive email."""
    environment: Environment | None
    """The stack's account and region, when both are known."""
    census: RuleSetCensus | None
    """The app's rule sets by name and environment (for the rule set limits)."""
    own_rule_sets: frozenset[str]
    """The Ref tokens of the rule sets checked with these rules."""

    @property
    def app_mx_records(self) -> list[RenderedMxRecord]:
        """The Route 53 MX records of every stack of the app (read once per synthesis)."""
        return app_mx_records(self.contents.stack.node.root)


Subject = TypeVar("Subject", RenderedRule, RenderedRuleSet)


@dataclass(frozen=True)
class Check(Generic[Subject]):
    """A check of one rendered rule set or rule: its id, its family, the warning id that
    acknowledges its warnings, and the function."""

    id: str
    family: str
    warning_id: str
    check: Callable[[CheckContext, Subject], Findings]


RuleSetCheck = Check[RenderedRuleSet]
RuleCheck = Check[RenderedRule]
