"""Every option at once: activation, drop-spam, stored messages, an encrypted topic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_ses.activation import ACTIVATION_RESOURCE_TYPE

from dependency_graph import dependency_cycle
from scenarios import every_option_stack


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = every_option_stack()
    document = dict(Template.from_stack(stack).to_json())
    assembly = Path(stack.node.root.outdir)  # type: ignore[attr-defined]
    document["Assets"] = sorted(p.name for p in assembly.glob("asset.*"))
    return document


def test_there_is_no_dependency_cycle(template: dict[str, Any]) -> None:
    assert dependency_cycle(template) is None


def test_fails_to_pass_a_template_with_a_cycle(template: dict[str, Any]) -> None:
    resources = dict(template["Resources"])
    rule, rule_set = (
        next(name for name, r in resources.items() if r["Type"] == kind)
        for kind in ("AWS::SES::ReceiptRule", "AWS::SES::ReceiptRuleSet")
    )
    resources[rule_set] = {**resources[rule_set], "DependsOn": [rule]}
    cycle = dependency_cycle({"Resources": resources})
    assert cycle is not None and cycle[0] == cycle[-1]


def test_every_rule_waits_for_each_grant_it_needs(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    grants = [
        name
        for name, r in resources.items()
        if r["Type"] in ("AWS::Lambda::Permission", "AWS::S3::BucketPolicy", "AWS::KMS::Key")
    ]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::SES::ReceiptRule":
            continue
        actions = json.dumps(resource["Properties"]["Rule"]["Actions"])
        needed = {g for g in grants if _grant_serves(g, resources, actions)}
        assert needed, f"{name} needs no grant?"
        assert needed <= set(resource.get("DependsOn", [])), (name, needed)


def _grant_serves(grant: str, resources: dict[str, Any], actions: str) -> bool:
    """Whether the rule whose actions are ``actions`` uses what ``grant`` opens to SES."""
    properties = resources[grant].get("Properties", {})
    kind = resources[grant]["Type"]
    if kind == "AWS::Lambda::Permission":
        return json.dumps(properties["FunctionName"]) in actions
    if kind == "AWS::S3::BucketPolicy":
        return json.dumps(properties["Bucket"]) in actions
    return any(  # a key: used by an encrypted topic the rule notifies
        r["Type"] == "AWS::SNS::Topic"
        and grant in json.dumps(r.get("Properties", {}).get("KmsMasterKeyId"))
        and json.dumps({"Ref": topic}) in actions
        for topic, r in resources.items()
    )


def test_all_parts_are_there(template: dict[str, Any]) -> None:
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::SES::ReceiptRule") == 3
    assert types.count(ACTIVATION_RESOURCE_TYPE) == 1
    assert types.count("AWS::S3::BucketPolicy") == 2  # the archive's and its access logs'
    assert len(template["Assets"]) == 2  # the handler template and the activation handler
