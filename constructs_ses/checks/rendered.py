"""The receipt rules of a stack as CloudFormation will receive them, read in a few calls.

Every property read from aws-cdk-lib is a round trip to its Node.js process, so the checks read
each rule's properties once and resolve those of a whole stack in a single call.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import UnionType
from typing import Any

from aws_cdk import CfnParameter, CfnResource, NestedStack, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from constructs_ses.records import record_of

__all__ = [
    "InvokedFunction",
    "RenderedMxRecord",
    "RenderedRule",
    "RenderedRuleSet",
    "StackContents",
    "app_mx_records",
    "contents_of",
    "stacks_of",
]


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


@dataclass(frozen=True)
class InvokedFunction:
    """A Lambda function of the stack as a rule's action names it: itself, an alias or a version."""

    function: lambda_.CfnFunction
    timeout: Any
    """Its resolved ``Timeout``: seconds, None when unset (Lambda's default, 3 seconds), or an
    intrinsic when known only at deploy time."""
    through: CfnResource | None = None
    """The alias or version the action names, if it names one."""


@dataclass(frozen=True)
class RenderedMxRecord:
    """An ``AWS::Route53::RecordSet`` of type MX with its name and values resolved."""

    resource: route53.CfnRecordSet
    name: Any
    """Its resolved ``Name`` (such as ``example.com.``), or an intrinsic."""
    values: tuple[Any, ...]
    """Its resolved ``ResourceRecords`` (such as ``10 inbound-smtp.us-east-1.amazonaws.com``)."""
    region: str
    """The region of its stack (a token when environment-agnostic)."""


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

    def _all(self, kind: type[Any] | UnionType) -> list[Any]:
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
    def mx_records(self) -> list[RenderedMxRecord]:
        """The stack's Route 53 MX records."""
        record_sets: list[route53.CfnRecordSet] = self._all(route53.CfnRecordSet)
        if not record_sets:
            return []
        resolved = _resolve_each(
            self.stack,
            [
                {"type": each.type, "name": each.name, "values": each.resource_records}
                for each in record_sets
            ],
        )
        return [
            RenderedMxRecord(
                record, found.get("name"), tuple(found.get("values") or ()), self.region
            )
            for record, found in zip(record_sets, resolved, strict=True)
            if found.get("type") == "MX"
        ]

    def invoked_function(self, function_arn: Any) -> InvokedFunction | None:
        """The function of this stack that a Lambda action's resolved ``functionArn`` names
        (``Fn::GetAtt`` of a function, ``Ref`` of a function, alias or version); else None."""
        logical_id = _referenced_logical_id(function_arn)
        if logical_id is None:
            return None
        functions, qualifiers = self._functions
        if logical_id in functions:
            return functions[logical_id]
        if logical_id not in qualifiers:
            return None
        qualifier, function_name = qualifiers[logical_id]
        found = functions.get(_referenced_logical_id(function_name) or "")
        return InvokedFunction(found.function, found.timeout, qualifier) if found else None

    @cached_property
    def _functions(
        self,
    ) -> tuple[dict[str, InvokedFunction], dict[str, tuple[CfnResource, Any]]]:
        """The stack's functions by logical ID; its aliases and versions by logical ID, with
        their resolved ``FunctionName``."""
        functions: list[lambda_.CfnFunction] = self._all(lambda_.CfnFunction)
        qualifiers: list[lambda_.CfnAlias | lambda_.CfnVersion] = self._all(
            lambda_.CfnAlias | lambda_.CfnVersion
        )
        resolved = _resolve_each(  # {id, value}: a list would lose an unset (None) value
            self.stack,
            [{"id": each.logical_id, "value": each.timeout} for each in functions]
            + [{"id": each.logical_id, "value": each.function_name} for each in qualifiers],
        )
        by_id = {
            found["id"]: InvokedFunction(function, found.get("value"))
            for function, found in zip(functions, resolved[: len(functions)], strict=True)
        }
        named: dict[str, tuple[CfnResource, Any]] = {
            found["id"]: (qualifier, found.get("value"))
            for qualifier, found in zip(qualifiers, resolved[len(functions) :], strict=True)
        }
        return by_id, named

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


@dataclass
class _Reading:
    """A stack's record of its contents, once read."""

    contents: StackContents | None = None


def contents_of(stack: Stack) -> StackContents:
    """The stack's contents, read on first use and kept: call it only once the tree is
    finished (at validation), as it no longer changes then."""
    reading = record_of(stack, _Reading)
    if reading.contents is None:
        reading.contents = StackContents(stack)
    return reading.contents


@dataclass
class _AppMxRecords:
    """An app's record of its MX records, once read."""

    records: list[RenderedMxRecord] | None = None


def app_mx_records(root: IConstruct) -> list[RenderedMxRecord]:
    """The Route 53 MX records of every stack of the app, read once (as ``contents_of``)."""
    found = record_of(root, _AppMxRecords)
    if found.records is None:
        found.records = [
            record for stack in stacks_of(root) for record in contents_of(stack).mx_records
        ]
    return found.records


def stacks_of(root: IConstruct) -> list[Stack]:
    """The stacks of the app under ``root`` (in stages too; nested stacks are their parents')."""
    found: list[Stack] = []
    pending = list(root.node.children)
    while pending:
        construct = pending.pop(0)
        if Stack.is_stack(construct):
            found.append(construct)  # type: ignore[arg-type]
        else:
            pending.extend(construct.node.children)
    return found


def _resolve_each(stack: Stack, values: list[Any]) -> list[Any]:
    """``values`` resolved in one call, position for position (None stays None)."""
    resolved = stack.resolve([{"value": value} for value in values])
    return [entry.get("value") for entry in resolved]


def _referenced_logical_id(value: Any) -> str | None:
    """The logical ID in ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, "Arn"]}``; else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((intrinsic, argument),) = value.items()
    if intrinsic == "Ref" and isinstance(argument, str):
        return argument
    if intrinsic == "Fn::GetAtt" and isinstance(argument, list) and argument[1:] == ["Arn"]:
        return str(argument[0])
    return None
