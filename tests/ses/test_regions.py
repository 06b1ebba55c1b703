"""Region data and the pure region judgements."""

from __future__ import annotations

import pytest

from constructs_ses import default_receiving_regions
from constructs_ses.checks.region_check import Placement, judge_placements, judge_receiving_region
from constructs_ses.ses.regions import known_partition, region_of_arn, resolve_receiving_regions

UNRESOLVED_REGION = "${Token[AWS.Region.9]}"


def test_packaged_regions_hold_the_confirmed_ones_and_not_the_unavailable() -> None:
    regions = default_receiving_regions()
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"):
        assert region in regions
    for region in ("us-gov-west-1", "cn-north-1", "ap-east-1", "me-central-1"):
        assert region not in regions
    assert list(regions) == sorted(regions)


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws:lambda:eu-west-1:111111111111:function:x", "eu-west-1"),
        ("arn:aws-cn:sns:cn-north-1:111111111111:t", "cn-north-1"),
        ("arn:aws:kms:us-east-1:111111111111:key/abc:def", "us-east-1"),
        ("arn:aws:s3:::bucket", None),
        ("alias/aws/sns", None),
        ("my-topic", None),
    ],
)
def test_region_of_arn(arn: str, region: str | None) -> None:
    assert region_of_arn(arn) == region


def test_packaged_regions_are_in_the_commercial_partition_others_are_left_to_cdk() -> None:
    assert {known_partition(region) for region in default_receiving_regions()} == {"aws"}
    assert known_partition("cn-north-1") is None
    assert known_partition("us-gov-west-1") is None
    assert known_partition(UNRESOLVED_REGION) is None


def test_override_is_sorted_and_deduplicated() -> None:
    assert resolve_receiving_regions(["us-west-2", "us-east-1", "us-west-2"]) == (
        "us-east-1",
        "us-west-2",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("us-east-1", r"must be a list of region names, not a string"),
        ([], r"receiving_regions=\[\] names no region"),
        (["useast1"], r"receiving_regions\[0\]='useast1' is not a region name"),
    ],
)
def test_fails_on_invalid_receiving_regions(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_receiving_regions(value)  # type: ignore[arg-type]


def test_receiving_region_error_lists_supported_regions() -> None:
    findings = judge_receiving_region("ap-east-1", ("eu-west-1", "us-east-1"))
    assert findings.warnings == ()
    (error,) = findings.errors
    assert "'ap-east-1' does not receive email" in error
    assert "use one of: eu-west-1, us-east-1" in error


def test_receiving_region_passes_and_warns_on_unknown() -> None:
    assert judge_receiving_region("us-east-1", ("us-east-1",)).errors == ()
    unknown = judge_receiving_region(UNRESOLVED_REGION, ("us-east-1",))
    assert unknown.errors == ()
    assert "could not run" in unknown.warnings[0]


def test_placements_in_other_regions_are_errors_naming_both_regions() -> None:
    findings = judge_placements(
        "us-east-1",
        [
            Placement("Lambda function", "Stack/Fn", "us-east-1"),
            Placement("SNS topic", "arn:aws:sns:eu-west-1:1:t", "eu-west-1"),
            Placement("SNS topic", "arn:aws:sns:eu-west-1:1:t", "eu-west-1"),
        ],
    )
    assert findings.errors == (
        "SNS topic arn:aws:sns:eu-west-1:1:t is in eu-west-1, but the receipt rule set is in "
        "us-east-1: SES uses only resources in the region of its receiving endpoint. Move it to "
        "us-east-1 or the rule set to eu-west-1.",
    )


def test_unknown_regions_warn() -> None:
    findings = judge_placements("us-east-1", [Placement("Lambda function", "F", None)])
    assert findings.errors == ()
    assert "could not run for Lambda function F" in findings.warnings[0]
    agnostic = judge_placements(UNRESOLVED_REGION, [Placement("Lambda function", "F", "eu-west-1")])
    assert agnostic.errors == ()
    assert "environment-agnostic" in agnostic.warnings[0]
