"""How the local AWS's CloudFormation runs stack operations: as CloudFormation does, not as moto.

moto 5.2's change sets add resources in template order (following ``Ref`` and ``Fn::GetAtt`` but
not ``DependsOn``), delete removed resources before anything else, retry failed updates and
deletes in further passes, and delete a stack's resources in no particular order. Here
(``install()``), as the CloudFormation User Guide describes stack updates and deletions:

- an update creates and updates resources in dependency order (``DependsOn``, ``Ref``,
  ``Fn::GetAtt``, ``Fn::Sub``), a resource whose template is unchanged included when one it
  refers to got another physical id (moto leaves it pointing at the old one); then, in its
  cleanup phase, it deletes the resources that were replaced (a model's update names the
  original as ``replaces``) and the removed ones, dependants first. The first failure fails the
  operation, with no further passes. Of the orders
  CloudFormation may choose, it takes the one that exposes a missing ``DependsOn``: a receipt
  rule comes right after what it depends on, before the rest (``EAGER_TYPES``), so a grant it
  does not wait for is not there yet when SES checks it, as may happen in AWS;
- a stack is deleted dependants first, except resources whose ``DeletionPolicy`` is ``Retain``;
- a change set given by name is the stack's own (``StackName``; moto takes the oldest of that
  name, of whichever stack: the CLI names every stack's ``cdk-deploy-change-set``), the newest
  of that name; ``DescribeChangeSet``, ``DeleteChangeSet`` and ``ExecuteChangeSet`` of one that
  does not exist answer ``ChangeSetNotFound``, as CloudFormation does and the CDK CLI waits for
  before an update (moto answers ``ValidationError`` or fails); ``ListChangeSets`` lists the
  stack's own; after a change set, the stack's outputs are those of its new template (moto
  keeps the old ones, so a deploy's outputs never showed);
- an SSM-typed parameter passed with ``UsePreviousValue`` keeps its value (moto fails on it).

Not emulated: rollbacks (a failed operation leaves what it made until the stack is deleted) and
the wait between phases (every operation ends before its API call answers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap, parse_and_update_resource
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ssm.models import ssm_backends

__all__ = ["ChangeSetNotFoundError", "in_dependency_order", "install", "references"]

RETAINED = ("Retain", "RetainExceptOnCreate")
EAGER_TYPES = ("AWS::SES::ReceiptRule",)
"""Resources made as soon as what they depend on is made, before anything else: SES checks at
creation that it may use what a rule names, and CloudFormation, which creates resources in
parallel, may well create a rule before a grant it does not depend on."""


def references(node: Any) -> set[str]:
    """The logical ids a template fragment refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value.split(".")[0] if isinstance(value, str) else value[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                if not isinstance(value, str):
                    found |= references(value[1:])
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def in_dependency_order(names: Iterable[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` with each after those among them it depends on (``DependsOn`` or references);
    otherwise in the order given."""
    wanted = list(names)
    placed: list[str] = []

    def place(name: str, seen: tuple[str, ...]) -> None:
        if name in placed or name in seen:
            return
        resource = resources.get(name, {})
        depends = resource.get("DependsOn", [])
        needs = {*([depends] if isinstance(depends, str) else depends), *references(resource)}
        for dependency in wanted:
            if dependency in needs:
                place(dependency, (*seen, name))
        placed.append(name)

    for name in wanted:
        place(name, ())
    return placed


def _update(self: ResourceMap, template: dict[str, Any], parameters: Any = None) -> None:
    """``ResourceMap.update`` as CloudFormation runs an update (see the module)."""
    diff = self.build_resource_diff(template, parameters)
    old = self._resource_json_map
    self._template = template
    if parameters:
        self.input_parameters = parameters
    self.load_mapping()
    self.load_parameters()
    self.load_conditions()
    self._resource_json_map = resources = template["Resources"]
    added, modified = set(diff["Add"]), set(diff["Modify"])
    eager = [name for name in resources if resources[name].get("Type") in EAGER_TYPES]
    renamed: set[str] = set()
    replaced: list[tuple[str, Any]] = []
    for name in in_dependency_order([*eager, *resources], resources):
        if name in added:
            _ = self[name]  # moto's resource map creates a resource on first lookup
            continue
        if name not in modified and not references(resources[name]) & renamed:
            continue
        original = self._parsed_resources.get(name)
        updated = parse_and_update_resource(
            name, resources[name], self, account_id=self._account_id, region_name=self._region_name
        )
        if updated is None:
            continue
        self._parsed_resources[name] = updated
        if _physical_id(updated) != _physical_id(original):
            renamed.add(name)
        if getattr(updated, "replaces", None) is not None:
            replaced.append((name, updated.replaces))
    for name, original in reversed(replaced):  # the cleanup phase: replaced resources go
        self._delete_resource(original, old[name])
    _delete(self, diff["Remove"], old)


def _physical_id(resource: Any) -> Any:
    return getattr(resource, "physical_resource_id", None)


def _delete_stack(self: ResourceMap) -> None:
    """``ResourceMap.delete``: every resource but the retained ones, dependants first."""
    kept = {
        name
        for name, resource in self._resource_json_map.items()
        if resource.get("DeletionPolicy") in RETAINED
    }
    _delete(
        self,
        [name for name in self._resource_json_map if name not in kept],
        self._resource_json_map,
    )


def _delete(self: ResourceMap, names: Iterable[str], resources: Mapping[str, Any]) -> None:
    """Delete the resources ``names`` of the template ``resources``, dependants first."""
    for name in reversed(in_dependency_order(names, resources)):
        resource = self._parsed_resources.get(name)
        if resource is None or isinstance(resource, str):
            continue  # never created (a failed operation, or a false condition)
        self._delete_resource(resource, resources[name])
        self._parsed_resources.pop(name)


class ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFound"


def _change_set_arn(backend: CloudFormationBackend, name: str, stack: str | None) -> str:
    """The ARN of change set ``name``: an ARN, or the name of one of the stack ``stack``'s (its
    newest of that name); ``ChangeSetNotFound`` when there is none, as CloudFormation answers."""
    if name in backend.change_sets:
        return name
    stack_ids = {
        each.stack_id for each in backend.stacks.values() if stack in (each.name, each.stack_id)
    }
    arns = [
        arn
        for arn, change_set in backend.change_sets.items()
        if change_set.change_set_name == name
        and (stack is None or change_set.stack_id in stack_ids)
    ]
    if not arns:
        raise ChangeSetNotFoundError(f"ChangeSet [{name}] does not exist")
    return arns[-1]


def _describe_change_set(self: CloudFormationResponse) -> ActionResult:
    arn = _change_set_arn(
        self.cloudformation_backend, self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return ActionResult(self.cloudformation_backend.describe_change_set(change_set_name=arn))


def _delete_change_set(self: CloudFormationResponse) -> ActionResult:
    arn = _change_set_arn(
        self.cloudformation_backend, self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    self.cloudformation_backend.delete_change_set(change_set_name=arn)
    return EmptyResult()


def _execute_change_set(self: CloudFormationResponse) -> ActionResult:
    stack = self._get_param("StackName")
    backend = self.cloudformation_backend
    arn = _change_set_arn(backend, self._get_param("ChangeSetName"), stack)
    backend.execute_change_set(change_set_name=arn, stack_name=stack)
    executed = backend.stacks[backend.change_sets[arn].stack_id]
    executed._parse_template()  # moto keeps the outputs of the template before the change set
    executed.output_map = executed._create_output_map()
    return EmptyResult()


def _list_change_sets(self: CloudFormationResponse) -> ActionResult:
    stack = self._get_param("StackName")
    stack_ids = {
        each.stack_id
        for each in self.cloudformation_backend.stacks.values()
        if stack in (each.name, each.stack_id)
    }
    change_sets = [
        change_set
        for change_set in self.cloudformation_backend.list_change_sets()
        if change_set.stack_id in stack_ids
    ]
    return ActionResult({"Summaries": change_sets})


def _ssm_parameter(method: Any) -> Any:
    """moto's SSM-typed parameter lookup, taking a value that is no parameter name as the
    value already resolved: what an update passes with ``UsePreviousValue`` (the CDK's
    ``BootstrapVersion``), on which moto fails; a missing parameter is CloudFormation's error."""

    def parse(self: ResourceMap, value: str, value_type: str) -> Any:
        backend = ssm_backends[self._account_id][self._region_name]
        if backend.get_parameter(value) is not None:
            return method(self, value, value_type)
        if not str(value).startswith("/"):
            return value
        raise ValidationError(
            message=f"Unable to fetch parameters [{value}] from parameter store for this account."
        )

    return parse


def install() -> None:
    """Run moto's stack operations as the module describes (once)."""
    if ResourceMap.update is _update:
        return
    CloudFormationResponse.describe_change_set = _describe_change_set  # type: ignore[method-assign]
    CloudFormationResponse.delete_change_set = _delete_change_set  # type: ignore[method-assign]
    CloudFormationResponse.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    CloudFormationResponse.list_change_sets = _list_change_sets  # type: ignore[method-assign]
    ResourceMap.parse_ssm_parameter = _ssm_parameter(ResourceMap.parse_ssm_parameter)  # type: ignore[method-assign]
    ResourceMap.update = _update  # type: ignore[method-assign]
    ResourceMap.delete = _delete_stack  # type: ignore[method-assign]
