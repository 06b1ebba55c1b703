"""What a CloudFormation template's parts refer to, and the order that follows from it.

A resource depends on those its ``DependsOn`` names and those its properties refer to with
``Ref``, ``Fn::GetAtt`` or ``Fn::Sub`` ("DependsOn attribute", CloudFormation User Guide).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "PSEUDO_PARAMETERS",
    "cycle",
    "dependencies",
    "depends_on",
    "in_dependency_order",
    "referenced",
    "references",
]

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
"""What ``Ref`` reads besides parameters and resources ("Pseudo parameters reference")."""

_SUBSTITUTION = re.compile(r"\$\{([^!}][^}]*)\}")


def _attribute_of(value: Any) -> tuple[str, str | None]:
    """The resource and attribute of an ``Fn::GetAtt`` (``"A.B"`` or ``[A, B]``)."""
    if isinstance(value, str):
        name, _, attribute = value.partition(".")
        return name, attribute or None
    name, attribute = [*value, None][:2]
    return str(name), attribute if isinstance(attribute, str) else None


def referenced(node: Any) -> Iterator[tuple[str, str | None]]:
    """Each ``(name, attribute)`` a template fragment refers to: ``Ref`` and ``${name}`` give
    no attribute, ``Fn::GetAtt`` and ``${name.attribute}`` give one."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value, None
            elif key == "Fn::GetAtt":
                yield _attribute_of(value)
                if isinstance(value, list):
                    yield from referenced(value[1:])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else [*value, {}][:2]
                for found in _SUBSTITUTION.findall(str(text)):
                    name, _, attribute = found.strip().partition(".")
                    if name not in variables:
                        yield name, attribute or None
                yield from referenced(variables)
            else:
                yield from referenced(value)
    elif isinstance(node, list):
        for item in node:
            yield from referenced(item)


def references(node: Any) -> set[str]:
    """The names a template fragment refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    return {name for name, _ in referenced(node)}


def depends_on(resource: Mapping[str, Any]) -> list[str]:
    """The resources a resource's ``DependsOn`` names (a name or a list of them)."""
    named = resource.get("DependsOn", [])
    return [named] if isinstance(named, str) else [str(each) for each in named]


def dependencies(resource: Mapping[str, Any]) -> set[str]:
    """Every name a resource depends on: its ``DependsOn`` and its references."""
    return {*depends_on(resource), *references(resource)}


def in_dependency_order(names: Iterable[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` with each after those among them it depends on (``DependsOn`` or references);
    otherwise in the order given."""
    wanted = list(names)
    placed: list[str] = []

    def place(name: str, seen: tuple[str, ...]) -> None:
        if name in placed or name in seen:
            return
        needs = dependencies(resources.get(name, {}))
        for dependency in wanted:
            if dependency in needs:
                place(dependency, (*seen, name))
        placed.append(name)

    for name in wanted:
        place(name, ())
    return placed


def cycle(resources: Mapping[str, Any]) -> list[str]:
    """The resources of a dependency cycle among ``resources`` (sorted), or ``[]``."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        trail.append(name)
        for needed in sorted(dependencies(resources[name]) & set(resources)):
            if state.get(needed) == 1:
                return sorted(trail[trail.index(needed) :])
            if needed not in state and (found := visit(needed)):
                return found
        state[name] = 2
        trail.pop()
        return []

    for name in resources:
        if name not in state and (found := visit(name)):
            return found
    return []
