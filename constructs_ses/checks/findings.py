"""Checks that run when the finished app is synthesized: errors fail it, warnings annotate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import jsii
from aws_cdk import Aspects, Validations
from constructs import IConstruct, IValidation

__all__ = [
    "Findings",
    "add_findings_validation",
    "display_path",
    "display_scope",
    "nearest_aspect",
]


@dataclass(frozen=True)
class Findings:
    """What a check found: errors fail synthesis, warnings do not."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __add__(self, other: Findings) -> Findings:
        return Findings(self.errors + other.errors, self.warnings + other.warnings)


@jsii.implements(IValidation)
class _FindingsValidation:
    def __init__(self, scope: IConstruct, produce: Callable[[], Findings], warning_id: str) -> None:
        self._scope = scope
        self._produce = produce
        self._warning_id = warning_id

    def validate(self) -> list[str]:
        findings = self._produce()
        for warning in findings.warnings:
            Validations.of(self._scope).add_warning(self._warning_id, warning)
        return list(findings.errors)


def add_findings_validation(
    scope: IConstruct, produce: Callable[[], Findings], warning_id: str
) -> None:
    """Check ``scope`` with ``produce`` when the finished app is synthesized.

    Errors appear as ``[scope path] error``; warnings are added with aws-cdk-lib's
    ``Validations``, so they are acknowledged by ``Annotation::<warning_id>``, as the CDK CLI
    prints it.
    """
    scope.node.add_validation(_FindingsValidation(scope, produce, warning_id))


def display_scope(construct: IConstruct) -> IConstruct:
    """The construct users know: an L1 ``Resource`` is represented by its L2 parent."""
    node = construct.node
    if node.id == "Resource" and node.scope is not None:
        return node.scope
    return construct


def display_path(construct: IConstruct) -> str:
    """The path of the construct users know (see ``display_scope``)."""
    return display_scope(construct).node.path


A = TypeVar("A")


def nearest_aspect(node: IConstruct, aspect_type: type[A]) -> A | None:
    """The aspect of ``aspect_type`` applied closest above (or on) ``node``."""
    for scope in reversed(node.node.scopes):
        for aspect in Aspects.of(scope).all:
            if isinstance(aspect, aspect_type):
                return aspect
    return None
