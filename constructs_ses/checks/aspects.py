"""The synth-time checks as aspects, for receipt rules built with plain aws-cdk-lib."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import IAspect
from constructs import IConstruct

from constructs_ses.checks.runner import RuleChecks, visit_for_checks
from constructs_ses.ses.regions import resolve_receiving_regions

__all__ = ["ReceiptRuleLimitsCheck", "SameRegionCheck"]


@jsii.implements(IAspect)
class SameRegionCheck:
    """An aspect that fails synthesis when a receipt rule uses resources of another region.

    Add it to an app or stack whose receipt rules are built with plain aws-cdk-lib::

        Aspects.of(app).add(SameRegionCheck())

    For every ``AWS::SES::ReceiptRuleSet`` and ``AWS::SES::ReceiptRule`` below it, synthesis fails
    when the stack's region does not receive email, or when a Lambda function, SNS topic
    (of any action) or KMS key (of an S3 action or of an SNS topic of the stack) is in another
    region than the stack, or when a Route 53 MX record of the app for a domain a rule set
    receives points at another region's receiving endpoint. S3 buckets may be elsewhere, as SES
    allows. Where a region is known
    only at deploy time (environment-agnostic stacks, ARNs from parameters) it warns that the
    check could not run. Rule sets of ``InboundEmail``, and their rules, are left to it; where
    several of these aspects apply, the nearest to a rule is used.

    :param receiving_regions: the regions that receive email. Default: the package's list.
    """

    def __init__(self, *, receiving_regions: Sequence[str] | None = None) -> None:
        self.receiving_regions = resolve_receiving_regions(receiving_regions)

    def visit(self, node: IConstruct) -> None:
        """Have receipt rules and rule sets checked when the app is synthesized."""
        visit_for_checks(node, self)

    def checks(self) -> RuleChecks:
        """The region checks."""
        return RuleChecks(receiving_regions=self.receiving_regions)


@jsii.implements(IAspect)
class ReceiptRuleLimitsCheck:
    """An aspect that fails synthesis when receipt rules break SES's limits or naming rules.

    For every ``AWS::SES::ReceiptRule``: a valid name, at most 10 actions, at most 500 valid
    recipients, no RequestResponse Lambda action of a function of the stack (directly, or through
    an alias or version) whose timeout is over 30 seconds. For every
    ``AWS::SES::ReceiptRuleSet``: a valid name that no other rule set of the app has in the same
    account and region, at most 200 rules, rule names unique within it; and a warning when the
    app puts more than 40 rule sets into one account and region (SES's quota). Rule sets of
    ``InboundEmail``, and their rules, are left to it. Add it to an app whose rules are built
    with plain aws-cdk-lib:
    ``Aspects.of(app).add(ReceiptRuleLimitsCheck())``.
    """

    def visit(self, node: IConstruct) -> None:
        """Have receipt rules and rule sets checked when the app is synthesized."""
        visit_for_checks(node, self)

    def checks(self) -> RuleChecks:
        """The checks of SES's limits and naming rules."""
        return RuleChecks(limits=True)
