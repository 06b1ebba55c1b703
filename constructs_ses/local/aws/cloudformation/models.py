"""CloudFormation models the local AWS adds to moto's, for the resource types our stacks use.

moto 5.2 skips ``AWS::SES::ReceiptRuleSet``, ``AWS::SES::ReceiptRule``, ``AWS::SES::EmailIdentity``,
``AWS::S3::BucketPolicy``, ``AWS::SNS::TopicPolicy`` and ``AWS::CDK::Metadata`` and still reports
CREATE_COMPLETE. Here:

- rule sets, rules and email identities are SES's own (``ses_models``, imported here), so the
  SES API (``DescribeReceiptRuleSet``...) shows what a deploy made;
- bucket and topic policies are recorded on the bucket or topic (``cfn_policy``) without being
  enforced: moto enforces bucket policies ignoring their conditions, which would refuse the
  CDK's asset uploads to a bootstrap bucket that denies requests without TLS;
- ``AWS::CDK::Metadata`` is accepted and does nothing, as in AWS;
- ``AWS::Lambda::Permission`` replaces moto's model, which never changes or removes the
  function policy's statement;

``server`` imports this module before moto's server starts (moto collects the models of its
``CloudFormationModel`` subclasses once, on first use) and calls ``install()``, which keeps a KMS
key's ``KeyPolicy`` as text (moto answers ``GetKeyPolicy`` with the template's object otherwise);
``operations`` makes stack operations run as CloudFormation runs them.
"""

from __future__ import annotations

import json
import uuid
from contextlib import suppress
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends

from constructs_ses.local.aws.cloudformation.email_identity import SesEmailIdentity
from constructs_ses.local.aws.cloudformation.model_base import Model
from constructs_ses.local.aws.cloudformation.ses_models import SesReceiptRule, SesReceiptRuleSet

__all__ = [
    "CdkMetadata",
    "LambdaPermission",
    "RecordedPolicy",
    "SesEmailIdentity",
    "SesReceiptRule",
    "SesReceiptRuleSet",
    "TopicPolicy",
    "install",
]


class RecordedPolicy(Model, CloudFormationModel):
    """``AWS::S3::BucketPolicy`` and ``AWS::SNS::TopicPolicy`` (see the module): the document
    is kept as ``cfn_policy`` on each bucket or topic it names, and removed on delete."""

    def __init__(self, targets: list[Any], document: Any, logical_id: str) -> None:
        self.targets = targets
        self.document = document
        self.logical_id = logical_id
        self.physical_id = logical_id

    TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RecordedPolicy:
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        targets: list[Any]
        if cls.TYPE == "AWS::S3::BucketPolicy":
            targets = [s3_backends[account_id]["aws"].get_bucket(properties["Bucket"])]
        else:
            backend = sns_backends[account_id][region_name]
            targets = [backend.get_topic(arn) for arn in properties["Topics"]]
        for target in targets:
            target.cfn_policy = document
        return cls(targets, document, str(kwargs.get("LogicalId", resource_name)))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RecordedPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RecordedPolicy:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name,
            cloudformation_json,
            account_id,
            region_name,
            LogicalId=original_resource.logical_id,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        for target in self.targets:
            target.cfn_policy = None


class TopicPolicy(RecordedPolicy, CloudFormationModel):
    """``AWS::SNS::TopicPolicy``, recorded as ``RecordedPolicy`` records bucket policies (a
    direct subclass of ``CloudFormationModel`` too: moto finds models by direct subclasses)."""

    TYPE = "AWS::SNS::TopicPolicy"


class LambdaPermission(Model, CloudFormationModel):
    """``AWS::Lambda::Permission``: a statement of the function's policy. moto's own model adds
    the statement but never changes or removes it; here a change replaces it (every property
    is create-only in its schema) and deleting the resource removes it. ``Fn::GetAtt`` reads
    ``Id``, the statement's id."""

    TYPE = "AWS::Lambda::Permission"

    def __init__(self, function_name: str, logical_id: str, account_id: str, region: str) -> None:
        self.function_name = function_name
        self.logical_id = logical_id
        self.statement_id = f"{logical_id}-{uuid.uuid4().hex[:12]}"
        self.physical_id = f"{function_name}|{self.statement_id}"
        """``Ref``: the schema's primary identifier, ``FunctionName|Id`` (as aws-cdk-lib's
        ``permission_ref`` reads it)."""
        self.account_id = account_id
        self.region_name = region

    def attributes(self) -> dict[str, str]:
        return {"Id": self.statement_id}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaPermission:
        properties = cloudformation_json["Properties"]
        function_name = str(properties["FunctionName"])
        logical_id = str(kwargs.get("LogicalId", resource_name))
        permission = cls(function_name, logical_id, account_id, region_name)
        function = lambda_backends[account_id][region_name].get_function(function_name)
        statement = {key: value for key, value in properties.items() if key != "FunctionName"}
        statement["StatementId"] = permission.statement_id  # as AddPermission takes it
        function.policy.add_statement(raw=json.dumps(statement))
        return permission

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the statement; gone already is fine, as it goes with its function."""
        with suppress(Exception):
            function = lambda_backends[account_id][region_name].get_function(self.function_name)
            function.policy.del_statement(self.statement_id)


class CdkMetadata(Model, CloudFormationModel):
    """``AWS::CDK::Metadata``: accepted, as CloudFormation accepts it, and nothing more."""

    def __init__(self, logical_id: str) -> None:
        self.logical_id = logical_id
        self.physical_id = logical_id

    TYPE = "AWS::CDK::Metadata"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CdkMetadata:
        return cls(str(kwargs.get("LogicalId", resource_name)))

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to delete."""


def _key_policy_as_text(create: Any) -> Any:
    """moto's ``AWS::KMS::Key`` creation, keeping the ``KeyPolicy`` as JSON text: moto keeps the
    template's object, which ``GetKeyPolicy`` then answers instead of the policy's text."""

    def created(
        cls: type[Key],
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        properties = cloudformation_json["Properties"]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties = {**properties, "KeyPolicy": json.dumps(properties["KeyPolicy"])}
        template = {**cloudformation_json, "Properties": properties}
        key: Key = create(resource_name, template, account_id, region_name, **kwargs)
        return key

    created.keeps_text = True  # type: ignore[attr-defined]
    return classmethod(created)


def install() -> None:
    """Fix what moto's own models get wrong for our stacks (once): a KMS key's policy."""
    create = Key.create_from_cloudformation_json
    if not getattr(create, "keeps_text", False):
        Key.create_from_cloudformation_json = _key_policy_as_text(create)  # type: ignore[method-assign]
