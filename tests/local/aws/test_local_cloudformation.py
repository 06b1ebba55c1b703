"""The local AWS's CloudFormation as CloudFormation behaves, with raw templates through change
sets as the CDK CLI sends them.

What is expected comes from the CloudFormation registry's resource schemas (cfn-lint ships them)
and the CloudFormation User Guide ("Stack status codes", "Resource status codes", "Update
behaviors of stack resources", "Choose how to handle failures when provisioning resources",
"Fn::GetAtt", "Ref", "DependsOn attribute") and API Reference (CreateChangeSet,
ExecuteChangeSet, ContinueUpdateRollback, RollbackStack).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from constructs_ses.local.aws.cloudformation.schemas import schema_of
from constructs_ses.local.aws.local_aws import LocalAws

from conftest import ACCOUNT, REGION

CHANGE_SET = "cdk-deploy-change-set"
NUMBERS = itertools.count(1)

ANSWERING = """
import json, time, urllib.request

def handler(event, context):
    properties = event["ResourceProperties"]
    time.sleep(float(properties.get("Sleep", 0)))
    failing = event["RequestType"] == "Update" and properties["Version"] == properties.get("FailAt")
    answer = {
        "Status": "FAILED" if failing else "SUCCESS",
        "Reason": "refused version " + properties["Version"],
        "PhysicalResourceId": "thing",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(answer).encode(), method="PUT"
    )
    urllib.request.urlopen(request).close()
"""


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        yield local


def name(prefix: str) -> str:
    """A stack name not used before in this module's local AWS."""
    return f"{prefix}{next(NUMBERS)}"


def topic(display: Any = "made", **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": display}, **extra}


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Resources": resources}
    if outputs:
        body["Outputs"] = {key: {"Value": value} for key, value in outputs.items()}
    return body


def change_set(
    aws: LocalAws, stack: str, body: dict[str, Any], kind: str, *, name: str = CHANGE_SET
) -> None:
    """CreateChangeSet of ``body`` for ``stack``, as the CDK CLI sends it."""
    aws.client("cloudformation").create_change_set(
        StackName=stack, ChangeSetName=name, ChangeSetType=kind, TemplateBody=json.dumps(body)
    )


def execute(
    aws: LocalAws,
    stack: str,
    body: dict[str, Any],
    kind: str = "CREATE",
    *,
    disable_rollback: bool = False,
) -> dict[str, Any]:
    """Create, then execute, a change set of ``body`` for ``stack``; the stack as described."""
    change_set(aws, stack, body, kind)
    aws.client("cloudformation").execute_change_set(
        StackName=stack, ChangeSetName=CHANGE_SET, DisableRollback=disable_rollback
    )
    return described(aws, stack)


def described(aws: LocalAws, stack: str) -> dict[str, Any]:
    (found,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return dict(found)


def events(aws: LocalAws, stack: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of the stack's events, oldest first."""
    listed = aws.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
        for e in reversed(listed)
    ]


def topic_names(aws: LocalAws) -> set[str]:
    return {t["TopicArn"].rsplit(":", 1)[1] for t in aws.client("sns").list_topics()["Topics"]}


def physical(aws: LocalAws, stack: str, logical_id: str) -> str:
    resources = aws.client("cloudformation").describe_stack_resources(StackName=stack)
    (found,) = [r for r in resources["StackResources"] if r["LogicalResourceId"] == logical_id]
    return str(found["PhysicalResourceId"])


def refusal(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Message"])


RULE_SET = {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {}}


def rule(**rule_properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SES::ReceiptRule",
        "Properties": {"RuleSetName": {"Ref": "RuleSet"}, "Rule": rule_properties},
    }


@pytest.mark.parametrize(
    ("resources", "outputs", "message"),
    [
        (
            {"Made": topic(DependsOn="Missing")},
            None,
            "Template format error: Unresolved resource dependencies [Missing] in the Resources "
            "block of the template",
        ),
        (
            {"Made": topic(), "Other": topic({"Fn::GetAtt": ["Nowhere", "TopicName"]})},
            None,
            "Template format error: Unresolved resource dependencies [Nowhere] in the Resources "
            "block of the template",
        ),
        (
            {"Made": topic()},
            {"Out": {"Ref": "Nowhere"}},
            "Template format error: Unresolved resource dependencies [Nowhere] in the Outputs "
            "block of the template",
        ),
        (
            {"RuleSet": RULE_SET},
            {"Out": {"Fn::GetAtt": ["RuleSet", "Arn"]}},
            "Template error: resource RuleSet does not support attribute type Arn in Fn::GetAtt",
        ),
        (
            {"Made": topic(), "Odd": {"Type": "AWS::SES::Nope", "Properties": {}}},
            None,
            "Template format error: Unrecognized resource types: [AWS::SES::Nope]",
        ),
        (
            {"A": topic(DependsOn="B"), "B": topic({"Fn::GetAtt": ["A", "TopicName"]})},
            None,
            "Circular dependency between resources: [A, B]",
        ),
        ({}, None, "Template format error: At least one Resources member must be defined."),
    ],
    ids=[
        "missing DependsOn",
        "missing GetAtt target",
        "missing Ref in Outputs",
        "attribute the type lacks",
        "unknown type",
        "circular",
        "no resources",
    ],
)
def test_fails_to_create_a_change_set_of_a_template_cloudformation_refuses(
    aws: LocalAws, resources: dict[str, Any], outputs: dict[str, Any] | None, message: str
) -> None:
    stack = name("Refused")
    body = template(resources, outputs)
    with pytest.raises(ClientError) as error:
        change_set(aws, stack, body, "CREATE")
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert refusal(error) == message
    with pytest.raises(ClientError):
        described(aws, stack)  # nothing was made


PERMISSION = {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": "some-function"}}


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        (PERMISSION, "[#: required key [Action] not found, #: required key [Principal] not found]"),
        (
            rule(TlsPolicy="Sometimes"),
            "#/Rule/TlsPolicy: failed validation constraint for keyword [enum]",
        ),
        (
            rule(Actions=[{"StopAction": {}}]),
            "#/Rule/Actions/0/StopAction: required key [Scope] not found",
        ),
        (
            rule(Actions=[{"LambdaAction": {"FunctionArn": "arn", "InvocationType": "Sync"}}]),
            "#/Rule/Actions/0/LambdaAction/InvocationType: failed validation constraint for "
            "keyword [enum]",
        ),
        (
            {"Type": "AWS::SES::ReceiptRule", "Properties": {"RuleSetName": "x"}},
            "#: required key [Rule] not found",
        ),
        (
            {"Type": "AWS::SES::EmailIdentity", "Properties": {}},
            "#: required key [EmailIdentity] not found",
        ),
        (
            {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "x" * 300}},
            "#/TopicName: expected maxLength: 256, actual: 300",
        ),
    ],
    ids=[
        "permission",
        "tls policy",
        "stop scope",
        "invocation type",
        "no rule",
        "identity",
        "length",
    ],
)
def test_fails_a_resource_against_its_schema_and_rolls_the_create_back(
    aws: LocalAws, failing: dict[str, Any], message: str
) -> None:
    stack = name("Invalid")
    made = topic(f"made-{stack}")
    body = template(
        {"RuleSet": RULE_SET, "Made": made, "Failing": {**failing, "DependsOn": "Made"}}
    )
    before = topic_names(aws)
    result = execute(aws, stack, body)
    assert result["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = f"Properties validation failed for resource Failing with message: {message}"
    seen = events(aws, stack)
    assert ("Failing", "CREATE_FAILED", reason) in seen
    assert (
        stack,
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [Failing]. Rollback requested by user.",
    ) in seen
    assert ("Made", "DELETE_COMPLETE", "") in seen
    assert topic_names(aws) == before
    assert aws.client("ses").list_receipt_rule_sets()["RuleSets"] == [] or all(
        not each["Name"].startswith(stack)
        for each in aws.client("ses").list_receipt_rule_sets()["RuleSets"]
    )


def test_a_stack_whose_create_rolled_back_can_only_be_deleted(aws: LocalAws) -> None:
    stack = name("RolledBack")
    execute(aws, stack, template({"Failing": PERMISSION}))
    cloudformation = aws.client("cloudformation")
    with pytest.raises(ClientError) as error:
        change_set(aws, stack, template({"Made": topic()}), "UPDATE", name="again")
    assert "is in ROLLBACK_COMPLETE state and can not be updated." in refusal(error)
    cloudformation.delete_stack(StackName=stack)
    with pytest.raises(ClientError):
        described(aws, stack)


def test_without_rollback_a_failed_create_keeps_what_it_made_until_rollback_stack(
    aws: LocalAws,
) -> None:
    stack = name("Kept")
    body = template(
        {"Made": topic(f"kept-{stack}"), "Failing": {**PERMISSION, "DependsOn": "Made"}}
    )
    result = execute(aws, stack, body, disable_rollback=True)
    assert result["StackStatus"] == "CREATE_FAILED"
    kept = physical(aws, stack, "Made")
    assert kept.rsplit(":", 1)[1] in topic_names(aws)
    aws.client("cloudformation").rollback_stack(StackName=stack)
    assert described(aws, stack)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert kept.rsplit(":", 1)[1] not in topic_names(aws)


def display_name(aws: LocalAws, arn: str) -> str:
    attributes = aws.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    return str(attributes.get("DisplayName", ""))


def test_a_failed_update_restores_the_previous_template_s_resources_and_properties(
    aws: LocalAws,
) -> None:
    stack = name("Restored")
    first = template(
        {
            "Kept": topic("one"),
            "RuleSet": {
                "Type": "AWS::SES::ReceiptRuleSet",
                "Properties": {"RuleSetName": f"{stack}-one"},
            },
        }
    )
    assert execute(aws, stack, first)["StackStatus"] == "CREATE_COMPLETE"
    kept = physical(aws, stack, "Kept")
    second = template(
        {
            "Kept": topic("two"),
            "RuleSet": {
                "Type": "AWS::SES::ReceiptRuleSet",
                "Properties": {"RuleSetName": f"{stack}-two"},
            },
            "Added": topic("added"),
            "Failing": {**rule(TlsPolicy="Sometimes"), "DependsOn": ["Added", "Kept"]},
        }
    )
    before = topic_names(aws)
    result = execute(aws, stack, second, "UPDATE")
    assert result["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert display_name(aws, kept) == "one"
    assert topic_names(aws) == before - {n for n in before if "Added" in n}
    rule_sets = {s["Name"] for s in aws.client("ses").list_receipt_rule_sets()["RuleSets"]}
    assert f"{stack}-one" in rule_sets and f"{stack}-two" not in rule_sets
    seen = events(aws, stack)
    assert (
        "RuleSet",
        "UPDATE_IN_PROGRESS",
        "Requested update requires the creation of a new physical resource; hence creating one.",
    ) in seen
    assert (stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "") in seen
    body = aws.client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    assert (json.loads(body) if isinstance(body, str) else body) == first


def test_an_update_replaces_on_a_create_only_change_and_updates_in_place_otherwise(
    aws: LocalAws,
) -> None:
    stack = name("Replaced")
    named = {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {"RuleSetName": f"{stack}-a"}}
    execute(aws, stack, template({"RuleSet": named, "Kept": topic("one")}))
    kept = physical(aws, stack, "Kept")
    renamed = {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {"RuleSetName": f"{stack}-b"}}
    result = execute(aws, stack, template({"RuleSet": renamed, "Kept": topic("two")}), "UPDATE")
    assert result["StackStatus"] == "UPDATE_COMPLETE"
    rule_sets = {s["Name"] for s in aws.client("ses").list_receipt_rule_sets()["RuleSets"]}
    assert f"{stack}-b" in rule_sets and f"{stack}-a" not in rule_sets
    assert physical(aws, stack, "Kept") == kept and display_name(aws, kept) == "two"
    assert ("RuleSet", "DELETE_COMPLETE", "") in events(aws, stack)


def test_fails_to_replace_a_custom_named_resource_under_its_name(aws: LocalAws) -> None:
    stack = name("SameName")
    first = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": f"{stack}-t", "FifoTopic": False},
    }
    execute(aws, stack, template({"Named": first}))
    second = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": f"{stack}-t", "FifoTopic": True},
    }
    assert execute(aws, stack, template({"Named": second}), "UPDATE")["StackStatus"] == (
        "UPDATE_ROLLBACK_COMPLETE"
    )
    reasons = [
        reason for logical, status, reason in events(aws, stack) if status == "UPDATE_FAILED"
    ]
    assert reasons == [
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
        f"Rename arn:aws:sns:{REGION}:{ACCOUNT}:{stack}-t and update the stack again."
    ]


def test_get_att_reads_the_schema_s_read_only_properties_and_ref_its_identifier(
    aws: LocalAws,
) -> None:
    stack = name("Attributes")
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"{stack}-fn",
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
        },
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    grant = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": "Function"},
            "Action": "lambda:InvokeFunction",
            "Principal": "ses.amazonaws.com",
        },
    }
    outputs = {
        "RuleName": {"Fn::GetAtt": ["Rule", "RuleName"]},
        "RuleRef": {"Ref": "Rule"},
        "RuleNameFromRef": {"Fn::Select": [0, {"Fn::Split": ["|", {"Ref": "Rule"}]}]},
        "GrantId": {"Fn::GetAtt": ["Grant", "Id"]},
        "GrantRef": {"Ref": "Grant"},
        "RuleSetRef": {"Ref": "RuleSet"},
    }
    body = template(
        {
            "RuleSet": RULE_SET,
            "Rule": rule(Name="support"),
            "Role": role,
            "Function": function,
            "Grant": grant,
        },
        outputs,
    )
    assert execute(aws, stack, body)["StackStatus"] == "CREATE_COMPLETE"
    values = {o["OutputKey"]: o["OutputValue"] for o in described(aws, stack)["Outputs"]}
    statement_ids = [
        s["Sid"]
        for s in json.loads(aws.client("lambda").get_policy(FunctionName=f"{stack}-fn")["Policy"])[
            "Statement"
        ]
    ]
    # "Ref": the rule's name ("AWS::SES::ReceiptRule", User Guide); the permission's primary
    # identifier FunctionName|Id, as aws-cdk-lib's permission_ref splits it
    assert values["RuleName"] == values["RuleRef"] == values["RuleNameFromRef"] == "support"
    assert statement_ids == [values["GrantId"]]
    assert values["GrantRef"] == f"{stack}-fn|{values['GrantId']}"
    assert values["RuleSetRef"] == physical(aws, stack, "RuleSet")


def test_fails_an_output_that_selects_past_the_end_and_rolls_back(aws: LocalAws) -> None:
    stack = name("Select")
    outputs = {"RuleSetOfRule": {"Fn::Select": [1, {"Fn::Split": ["|", {"Ref": "Rule"}]}]}}
    body = template({"RuleSet": RULE_SET, "Rule": rule(Name="support")}, outputs)
    assert execute(aws, stack, body)["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [r for _, status, r in events(aws, stack) if status == "ROLLBACK_IN_PROGRESS"]
    assert reasons == [
        "Template error: Fn::Select cannot select nonexistent value. Rollback requested by user."
    ]


def custom_stack(
    version: str, *, sleep: float = 0, fail_at: str = "", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Lambda-backed custom resource (ANSWERING) with ``Version``; its Update fails when the
    version is ``fail_at``; it sleeps ``sleep`` seconds before answering."""
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
    }
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Timeout": 30,
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": ANSWERING},
        },
    }
    thing = {
        "Type": "Custom::Thing",
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
            "Version": version,
            "Sleep": str(sleep),
            "FailAt": fail_at,
        },
    }
    return template({"Role": role, "Function": function, "Thing": thing, **(extra or {})})


def test_continue_update_rollback_goes_on_past_a_resource_that_failed_its_rollback(
    aws: LocalAws,
) -> None:
    stack = name("Continued")
    assert execute(aws, stack, custom_stack("1", fail_at="1"))["StackStatus"] == "CREATE_COMPLETE"
    failing = {**rule(TlsPolicy="Sometimes"), "DependsOn": "Thing"}
    second = custom_stack("2", fail_at="1", extra={"RuleSet": RULE_SET, "Failing": failing})
    assert execute(aws, stack, second, "UPDATE")["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    cloudformation = aws.client("cloudformation")
    with pytest.raises(ClientError) as error:
        change_set(aws, stack, custom_stack("3"), "UPDATE", name="meanwhile")
    assert "is in UPDATE_ROLLBACK_FAILED state and can not be updated." in refusal(error)
    cloudformation.continue_update_rollback(StackName=stack, ResourcesToSkip=["Thing"])
    assert described(aws, stack)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert ("Thing", "UPDATE_COMPLETE", "Resource skipped during UpdateRollback") in events(
        aws, stack
    )
    assert "RuleSet" not in {
        r["LogicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    }


def test_one_operation_runs_on_a_stack_at_a_time(aws: LocalAws) -> None:
    """ "Stack:<id> is in CREATE_IN_PROGRESS state and can not be updated." for a change set
    while the stack's create runs, and a CREATE change set for its name is refused."""
    stack = name("Busy")
    cloudformation = aws.client("cloudformation")
    change_set(aws, stack, custom_stack("1", sleep=3), "CREATE")
    running = threading.Thread(
        target=cloudformation.execute_change_set,
        kwargs={"StackName": stack, "ChangeSetName": CHANGE_SET},
    )
    running.start()
    deadline = time.monotonic() + 20
    while described(aws, stack)["StackStatus"] != "CREATE_IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(ClientError) as update:
        change_set(aws, stack, custom_stack("2"), "UPDATE", name="second")
    with pytest.raises(ClientError) as create:
        change_set(aws, stack, custom_stack("2"), "CREATE", name="third")
    with pytest.raises(ClientError) as delete:
        cloudformation.delete_stack(StackName=stack)
    running.join(timeout=60)
    stack_id = described(aws, stack)["StackId"]
    assert (
        refusal(update)
        == f"Stack:{stack_id} is in CREATE_IN_PROGRESS state and can not be updated."
    )
    assert refusal(create) == (
        f"Stack [{stack}] already exists and cannot be created again with the changeSet [third]."
    )
    assert "CREATE_IN_PROGRESS" in refusal(delete)
    assert described(aws, stack)["StackStatus"] == "CREATE_COMPLETE"
    summaries = cloudformation.list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in summaries if s["StackName"] == stack] == ["CREATE_COMPLETE"]


def test_any_number_of_unchanged_change_sets_in_a_row(aws: LocalAws) -> None:
    stack = name("Unchanged")
    body = template({"Made": topic()})
    execute(aws, stack, body)
    cloudformation = aws.client("cloudformation")
    for _ in range(3):
        change_set(aws, stack, body, "UPDATE")
        unchanged = cloudformation.describe_change_set(StackName=stack, ChangeSetName=CHANGE_SET)
        assert unchanged["Status"] == "FAILED"
        assert "didn't contain changes" in unchanged["StatusReason"]
        cloudformation.delete_change_set(StackName=stack, ChangeSetName=CHANGE_SET)
    with pytest.raises(ClientError) as error:
        cloudformation.describe_change_set(StackName=stack, ChangeSetName=CHANGE_SET)
    assert error.value.response["Error"]["Code"] == "ChangeSetNotFound"


def app_templates() -> list[dict[str, Any]]:
    """The templates of the example app and of the every-option stack."""
    import aws_cdk as cdk  # noqa: PLC0415

    from conftest import cdk_json_context  # noqa: PLC0415
    from scenarios import every_option_stack, example_stack  # noqa: PLC0415

    app = cdk.App(context=cdk_json_context())
    stacks = [example_stack(app), every_option_stack(app)]
    assembly = app.synth()
    return [assembly.get_stack_by_name(stack.stack_name).template for stack in stacks]


def test_every_type_the_apps_use_has_its_schema_and_a_model_reading_what_get_att_asks() -> None:
    """Each resource type of the example and every-option apps exists in the region's
    registry, and every ``Fn::GetAtt`` of their templates names an attribute its schema lets
    ``Fn::GetAtt`` read and its model here answers (moto's, or ours)."""
    from moto.cloudformation.parsing import resource_class_from_type  # noqa: PLC0415

    from constructs_ses.local.aws.cloudformation import models  # noqa: F401, PLC0415
    from constructs_ses.local.aws.cloudformation.template_graph import (  # noqa: PLC0415
        referenced,
    )

    checked = set()
    for body in app_templates():
        resources = body["Resources"]
        for resource in resources.values():
            assert schema_of(resource["Type"], REGION) is not None, resource["Type"]
        for name, attribute in referenced({**resources, **body.get("Outputs", {})}):
            if attribute is None or name not in resources:
                continue
            kind = resources[name]["Type"]
            schema = schema_of(kind, REGION)
            assert schema is not None and schema.has_attribute(attribute), (kind, attribute)
            model = resource_class_from_type(kind)
            assert model is not None and model.has_cfn_attr(attribute), (kind, attribute)
            checked.add((kind, attribute))
    assert ("AWS::Lambda::Function", "Arn") in checked
    assert any(kind == "AWS::SES::EmailIdentity" for kind, _ in checked)


@pytest.mark.parametrize(
    "kind",
    [
        "AWS::SES::ReceiptRule",
        "AWS::Lambda::Permission",
        "AWS::SES::ReceiptRuleSet",
        "AWS::SES::EmailIdentity",
    ],
)
def test_the_modelled_types_answer_every_attribute_their_schema_lets_get_att_read(
    kind: str,
) -> None:
    from moto.cloudformation.parsing import resource_class_from_type  # noqa: PLC0415

    from constructs_ses.local.aws.cloudformation import models  # noqa: F401, PLC0415

    schema = schema_of(kind, REGION)
    assert schema is not None
    model = resource_class_from_type(kind)
    assert all(model.has_cfn_attr(attribute) for attribute in schema.attributes)
    assert not model.has_cfn_attr("NoSuchAttribute")


def test_events_never_show_a_write_only_property(aws: LocalAws) -> None:
    """``writeOnlyProperties`` ("Resource type schema"): an identity's DKIM private key."""
    stack = name("WriteOnly")
    key = "MIIB" + "A" * 60
    signing = {"DomainSigningSelector": "mail2026", "DomainSigningPrivateKey": key}
    identity = {
        "Type": "AWS::SES::EmailIdentity",
        "Properties": {
            "EmailIdentity": f"{stack.lower()}.example",
            "DkimSigningAttributes": signing,
        },
    }
    execute(aws, stack, template({"Identity": identity}))
    listed = aws.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    shown = [e["ResourceProperties"] for e in listed if e["LogicalResourceId"] == "Identity"]
    assert shown and all(key not in each for each in shown)
    assert any("mail2026" not in each and "DkimSigningAttributes" in each for each in shown)
