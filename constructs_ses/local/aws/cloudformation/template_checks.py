"""The checks CloudFormation makes of a template before anything is made (at CreateChangeSet,
CreateStack and UpdateStack), with CloudFormation's messages: a ``Resources`` block, resource
types the region has (its registry schemas), ``Ref`` / ``Fn::GetAtt`` / ``DependsOn`` targets
that exist, attributes the target's type has ("Fn::GetAtt", "Ref", "DependsOn attribute",
CloudFormation User Guide), and no circular dependency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_ses.local.aws.cloudformation.schemas import schema_of
from constructs_ses.local.aws.cloudformation.template_graph import (
    PSEUDO_PARAMETERS,
    cycle,
    depends_on,
    referenced,
)

__all__ = ["template_problem"]


def template_problem(template: Mapping[str, Any], region: str) -> str | None:
    """What CloudFormation refuses in ``template`` for a stack in ``region``, or None."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping) or not resources:
        return "Template format error: At least one Resources member must be defined."
    unknown = sorted({str(r.get("Type")) for r in resources.values() if _schema(r, region) is None})
    if unknown:
        return f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]"
    for block in ("Resources", "Outputs"):
        if problem := _unresolved(template, block):
            return problem
    for target, attribute in _attributes(template):
        schema = _schema(resources[target], region)
        if schema is not None and not schema.has_attribute(attribute):
            return (
                f"Template error: resource {target} does not support attribute type "
                f"{attribute} in Fn::GetAtt"
            )
    if circular := cycle(resources):
        return f"Circular dependency between resources: [{', '.join(circular)}]"
    return None


def _schema(resource: Any, region: str) -> Any:
    kind = resource.get("Type") if isinstance(resource, Mapping) else None
    return schema_of(kind, region) if isinstance(kind, str) else None


def _unresolved(template: Mapping[str, Any], block: str) -> str | None:
    resources = template["Resources"]
    known = {*resources, *(template.get("Parameters") or {}), *PSEUDO_PARAMETERS}
    missing: set[str] = set()
    for part in (template.get(block) or {}).values():
        for name, attribute in referenced(part):
            if name not in (resources if attribute else known):
                missing.add(name)
        if block == "Resources":
            missing |= set(depends_on(part)) - set(resources)
    if not missing:
        return None
    return (
        f"Template format error: Unresolved resource dependencies [{', '.join(sorted(missing))}] "
        f"in the {block} block of the template"
    )


def _attributes(template: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each ``(resource, attribute)`` the template's ``Fn::GetAtt`` uses read."""
    blocks = [template.get(block) or {} for block in ("Resources", "Outputs")]
    return [
        (name, attribute)
        for block in blocks
        for part in block.values()
        for name, attribute in referenced(part)
        if attribute is not None
    ]
