"""A stack's resources found by what users know of them: a construct path or a logical id."""

from __future__ import annotations

from constructs_ses.local.aws.cloud_assembly import AssemblyError
from constructs_ses.local.flow.assembly import RuleSet, StackResource

__all__ = ["find_resource"]


def find_resource(rule_set: RuleSet, reference: str) -> StackResource:
    """The bucket, topic, queue, table or function of ``rule_set``'s stack that ``reference``
    names: its logical id or its construct path, with or without the stack's path and the
    trailing ``/Resource``; AssemblyError when none or several match."""
    candidates = (*rule_set.resources, *rule_set.functions)
    found = [
        resource
        for resource in candidates
        if reference == resource.logical_id
        or reference.strip("/") in _path_forms(resource.path, rule_set.stack_path)
    ]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(_described(resource) for resource in found or candidates) or "none"
    if found:
        raise AssemblyError(
            f"{reference!r} names several resources of stack {rule_set.stack_path}: {listed}; "
            "give its logical id"
        )
    raise AssemblyError(
        f"{reference!r} is the construct path or logical id of no bucket, topic, queue, table "
        f"or function of stack {rule_set.stack_path}; those it has: {listed}"
    )


def _path_forms(path: str | None, stack_path: str) -> set[str]:
    """The ways to give construct path ``path``: whole, without its stack's path, and both
    without a trailing ``/Resource``."""
    if path is None:
        return set()
    whole = path.strip("/")
    inside = whole[len(stack_path) + 1 :] if whole.startswith(f"{stack_path}/") else ""
    forms = {form for form in (whole, inside) if form}
    return forms | {form.removesuffix("/Resource") for form in forms}


def _described(resource: StackResource) -> str:
    return f"{resource.path or '(no path)'} ({resource.kind} {resource.logical_id})"
