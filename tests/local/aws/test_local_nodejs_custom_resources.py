"""aws-cdk-lib's own Node.js custom resources in a local deploy: their handlers run under AWS's
runtime client for Node.js, make their SDK calls against the local AWS and answer
CloudFormation ("Custom resources", CloudFormation User Guide)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from test_local_deploy import aws, deploy, destroy, synthesized

from constructs_ses.testing import LocalAws

from conftest import new_stack

__all__ = ["aws"]  # the module's local AWS, bootstrapped


def auto_deleted_stack(name: str, bucket: str) -> Callable[[cdk.App], None]:
    """A bucket with ``auto_delete_objects`` (the CDK's Node.js provider empties it before
    CloudFormation deletes it) and an ``AwsCustomResource`` that puts an object in it."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, name)
        kept = s3.Bucket(
            stack,
            "Bucket",
            bucket_name=bucket,
            auto_delete_objects=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        put = cr.AwsCustomResource(
            stack,
            "Hello",
            on_create=cr.AwsSdkCall(
                service="S3",
                action="putObject",
                parameters={"Bucket": kept.bucket_name, "Key": "hello.txt", "Body": "hello"},
                physical_resource_id=cr.PhysicalResourceId.of("hello"),
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        put.node.add_dependency(kept)
        cdk.CfnOutput(stack, "ETag", value=put.get_response_field("ETag"))

    return build


def test_auto_delete_objects_and_an_aws_custom_resource_deploy_and_destroy(
    aws: LocalAws, tmp_path: Path
) -> None:
    assembly = synthesized(tmp_path, auto_deleted_stack("NodeCustom", "auto-deleted"))
    deployed = deploy(aws, assembly, "NodeCustom")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    s3_client = aws.client("s3")
    body = s3_client.get_object(Bucket="auto-deleted", Key="hello.txt")["Body"].read()
    assert body == b"hello"
    s3_client.put_object(Bucket="auto-deleted", Key="later.txt", Body=b"added after the deploy")
    (described,) = aws.client("cloudformation").describe_stacks(StackName="NodeCustom")["Stacks"]
    (etag,) = [output["OutputValue"] for output in described["Outputs"]]
    assert etag == s3_client.head_object(Bucket="auto-deleted", Key="hello.txt")["ETag"]
    destroy(aws, assembly, "NodeCustom")
    buckets = [bucket["Name"] for bucket in s3_client.list_buckets()["Buckets"]]
    assert "auto-deleted" not in buckets


ON_EVENT = """
def handler(event, context):
    version = event["ResourceProperties"]["Version"]
    if event["RequestType"] == "Delete":
        return {}
    return {"PhysicalResourceId": "thing-" + version, "Data": {"Echo": "v" + version}}
"""


def provider_stack(name: str, version: int) -> Callable[[cdk.App], None]:
    """A custom resource of aws-cdk-lib's Provider framework (its Node.js functions), whose
    onEvent handler is a Python function the framework invokes through the local Lambda."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, name)
        on_event = lambda_.Function(
            stack,
            "OnEvent",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline(ON_EVENT),
        )
        provider = cr.Provider(stack, "Provider", on_event_handler=on_event)
        thing = cdk.CustomResource(
            stack, "Thing", service_token=provider.service_token, properties={"Version": version}
        )
        cdk.CfnOutput(stack, "Echo", value=thing.get_att_string("Echo"))

    return build


def test_the_provider_framework_invokes_its_on_event_handler(aws: LocalAws, tmp_path: Path) -> None:
    cloudformation = aws.client("cloudformation")
    for version in (1, 2):
        assembly = synthesized(tmp_path / str(version), provider_stack("Provided", version))
        deployed = deploy(aws, assembly, "Provided")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        (described,) = cloudformation.describe_stacks(StackName="Provided")["Stacks"]
        assert [output["OutputValue"] for output in described["Outputs"]] == [f"v{version}"]
    destroy(aws, assembly, "Provided")


IS_COMPLETE = """
import boto3

def handler(event, context):
    ssm = boto3.client("ssm")
    name = "/polls/" + event["LogicalResourceId"]
    try:
        polls = int(ssm.get_parameter(Name=name)["Parameter"]["Value"]) + 1
    except ssm.exceptions.ParameterNotFound:
        polls = 1
    ssm.put_parameter(Name=name, Value=str(polls), Type="String", Overwrite=True)
    if polls < 2:
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": {"Polls": str(polls)}}
"""


def test_the_provider_framework_polls_its_is_complete_handler(
    aws: LocalAws, tmp_path: Path
) -> None:
    """With an isComplete handler the framework's onEvent starts its waiter state machine, which
    calls isComplete until it answers true (here at the second poll)."""

    def build(app: cdk.App) -> None:
        stack = new_stack(app, "Polled")
        on_event = lambda_.Function(
            stack,
            "OnEvent",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline(ON_EVENT),
        )
        is_complete = lambda_.Function(
            stack,
            "IsComplete",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline(IS_COMPLETE),
        )
        provider = cr.Provider(
            stack,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=cdk.Duration.seconds(1),
        )
        thing = cdk.CustomResource(
            stack, "Thing", service_token=provider.service_token, properties={"Version": 1}
        )
        cdk.CfnOutput(stack, "Polls", value=thing.get_att_string("Polls"))

    assembly = synthesized(tmp_path, build)
    deployed = deploy(aws, assembly, "Polled")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    (described,) = aws.client("cloudformation").describe_stacks(StackName="Polled")["Stacks"]
    assert [output["OutputValue"] for output in described["Outputs"]] == ["2"]
