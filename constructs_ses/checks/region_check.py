"""The same-region check of receipt rules, on their rendered CloudFormation.

SES invokes only Lambda functions, notifies only SNS topics and uses only KMS keys in the region of
its receiving endpoint (S3 buckets are exempt), and receives email in some regions only. aws-cdk-lib
checks none of this; ``InboundEmail`` and ``SameRegionCheck`` make synthesis fail instead of the
deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from constructs_ses.checks.findings import Findings, display_path
from constructs_ses.checks.rendered import RenderedRule, StackContents
from constructs_ses.ses.regions import region_of_arn
from constructs_ses.ses.tokens import is_unresolved

__all__ = [
    "REGION_WARNING_ID",
    "Placement",
    "flatten_intrinsics",
    "judge_placements",
    "judge_receiving_region",
    "rule_region_findings",
]

REGION_WARNING_ID = "constructs-ses:sameRegionUnchecked"

_TOPIC = "SNS topic"

_ACTION_ARNS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "lambdaAction": (("functionArn", "Lambda function"), ("topicArn", _TOPIC)),
        "s3Action": (("topicArn", _TOPIC), ("kmsKeyArn", "KMS key")),
        "snsAction": (("topicArn", _TOPIC),),
        "bounceAction": (("topicArn", _TOPIC),),
        "stopAction": (("topicArn", _TOPIC),),
        "workmailAction": (("topicArn", _TOPIC),),
    }
)
"""For each kind of receipt rule action, the fields naming regional resources (S3 buckets are
exempt from the same-region rule and left out)."""

_HERE = "${AWS.Region}"
"""The region field of an ARN built with the stack's region (as ``_parseable`` writes it)."""
_CROSS_REGION_EXPORT = "/cdk/exports/"
"""How the attribute of a cross-region reference (``Stack(cross_region_references=True)``)
begins: the value is read from another region's SSM parameter."""


@dataclass(frozen=True)
class Placement:
    """Something a receipt rule uses and the region it lives in (None when not known)."""

    kind: str
    """What it is, e.g. "Lambda function"."""
    name: str
    """Its construct path or ARN."""
    region: str | None


def judge_receiving_region(region: str, receiving_regions: Sequence[str]) -> Findings:
    """An error when ``region`` does not receive email; a warning when it is not known."""
    if is_unresolved(region):
        return Findings(
            warnings=(
                "the check that the region receives email could not run: the stack has no "
                "concrete region (environment-agnostic). Set env=Environment(region=...) on the "
                f"stack; SES receives email in: {', '.join(receiving_regions)}.",
            )
        )
    if region in receiving_regions:
        return Findings()
    return Findings(
        errors=(
            f"region {region!r} does not receive email with Amazon SES, so these receipt rules "
            f"could not be deployed there; use one of: {', '.join(receiving_regions)}",
        )
    )


def judge_placements(rule_set_region: str, placements: Iterable[Placement]) -> Findings:
    """Errors for every placement outside ``rule_set_region``; warnings where none can be known."""
    placements = tuple(dict.fromkeys(placements))
    if is_unresolved(rule_set_region):
        if not placements:
            return Findings()
        return Findings(
            warnings=(
                "the same-region check could not run: the rule set's stack has no concrete "
                "region (environment-agnostic). Set env=Environment(region=...) on the stack "
                "so that synthesis can check that "
                + ", ".join(f"{p.kind} {p.name}" for p in placements)
                + " share its region.",
            )
        )
    errors: list[str] = []
    warnings: list[str] = []
    for placement in placements:
        if placement.region is None or is_unresolved(placement.region):
            warnings.append(
                f"the same-region check could not run for {placement.kind} {placement.name}: "
                "its region is only known at deploy time. It must be "
                f"{rule_set_region}, the region of the rule set."
            )
        elif placement.region != rule_set_region:
            errors.append(
                f"{placement.kind} {placement.name} is in {placement.region}, but the receipt "
                f"rule set is in {rule_set_region}: SES uses only resources in the region of its "
                f"receiving endpoint. Move it to {rule_set_region} or the rule set to "
                f"{placement.region}."
            )
    return Findings(tuple(errors), tuple(warnings))


def flatten_intrinsics(value: Any) -> str | None:
    """A resolved value as one string, references written ``${Name}`` as in Fn::Sub; None for
    intrinsics that cannot be written so (Fn::If...)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((intrinsic, argument),) = value.items()
    if intrinsic == "Ref" and isinstance(argument, str):
        return "${" + argument + "}"
    if intrinsic == "Fn::GetAtt" and isinstance(argument, list):
        return "${" + ".".join(str(part) for part in argument) + "}"
    if intrinsic == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        flat = [flatten_intrinsics(part) for part in parts] if isinstance(parts, list) else [None]
        if isinstance(separator, str) and all(part is not None for part in flat):
            return separator.join(part for part in flat if part is not None)
    return None


def _parseable(flat: str) -> str:
    """``flat`` with the colons inside its ``${...}`` references made dots, so that only the
    ARN's own colons separate its fields."""
    return re.sub(r"\$\{[^}]*\}", lambda reference: reference.group().replace(":", "."), flat)


def _placements_of(contents: StackContents, kind: str, value: Any) -> Iterator[Placement]:
    """Where the thing named by ``value`` (an action field, resolved) lives, if SES cares."""
    if isinstance(value, dict) and len(value) == 1:
        ((intrinsic, argument),) = value.items()
        if intrinsic == "Fn::ImportValue":
            return  # an export of another stack, which CloudFormation keeps to one region
        logical_id = argument if intrinsic == "Ref" else None
        if intrinsic == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
            if str(argument[1]).startswith(_CROSS_REGION_EXPORT):
                name = f"read by cross-region reference {argument[1]}"
                yield Placement(kind, name, "another region")
                return
            logical_id = argument[0]
        if intrinsic == "Ref" and argument in contents.parameters:
            yield Placement(kind, json.dumps(value), None)
            return
        if isinstance(logical_id, str) and not logical_id.startswith("AWS::"):
            # a resource of this stack, so of its region; an encrypted topic's key may not be
            topic_key = contents.topic_keys.get(logical_id) if kind == _TOPIC else None
            if topic_key is not None:
                topic, key = topic_key
                key_kind = f"KMS key of SNS topic {display_path(topic)}"
                yield from _placements_of(contents, key_kind, key)
            return
    flat = flatten_intrinsics(value)
    if flat is None:
        yield Placement(kind, json.dumps(value), None)
        return
    region = region_of_arn(_parseable(flat))
    if region is None or region == _HERE:
        return  # a name, ID or alias, which SES looks up in its own region; or this region
    yield Placement(kind, flat, None if "${" in region else region)


def rule_region_findings(contents: StackContents, rule: RenderedRule) -> Findings:
    """Errors for what ``rule`` uses in another region; warnings where that is not known."""
    found: list[Placement] = []
    for action in rule.body.get("actions") or []:
        for action_type, config in action.items():
            for field, kind in _ACTION_ARNS.get(action_type, ()):
                if field in config:
                    found.extend(_placements_of(contents, kind, config[field]))
    return judge_placements(contents.region, found)
