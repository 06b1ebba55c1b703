"""CloudFormation models the local AWS adds to moto's, for the resource types our stacks use.

moto 5.2 skips ``AWS::SES::ReceiptRuleSet``, ``AWS::SES::ReceiptRule``, ``AWS::S3::BucketPolicy``,
``AWS::SNS::TopicPolicy`` and ``AWS::CDK::Metadata`` and still reports CREATE_COMPLETE. Here:

- rule sets and rules are created, updated and deleted through moto's SES backend, so the SES
  API (``DescribeReceiptRuleSet``...) shows what a deploy made; a rule goes after its ``After``
  rule, or first without one, as ``CreateReceiptRule`` places it ("AWS::SES::ReceiptRule",
  CloudFormation User Guide);
- bucket and topic policies are recorded on the bucket or topic (``cfn_policy``) without being
  enforced: moto enforces bucket policies ignoring their conditions, which would refuse the
  CDK's asset uploads to a bootstrap bucket that denies requests without TLS;
- ``AWS::CDK::Metadata`` is accepted and does nothing, as in AWS.

Imported by ``aws_server`` before moto's server starts (moto collects the models of its
``CloudFormationModel`` subclasses once, on first use).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

__all__ = ["CdkMetadata", "RecordedPolicy", "SesReceiptRule", "SesReceiptRuleSet", "TopicPolicy"]


class SesReceiptRuleSet(CloudFormationModel):
    """``AWS::SES::ReceiptRuleSet``: ``Ref`` is its name."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "RuleSetName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SES::ReceiptRuleSet"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.name

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
        created = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return created

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].delete_receipt_rule_set(self.name)


class SesReceiptRule(CloudFormationModel):
    """``AWS::SES::ReceiptRule``: ``Ref`` is the rule's name (``Rule.Name``, or one made up
    as CloudFormation does when it has none)."""

    def __init__(self, rule_set: str, rule: dict[str, Any], account_id: str, region: str) -> None:
        self.rule_set = rule_set
        self.rule = rule
        self.account_id = account_id
        self.region_name = region

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SES::ReceiptRule"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return str(self.rule["Name"])

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
        rule = {"Enabled": False, **properties["Rule"]}
        rule.setdefault("Name", resource_name)
        rule_set = str(properties["RuleSetName"])
        after = properties.get("After")
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
        rule = {"Enabled": False, **properties["Rule"]}
        rule.setdefault("Name", original_resource.rule["Name"])
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


class RecordedPolicy(CloudFormationModel):
    """``AWS::S3::BucketPolicy`` and ``AWS::SNS::TopicPolicy`` (see the module): the document
    is kept as ``cfn_policy`` on each bucket or topic it names, and removed on delete."""

    def __init__(self, kind: str, targets: list[Any], document: Any, logical_id: str) -> None:
        self.kind = kind
        self.targets = targets
        self.document = document
        self.logical_id = logical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.logical_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RecordedPolicy:
        kind = str(kwargs.get("ResourceType", cloudformation_json.get("Type")))
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        targets: list[Any]
        if kind == "AWS::S3::BucketPolicy":
            targets = [s3_backends[account_id]["aws"].get_bucket(properties["Bucket"])]
        else:
            backend = sns_backends[account_id][region_name]
            targets = [backend.get_topic(arn) for arn in properties["Topics"]]
        for target in targets:
            target.cfn_policy = document
        return cls(kind, targets, document, str(kwargs.get("LogicalId", resource_name)))

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
            ResourceType=original_resource.kind,
            LogicalId=original_resource.logical_id,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        for target in self.targets:
            target.cfn_policy = None


class TopicPolicy(RecordedPolicy, CloudFormationModel):
    """``AWS::SNS::TopicPolicy``, recorded as ``RecordedPolicy`` records bucket policies (a
    direct subclass of ``CloudFormationModel`` too: moto finds models by direct subclasses)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"


class CdkMetadata(CloudFormationModel):
    """``AWS::CDK::Metadata``: accepted, as CloudFormation accepts it, and nothing more."""

    def __init__(self, logical_id: str) -> None:
        self.logical_id = logical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CDK::Metadata"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.logical_id

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
