"""One stack operation (create, update, delete, rollback) run as CloudFormation runs it.

Resource by resource, in dependency order, each with its stack events ("Stack status codes",
"Resource status codes", "Update behaviors of stack resources", "Rollback triggers" and
"Choose how to handle failures when provisioning resources", CloudFormation User Guide):

- a resource's properties (intrinsics resolved) are checked against its registry schema
  (``schemas``) before it is made; a violation fails the resource with CloudFormation's
  "Properties validation failed for resource X with message: ..." reason;
- a change of a create-only property replaces the resource: the new one is made first, the
  original deleted in the cleanup phase (``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS``); a
  custom-named resource cannot be replaced under the same name; other changes update it in
  place; a resource whose resolved properties did not change is left alone;
- the first failure fails the operation (``*_FAILED`` event with its reason) and rolls it back:
  a create deletes what it made (``ROLLBACK_COMPLETE``), an update restores the previous
  template's resources and properties and deletes what it made (``UPDATE_ROLLBACK_COMPLETE``);
  with rollback disabled the stack stays ``CREATE_FAILED`` / ``UPDATE_FAILED`` with what was
  made, and a rollback that fails leaves ``ROLLBACK_FAILED`` / ``UPDATE_ROLLBACK_FAILED``, to
  be continued (``continue_rollback``);
- a stack is deleted dependants first, a retained resource skipped (``DELETE_SKIPPED``).

Every operation ends before the API call that started it answers: there is no waiting between
phases, and events of one operation share its few milliseconds.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import (
    ResourceMap,
    generate_resource_name,
    parse_resource_and_generate_name,
    resource_name_property_from_type,
)

from constructs_ses.local.aws.cloudformation.schemas import schema_of
from constructs_ses.local.aws.cloudformation.template_graph import in_dependency_order

__all__ = ["RETAINED", "StackOperation", "StackState", "Undo", "state_of"]

RETAINED = ("Retain", "RetainExceptOnCreate")
EAGER_TYPES = ("AWS::SES::ReceiptRule",)
"""Resources made as soon as what they depend on is made, before anything else: SES checks at
creation that it may use what a rule names, and CloudFormation, which creates resources in
parallel, may well create a rule before a grant it does not depend on."""

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


class ResourceFailedError(Exception):
    """A resource's step failed; ``reason`` is its event's ``ResourceStatusReason``."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason


@dataclass
class StackState:
    """What the local AWS keeps of a stack beyond moto's ``Stack``."""

    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each resource's properties (intrinsics resolved) as it was last made or updated."""
    pending_rollback: Undo | None = None
    """What a rollback still has to undo (rollback disabled, or a rollback that failed)."""


def state_of(stack: Stack) -> StackState:
    """The local AWS's state of ``stack``, kept on moto's stack object."""
    state: StackState = vars(stack).setdefault("local_state", StackState())
    return state


@dataclass
class Undo:
    """What an operation changed, consumed as its rollback proceeds."""

    creating: bool
    template: str | dict[str, Any]
    parameters: dict[str, Any]
    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(logical id, its properties before) of resources updated in place."""
    replaced: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    """(logical id, the original, its properties) of resources replaced; originals await the
    cleanup phase."""


def _reason(error: BaseException) -> str:
    if isinstance(error, IndexError):  # moto's Fn::Select past the end of its list
        return "Template error: Fn::Select cannot select nonexistent value"
    message = getattr(error, "message", None)
    return str(message) if message else f"{type(error).__name__}: {error}"


class StackOperation:
    """Runs operations on one moto ``Stack`` (see the module)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.map: ResourceMap = stack.resource_map
        self.state = state_of(stack)

    # -- events and status -------------------------------------------------------------

    def status(self, status: str, reason: str | None = None) -> None:
        """The stack's status becomes ``status``, with its event."""
        self.stack.status = status
        setattr(self.stack, "stack_status_reason", reason)  # noqa: B010 (moto has none)
        self.stack_event(status, reason)

    def stack_event(self, status: str, reason: str | None = None) -> None:
        self.stack._add_stack_event(status, resource_status_reason=reason)
        self._stamp()

    def _stamp(self) -> None:
        """Events one after another, a millisecond apart at least: the CDK CLI shows them in
        the order of their times, and an operation here takes a few milliseconds."""
        events = self.stack.events
        if len(events) > 1 and events[-1].timestamp <= events[-2].timestamp:
            events[-1].timestamp = events[-2].timestamp + datetime.timedelta(milliseconds=1)

    def event(self, name: str, status: str, reason: str | None = None) -> None:
        model = self.map._parsed_resources.get(name)
        self.stack.events.append(
            Event(
                stack_id=self.stack.stack_id,
                stack_name=self.stack.name,
                logical_resource_id=name,
                physical_resource_id=str(getattr(model, "physical_resource_id", "") or ""),
                resource_type=self._type(name),
                resource_status=status,
                resource_status_reason=reason,
                resource_properties=json.dumps(self._readable(name), default=str),
            )
        )
        self._stamp()

    def _readable(self, name: str) -> dict[str, Any]:
        """The resource's properties as its events show them: without write-only ones."""
        properties = self.state.resolved.get(name, {})
        schema = schema_of(self._type(name), self.map._region_name)
        return schema.readable(properties) if schema else dict(properties)

    def _type(self, name: str) -> str:
        for resources in (self.map._resource_json_map, self.stack.template_dict.get("Resources")):
            resource = (resources or {}).get(name)
            if isinstance(resource, Mapping) and "Type" in resource:
                return str(resource["Type"])
        return str(getattr(self.map._parsed_resources.get(name), "cf_resource_type", ""))

    # -- create and update -------------------------------------------------------------

    def change(
        self,
        template: str | dict[str, Any],
        parameters: dict[str, Any],
        *,
        creating: bool,
        disable_rollback: bool,
    ) -> None:
        """Take the stack to ``template``; the stack's status already says it is running."""
        stack = self.stack
        undo = Undo(creating, stack.template, dict(stack.parameters))
        kind = "CREATE" if creating else "UPDATE"
        self.stack_event(stack.status, "User Initiated")
        stack.template = template
        stack._parse_template()
        stack.parameters = parameters
        previous = {} if creating else dict(self.map._resource_json_map)
        self._load(stack.template_dict, parameters)
        resources = stack.template_dict["Resources"]
        eager = [name for name in resources if resources[name].get("Type") in EAGER_TYPES]
        try:
            for name in in_dependency_order([*eager, *resources], resources):
                self._step(name, undo)
            self._resolve_outputs()
        except ResourceFailedError as failure:
            verb = "create" if creating else "update"
            reason = f"The following resource(s) failed to {verb}: [{failure.logical_id}]. "
            if not failure.logical_id:  # an output
                reason = f"{failure.reason}. "
            if disable_rollback:
                self.state.pending_rollback = undo
                self.status(f"{kind}_FAILED", reason)
                return
            if creating:
                self.status("ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
            else:
                self.status("UPDATE_ROLLBACK_IN_PROGRESS", reason)
            self.roll_back(undo)
            return
        stack.description = stack.template_dict.get("Description")
        if not creating:
            self.status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            self._clean_up(undo, previous)
        self.status(f"{kind}_COMPLETE")

    def _resolve_outputs(self) -> None:
        """Resolve the outputs now, as CloudFormation does: a failing one fails the operation."""
        self.stack.output_map = self.stack._create_output_map()
        try:
            _ = self.stack.outputs
        except Exception as error:
            raise ResourceFailedError("", _reason(error)) from error

    def _load(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        """Have moto's resource map resolve against ``template`` and ``parameters``."""
        self.map._template = template
        self.map.input_parameters = parameters
        self.map.load_mapping()
        self.map.load_parameters()
        self.map.load_conditions()
        self.map._resource_json_map = template["Resources"]

    def _step(self, name: str, undo: Undo) -> None:
        resource_json = self.map._resource_json_map[name]
        condition = resource_json.get("Condition")
        if condition and not self.map.lazy_condition_map[condition]:
            return
        existing = self.map._parsed_resources.get(name)
        try:
            parsed = parse_resource_and_generate_name(name, copy.deepcopy(resource_json), self.map)
        except Exception as error:
            raise self._failed(name, "UPDATE" if existing else "CREATE", _reason(error)) from error
        if parsed is None:  # a type moto has no model of: nothing is made
            if name not in self.state.resolved:
                self.state.resolved[name] = {}
                self.event(name, "CREATE_IN_PROGRESS")
                self.event(name, "CREATE_COMPLETE")
            return
        model_class, resolved, physical_name = parsed
        properties = resolved.get("Properties", {})
        schema = schema_of(resolved["Type"], self.map._region_name)
        problem = schema.validation_failure(name, properties) if schema else None
        if existing is None:
            self.event(name, "CREATE_IN_PROGRESS")
            if problem:
                raise self._failed(name, "CREATE", problem)
            self._make(name, model_class, resolved, physical_name)
            undo.created.append(name)
            self.event(name, "CREATE_COMPLETE")
            return
        before = self.state.resolved.get(name, {})
        if before == properties:
            return
        self.event(name, "UPDATE_IN_PROGRESS")
        if problem:
            raise self._failed(name, "UPDATE", problem)
        if schema is not None and schema.replaced_by(before, properties):
            self._refuse_same_name(name, resolved["Type"], before, properties, existing)
            self.event(name, "UPDATE_IN_PROGRESS", REPLACING)
            self._make(name, model_class, resolved, physical_name)
            undo.replaced.append((name, existing, before))
        else:
            physical_name = self._kept_name(name, resolved, existing)
            updated = self._update(name, model_class, resolved, physical_name, existing)
            if getattr(updated, "replaces", None) is not None:  # a custom resource's new id
                updated.replaces = None
                undo.replaced.append((name, existing, before))
            else:
                undo.updated.append((name, before))
        self.event(name, "UPDATE_COMPLETE")

    def _kept_name(self, name: str, resolved: Mapping[str, Any], existing: Any) -> str:
        """The name an update in place gives the model: its name property, or else the name
        it has (moto would make up another, and its models then replace the resource)."""
        kind = str(resolved["Type"])
        name_type = resource_name_property_from_type(kind)
        given = resolved.get("Properties", {}).get(name_type) if name_type else None
        if given is not None:
            return str(given)
        for attribute in ("name", "function_name", "topic_name", "queue_name", "role_name"):
            current = getattr(existing, attribute, None)
            if isinstance(current, str) and current:
                return current
        return str(generate_resource_name(kind, self.stack.name, name))

    def _make(self, name: str, model_class: Any, resolved: Any, physical_name: str) -> None:
        made_with = copy.deepcopy(resolved)  # models may change what they are given
        try:
            model = model_class.create_from_cloudformation_json(
                physical_name,
                resolved,
                self.map._account_id,
                self.map._region_name,
                LogicalId=name,
                StackId=self.map.stack_id,
                ResourceType=resolved["Type"],
            )
        except Exception as error:
            raise self._failed(name, "CREATE", _reason(error)) from error
        self._keep(name, model, made_with)

    def _update(
        self, name: str, model_class: Any, resolved: Any, physical_name: str, existing: Any
    ) -> Any:
        if hasattr(model_class.update_from_cloudformation_json, "__isabstractmethod__"):
            self.state.resolved[name] = resolved.get("Properties", {})
            return existing  # moto cannot update this type: it stays as it was
        made_with = copy.deepcopy(resolved)
        try:
            model = model_class.update_from_cloudformation_json(
                original_resource=existing,
                new_resource_name=physical_name,
                cloudformation_json=resolved,
                account_id=self.map._account_id,
                region_name=self.map._region_name,
            )
        except Exception as error:
            raise self._failed(name, "UPDATE", _reason(error)) from error
        self._keep(name, model, made_with)
        return model

    def _keep(self, name: str, model: Any, resolved: Any) -> None:
        model.cf_resource_type = resolved["Type"]
        model.logical_resource_id = name
        self.map._parsed_resources[name] = model
        self.state.resolved[name] = resolved.get("Properties", {})

    def _refuse_same_name(
        self, name: str, kind: str, before: Any, after: Any, existing: Any
    ) -> None:
        named = resource_name_property_from_type(kind)
        if named and after.get(named) is not None and after.get(named) == before.get(named):
            physical = getattr(existing, "physical_resource_id", after.get(named))
            raise self._failed(
                name,
                "UPDATE",
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {physical} and update the stack again.",
            )

    def _failed(self, name: str, action: str, reason: str) -> ResourceFailedError:
        self.event(name, f"{action}_FAILED", reason)
        return ResourceFailedError(name, reason)

    def _clean_up(self, undo: Undo, previous: Mapping[str, Any]) -> None:
        """The cleanup phase: replaced originals, then removed resources, go; a failure here
        is reported and leaves the resource, as the update has succeeded."""
        for name, original, properties in reversed(undo.replaced):
            self._quietly(name, original, properties)
        resources = self.map._resource_json_map
        removed = [
            name
            for name in previous
            if name in self.map._parsed_resources
            and (name not in resources or not self._wanted(resources[name]))
        ]
        for name in reversed(in_dependency_order(removed, previous)):
            model = self.map._parsed_resources[name]
            self._quietly(name, model, self.state.resolved.get(name, {}))
            self._forget(name)

    def _wanted(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return not condition or bool(self.map.lazy_condition_map[condition])

    def _quietly(self, name: str, model: Any, properties: Mapping[str, Any]) -> None:
        """Delete, reporting a failure in the events only (the cleanup phase)."""
        with contextlib.suppress(ResourceFailedError):
            self._delete(name, model, properties)

    # -- delete ------------------------------------------------------------------------

    def _delete(self, name: str, model: Any, properties: Mapping[str, Any]) -> None:
        self.event(name, "DELETE_IN_PROGRESS")
        if model is not None and not isinstance(model, str):
            try:
                self.map._delete_resource(
                    model, {"Type": self._type(name), "Properties": dict(properties)}
                )
            except Exception as error:
                raise self._failed(name, "DELETE", _reason(error)) from error
        self.event(name, "DELETE_COMPLETE")

    def _forget(self, name: str) -> None:
        self.map._parsed_resources.pop(name, None)
        self.state.resolved.pop(name, None)

    def _made(self) -> list[str]:
        return [name for name in self.map._resource_json_map if name in self.state.resolved]

    def delete(self) -> bool:
        """Delete the stack's resources, dependants first; False when one could not go."""
        self.stack_event("DELETE_IN_PROGRESS", "User Initiated")
        resources = self.map._resource_json_map
        failed = []
        for name in reversed(in_dependency_order(self._made(), resources)):
            if resources[name].get("DeletionPolicy") in RETAINED:
                self.event(name, "DELETE_SKIPPED")
                self._forget(name)
                continue
            try:
                model = self.map._parsed_resources.get(name)
                self._delete(name, model, self.state.resolved.get(name, {}))
            except ResourceFailedError:
                failed.append(name)
                continue
            self._forget(name)
        if failed:
            reason = f"The following resource(s) failed to delete: [{', '.join(failed)}]. "
            self.status("DELETE_FAILED", reason)
            return False
        self.status("DELETE_COMPLETE")
        return True

    # -- rollback ----------------------------------------------------------------------

    def roll_back(self, undo: Undo | None = None, skip: Iterable[str] = ()) -> None:
        """Undo what ``undo`` (by default the stack's pending rollback) holds; the stack's
        status says a rollback runs. Resources in ``skip`` are left as they are, as
        ``ContinueUpdateRollback`` skips them."""
        undo = undo or self.state.pending_rollback
        if undo is None:
            raise ValueError(f"stack {self.stack.name} has nothing to roll back")
        self.state.pending_rollback = undo
        try:
            if undo.creating:
                for name in reversed(self._made()):
                    self._delete(
                        name, self.map._parsed_resources.get(name), self.state.resolved[name]
                    )
                    self._forget(name)
                self.state.pending_rollback = None
                self.status("ROLLBACK_COMPLETE")
                return
            self._restore(undo, set(skip))
        except ResourceFailedError as failure:
            verb = "delete" if undo.creating else "update"
            reason = f"The following resource(s) failed to {verb}: [{failure.logical_id}]. "
            self.status("ROLLBACK_FAILED" if undo.creating else "UPDATE_ROLLBACK_FAILED", reason)
            return
        self.state.pending_rollback = None
        self.status("UPDATE_ROLLBACK_COMPLETE")

    def _restore(self, undo: Undo, skip: set[str]) -> None:
        stack = self.stack
        stack.template = undo.template
        stack._parse_template()
        stack.parameters = undo.parameters
        self._load(stack.template_dict, undo.parameters)
        while undo.updated:
            name, properties = undo.updated[-1]
            if name in skip:
                self.event(name, "UPDATE_COMPLETE", "Resource skipped during UpdateRollback")
            else:
                self.event(name, "UPDATE_IN_PROGRESS")
                existing = self.map._parsed_resources[name]
                resolved = {"Type": self._type(name), "Properties": properties}
                physical = self._kept_name(name, resolved, existing)
                self._update(name, type(existing), resolved, physical, existing)
                self.event(name, "UPDATE_COMPLETE")
            undo.updated.pop()
        doomed = [
            (name, self.map._parsed_resources[name], self.state.resolved[name])
            for name in undo.created
            if name in self.map._parsed_resources
        ]
        for name, original, properties in reversed(undo.replaced):
            doomed.append((name, self.map._parsed_resources[name], self.state.resolved[name]))
            self.map._parsed_resources[name] = original
            self.state.resolved[name] = properties
        undo.replaced.clear()
        stack.output_map = stack._create_output_map()
        self.status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        for name, model, properties in reversed(doomed):
            self._quietly(name, model, properties)
            if name in undo.created:
                self._forget(name)
                undo.created.remove(name)
