"""`cdk bootstrap`, `cdk deploy` and `cdk destroy` with the pinned CLI against a local AWS
(``constructs_ses.testing.LocalAws``), verified through the SES, Lambda, SNS and S3 APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses

from constructs_ses.local.cli import main as cli
from constructs_ses.testing import LocalAws

from conftest import ACCOUNT, REGION, REPO, cdk_cli, cdk_json_context, inline_function
from scenarios import example_stack, load_app_module


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    """A local AWS, bootstrapped as `cdk bootstrap` does it."""
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        result = cdk_cli("bootstrap", f"aws://{ACCOUNT}/{REGION}", env=local.env)
        assert result.returncode == 0, result.stdout + result.stderr
        yield local


@pytest.fixture(scope="module")
def example_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, synthesized once (deployed with ``--app`` this directory)."""
    out = tmp_path_factory.mktemp("example.out")
    app = cdk.App(context=cdk_json_context(), outdir=str(out))
    example_stack(app)
    app.synth()
    return out


def test_bootstrap_makes_the_cdk_toolkit_stack(aws: LocalAws) -> None:
    (stack,) = aws.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_the_example_app_deploys_and_destroys(aws: LocalAws, example_assembly: Path) -> None:
    app = ["--app", str(example_assembly)]
    deployed = cdk_cli("deploy", *app, "--require-approval", "never", "InboundMail", env=aws.env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    ses = aws.client("ses")
    (rule_set,) = ses.list_receipt_rule_sets()["RuleSets"]
    rules = ses.describe_receipt_rule_set(RuleSetName=rule_set["Name"])["Rules"]
    assert [rule["Name"] for rule in rules] == ["Filter", "Support"]  # After: Filter first
    filter_rule, support = rules
    assert filter_rule["Enabled"] and filter_rule["Recipients"] == ["example.com"]
    (filter_action,) = filter_rule["Actions"]
    assert filter_action["LambdaAction"]["InvocationType"] == "RequestResponse"
    stored, handed_on = support["Actions"]
    assert stored["S3Action"]["ObjectKeyPrefix"] == "support/"
    functions = aws.client("lambda").list_functions()["Functions"]
    arns = {function["FunctionArn"] for function in functions}
    assert {
        filter_action["LambdaAction"]["FunctionArn"],
        handed_on["LambdaAction"]["FunctionArn"],
    } <= arns
    buckets = [bucket["Name"] for bucket in aws.client("s3").list_buckets()["Buckets"]]
    assert stored["S3Action"]["BucketName"] in buckets
    topics = [topic["TopicArn"] for topic in aws.client("sns").list_topics()["Topics"]]
    assert handed_on["LambdaAction"]["TopicArn"] in topics

    destroyed = cdk_cli("destroy", *app, "--force", "InboundMail", env=aws.env)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert ses.list_receipt_rule_sets()["RuleSets"] == []


def test_deploy_command_prints_rules_in_order_actions_and_permissions(
    example_assembly: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cdk = str(REPO / "node_modules" / ".bin" / "cdk")
    assert cli(["deploy", "--assembly", str(example_assembly), "--cdk", cdk]) == 0
    output = capfd.readouterr().out
    lines = [line.strip() for line in output.splitlines()]
    rules = [line for line in lines if line.startswith("rule ") and " set " not in line]
    assert rules == [
        "rule Filter (enabled) for example.com",
        "rule Support (enabled) for support@example.com",
    ]
    assert any(
        line.startswith("S3: BucketName=") and "ObjectKeyPrefix=support/" in line for line in lines
    )
    permissions = [line for line in lines if line.startswith("permission: ")]
    assert len(permissions) == 2
    assert all('"Principal": {"Service": "ses.amazonaws.com"}' in line for line in permissions)
    assert all(f'"AWS:SourceAccount": "{ACCOUNT}"' in line for line in permissions)  # the stack's


def l1_rule_stack(
    outdir: Path, name: str, *, permission: bool, depends_on: bool
) -> tuple[Path, str]:
    """A rule set whose rule (an L1 resource, made before its permission, so first in the
    template) invokes a function; with or without the permission, with or without the rule's
    DependsOn on it. The synthesized assembly and the stack's name."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = cdk.Stack(app, name, env=cdk.Environment(account=ACCOUNT, region=REGION))
    function = inline_function(stack)
    rule_set = ses.CfnReceiptRuleSet(stack, "RuleSet", rule_set_name=f"{name}-rules")
    rule = ses.CfnReceiptRule(
        stack,
        "Rule",
        rule_set_name=rule_set.ref,
        rule=ses.CfnReceiptRule.RuleProperty(
            name="invoke",
            enabled=True,
            actions=[
                ses.CfnReceiptRule.ActionProperty(
                    lambda_action=ses.CfnReceiptRule.LambdaActionProperty(
                        function_arn=function.function_arn, invocation_type="Event"
                    )
                )
            ],
        ),
    )
    if permission:
        allowed = lambda_.CfnPermission(
            stack,
            "SesMayInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="ses.amazonaws.com",
            source_account=ACCOUNT,
            source_arn=f"arn:aws:ses:{REGION}:{ACCOUNT}:receipt-rule-set/{name}-rules"
            ":receipt-rule/invoke",
        )
        if depends_on:
            rule.add_dependency(allowed)
    app.synth()
    return outdir, name


@pytest.mark.parametrize(
    ("permission", "depends_on", "deploys"),
    [(True, True, True), (False, False, False), (True, False, False)],
    ids=["with permission and DependsOn", "fails without permission", "fails without DependsOn"],
)
def test_a_rule_deploys_only_once_ses_may_invoke_its_function(
    aws: LocalAws, tmp_path: Path, permission: bool, depends_on: bool, deploys: bool
) -> None:
    """SES refuses a rule whose function it may not invoke; CloudFormation creates the
    permission first only when the rule DependsOn it."""
    name = f"Rule{'P' if permission else ''}{'D' if depends_on else ''}"
    out, stack = l1_rule_stack(tmp_path, name, permission=permission, depends_on=depends_on)
    deployed = cdk_cli(
        "deploy", "--app", str(out), "--require-approval", "never", stack, env=aws.env
    )
    output = deployed.stdout + deployed.stderr
    assert (deployed.returncode == 0) == deploys, output
    if deploys:
        rules = aws.client("ses").describe_receipt_rule_set(RuleSetName=f"{name}-rules")["Rules"]
        assert [rule["Name"] for rule in rules] == ["invoke"]
    else:
        assert "does not let ses.amazonaws.com invoke it" in output, output


@pytest.fixture
def fresh_aws() -> Iterator[LocalAws]:
    """A bootstrapped local AWS of its own (see the README: after other stacks were deployed to
    and destroyed in the same local AWS, an update has been seen to hang)."""
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        result = cdk_cli("bootstrap", f"aws://{ACCOUNT}/{REGION}", env=local.env)
        assert result.returncode == 0, result.stdout + result.stderr
        yield local


def test_a_redeploy_changes_the_rules_recipients_in_place(
    fresh_aws: LocalAws, tmp_path: Path
) -> None:
    """An update (a change set on an existing stack, the bootstrap version passed with
    UsePreviousValue) updates the rules SES holds."""
    aws = fresh_aws
    for domain in ("example.com", "mail.example.org"):
        out = tmp_path / domain
        app = cdk.App(context=cdk_json_context(), outdir=str(out))
        load_app_module().InboundMailStack(
            app, "Redeployed", domain=domain, env=cdk.Environment(account=ACCOUNT, region=REGION)
        )
        app.synth()
        deployed = cdk_cli(
            "deploy", "--app", str(out), "--require-approval", "never", "Redeployed", env=aws.env
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        ses = aws.client("ses")
        (name,) = [
            rule_set["Name"]
            for rule_set in ses.list_receipt_rule_sets()["RuleSets"]
            if rule_set["Name"].startswith("Redeployed-")
        ]
        rules = ses.describe_receipt_rule_set(RuleSetName=name)["Rules"]
        recipients = [(rule["Name"], rule["Recipients"]) for rule in rules]
        assert recipients == [("Filter", [domain]), ("Support", [f"support@{domain}"])]
