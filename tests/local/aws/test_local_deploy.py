"""`cdk bootstrap`, `cdk deploy` and `cdk destroy` with the pinned CLI against a local AWS
(``constructs_ses.testing.LocalAws``), verified through the SES, Lambda, SNS and S3 APIs."""

from __future__ import annotations

import errno
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from jsonschema import Draft7Validator
from test_local_flow import MESSAGE
from test_local_host_aws import HOST_SETTINGS, KINDS, set_host

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.local import MailFlow
from constructs_ses.local.aws.deploy import deploy_locally, deployed_rule_sets
from constructs_ses.local.aws.local_aws import without_host_aws_settings
from constructs_ses.testing import LocalAws

from conftest import (
    ACCOUNT,
    REGION,
    REPO,
    cdk_cli,
    cdk_json_context,
    inline_function,
    new_stack,
)
from scenarios import every_option_stack, example_stack


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """A local AWS, bootstrapped as `cdk bootstrap` does it (outside the repository, whose
    cdk.json would have the CLI synthesize app.py into its cdk.out)."""
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        result = cdk_cli(
            "bootstrap",
            f"aws://{ACCOUNT}/{REGION}",
            cwd=tmp_path_factory.mktemp("bootstrap"),
            env=local.env,
        )
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


def test_the_example_app_deploys_and_destroys(
    aws: LocalAws, example_assembly: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Deployed as ``python -m constructs_ses.local deploy`` (``make deploy-local``) deploys it,
    here to the tests' local AWS; what it prints is what the SES, Lambda, SNS and S3 APIs show."""
    cdk = str(REPO / "node_modules" / ".bin" / "cdk")
    assert deploy_locally(str(example_assembly), cdk=cdk, aws=aws) == 0
    lines = [line.strip() for line in capfd.readouterr().out.splitlines()]
    ses = aws.client("ses")
    (rule_set,) = stack_rule_sets(aws, "InboundMail")
    rules = ses.describe_receipt_rule_set(RuleSetName=rule_set)["Rules"]
    assert [rule["Name"] for rule in rules] == ["Filter", "Leads", "Support"]  # in After order
    filter_rule, leads, support = rules
    assert filter_rule["Enabled"] and filter_rule["Recipients"] == ["example.com"]
    (filter_action,) = filter_rule["Actions"]
    assert filter_action["LambdaAction"]["InvocationType"] == "RequestResponse"
    (leads_action,) = leads["Actions"]
    stored, handed_on = support["Actions"]
    assert stored["S3Action"]["ObjectKeyPrefix"] == "support/"
    functions = aws.client("lambda").list_functions()["Functions"]
    arns = {function["FunctionArn"] for function in functions}
    assert {
        filter_action["LambdaAction"]["FunctionArn"],
        leads_action["LambdaAction"]["FunctionArn"],
        handed_on["LambdaAction"]["FunctionArn"],
    } <= arns
    runtimes = {function["FunctionArn"]: function["Runtime"] for function in functions}
    assert runtimes[leads_action["LambdaAction"]["FunctionArn"]] == "nodejs24.x"
    buckets = [bucket["Name"] for bucket in aws.client("s3").list_buckets()["Buckets"]]
    assert stored["S3Action"]["BucketName"] in buckets
    topics = [topic["TopicArn"] for topic in aws.client("sns").list_topics()["Topics"]]
    assert handed_on["LambdaAction"]["TopicArn"] in topics

    printed_rules = [line for line in lines if line.startswith("rule ") and " set " not in line]
    assert printed_rules == [
        "rule Filter (enabled) for example.com",
        "rule Leads (enabled) for sales@example.com",
        "rule Support (enabled) for support@example.com",
    ]
    assert any(
        line.startswith("S3: BucketName=") and "ObjectKeyPrefix=support/" in line for line in lines
    )
    permissions = [line for line in lines if line.startswith("permission: ")]
    assert len(permissions) == 3  # the filter's, the leads' and the tickets' functions
    assert all('"Principal": {"Service": "ses.amazonaws.com"}' in line for line in permissions)
    assert all(f'"AWS:SourceAccount": "{ACCOUNT}"' in line for line in permissions)  # the stack's
    assert not any('"FunctionName"' in line for line in permissions)  # as Lambda's GetPolicy

    (identity_line,) = [line for line in lines if line.startswith("identity ")]
    assert identity_line.startswith("identity example.com (domain, verification SUCCESS, DKIM")
    # no hosted zone: the domain's identity, and its records as the stack's outputs
    (described,) = aws.client("cloudformation").describe_stacks(StackName="InboundMail")["Stacks"]
    published = {each["Description"]: each["OutputValue"] for each in described["Outputs"]}
    tokens = aws.client("sesv2").get_email_identity(EmailIdentity="example.com")["DkimAttributes"][
        "Tokens"
    ]
    assert {key: value for key, value in published.items() if "example.com" in key} == {
        "Publish for example.com: MX record with this value": (
            f"10 inbound-smtp.{REGION}.amazonaws.com"
        ),
        **{
            f"Publish for example.com: name of DKIM CNAME record {n}": (
                f"{token}._domainkey.example.com"
            )
            for n, token in enumerate(tokens, start=1)
        },
        **{
            f"Publish for example.com: value of DKIM CNAME record {n}": (
                f"{token}.dkim.amazonses.com"
            )
            for n, token in enumerate(tokens, start=1)
        },
    }

    destroy(aws, example_assembly, "InboundMail")
    assert stack_rule_sets(aws, "InboundMail") == []


WRITER = """
import os
from written import FILE_NAME
def handler(event, context):
    try:
        with open(FILE_NAME, "w") as out:  # beside its code, in its working directory
            out.write(event["Records"][0]["ses"]["mail"]["messageId"])
    except OSError as error:  # a read-only task root, as Lambda's
        return {"disposition": "CONTINUE", "refused": error.errno}
    return {"disposition": "CONTINUE", "wrote": os.path.abspath(FILE_NAME)}
"""
"""A function of two modules, one importing the other, that writes a file next to its code
(or says why it could not)."""


@pytest.fixture(scope="module")
def writing_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rule of the packaged handler template, then one of a directory asset (``WRITER``)."""
    code = tmp_path_factory.mktemp("writer-code")
    (code / "writer.py").write_text(WRITER)
    (code / "written.py").write_text('FILE_NAME = "written.txt"\n')

    def build(app: cdk.App) -> None:
        stack = new_stack(app, "Writing")
        mail = InboundEmail(stack, "Inbound")
        mail.add_lambda_rule(
            "Filter", recipients=["example.com"], invocation_type=InvocationType.REQUEST_RESPONSE
        )
        writer = lambda_.Function(
            stack,
            "Writer",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="writer.handler",
            code=lambda_.Code.from_asset(str(code)),
        )
        mail.add_lambda_rule(
            "Write",
            recipients=["write@example.com"],
            function=writer,
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )

    return synthesized(tmp_path_factory.mktemp("writing.out"), build)


def files_and_times(directory: Path) -> dict[str, int]:
    """Every file and folder under ``directory``, with its modification time."""
    return {
        str(path.relative_to(directory)): path.lstat().st_mtime_ns for path in directory.rglob("*")
    }


def test_the_flow_and_a_local_deploy_leave_the_assembly_as_synthesized(
    aws: LocalAws, writing_assembly: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``cdk deploy`` would upload stays what was synthesized: no bytecode, no file a
    function wrote beside its code, no zip the CLI packed (``make run``, ``make demo``, ``make
    deploy-local``); and a ``cdk.json`` where the deploy starts is not synthesized."""
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "touch synthesized"}))
    monkeypatch.chdir(tmp_path)
    synthesized_files = files_and_times(writing_assembly)
    assert any(name.endswith("/handler.py") for name in synthesized_files)  # the template's
    for sandbox in (None, False):  # the asset read-only in a sandbox, else a copy of it
        with MailFlow.from_assembly(writing_assembly, sandbox=sandbox) as flow:
            for _ in range(2):  # the second through warm workers
                delivery = flow.deliver(MESSAGE, recipients=["write@example.com"])
                assert [i.error for i in delivery.invocations] == [None, None], delivery.trace()
                filtered, written = delivery.invocations
                assert filtered.function != written.function
                assert filtered.answer == {"disposition": "CONTINUE"}, filtered.logs
                if flow.runtime.isolation.sandboxed:
                    assert written.answer["refused"] == errno.EROFS
                    continue
                wrote = Path(written.answer["wrote"])
                assert wrote.read_text() == delivery.message_id
                assert writing_assembly.resolve() not in wrote.resolve().parents
    cdk = str(REPO / "node_modules" / ".bin" / "cdk")
    assert deploy_locally(str(writing_assembly), cdk=cdk, aws=aws) == 0
    destroy(aws, writing_assembly, "Writing")
    assert files_and_times(writing_assembly) == synthesized_files
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cdk.json"]


def host_settings_stack(app: cdk.App) -> None:
    """One rule set, one rule invoking an inline function (no asset to publish)."""
    stack = new_stack(app, "HostSettings")
    mail = InboundEmail(stack, "Inbound", rule_set_name="host-settings")
    mail.add_lambda_rule("Only", recipients=["only@example.com"], function=inline_function(stack))


def test_a_local_deploy_and_what_it_prints_ignore_the_host_s_aws_settings(
    aws: LocalAws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Deployed with every kind of the host's AWS settings at once; then printed with each."""
    assembly = synthesized(tmp_path / "cdk.out", host_settings_stack)
    cdk = str(REPO / "node_modules" / ".bin" / "cdk")
    for kind in KINDS:
        set_host(monkeypatch, HOST_SETTINGS[kind](tmp_path))
    assert deploy_locally(str(assembly), cdk=cdk, aws=aws) == 0
    printed = capfd.readouterr().out
    monkeypatch.undo()
    try:
        assert "rule Only (enabled) for only@example.com" in printed
        for kind in KINDS:
            with monkeypatch.context() as host:
                set_host(host, HOST_SETTINGS[kind](tmp_path))
                lines = list(deployed_rule_sets(aws))
            start = lines.index("rule set host-settings")
            assert lines[start + 1] == "  rule Only (enabled) for only@example.com", kind
            assert lines[start + 3].startswith("      permission: "), kind
    finally:
        destroy(aws, assembly, "HostSettings")


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


def synthesized(outdir: Path, build: Callable[[cdk.App], object]) -> Path:
    """The assembly of an app that ``build`` fills, synthesized into ``outdir``."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    build(app)
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def example_zone(aws: LocalAws) -> str:
    """The id of a Route 53 hosted zone of example.com in the local AWS."""
    zone = aws.client("route53").create_hosted_zone(Name="example.com", CallerReference="tests")
    return str(zone["HostedZone"]["Id"]).rpartition("/")[2]


@pytest.fixture(scope="module")
def every_option_assembly(tmp_path_factory: pytest.TempPathFactory, example_zone: str) -> Path:
    return synthesized(
        tmp_path_factory.mktemp("every-option.out"),
        partial(every_option_stack, hosted_zone_id=example_zone),
    )


def zone_records(aws: LocalAws, zone: str) -> dict[tuple[str, str], list[str]]:
    """The zone's records, other than its own NS and SOA: (name, type) -> values."""
    found = aws.client("route53").list_resource_record_sets(HostedZoneId=zone)
    return {
        (each["Name"], each["Type"]): [value["Value"] for value in each["ResourceRecords"]]
        for each in found["ResourceRecordSets"]
        if each["Type"] not in ("NS", "SOA")
    }


def replacing_stack(app: cdk.App) -> None:
    """One rule with activate=True and replace_active_rule_set=True."""
    stack = new_stack(app, "Replacing")
    mail = InboundEmail(stack, "Inbound", activate=True, replace_active_rule_set=True)
    mail.add_lambda_rule("Only", recipients=["only@example.com"], function=inline_function(stack))


def deploy(aws: LocalAws, assembly: Path, stack: str) -> subprocess.CompletedProcess[str]:
    return cdk_cli(
        "deploy", "--app", str(assembly), "--require-approval", "never", stack, env=aws.env
    )


def destroy(aws: LocalAws, assembly: Path, stack: str) -> None:
    destroyed = cdk_cli("destroy", "--app", str(assembly), "--force", stack, env=aws.env)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr


def active_rule_set(aws: LocalAws) -> str | None:
    metadata = aws.client("ses").describe_active_receipt_rule_set().get("Metadata") or {}
    name = metadata.get("Name")
    return str(name) if name else None


def stack_rule_sets(aws: LocalAws, stack: str) -> list[str]:
    rule_sets = aws.client("ses").list_receipt_rule_sets()["RuleSets"]
    return [each["Name"] for each in rule_sets if each["Name"].startswith(f"{stack}-")]


@pytest.fixture
def other_active(aws: LocalAws) -> Iterator[str]:
    """A rule set of someone else's, active while the test runs; removed after it."""
    ses = aws.client("ses")
    ses.create_receipt_rule_set(RuleSetName="someone-elses")
    ses.set_active_receipt_rule_set(RuleSetName="someone-elses")
    yield "someone-elses"
    ses.set_active_receipt_rule_set()
    ses.delete_receipt_rule_set(RuleSetName="someone-elses")


def refs_against_their_schemas(aws: LocalAws, stack: str) -> list[str]:
    """Each of ``stack``'s resources whose ``Ref`` (its physical id) is not what its type's
    ``Ref`` is, as cfn-lint's registry data describes it (type, pattern, length, and the
    ``format``: an ``...Arn`` is an ARN, a ``...Name`` or ``...Id`` is not)."""
    cloudformation = aws.client("cloudformation")
    resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    wrong = []
    for resource in resources:
        kind, value = resource["ResourceType"], resource["PhysicalResourceId"]
        described = PROVIDER_SCHEMA_MANAGER.get_type_ref(kind, REGION)
        shape = {key: item for key, item in described.items() if key != "format"}
        wanted_arn = str(described.get("format", "")).endswith(".Arn")
        problems = list(Draft7Validator(shape).iter_errors(value))
        if problems or (value.startswith("arn:") != wanted_arn and "format" in described):
            wrong.append(f"{kind} {resource['LogicalResourceId']}: {value!r} against {described}")
    assert {r["ResourceType"] for r in resources} >= {"AWS::SNS::Topic", "AWS::S3::Bucket"}
    return wrong


def test_every_option_deploys_activated_and_destroys_deactivated(
    aws: LocalAws, every_option_assembly: Path, example_zone: str
) -> None:
    """Activation (the custom resource's own code, run by the local Lambda runtime), drop-spam,
    S3 storage with a prefix, a KMS-encrypted topic, a created topic, and a receiving domain
    with its identity and records in a hosted zone."""
    deployed = deploy(aws, every_option_assembly, "Mail")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    (name,) = stack_rule_sets(aws, "Mail")
    assert active_rule_set(aws) == name
    ses = aws.client("ses")
    described = ses.describe_receipt_rule_set(RuleSetName=name)["Rules"]
    rules = {rule["Name"]: rule for rule in described}
    assert list(rules) == ["DropSpam", "Support", "Sales"]
    stored, invoked = rules["Support"]["Actions"]
    assert stored["S3Action"]["ObjectKeyPrefix"] == "support/"
    sns_client = aws.client("sns")
    alerts = sns_client.get_topic_attributes(TopicArn=invoked["LambdaAction"]["TopicArn"])
    key_arn = alerts["Attributes"]["KmsMasterKeyId"]
    key_policy = aws.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    assert "ses.amazonaws.com" in key_policy
    (sales,) = rules["Sales"]["Actions"]
    sns_client.get_topic_attributes(TopicArn=sales["LambdaAction"]["TopicArn"])
    # example.com: its identity with Easy DKIM's three tokens, their CNAMEs and the MX record
    identity = aws.client("sesv2").get_email_identity(EmailIdentity="example.com")
    assert identity["IdentityType"] == "DOMAIN" and identity["VerificationStatus"] == "SUCCESS"
    tokens = identity["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3 and all(re.fullmatch("[a-z0-9]{32}", token) for token in tokens)
    expected = {
        (f"{token}._domainkey.example.com.", "CNAME"): [f"{token}.dkim.amazonses.com"]
        for token in tokens
    }
    expected[("example.com.", "MX")] = [f"10 inbound-smtp.{REGION}.amazonaws.com"]
    assert zone_records(aws, example_zone) == expected
    assert refs_against_their_schemas(aws, "Mail") == []

    destroy(aws, every_option_assembly, "Mail")
    assert active_rule_set(aws) is None
    assert stack_rule_sets(aws, "Mail") == []
    assert zone_records(aws, example_zone) == {}
    listed = aws.client("sesv2").list_email_identities()["EmailIdentities"]
    assert "example.com" not in [each["IdentityName"] for each in listed]


def test_fails_to_activate_while_another_rule_set_is_active(
    aws: LocalAws, every_option_assembly: Path, other_active: str
) -> None:
    deployed = deploy(aws, every_option_assembly, "Mail")
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output
    assert f"rule set '{other_active}' is the active receipt rule set" in output, output
    assert "replace_active_rule_set=True" in output, output
    assert active_rule_set(aws) == other_active

    destroy(aws, every_option_assembly, "Mail")
    assert stack_rule_sets(aws, "Mail") == []
    functions = aws.client("lambda").list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions if f["FunctionName"].startswith("Mail-")] == []
    assert active_rule_set(aws) == other_active


def test_replace_active_rule_set_replaces_the_active_one(
    aws: LocalAws, tmp_path: Path, other_active: str
) -> None:
    assembly = synthesized(tmp_path, replacing_stack)
    deployed = deploy(aws, assembly, "Replacing")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    (name,) = stack_rule_sets(aws, "Replacing")
    assert active_rule_set(aws) == name

    destroy(aws, assembly, "Replacing")
    assert active_rule_set(aws) is None  # ours was active: deactivated, not given back
    assert stack_rule_sets(aws, "Replacing") == []


def test_destroy_leaves_a_rule_set_activated_since_alone(
    aws: LocalAws, every_option_assembly: Path
) -> None:
    deployed = deploy(aws, every_option_assembly, "Mail")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    ses = aws.client("ses")
    ses.create_receipt_rule_set(RuleSetName="activated-since")
    ses.set_active_receipt_rule_set(RuleSetName="activated-since")
    try:
        destroy(aws, every_option_assembly, "Mail")
        assert active_rule_set(aws) == "activated-since"
        assert stack_rule_sets(aws, "Mail") == []
    finally:
        ses.set_active_receipt_rule_set()
        ses.delete_receipt_rule_set(RuleSetName="activated-since")


def versioned_stack(version: int) -> Callable[[cdk.App], None]:
    """Version 1: rules A, B, C in rule set versioned-1. Version 2: the rule set renamed
    versioned-2, A for other recipients, B removed, C renamed, D added (activated in both)."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, "Versioned")
        function = inline_function(stack)
        mail = InboundEmail(stack, "Inbound", rule_set_name=f"versioned-{version}", activate=True)
        first = ["a@example.com"] if version == 1 else ["a@example.org"]
        mail.add_lambda_rule("A", recipients=first, function=function)
        if version == 1:
            mail.add_lambda_rule("B", recipients=["b@example.com"], function=function)
        renamed = "C" if version == 1 else "Renamed"
        mail.add_lambda_rule(
            "C", rule_name=renamed, recipients=["c@example.com"], function=function
        )
        if version == 2:
            mail.add_lambda_rule("D", recipients=["d@example.com"], function=function)

    return build


def test_a_redeploy_renames_the_rule_set_and_changes_adds_removes_and_renames_rules(
    aws: LocalAws, tmp_path: Path
) -> None:
    expected = {
        1: [("A", ["a@example.com"]), ("B", ["b@example.com"]), ("C", ["c@example.com"])],
        2: [("A", ["a@example.org"]), ("Renamed", ["c@example.com"]), ("D", ["d@example.com"])],
    }
    for version, rules in expected.items():
        assembly = synthesized(tmp_path / str(version), versioned_stack(version))
        deployed = deploy(aws, assembly, "Versioned")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert stack_rule_sets(aws, "versioned") == [f"versioned-{version}"]
        ses_client = aws.client("ses")
        described = ses_client.describe_receipt_rule_set(RuleSetName=f"versioned-{version}")
        assert [(rule["Name"], rule["Recipients"]) for rule in described["Rules"]] == rules
        assert active_rule_set(aws) == f"versioned-{version}"  # the activation's Update
    destroy(aws, assembly, "Versioned")
    assert stack_rule_sets(aws, "versioned") == []
    assert active_rule_set(aws) is None


def ungranted_stack(kind: str) -> Callable[[cdk.App], None]:
    """A rule (L1) whose S3 action's bucket has no policy for SES, or whose SNS action's topic
    is encrypted with a key whose policy does not let SES use it."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, f"Ungranted{kind}")
        rule_set = ses.CfnReceiptRuleSet(stack, "RuleSet", rule_set_name=f"ungranted-{kind}")
        if kind == "Bucket":
            bucket = s3.CfnBucket(stack, "Bucket")
            action = ses.CfnReceiptRule.ActionProperty(
                s3_action=ses.CfnReceiptRule.S3ActionProperty(bucket_name=bucket.ref)
            )
        else:
            root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
            key_policy = {
                "Version": "2012-10-17",
                "Statement": [{**root, "Action": "kms:*", "Resource": "*"}],
            }
            key = kms.CfnKey(stack, "Key", key_policy=key_policy)
            topic = sns.CfnTopic(stack, "Topic", kms_master_key_id=key.attr_arn)
            action = ses.CfnReceiptRule.ActionProperty(
                sns_action=ses.CfnReceiptRule.SNSActionProperty(topic_arn=topic.ref)
            )
        ses.CfnReceiptRule(
            stack,
            "Rule",
            rule_set_name=rule_set.ref,
            rule=ses.CfnReceiptRule.RuleProperty(name="store", enabled=True, actions=[action]),
        )

    return build


@pytest.mark.parametrize(
    ("kind", "refusal"),
    [
        ("Bucket", "Could not write to bucket"),
        ("Key", "does not let ses.amazonaws.com kms:GenerateDataKey and kms:Decrypt"),
    ],
)
def test_fails_to_deploy_a_rule_ses_may_not_store_or_publish_for(
    aws: LocalAws, tmp_path: Path, kind: str, refusal: str
) -> None:
    """SES tests the bucket policy and the topic's key policy when the rule is created."""
    assembly = synthesized(tmp_path, ungranted_stack(kind))
    deployed = deploy(aws, assembly, f"Ungranted{kind}")
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output
    assert refusal in output, output


RECORDING_HANDLER = """
import json, time
import boto3, cfnresponse

def handler(event, context):
    properties = event["ResourceProperties"]
    record = {
        "type": event["RequestType"],
        "physical": event.get("PhysicalResourceId"),
        "old": event.get("OldResourceProperties", {}).get("Version"),
        "version": properties["Version"],
        "count": properties["Count"],
    }
    boto3.client("ssm").put_parameter(
        Name=f"/requests/{time.time_ns()}", Type="String", Value=json.dumps(record)
    )
    if properties.get("Answer") == "none":
        raise RuntimeError("this one never answers")
    status = cfnresponse.FAILED if properties.get("Answer") == "fail" else cfnresponse.SUCCESS
    data = {"Echo": "v" + properties["Version"]}
    physical = "thing-" + properties["Version"]
    cfnresponse.send(event, context, status, data, physical, reason="asked to fail")
"""


def custom_resource_stack(name: str, version: int, answer: str = "") -> Callable[[cdk.App], None]:
    """A custom resource whose function (inline code with ``cfnresponse``, as Lambda provides
    it) records each request in SSM and answers SUCCESS (or ``answer``: fail, none)."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, name)
        function = lambda_.Function(
            stack,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline(RECORDING_HANDLER),
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["ssm:PutParameter"], resources=["*"])
        )
        resource = cdk.CustomResource(
            stack,
            "Thing",
            service_token=function.function_arn,
            resource_type="Custom::Thing",
            properties={"Version": str(version), "Count": 3, "Answer": answer},
        )
        cdk.CfnOutput(stack, "Echo", value=resource.get_att_string("Echo"))

    return build


def recorded_requests(aws: LocalAws) -> list[dict[str, object]]:
    ssm = aws.client("ssm")
    parameters = ssm.get_parameters_by_path(Path="/requests/")["Parameters"]
    for parameter in parameters:
        ssm.delete_parameter(Name=parameter["Name"])
    ordered = sorted(parameters, key=lambda parameter: parameter["Name"])
    return [json.loads(parameter["Value"]) for parameter in ordered]


def test_a_custom_resource_gets_create_update_and_delete_from_its_own_code(
    aws: LocalAws, tmp_path: Path
) -> None:
    """ "Custom resource request objects" (CloudFormation User Guide): Create, then Update with the
    old properties and physical id, a Delete of the old physical id when the Update answered
    another one, a Delete on destroy; property values as strings; Data read by Fn::GetAtt."""
    cloudformation = aws.client("cloudformation")
    for version in (1, 2):
        assembly = synthesized(tmp_path / str(version), custom_resource_stack("Custom", version))
        deployed = deploy(aws, assembly, "Custom")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        (described,) = cloudformation.describe_stacks(StackName="Custom")["Stacks"]
        assert [output["OutputValue"] for output in described["Outputs"]] == [f"v{version}"]
    destroy(aws, assembly, "Custom")
    requests = [(r["type"], r["physical"], r["old"], r["version"]) for r in recorded_requests(aws)]
    assert requests == [
        ("Create", None, None, "1"),
        ("Update", "thing-1", "1", "2"),
        ("Delete", "thing-1", None, "1"),
        ("Delete", "thing-2", None, "2"),
    ]


@pytest.mark.parametrize(
    ("answer", "reported"),
    [
        (
            "fail",
            "Received response status [FAILED] from custom resource. Message returned: "
            "asked to fail",
        ),
        ("none", "RuntimeError: this one never answers"),
    ],
)
def test_fails_to_deploy_when_a_custom_resource_fails(
    aws: LocalAws, tmp_path: Path, answer: str, reported: str
) -> None:
    name = f"Custom{answer.title()}"
    assembly = synthesized(tmp_path, custom_resource_stack(name, 1, answer))
    deployed = deploy(aws, assembly, name)
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output
    assert reported in output, output
    assert [r["count"] for r in recorded_requests(aws)] == ["3"]


def tls_stack(name: str, tls_policy: str) -> Callable[[cdk.App], None]:
    """A topic and a rule set whose (L1) rule asks for ``tls_policy``, which the rule's schema
    allows as Optional or Require only; the rule's name and rule set name are outputs (through
    aws-cdk-lib's ``receipt_rule_ref`` and the rule's RuleName attribute)."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, name)
        kept = sns.Topic(stack, "Kept")
        rule_set = ses.CfnReceiptRuleSet(stack, "RuleSet")
        rule_set.add_dependency(kept.node.default_child)  # type: ignore[arg-type]
        rule = ses.CfnReceiptRule(
            stack,
            "Rule",
            rule_set_name=rule_set.ref,
            rule=ses.CfnReceiptRule.RuleProperty(name="tls", tls_policy=tls_policy),
        )
        cdk.CfnOutput(stack, "RuleName", value=rule.attr_rule_name)
        cdk.CfnOutput(stack, "RuleFromRef", value=rule.receipt_rule_ref.rule_name)

    return build


def stack_status(aws: LocalAws, stack: str) -> str:
    (described,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return str(described["StackStatus"])


def test_a_deploy_whose_resource_fails_rolls_back_and_the_next_deploy_starts_again(
    aws: LocalAws, tmp_path: Path
) -> None:
    """A create that fails is rolled back (ROLLBACK_COMPLETE); the CLI prints the resource's
    reason and exits non-zero, and its next deploy deletes the stack and creates it again."""
    topics_before = aws.client("sns").list_topics()["Topics"]
    failing = synthesized(tmp_path / "failing", tls_stack("Tls", "Sometimes"))
    deployed = deploy(aws, failing, "Tls")
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output
    assert (
        "Properties validation failed for resource Rule with message: "
        "#/Rule/TlsPolicy: failed validation constraint for keyword [enum]"
    ) in output, output
    assert "ROLLBACK_COMPLETE" in output, output
    assert stack_status(aws, "Tls") == "ROLLBACK_COMPLETE"
    assert aws.client("sns").list_topics()["Topics"] == topics_before
    fixed = synthesized(tmp_path / "fixed", tls_stack("Tls", "Require"))
    redeployed = deploy(aws, fixed, "Tls")
    assert redeployed.returncode == 0, redeployed.stdout + redeployed.stderr
    (described,) = aws.client("cloudformation").describe_stacks(StackName="Tls")["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}
    assert outputs == {"RuleName": "tls", "RuleFromRef": "tls"}
    destroy(aws, fixed, "Tls")


def test_no_rollback_leaves_what_the_failed_deploy_made(aws: LocalAws, tmp_path: Path) -> None:
    """``cdk deploy --no-rollback`` executes the change set with DisableRollback: the stack
    stays CREATE_FAILED with what was made, until it is destroyed."""
    failing = synthesized(tmp_path, tls_stack("TlsKept", "Sometimes"))
    deployed = cdk_cli(
        "deploy",
        "--app",
        str(failing),
        "--require-approval",
        "never",
        "--no-rollback",
        "TlsKept",
        env=aws.env,
    )
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output
    assert "Properties validation failed for resource Rule" in output, output
    assert stack_status(aws, "TlsKept") == "CREATE_FAILED"
    resources = aws.client("cloudformation").describe_stack_resources(StackName="TlsKept")
    made = {r["ResourceType"] for r in resources["StackResources"]}
    assert {"AWS::SNS::Topic", "AWS::SES::ReceiptRuleSet"} <= made
    destroy(aws, failing, "TlsKept")


def test_unchanged_deploys_in_a_row_and_concurrent_deploys_of_one_stack(
    aws: LocalAws, tmp_path: Path
) -> None:
    """Any number of unchanged deploys in a row work; of two concurrent deploys of one stack,
    CloudFormation's one-operation-at-a-time leaves one stack, whichever wins, and destroy
    removes it."""
    assembly = synthesized(tmp_path, tls_stack("Steady", "Require"))
    for _ in range(3):
        deployed = deploy(aws, assembly, "Steady")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    destroy(aws, assembly, "Steady")
    command = [
        str(REPO / "node_modules" / ".bin" / "cdk"),
        "deploy",
        "--app",
        str(assembly),
        "--require-approval",
        "never",
        "Steady",
        "--no-notices",
    ]
    environment = {**without_host_aws_settings(), **aws.env, "CDK_DISABLE_CLI_TELEMETRY": "true"}
    running = [
        subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    results = [
        (process.wait(timeout=300), process.stdout.read() if process.stdout else "")
        for process in running
    ]
    assert any(code == 0 for code, _ in results), results
    summaries = aws.client("cloudformation").list_stacks()["StackSummaries"]
    live = [
        s["StackStatus"]
        for s in summaries
        if s["StackName"] == "Steady" and s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == ["CREATE_COMPLETE"], (live, results)
    deployed = deploy(aws, assembly, "Steady")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    destroy(aws, assembly, "Steady")
    assert stack_rule_sets(aws, "Steady") == []
