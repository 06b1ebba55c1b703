"""The synth-time same-region check, as an aspect for any receipt rule in a CDK app.

SES invokes only Lambda functions, notifies only SNS topics and uses only KMS keys in the region of
its receiving endpoint (S3 buckets are exempt), and receives email in some regions only. aws-cdk-lib
checks none of this; ``SameRegionCheck`` makes synthesis fail instead of the deployment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import jsii
from aws_cdk import (
    CfnResource,
    DefaultTokenResolver,
    IAspect,
    IPostProcessor,
    IResolvable,
    IResolveContext,
    Reference,
    Stack,
    StringConcat,
    Tokenization,
)
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from constructs_ses.findings import (
    Findings,
    add_nearest_aspect_validation,
    display_path,
)
from constructs_ses.references import rule_set_resource_of
from constructs_ses.regions import (
    Placement,
    judge_placements,
    judge_receiving_region,
    region_of_arn,
    resolve_receiving_regions,
)

__all__ = ["REGION_WARNING_ID", "SameRegionCheck"]

REGION_WARNING_ID = "constructs-ses:sameRegionUnchecked"

_ACTION_ARNS: dict[str, tuple[tuple[str, str], ...]] = {
    "lambdaAction": (("functionArn", "Lambda function"), ("topicArn", "SNS topic")),
    "s3Action": (("topicArn", "SNS topic"), ("kmsKeyArn", "KMS key")),
    "snsAction": (("topicArn", "SNS topic"),),
    "bounceAction": (("topicArn", "SNS topic"),),
    "stopAction": (("topicArn", "SNS topic"),),
    "workmailAction": (("topicArn", "SNS topic"),),
}
"""For each kind of receipt rule action, the fields naming regional resources (S3 buckets are
exempt from the same-region rule and left out)."""

_HERE = "<<this-region>>"


class _ReferenceMarker(DefaultTokenResolver):
    """Resolves a value, replacing references to resources by markers that remember them."""

    def __init__(self) -> None:
        super().__init__(StringConcat())
        self.targets: list[CfnResource] = []

    def resolve_token(
        self, t: IResolvable, context: IResolveContext, post_processor: IPostProcessor
    ) -> Any:
        if Reference.is_reference(t):
            target = t.target  # type: ignore[attr-defined]
            if isinstance(target, CfnResource):
                self.targets.append(target)
                return f"<<ref:{len(self.targets) - 1}>>"
        return super().resolve_token(t, context, post_processor)


def _flatten(value: Any) -> str | None:
    """A resolved value as one string (Fn::Join folded); None for other intrinsics."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        flat = [_flatten(part) for part in parts]
        if isinstance(separator, str) and all(part is not None for part in flat):
            return separator.join(part for part in flat if part is not None)
    if value == {"Ref": "AWS::Region"}:
        return _HERE
    return None


class _RulePlacements:
    """Finds where the regional resources named in one ``AWS::SES::ReceiptRule`` live."""

    def __init__(self, rule: ses.CfnReceiptRule) -> None:
        self._rule = rule
        self._marker = _ReferenceMarker()

    def _resolve(self, value: Any) -> Any:
        return Tokenization.resolve(value, scope=self._rule, resolver=self._marker)

    def _placements_of(self, kind: str, value: Any) -> Iterator[Placement]:
        resolved = self._resolve(value)
        flat = _flatten(resolved)
        if flat is None:
            yield Placement(kind, json.dumps(resolved), None)
            return
        region = region_of_arn(flat)
        if region is not None and "<<" not in region:
            yield Placement(kind, flat, region)
        elif region == _HERE:
            return
        elif flat.startswith("<<ref:") and flat.endswith(">>"):
            target = self._marker.targets[int(flat[6:-2])]
            yield Placement(kind, display_path(target), Stack.of(target).region)
            if isinstance(target, sns.CfnTopic) and target.kms_master_key_id is not None:
                key_kind = f"KMS key of SNS topic {display_path(target)}"
                yield from self._placements_of(key_kind, target.kms_master_key_id)
        elif region is not None:
            yield Placement(kind, flat, None)
        # Anything else is a plain name or key alias, which SES looks up in its own region.

    def placements(self) -> list[Placement]:
        rule = self._resolve(self._rule.rule)
        found: list[Placement] = []
        for action in rule.get("actions") or []:
            for action_type, config in action.items():
                for field, kind in _ACTION_ARNS.get(action_type, ()):
                    if field in config:
                        found.extend(self._placements_of(kind, config[field]))
        return found


@jsii.implements(IAspect)
class SameRegionCheck:
    """An aspect that fails synthesis when a receipt rule uses resources of another region.

    Add it to an app or stack whose receipt rules are built with plain aws-cdk-lib::

        Aspects.of(app).add(SameRegionCheck())

    For every ``AWS::SES::ReceiptRuleSet`` and ``AWS::SES::ReceiptRule`` below it, synthesis fails
    when the stack's region does not receive email, or when a Lambda function, SNS topic
    (of any action) or KMS key (of an S3 action or of an SNS topic) is in another region than the
    stack. S3 buckets may be elsewhere, as SES allows. Where a region is known only at deploy time
    (environment-agnostic stacks, ARNs from parameters) it warns that the check could not run.
    ``InboundEmail`` applies it to its own rules; the nearest check above a rule is the one used.

    :param receiving_regions: the regions that receive email. Default: the package's list.
    """

    def __init__(self, *, receiving_regions: Sequence[str] | None = None) -> None:
        self.receiving_regions = resolve_receiving_regions(receiving_regions)

    def visit(self, node: IConstruct) -> None:
        """Attach the check to receipt rules and rule sets for which this is the nearest check."""
        if not isinstance(node, ses.CfnReceiptRule | ses.CfnReceiptRuleSet):
            return
        add_nearest_aspect_validation(node, self, SameRegionCheck._findings, REGION_WARNING_ID)

    def _findings(self, node: IConstruct) -> Findings:
        region = Stack.of(node).region
        found = Findings()
        if isinstance(node, ses.CfnReceiptRule):
            found = judge_placements(region, _RulePlacements(node).placements())
            if rule_set_resource_of(node) is not None:  # the rule set is checked itself
                return found
        return found + judge_receiving_region(region, self.receiving_regions)
