"""Following a token of an L1 property back to the resource it refers to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnResource, Reference, Tokenization
from aws_cdk import aws_ses as ses

from constructs_ses.ses.tokens import TOKEN_MARK, is_unresolved

__all__ = ["RuleSetReferences", "referenced_resource", "rule_set_resource_of"]


def referenced_resource(value: str) -> CfnResource | None:
    """The resource of the app that the string token ``value`` refers to (Ref or GetAtt)."""
    if not is_unresolved(value):
        return None
    token = Tokenization.reverse_string(value).first_token
    if token is None or not Reference.is_reference(token):
        return None
    target: Any = token.target  # type: ignore[attr-defined]
    return target if isinstance(target, CfnResource) else None


@dataclass
class RuleSetReferences:
    """An app's record of what its rules' RuleSetName tokens refer to."""

    resources: dict[str, ses.CfnReceiptRuleSet | None] = field(default_factory=dict)
    """The rule set resources, by token."""
    names: dict[str, str] = field(default_factory=dict)
    """The rule sets' names (literal when the app gives one, else the token), by token."""


def rule_set_resource_of(
    reference: str, references: RuleSetReferences
) -> ses.CfnReceiptRuleSet | None:
    """The rule set resource of the app that a rule's RuleSetName ``reference`` refers to; None
    for rule sets made elsewhere. ``references`` is the app's record."""
    if reference not in references.resources:
        target = referenced_resource(reference)
        found = target if isinstance(target, ses.CfnReceiptRuleSet) else None
        if TOKEN_MARK not in reference:
            return found
        references.resources[reference] = found
    return references.resources[reference]
