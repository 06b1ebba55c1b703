"""Acknowledgements of cdk-nag findings that SES itself makes unavoidable, with their reasons.

They are recorded with aws-cdk-lib's ``Validations`` (which cdk-nag 3 reads), so the package does
not depend on cdk-nag. Each names exactly one finding, never a whole rule.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

__all__ = ["acknowledge_wildcard_resource", "reference_text"]

WILDCARD_RULE = "AwsSolutions::AwsSolutions-IAM5"
"""cdk-nag's rule against wildcards in IAM policies (pack::rule); one finding per wildcard."""


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge the wildcard finding for one policy resource (an ARN, tokens allowed).

    Logical IDs in ``resource`` are read now, so make the call after the construct it refers to
    has its final id.
    """
    text = reference_text(Stack.of(scope).resolve(resource))
    Validations.of(scope).acknowledge(
        Acknowledgment(id=f"{WILDCARD_RULE}[Resource::{text}]", reason=reason)
    )


def reference_text(value: Any) -> str:
    """A resolved CloudFormation value as findings name it: ``<Bucket.Arn>/prefix*``."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(reference_text(part) for part in parts)
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return reference_text(argument)
        if function == "Fn::GetAtt":
            resource, attribute = argument
            return f"<{reference_text(resource)}.{reference_text(attribute)}>"
        if function == "Ref":
            return f"<{reference_text(argument)}>"
    return json.dumps(value, separators=(",", ":"))
