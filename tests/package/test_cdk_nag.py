"""cdk-nag's AwsSolutions pack finds nothing unacknowledged in the gated configurations."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from conftest import cdk_json_context, new_stack
from scenarios import every_option_stack, example_stack

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


@dataclass(frozen=True)
class Checked:
    """An app synthesized under the AwsSolutions pack."""

    findings: list[str]
    acknowledgements: dict[str, dict[str, str]]  # construct path -> {finding id: reason}


def check(build: Callable[[cdk.App], Any], outdir: Path) -> Checked:
    """Synthesize the app ``build`` makes under AwsSolutions; findings and acknowledgements."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    build(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    report = json.loads((outdir / "validation-report.json").read_text())
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    acknowledgements: dict[str, dict[str, str]] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED:
                acknowledgements.setdefault(construct.node.path, {}).update(entry.data)
    return Checked(findings, acknowledgements)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return check(example_stack, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def every_option(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return check(every_option_stack, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(params=["example", "every_option"])
def checked(request: pytest.FixtureRequest) -> Checked:
    result: Checked = request.getfixturevalue(request.param)
    return result


def test_nothing_is_left_unacknowledged(checked: Checked) -> None:
    assert checked.findings == []


def test_each_acknowledgement_names_one_finding_and_says_why(checked: Checked) -> None:
    for path, acknowledged in checked.acknowledgements.items():
        for finding, reason in acknowledged.items():
            assert finding.startswith("AwsSolutions::AwsSolutions-"), (path, finding)
            assert len(reason.split()) >= 12, (path, finding, reason)


def acknowledged_by_the_constructs(checked: Checked) -> dict[str, list[str]]:
    return {
        path: sorted(acknowledged)
        for path, acknowledged in checked.acknowledgements.items()
        if "/Inbound/" in path
    }


def test_the_constructs_acknowledge_only_wildcards_in_resources(checked: Checked) -> None:
    for path, findings in acknowledged_by_the_constructs(checked).items():
        for finding in findings:
            assert finding.startswith("AwsSolutions::AwsSolutions-IAM5[Resource::"), path
            assert finding.endswith("*]"), path


def test_the_constructs_acknowledge_what_ses_makes_necessary(every_option: Checked) -> None:
    acknowledged = acknowledged_by_the_constructs(every_option)
    assert sorted(acknowledged) == [
        "Mail/Inbound/Activation/RuleSetAccess",
        "Mail/Inbound/Support/FunctionRole",
    ]
    # SetActiveReceiptRuleSet has no resource-level permissions.
    assert acknowledged["Mail/Inbound/Activation/RuleSetAccess"] == [
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
    ]
    # SES names each stored message prefix + messageId: the grant is the prefix's objects.
    (stored,) = acknowledged["Mail/Inbound/Support/FunctionRole"]
    assert re.fullmatch(r".*\[Resource::<Archive\w+\.Arn>/support/\*\]", stored), stored


def test_the_example_app_acknowledges_nothing_itself(example: Checked) -> None:
    """Outside the constructs, only the grant ``bucket=`` gives the app's own function (to read
    the messages stored under its prefix) is acknowledged, by the constructs."""
    outside = {k: v for k, v in example.acknowledgements.items() if "/Inbound/" not in k}
    assert list(outside) == ["InboundMail/TicketsRole"]
    ((finding, reason),) = outside["InboundMail/TicketsRole"].items()
    assert re.fullmatch(r".*\[Resource::<Archive\w+\.Arn>/support/\*\]", finding), finding
    assert reason.startswith("SES stores each message as <object_key_prefix><messageId>")


def test_fails_for_a_bucket_without_logging_or_tls(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        s3.Bucket(new_stack(app), "Plain")

    findings = check(build, tmp_path).findings
    assert [f.split()[0] for f in findings] == ["AwsSolutions-S1", "AwsSolutions-S10"]
