"""MailFunction: a role without managed policies, its own log group, no redundant DependsOn."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from constructs_ses import MailFunction
from constructs_ses.acknowledgements import reference_text

from conftest import logical_id, new_stack

CODE = "def handler(event, context):\n    return None\n"


class Built:
    """A MailFunction with defaults, and one that was granted read access to a bucket."""

    def __init__(self) -> None:
        self.stack = new_stack()
        self.plain = MailFunction(
            self.stack, "Plain", handler="index.handler", code=lambda_.Code.from_inline(CODE)
        )
        self.reader = MailFunction(
            self.stack, "Reader", handler="index.handler", code=lambda_.Code.from_inline(CODE)
        )
        s3.Bucket(self.stack, "Bucket").grant_read(self.reader)
        self.template = Template.from_stack(self.stack)
        self.resources: dict[str, Any] = self.template.to_json()["Resources"]

    def logical_id(self, construct: Any) -> str:
        return logical_id(self.stack, construct)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def test_role_has_no_managed_policy_and_writes_only_its_own_log_group(built: Built) -> None:
    role = built.resources[built.logical_id(built.plain.execution_role)]
    assert "ManagedPolicyArns" not in role["Properties"]
    logs_id = built.logical_id(built.plain.log_group)
    (policy,) = [
        r
        for r in built.resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        and r["Properties"]["Roles"] == [{"Ref": built.logical_id(built.plain.execution_role)}]
    ]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logs_id, "Arn"]},
        }
    ]


def test_function_logs_to_its_own_group_and_runs_python_on_arm(built: Built) -> None:
    function = built.resources[built.logical_id(built.plain)]["Properties"]
    assert function["LoggingConfig"] == {
        "LogGroup": {"Ref": built.logical_id(built.plain.log_group)}
    }
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Timeout"] == 10
    built.template.has_resource(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 731}, "DeletionPolicy": "Retain"}
    )


@pytest.mark.parametrize("name", ["plain", "reader"])
def test_function_depends_on_its_role_policy_but_not_the_role_it_references(
    built: Built, name: str
) -> None:
    function = getattr(built, name)
    rendered = built.resources[built.logical_id(function)]
    role_id = built.logical_id(function.execution_role)
    assert rendered["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    (policy_id,) = [
        k
        for k, r in built.resources.items()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    assert rendered["DependsOn"] == [policy_id]


def test_grants_reach_the_role(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["s3:GetObject*"])})]
                )
            },
            "Roles": [{"Ref": built.logical_id(built.reader.execution_role)}],
        },
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("*", "*"),
        ({"Fn::GetAtt": ["Bucket1", "Arn"]}, "<Bucket1.Arn>"),
        ({"Ref": "AWS::Partition"}, "<AWS::Partition>"),
        (
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1", "Arn"]}, "/in/*"]]},
            "<Bucket1.Arn>/in/*",
        ),
        (
            {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "s3", "", "", "b/*"]]},
            "arn:<AWS::Partition>:s3:::b/*",
        ),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}, "arn:<AWS::Partition>:s3:::b/*"),
        ({"Fn::ImportValue": "Exported"}, "Exported"),
        ({"Fn::Select": [0, ["a"]]}, '{"Fn::Select":[0,["a"]]}'),
    ],
)
def test_resources_are_named_as_findings_name_them(value: Any, text: str) -> None:
    assert reference_text(value) == text
