"""The SES resource types moto's CloudFormation skips: ``AWS::SES::ReceiptRuleSet`` and
``AWS::SES::ReceiptRule``, created, updated and deleted through moto's SES backend (a rule after
its ``After`` rule, or first, as ``CreateReceiptRule`` places it; "AWS::SES::ReceiptRule",
CloudFormation User Guide), refused as SES refuses a rule whose actions it could not use
(``ses_checks``). ``AWS::SES::EmailIdentity`` is ``email_identity``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ses.models import ses_backends

from constructs_ses.local.aws.cloudformation.model_base import Model
from constructs_ses.local.aws.cloudformation.ses_checks import check_rule_grants

__all__ = ["SesReceiptRule", "SesReceiptRuleSet"]


class SesReceiptRuleSet(Model, CloudFormationModel):
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

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].delete_receipt_rule_set(self.name)


class SesReceiptRule(Model, CloudFormationModel):
    """``AWS::SES::ReceiptRule``: ``Ref`` is the rule's name (``Rule.Name``, or one made up
    as CloudFormation does when it has none)."""

    def __init__(self, rule_set: str, rule: dict[str, Any], account_id: str, region: str) -> None:
        self.rule_set = rule_set
        self.rule = rule
        self.physical_id = str(rule["Name"])
        self.account_id = account_id
        self.region_name = region

    TYPE = "AWS::SES::ReceiptRule"

    def attributes(self) -> dict[str, str]:
        return {"RuleName": str(self.rule["Name"])}

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
        """``UpdateReceiptRule``; a new ``After`` moves the rule (deleted and made again in its
        new place). A new name or rule set replaces it: create-only in its schema."""
        properties = cloudformation_json["Properties"]
        rule = _rule_of(properties, str(original_resource.rule["Name"]))
        if properties.get("After") != original_resource.after():
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


def _rule_of(properties: Mapping[str, Any], default_name: str) -> dict[str, Any]:
    """The rule as SES's API takes it: ``Enabled`` false and ``Name`` ``default_name`` unless
    the template says otherwise (CloudFormation names an unnamed rule itself)."""
    rule = {"Enabled": False, **properties["Rule"]}
    rule.setdefault("Name", default_name)
    return rule
