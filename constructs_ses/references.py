"""Following a token of an L1 property back to the resource it refers to."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Reference, Tokenization
from aws_cdk import aws_ses as ses

from constructs_ses.tokens import TOKEN_MARK, is_unresolved

__all__ = ["referenced_resource", "rule_set_resource_of"]


def referenced_resource(value: str) -> CfnResource | None:
    """The resource of the app that the string token ``value`` refers to (Ref or GetAtt)."""
    if not is_unresolved(value):
        return None
    token = Tokenization.reverse_string(value).first_token
    if token is None or not Reference.is_reference(token):
        return None
    target: Any = token.target  # type: ignore[attr-defined]
    return target if isinstance(target, CfnResource) else None


_RULE_SETS: dict[str, ses.CfnReceiptRuleSet | None] = {}
"""Rule set resources by the rules' RuleSetName token (unique in the process)."""


def rule_set_resource_of(reference: str) -> ses.CfnReceiptRuleSet | None:
    """The rule set resource of the app that a rule's RuleSetName ``reference`` refers to; None
    for rule sets made elsewhere."""
    if reference not in _RULE_SETS:
        target = referenced_resource(reference)
        found = target if isinstance(target, ses.CfnReceiptRuleSet) else None
        if TOKEN_MARK not in reference:
            return found
        _RULE_SETS[reference] = found
    return _RULE_SETS[reference]
