"""CloudFormation models the local AWS adds to moto's, for the resource types our stacks use.

moto 5.2 skips ``AWS::SES::ReceiptRuleSet``, ``AWS::SES::ReceiptRule``, ``AWS::SES::EmailIdentity``,
``AWS::S3::BucketPolicy``, ``AWS::SNS::TopicPolicy`` and ``AWS::CDK::Metadata`` and still reports
CREATE_COMPLETE. Here:

- rule sets and rules are created, updated and deleted through moto's SES backend, so the SES
  API (``DescribeReceiptRuleSet``...) shows what a deploy made; a rule goes after its ``After``
  rule, or first without one, as ``CreateReceiptRule`` places it ("AWS::SES::ReceiptRule",
  CloudFormation User Guide);
- bucket and topic policies are recorded on the bucket or topic (``cfn_policy``) without being
  enforced: moto enforces bucket policies ignoring their conditions, which would refuse the
  CDK's asset uploads to a bootstrap bucket that denies requests without TLS;
- email identities are made in moto's SES backend, a domain's with its three DKIM tokens
  (``SesEmailIdentity``);
- ``AWS::CDK::Metadata`` is accepted and does nothing, as in AWS;
- ``AWS::Lambda::Permission`` replaces moto's model, which never changes or removes the
  function policy's statement;
- like SES's ``CreateReceiptRule``, a rule is refused, failing the deploy, when SES could not use
  what its actions name (``ses_checks``).

``aws_server`` imports this module before moto's server starts (moto collects the models of its
``CloudFormationModel`` subclasses once, on first use) and calls ``install()``, which keeps a KMS
key's ``KeyPolicy`` as text (moto answers ``GetKeyPolicy`` with the template's object otherwise);
``cfn_operations`` makes stack operations
run as CloudFormation runs them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, ClassVar, Self

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key
from moto.s3.models import s3_backends
from moto.ses.exceptions import AlreadyExists
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from constructs_ses.local.aws.cloudformation.ses_checks import check_rule_grants
from constructs_ses.local.aws.ids import random_token

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


class _Model:
    """What the models here share. moto finds models among the direct subclasses of
    ``CloudFormationModel``, so each model names it beside this mixin."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    """The property that names the resource; without one moto makes a name up."""
    physical_id: str
    """What ``Ref`` returns."""
    replaces: _Model | None = None
    """The resource an update replaced with this one, deleted in the update's cleanup phase."""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # no Fn::GetAtt attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        raise NotImplementedError  # each model creates its own

    @classmethod
    def replacement(
        cls,
        original: _Model,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        """A new resource in place of ``original``, as CloudFormation replaces a resource whose
        change needs a new one; ``original`` is deleted in the update's cleanup phase."""
        created = cls.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        created.replaces = original
        return created


class SesReceiptRuleSet(_Model, CloudFormationModel):
    """``AWS::SES::ReceiptRuleSet``: ``Ref`` is its name."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.physical_id = name
        self.account_id = account_id
        self.region_name = region_name

    TYPE = "AWS::SES::ReceiptRuleSet"
    NAME_PROPERTY = "RuleSetName"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesReceiptRuleSet:
        ses_backends[account_id][region_name].create_receipt_rule_set(resource_name)
        return cls(resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesReceiptRuleSet,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesReceiptRuleSet:
        if new_resource_name == original_resource.name:
            return original_resource
        return cls.replacement(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].delete_receipt_rule_set(self.name)


class SesReceiptRule(_Model, CloudFormationModel):
    """``AWS::SES::ReceiptRule``: ``Ref`` is the rule's name (``Rule.Name``, or one made up
    as CloudFormation does when it has none)."""

    def __init__(self, rule_set: str, rule: dict[str, Any], account_id: str, region: str) -> None:
        self.rule_set = rule_set
        self.rule = rule
        self.physical_id = str(rule["Name"])
        self.account_id = account_id
        self.region_name = region

    TYPE = "AWS::SES::ReceiptRule"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesReceiptRule:
        properties = cloudformation_json["Properties"]
        rule = _rule_of(properties, resource_name)
        rule_set = str(properties["RuleSetName"])
        after = properties.get("After")
        check_rule_grants(rule, rule_set, account_id, region_name)
        ses_backends[account_id][region_name].create_receipt_rule(rule_set, rule, after)
        return cls(rule_set, rule, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesReceiptRule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesReceiptRule:
        """A new name, rule set or place replaces the rule; other changes update it."""
        properties = cloudformation_json["Properties"]
        rule = _rule_of(properties, str(original_resource.rule["Name"]))
        same_place = (
            rule["Name"] == original_resource.rule["Name"]
            and str(properties["RuleSetName"]) == original_resource.rule_set
            and properties.get("After") == original_resource.after()
        )
        if not same_place:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        check_rule_grants(rule, original_resource.rule_set, account_id, region_name)
        backend = ses_backends[account_id][region_name]
        backend.update_receipt_rule(original_resource.rule_set, rule)
        return cls(original_resource.rule_set, rule, account_id, region_name)

    def after(self) -> str | None:
        """The name of the rule before this one, or None when it is first."""
        rules = self._rules()
        names = [str(r["Name"]) for r in rules]
        index = names.index(str(self.rule["Name"])) if self.rule["Name"] in names else 0
        return names[index - 1] if index > 0 else None

    def delete(self, account_id: str, region_name: str) -> None:
        """``DeleteReceiptRule``, which moto's SES backend lacks; gone already is fine, as a
        rule goes with its rule set."""
        rules = self._rules()
        rules[:] = [r for r in rules if r["Name"] != self.rule["Name"]]

    def _rules(self) -> list[dict[str, Any]]:
        backend = ses_backends[self.account_id][self.region_name]
        rule_set = backend.receipt_rule_set.get(self.rule_set)
        return rule_set.rules if rule_set is not None else []


class RecordedPolicy(_Model, CloudFormationModel):
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


class LambdaPermission(_Model, CloudFormationModel):
    """``AWS::Lambda::Permission``: a statement of the function's policy. moto's own model adds
    the statement but never changes or removes it; here a change replaces it (CloudFormation
    replaces a permission whose properties change) and deleting the resource removes it."""

    TYPE = "AWS::Lambda::Permission"

    def __init__(self, function_name: str, logical_id: str, account_id: str, region: str) -> None:
        self.function_name = function_name
        self.logical_id = logical_id
        self.physical_id = f"{logical_id}-{uuid.uuid4().hex[:12]}"
        self.account_id = account_id
        self.region_name = region

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
        statement["StatementId"] = permission.physical_id  # as AddPermission takes it
        function.policy.add_statement(raw=json.dumps(statement))
        return permission

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaPermission,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaPermission:
        return cls.replacement(
            original_resource,
            new_resource_name,
            cloudformation_json,
            account_id,
            region_name,
            LogicalId=original_resource.logical_id,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the statement; gone already is fine, as it goes with its function."""
        with suppress(Exception):
            function = lambda_backends[account_id][region_name].get_function(self.function_name)
            function.policy.del_statement(self.physical_id)


class SesEmailIdentity(_Model, CloudFormationModel):
    """``AWS::SES::EmailIdentity``, which moto has no model for: an identity of moto's SES
    backend (SESv2's ``GetEmailIdentity`` shows it, verified at once), ``Ref`` its name. A
    domain gets Easy DKIM's three tokens, which ``Fn::GetAtt`` reads as ``DkimDNSTokenName1``..3
    (``<token>._domainkey.<domain>``) and ``DkimDNSTokenValue1``..3
    (``<token>.dkim.amazonses.com``) ("AWS::SES::EmailIdentity", CloudFormation User Guide;
    "Easy DKIM in Amazon SES", Amazon SES Developer Guide)."""

    TYPE = "AWS::SES::EmailIdentity"
    NAME_PROPERTY = "EmailIdentity"
    DKIM_TOKENS = 3

    def __init__(self, name: str, tokens: list[str], account_id: str, region: str) -> None:
        self.name = name
        self.physical_id = name
        self.tokens = tokens
        self.account_id = account_id
        self.region_name = region

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr.rstrip("123") in ("DkimDNSTokenName", "DkimDNSTokenValue")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        token = self.tokens[int(attribute_name[-1]) - 1]
        if attribute_name.startswith("DkimDNSTokenName"):
            return f"{token}._domainkey.{self.name}"
        return f"{token}.dkim.amazonses.com"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesEmailIdentity:
        name = str(cloudformation_json["Properties"].get("EmailIdentity", resource_name))
        backend = ses_backends[account_id][region_name]
        if name in backend.email_identities:
            raise AlreadyExists(f"Email identity {name} already exists.")  # as SES refuses it
        identity = backend.create_email_identity_v2(name, None, {}, None)
        tokens = [] if "@" in name else [random_token(32) for _ in range(cls.DKIM_TOKENS)]
        if tokens:
            identity.dkim_attributes.update(
                {"SigningEnabled": True, "Status": "SUCCESS", "Tokens": tokens}
            )
        return cls(name, tokens, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesEmailIdentity,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesEmailIdentity:
        name = cloudformation_json["Properties"].get("EmailIdentity", new_resource_name)
        if name == original_resource.name:
            return original_resource
        return cls.replacement(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].email_identities.pop(self.name, None)


class CdkMetadata(_Model, CloudFormationModel):
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


def _rule_of(properties: Mapping[str, Any], default_name: str) -> dict[str, Any]:
    """The rule as SES's API takes it: ``Enabled`` false and ``Name`` ``default_name`` unless
    the template says otherwise (CloudFormation names an unnamed rule itself)."""
    rule = {"Enabled": False, **properties["Rule"]}
    rule.setdefault("Name", default_name)
    return rule


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
