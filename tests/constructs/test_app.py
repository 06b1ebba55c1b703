"""The example app, synthesized by the pinned CDK CLI exactly as `make synth` does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from conftest import cdk_cli, cdk_json_context, run
from scenarios import load_app_module


@pytest.fixture(scope="module")
def cli_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("cdk.out")
    result = cdk_cli("synth", "--quiet", "--output", str(out))
    return result, out


@pytest.fixture(scope="module")
def template(cli_synth: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    result, out = cli_synth
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads((out / "InboundMail.template.json").read_text())
    return document


def test_cdk_synth_succeeds_without_node_end_of_life_banner(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = cli_synth
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "end-of-life" not in output
    assert "not supported" not in output


def test_example_has_a_filtering_rule_a_nodejs_rule_then_a_notifying_rule(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    rules = {k: v for k, v in resources.items() if v["Type"] == "AWS::SES::ReceiptRule"}
    by_name = {v["Properties"]["Rule"]["Name"]: (k, v["Properties"]) for k, v in rules.items()}
    assert set(by_name) == {"Filter", "Leads", "Support"}
    filter_id, filter_rule = by_name["Filter"]
    leads_id, leads_rule = by_name["Leads"]
    _, support_rule = by_name["Support"]
    (leads_action,) = leads_rule["Rule"]["Actions"]
    assert leads_rule["Rule"]["Recipients"] == ["sales@example.com"]
    assert leads_action["LambdaAction"]["InvocationType"] == "RequestResponse"
    leads = resources[leads_action["LambdaAction"]["FunctionArn"]["Fn::GetAtt"][0]]["Properties"]
    assert (leads["Runtime"], leads["Handler"]) == ("nodejs24.x", "index.handler")
    assert leads_rule["After"] == {"Ref": filter_id}
    (filter_action,) = filter_rule["Rule"]["Actions"]
    store_action, support_action = support_rule["Rule"]["Actions"]
    assert filter_action["LambdaAction"]["InvocationType"] == "RequestResponse"
    assert store_action["S3Action"]["ObjectKeyPrefix"] == "support/"
    assert support_action["LambdaAction"]["InvocationType"] == "Event"
    assert "TopicArn" in support_action["LambdaAction"]
    tickets_id = support_action["LambdaAction"]["FunctionArn"]["Fn::GetAtt"][0]
    tickets = resources[tickets_id]["Properties"]
    assert tickets["Handler"] == "tickets.handler"
    variables = tickets["Environment"]["Variables"]
    assert variables["TICKETS_TOPIC_ARN"] == support_action["LambdaAction"]["TopicArn"]
    assert variables["SES_MESSAGE_BUCKET"] == store_action["S3Action"]["BucketName"]
    assert support_rule["After"] == {"Ref": leads_id}
    assert [v["Type"] for v in resources.values()].count("AWS::SES::ReceiptRuleSet") == 1


def test_example_stack_takes_region_and_domain_from_arguments() -> None:
    app_module = load_app_module()
    app = cdk.App(context=cdk_json_context())
    stack = app_module.InboundMailStack(
        app, "InboundMail", domain="mail.example.org", env=cdk.Environment(region="eu-west-1")
    )
    assert stack.region == "eu-west-1"
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::ReceiptRule", {"Rule": {"Recipients": ["support@mail.example.org"]}}
    )
    assert app_module.DEFAULT_REGION == "us-east-1"


def test_example_declares_its_domain_with_records_in_a_zone_or_as_outputs() -> None:
    app_module = load_app_module()
    app = cdk.App(context=cdk_json_context())
    env = cdk.Environment(account="111111111111", region="us-east-1")
    zoned = app_module.InboundMailStack(
        app,
        "Zoned",
        domain="mail.example.org",
        hosted_zone_id="Z0123456789EXAMPLE0000",
        zone_name="example.org",
        env=env,
    )
    template = Template.from_stack(zoned)
    template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": "mail.example.org"}
    )
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "HostedZoneId": "Z0123456789EXAMPLE0000",
            "Name": "mail.example.org.",
            "Type": "MX",
            "ResourceRecords": ["10 inbound-smtp.us-east-1.amazonaws.com"],
        },
    )
    assert len(template.find_resources("AWS::Route53::RecordSet")) == 4  # MX and 3 DKIM
    other_app = cdk.App(context=cdk_json_context())
    plain = Template.from_stack(
        app_module.InboundMailStack(other_app, "Plain", domain="example.org", env=env)
    )
    plain.resource_count_is("AWS::Route53::RecordSet", 0)
    assert len(plain.find_outputs("*", {"Description": Match.string_like_regexp("DKIM")})) == 6


def test_demo_sends_sample_mail_through_the_example_app(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, out = cli_synth
    result = run(
        [
            sys.executable,
            "-m",
            "constructs_ses.local",
            "demo",
            "--assembly",
            str(out),
            "--store",
            str(tmp_path),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Filter: Lambda" in result.stdout and "-> STOP_RULE_SET" in result.stdout
    assert "Support: Lambda InboundMail-Tickets" in result.stdout
    assert re.search(r"Leads: Lambda InboundMail-Leads\w+-\w+ -> STOP_RULE\n", result.stdout)
    assert "\tINFO\tlead " in result.stdout  # the Node.js function's log, in the trace
    assert "refused someone@unreceived.invalid: 550" in result.stdout
    for sent in (
        "a clean message to demo@example.com",
        "a clean message to sales@example.com",
        "a clean message to support@example.com",
    ):
        assert f"== {sent}\n" in result.stdout  # addresses the example's rules receive
    assert "== spam to demo@example.com (spam=FAIL)" in result.stdout
    # the round trip through the local AWS: the stored message, SES's notification and the
    # ticket the function published after reading the message back
    assert re.search(r"bucket inboundmail-archive\w+-\w+: 1 objects \(support/\w+\)", result.stdout)
    assert re.search(r"topic InboundMail-InboundSupportTopic\w+-\w+: 2 messages", result.stdout)
    topic_file = next((tmp_path / "sns").glob("InboundMail-InboundSupportTopic*.jsonl"))
    ses_note, ticket = (json.loads(line) for line in topic_file.read_text().splitlines())
    assert json.loads(ses_note["Message"])["notificationType"] == "Received"
    assert (
        json.loads(ticket["Message"])["subject"] == "Demo: a clean message to support@example.com"
    )
    assert result.stdout.rstrip().endswith("demo: every message was answered as expected")
