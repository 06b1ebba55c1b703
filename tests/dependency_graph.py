"""The dependency graph CloudFormation derives from a synthesized template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["dependencies", "dependency_cycle"]


def dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Every resource's dependencies: DependsOn, Ref and Fn::GetAtt."""
    resources = template["Resources"]

    def refs(value: Any) -> set[str]:
        if isinstance(value, dict):
            found: set[str] = set()
            for key, inner in value.items():
                if key == "Ref" and inner in resources:
                    found.add(inner)
                elif key == "Fn::GetAtt" and inner[0] in resources:
                    found.add(inner[0])
                else:
                    found |= refs(inner)
            return found
        if isinstance(value, list):
            return set().union(*(refs(item) for item in value)) if value else set()
        return set()

    return {
        name: set(resource.get("DependsOn", [])) | refs(resource.get("Properties", {}))
        for name, resource in resources.items()
    }


def dependency_cycle(template: Mapping[str, Any]) -> list[str] | None:
    """A cycle of resources that CloudFormation would refuse, or None."""
    graph = dependencies(template)
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in done:
            return None
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        visiting.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle is not None:
            return cycle
    return None
