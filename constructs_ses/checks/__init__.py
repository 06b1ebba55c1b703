"""The synth-time checks of receipt rule sets and rules: a registry of small rules.

Each check is one pure function over the rendered rule set or rule (``rendered``), in a module
of its own, registered here with its id, the warning id by which its warnings are acknowledged,
and the family it belongs to (``REGION`` checks run where the receiving regions are known,
``LIMITS`` checks where SES's limits are checked). ``RuleChecks.run`` runs every check that
applies to each rule set and rule, in the order registered. A new check is one function and
one line below.

Beside the rules live what runs and serves them: ``runner`` (one validation per stack) and
``aspects`` (``SameRegionCheck``, ``ReceiptRuleLimitsCheck``), ``rendered`` (the stack as
CloudFormation will see it), ``references`` (what a token of it refers to), ``findings`` (what a
check reports), ``region_check`` and ``limits_check`` (what a family's checks share). It imports
SES's facts (``constructs_ses.ses``) and the records on the tree (``constructs_ses.records``),
never a construct: the constructs build on the checks.
"""

from __future__ import annotations

from constructs_ses.checks.base import (
    LIMITS,
    REGION,
    Check,
    CheckContext,
    RuleCheck,
    RuleSetCheck,
)
from constructs_ses.checks.limits import rule_limits, rule_set_limits
from constructs_ses.checks.limits_check import LIMITS_WARNING_ID
from constructs_ses.checks.mx_region import mx_points_here
from constructs_ses.checks.names import rule_name, rule_set_name
from constructs_ses.checks.receiving_region import rule_set_elsewhere_receives, rule_set_receives
from constructs_ses.checks.region_check import REGION_WARNING_ID
from constructs_ses.checks.request_response_timeout import request_response_timeout
from constructs_ses.checks.same_region import same_region
from constructs_ses.checks.uncovered_recipients import DOMAIN_WARNING_ID, uncovered_recipients

__all__ = [
    "LIMITS",
    "REGION",
    "RULE_CHECKS",
    "RULE_SET_CHECKS",
    "Check",
    "CheckContext",
    "RuleCheck",
    "RuleSetCheck",
]

RULE_SET_CHECKS: tuple[RuleSetCheck, ...] = (
    RuleSetCheck("receiving-region", REGION, REGION_WARNING_ID, rule_set_receives),
    RuleSetCheck("mx-region", REGION, REGION_WARNING_ID, mx_points_here),
    RuleSetCheck("rule-set-name", LIMITS, LIMITS_WARNING_ID, rule_set_name),
    RuleSetCheck("rule-set-limits", LIMITS, LIMITS_WARNING_ID, rule_set_limits),
)
"""The checks of each rule set, in the order they run."""

RULE_CHECKS: tuple[RuleCheck, ...] = (
    RuleCheck("same-region", REGION, REGION_WARNING_ID, same_region),
    RuleCheck("receiving-region-elsewhere", REGION, REGION_WARNING_ID, rule_set_elsewhere_receives),
    RuleCheck("uncovered-recipients", REGION, DOMAIN_WARNING_ID, uncovered_recipients),
    RuleCheck("request-response-timeout", LIMITS, LIMITS_WARNING_ID, request_response_timeout),
    RuleCheck("rule-name", LIMITS, LIMITS_WARNING_ID, rule_name),
    RuleCheck("rule-limits", LIMITS, LIMITS_WARNING_ID, rule_limits),
)
"""The checks of each rule, in the order they run."""
