"""The receipt rules of a stack as CloudFormation will receive them, read in a few calls.

Every property read from aws-cdk-lib is a round trip to its Node.js process, so the checks read
each rule's properties once and resolve those of a whole stack in a single call.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aws_cdk import CfnParameter, NestedStack, Stack
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import IConstruct

__all__ = ["RenderedRule", "RenderedRuleSet", "StackContents"]


@dataclass(frozen=True)
class RenderedRule:
    """An ``AWS::SES::ReceiptRule`` with its ``Rule`` property resolved."""

    resource: ses.CfnReceiptRule
    rule_set: str
    """Its RuleSetName unresolved: the token of a rule set of the app (see ``RenderedRuleSet``),
    or the name of a rule set made elsewhere."""
    body: Mapping[str, Any]
    """The resolved ``Rule``: ``name``, ``recipients``, ``actions``..."""


@dataclass(frozen=True)
class RenderedRuleSet:
    """An ``AWS::SES::ReceiptRuleSet`` with its name resolved."""

    resource: ses.CfnReceiptRuleSet
    reference: str
    """Its ``Ref`` token, the RuleSetName of its rules."""
    name: Any
    """The resolved ``RuleSetName``; None when CloudFormation names it."""


class StackContents:
    """The receipt rules, rule sets, SNS topics and parameters of one stack (not of its nested
    stacks), each resolved on first use with one call for all of a kind."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        constructs: list[IConstruct] = stack.node.find_all()
        if any(isinstance(construct, NestedStack) for construct in constructs[1:]):
            path = stack.node.path
            constructs = [c for c in constructs if Stack.of(c).node.path == path]
        self._constructs = constructs
        self.region: str = stack.region
        """The stack's region (a token when environment-agnostic)."""
        self.account: str = stack.account
        """The stack's account (a token when environment-agnostic)."""

    def _all(self, kind: type[Any]) -> list[Any]:
        return [construct for construct in self._constructs if isinstance(construct, kind)]

    def rules(self, rule_sets: Container[str] | None = None) -> list[RenderedRule]:
        """The stack's receipt rules, or those whose RuleSetName is in ``rule_sets``."""
        return [rule for rule in self._rules if rule_sets is None or rule.rule_set in rule_sets]

    @cached_property
    def _rules(self) -> list[RenderedRule]:
        rules: list[ses.CfnReceiptRule] = self._all(ses.CfnReceiptRule)
        properties: list[Mapping[str, Any]] = [rule._cfn_properties for rule in rules]
        bodies = _resolve_each(self.stack, [each.get("rule") for each in properties])
        return [
            RenderedRule(rule, str(each.get("ruleSetName")), body or {})
            for rule, each, body in zip(rules, properties, bodies, strict=True)
        ]

    @cached_property
    def rule_sets(self) -> list[RenderedRuleSet]:
        """The stack's receipt rule sets."""
        rule_sets: list[ses.CfnReceiptRuleSet] = self._all(ses.CfnReceiptRuleSet)
        references = [rule_set.ref for rule_set in rule_sets]
        names = _resolve_each(
            self.stack, [rule_set._cfn_properties.get("ruleSetName") for rule_set in rule_sets]
        )
        return [
            RenderedRuleSet(rule_set, reference, name)
            for rule_set, reference, name in zip(rule_sets, references, names, strict=True)
        ]

    @cached_property
    def parameters(self) -> frozenset[str]:
        """The logical IDs of the stack's parameters."""
        parameters: list[CfnParameter] = self._all(CfnParameter)
        return frozenset(_resolve_each(self.stack, [each.logical_id for each in parameters]))

    @cached_property
    def topic_keys(self) -> dict[str, tuple[sns.CfnTopic, Any]]:
        """The stack's encrypted SNS topics: logical ID -> (topic, resolved KmsMasterKeyId)."""
        topics: list[sns.CfnTopic] = self._all(sns.CfnTopic)
        keys = [topic.kms_master_key_id for topic in topics]
        encrypted = [(topic, key) for topic, key in zip(topics, keys, strict=True) if key]
        resolved = _resolve_each(self.stack, [[topic.logical_id, key] for topic, key in encrypted])
        return {
            logical_id: (topic, key)
            for (topic, _), (logical_id, key) in zip(encrypted, resolved, strict=True)
        }


def _resolve_each(stack: Stack, values: list[Any]) -> list[Any]:
    """``values`` resolved in one call, position for position (None stays None)."""
    resolved = stack.resolve([{"value": value} for value in values])
    return [entry.get("value") for entry in resolved]
