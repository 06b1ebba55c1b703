"""Where SES receives email, and the rule that everything a receipt rule uses shares its region.

Pure functions over region strings: the constructs and the aspect collect what a rule touches,
this module decides what is wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from constructs_ses.findings import Findings
from constructs_ses.tokens import is_unresolved

__all__ = [
    "Placement",
    "default_receiving_regions",
    "judge_placements",
    "judge_receiving_region",
    "known_partition",
    "region_of_arn",
    "resolve_receiving_regions",
]


@cache
def _data() -> dict[str, Any]:
    text = files("constructs_ses").joinpath("data/receiving_regions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def default_receiving_regions() -> tuple[str, ...]:
    """The regions this package knows to receive email, sorted."""
    return tuple(sorted(_data()["regions"]))


def known_partition(region: str) -> str | None:
    """The partition of a region of the packaged list (``aws``); None for any other region or a
    token, whose partition aws-cdk-lib works out."""
    data = _data()
    return str(data["partition"]) if region in data["regions"] else None


def resolve_receiving_regions(
    receiving_regions: Iterable[str] | None, argument: str = "receiving_regions"
) -> tuple[str, ...]:
    """The user's override, checked, or the packaged list when None."""
    if receiving_regions is None:
        return default_receiving_regions()
    if isinstance(receiving_regions, str):
        raise ValueError(
            f"{argument}={receiving_regions!r} must be a list of region names, "
            f"not a string: write [{receiving_regions!r}]"
        )
    regions = tuple(receiving_regions)
    if not regions:
        raise ValueError(f"{argument}=[] names no region: give at least one, e.g. ['us-east-1']")
    for index, region in enumerate(regions):
        if not isinstance(region, str) or is_unresolved(region) or region.count("-") < 2:
            raise ValueError(
                f"{argument}[{index}]={region!r} is not a region name such as 'us-east-1'"
            )
    return tuple(sorted(set(regions)))


def region_of_arn(arn: str) -> str | None:
    """The region field of a literal ARN; None when ``arn`` is not an ARN or has no region."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        return None
    return parts[3]


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
