"""Where SES receives email: the packaged region list, its partition, and the region of an ARN.

Pure functions over region strings; the same-region rule that judges what a receipt rule uses
is a check (``constructs_ses.checks.region_check``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any

from constructs_ses.ses.tokens import is_unresolved

__all__ = [
    "default_receiving_regions",
    "known_partition",
    "region_of_arn",
    "resolve_receiving_regions",
]


@cache
def _data() -> dict[str, Any]:
    text = files("constructs_ses.ses").joinpath("data/receiving_regions.json").read_text("utf-8")
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
