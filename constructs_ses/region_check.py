"""The same-region check of receipt rules, on their rendered CloudFormation.

SES invokes only Lambda functions, notifies only SNS topics and uses only KMS keys in the region of
its receiving endpoint (S3 buckets are exempt), and receives email in some regions only. aws-cdk-lib
checks none of this; ``InboundEmail`` and ``SameRegionCheck`` make synthesis fail instead of the
deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from constructs_ses.findings import Findings, display_path
from constructs_ses.regions import Placement, judge_placements, region_of_arn
from constructs_ses.rendered import RenderedRule, StackContents

__all__ = ["REGION_WARNING_ID", "flatten_intrinsics", "rule_region_findings"]

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
