"""How the local AWS's CloudFormation runs its API: as CloudFormation does, not as moto.

moto 5.2 makes every stack's resources in template order, never rolls back, keeps no
resource events, lets any number of operations run on a stack at once (two concurrent
``cdk deploy`` made two stacks of one name), and answers change set calls as the API Reference
does not. Here (``install()``), as the CloudFormation API Reference and User Guide describe:

- a template is checked before anything is made (``template_checks``): CreateChangeSet,
  CreateStack and UpdateStack refuse it with CloudFormation's message;
- each operation runs as ``stack_operation`` describes (dependency order, registry schemas,
  replacement, events, rollback unless ``DisableRollback``); ``ContinueUpdateRollback``
  continues a failed update rollback (skipping ``ResourcesToSkip``) and ``RollbackStack``
  rolls back a stack left ``CREATE_FAILED`` / ``UPDATE_FAILED``;
- one operation runs on a stack at a time: another is refused while one is in progress
  ("Stack:<id> is in UPDATE_IN_PROGRESS state and can not be updated."), and a stack name is
  unique per account and region (a ``CREATE`` change set for a stack that exists and is not in
  review is refused; one for a stack in review adds to it);
- a change set given by name is the stack's own (``StackName``; moto takes the oldest of that
  name, of whichever stack: the CLI names every stack's ``cdk-deploy-change-set``);
  ``DescribeChangeSet`` and ``ExecuteChangeSet`` of one that does not exist answer
  ``ChangeSetNotFound``, which the CDK CLI waits for, and ``DeleteChangeSet`` of a name that
  names none does nothing (it answered ``ChangeSetNotFound``, which failed every third unchanged
  ``cdk deploy``); a name already taken on the
  stack is ``AlreadyExistsException``; only an ``AVAILABLE`` change set executes
  (``InvalidChangeSetStatus``), and executing one removes the stack's other change sets;
  ``ListChangeSets`` lists the stack's own;
- a stack whose create rolled back (``ROLLBACK_COMPLETE``) can only be deleted; DeleteStack
  deletes dependants first, skips retained resources and leaves the stack ``DELETE_FAILED``
  when a resource could not go;
- an SSM-typed parameter passed with ``UsePreviousValue`` keeps its value (moto fails on it).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.cloudformation.exceptions import (
    AlreadyExistsException,
    CloudFormationError,
    ValidationError,
)
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import (
    generate_changeset_id,
    generate_stack_id,
    validate_create_change_set,
)
from moto.core.responses import ActionResult, EmptyResult
from moto.ssm.models import ssm_backends

from constructs_ses.local.aws.cloudformation.stack_operation import StackOperation, state_of
from constructs_ses.local.aws.cloudformation.template_checks import template_problem

__all__ = ["ChangeSetNotFoundError", "InvalidChangeSetStatusError", "install"]

_OPERATIONS = threading.Lock()
"""Held while a stack's state is checked and its next operation claimed."""

NOT_UPDATABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
"""States no update starts from ("Stack status codes", CloudFormation User Guide): a stack in
one is deleted, or, in UPDATE_ROLLBACK_FAILED, its rollback continued."""


def _busy(stack: Stack) -> bool:
    return str(stack.status).endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS"


def _refuse(stack: Stack, *, deleting: bool = False) -> None:
    """CloudFormation's refusal of an operation on a stack that cannot take it now."""
    if _busy(stack) or (not deleting and stack.status in NOT_UPDATABLE):
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
        )


def _claim(stack: Stack, status: str, *, deleting: bool = False) -> None:
    """Claim ``stack`` for one operation (its status becomes ``status``), or refuse."""
    with _OPERATIONS:
        _refuse(stack, deleting=deleting)
        stack.status = status


def _checked(backend: CloudFormationBackend, template: Any) -> None:
    problem = template_problem(Stack.parse_template(template), backend.region_name)
    if problem:
        raise ValidationError(message=problem)


class ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFound"


def _live_stack(backend: CloudFormationBackend, name_or_id: str | None) -> Stack | None:
    """The stack (not deleted) of that name or id, or None."""
    return next(
        (each for each in backend.stacks.values() if name_or_id in (each.name, each.stack_id)),
        None,
    )


def _executed(change_set: ChangeSet) -> bool:
    return str(change_set.execution_status).startswith("EXECUTE_")


def _change_set_arn(backend: CloudFormationBackend, name: str, stack: str | None) -> str:
    """The ARN of change set ``name``: an ARN, or the name of one of the stack ``stack``'s not
    yet executed (its newest of that name); ``ChangeSetNotFound`` when there is none, as
    CloudFormation answers."""
    if name in backend.change_sets:
        return name
    if stack is None:
        candidates = [arn for arn, each in backend.change_sets.items() if not _executed(each)]
    else:
        found = _live_stack(backend, stack)
        candidates = _stack_change_sets(backend, found, pending=True) if found else []
    arns = [arn for arn in candidates if backend.change_sets[arn].change_set_name == name]
    if not arns:
        raise ChangeSetNotFoundError(f"ChangeSet [{name}] does not exist")
    return arns[-1]


def _describe_change_set(self: CloudFormationResponse) -> ActionResult:
    arn = _change_set_arn(
        self.cloudformation_backend, self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return ActionResult(self.cloudformation_backend.describe_change_set(change_set_name=arn))


def _delete_change_set(self: CloudFormationResponse) -> ActionResult:
    """DeleteChangeSet; of a name the stack has no change set of, it does nothing, as
    CloudFormation answers it (the CDK CLI deletes its change set's name before each deploy,
    then waits for ``ChangeSetNotFound``); an ARN that names none is ``ChangeSetNotFound``."""
    name = self._get_param("ChangeSetName")
    try:
        arn = _change_set_arn(self.cloudformation_backend, name, self._get_param("StackName"))
    except ChangeSetNotFoundError:
        stack = self._get_param("StackName")
        if name.startswith("arn:") or stack is None:
            raise
        if _live_stack(self.cloudformation_backend, stack) is None:
            raise ValidationError(message=f"Stack [{stack}] does not exist") from None
        return EmptyResult()
    self.cloudformation_backend.delete_change_set(change_set_name=arn)
    return EmptyResult()


class InvalidChangeSetStatusError(CloudFormationError):
    code = "InvalidChangeSetStatus"


def _stack_change_sets(
    backend: CloudFormationBackend, stack: Stack, *, pending: bool = False
) -> list[str]:
    """The ARNs of ``stack``'s change sets (``pending``: those not executed, which hold their
    names; an executed one stays describable by its ARN only)."""
    return [
        arn
        for arn, each in backend.change_sets.items()
        if each.stack_id == stack.stack_id and not (pending and _executed(each))
    ]


def _execute_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    arn = _change_set_arn(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    change_set = backend.change_sets[arn]
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatusError(
            f"ChangeSet [{arn}] cannot be executed in its current execution status of "
            f"[{change_set.execution_status}]"
        )
    stack = backend.stacks[change_set.stack_id]
    creating = stack.status == "REVIEW_IN_PROGRESS"
    _claim(stack, "CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS")
    for each in _stack_change_sets(backend, stack):
        if each != arn:
            del backend.change_sets[each]
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    stack.disable_rollback = self._get_bool_param("DisableRollback", False)
    StackOperation(stack).change(
        change_set.template,
        change_set.parameters,
        creating=creating,
        disable_rollback=stack.disable_rollback,
    )
    succeeded = stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"
    return EmptyResult()


def _create_change_set(  # noqa: PLR0917 (moto's signature)
    self: CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    """CreateChangeSet as the module describes it."""
    validate_create_change_set(change_set_name)
    _checked(self, template)
    with _OPERATIONS:
        stack = _live_stack(self, stack_name)
        if change_set_type == "UPDATE":
            if stack is None or stack.status == "REVIEW_IN_PROGRESS":
                raise ValidationError(message=f"Stack [{stack_name}] does not exist")
            _refuse(stack)
        elif stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                message=f"Stack [{stack_name}] already exists and cannot be created again with "
                f"the changeSet [{change_set_name}]."
            )
        if stack is None:
            stack = Stack(  # type: ignore[abstract]
                stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
                name=stack_name,
                template={},
                parameters=parameters,
                account_id=self.account_id,
                region_name=self.region_name,
                notification_arns=notification_arns,
                tags=tags,
                role_arn=role_arn,
            )
            self.stacks[stack.stack_id] = stack
            stack.status = "REVIEW_IN_PROGRESS"
            stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
        if any(
            self.change_sets[arn].change_set_name == change_set_name
            for arn in _stack_change_sets(self, stack, pending=True)
        ):
            raise AlreadyExistsException(f"ChangeSet [{change_set_name}] already exists")
        change_set = ChangeSet(
            change_set_type=change_set_type,
            change_set_id=generate_changeset_id(change_set_name, self.region_name, self.account_id),
            change_set_name=change_set_name,
            stack=stack,
            template=template,
            parameters=parameters,
            description=description,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        unchanged = (
            change_set_type == "UPDATE"
            and stack.has_template(template)
            and stack.has_parameters(parameters)
        )
        change_set.status = "FAILED" if unchanged else "CREATE_COMPLETE"
        change_set.execution_status = "UNAVAILABLE" if unchanged else "AVAILABLE"
        if unchanged:
            change_set.status_reason = (
                "The submitted information didn't contain changes. Submit different "
                "information to create a change set."
            )
        self.change_sets[change_set.change_set_id] = change_set
        return change_set.change_set_id, stack.stack_id


def _delete_stack(self: CloudFormationResponse) -> ActionResult:
    """DeleteStack: nothing for a stack that is gone; otherwise as the module describes."""
    backend = self.cloudformation_backend
    stack = _live_stack(backend, self._get_param("StackName"))
    if stack is None:
        return EmptyResult()
    _claim(stack, "DELETE_IN_PROGRESS", deleting=True)
    if not StackOperation(stack).delete():
        return EmptyResult()
    for arn in _stack_change_sets(backend, stack):
        del backend.change_sets[arn]
    for export in stack.exports:
        backend.exports.pop(export.name, None)
    backend.stacks.pop(stack.stack_id)
    backend.deleted_stacks[stack.stack_id] = stack
    return EmptyResult()


def _roll_back(self: CloudFormationResponse, states: tuple[str, ...], status: str) -> Stack:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    with _OPERATIONS:
        if stack.status not in states or state_of(stack).pending_rollback is None:
            raise ValidationError(
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be "
                "rolled back."
            )
        stack.status = status
    return stack


def _continue_update_rollback(self: CloudFormationResponse) -> ActionResult:
    """ContinueUpdateRollback of a stack in UPDATE_ROLLBACK_FAILED."""
    stack = _roll_back(self, ("UPDATE_ROLLBACK_FAILED",), "UPDATE_ROLLBACK_IN_PROGRESS")
    operation = StackOperation(stack)
    operation.stack_event("UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated")
    skip = self._get_param("ResourcesToSkip") or []
    operation.roll_back(skip=skip)
    return EmptyResult()


def _rollback_stack(self: CloudFormationResponse) -> ActionResult:
    """RollbackStack of a stack left CREATE_FAILED or UPDATE_FAILED (rollback disabled)."""
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    creating = stack.status == "CREATE_FAILED"
    status = "ROLLBACK_IN_PROGRESS" if creating else "UPDATE_ROLLBACK_IN_PROGRESS"
    _roll_back(self, ("CREATE_FAILED", "UPDATE_FAILED"), status)
    operation = StackOperation(stack)
    operation.stack_event(status, "User Initiated")
    operation.roll_back()
    return ActionResult({"StackId": stack.stack_id})


def _create_resources(self: Stack) -> None:
    """CreateStack's part after the stack is recorded (moto's ``Stack.create_resources``)."""
    self.status = "CREATE_IN_PROGRESS"
    self.events.pop()  # moto announced it already; the operation announces it itself
    StackOperation(self).change(
        self.template, self.parameters, creating=True, disable_rollback=self.disable_rollback
    )


def _update_stack(
    self: Stack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """UpdateStack (moto's ``Stack.update``)."""
    _claim(self, "UPDATE_IN_PROGRESS")
    StackOperation(self).change(
        template, parameters or self.parameters, creating=False, disable_rollback=False
    )
    self.role_arn = role_arn
    if tags is not None:
        self.tags = tags


def _resource(self: ResourceMap, key: str) -> Any:
    """A resource an operation made (None for one it did not): moto's map makes a resource
    when it is first looked up, so that describing a rolled-back stack made it again."""
    if key in self._parsed_resources:
        return self._parsed_resources[key]
    if key in self._resource_json_map:
        return None
    raise KeyError(key)


def _stack_resources(self: Stack) -> list[Any]:
    """The stack's resources that exist (moto lists one for each resource of the template)."""
    made = self.resource_map._parsed_resources
    return [
        made[name]
        for name in self.resource_map._resource_json_map
        if made.get(name) is not None and not isinstance(made[name], str)
    ]


def _checked_create_stack(create: Any) -> Any:
    def create_stack(
        self: CloudFormationBackend, name: str, template: str, *args: Any, **kw: Any
    ) -> Any:
        _checked(self, template)
        return create(self, name, template, *args, **kw)

    return create_stack


def _list_change_sets(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    stack = _live_stack(backend, self._get_param("StackName"))
    arns = _stack_change_sets(backend, stack, pending=True) if stack else []
    return ActionResult({"Summaries": [backend.change_sets[arn] for arn in arns]})


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
    if CloudFormationBackend.create_change_set is _create_change_set:
        return
    CloudFormationBackend.create_change_set = _create_change_set  # type: ignore[method-assign]
    CloudFormationBackend.create_stack = _checked_create_stack(CloudFormationBackend.create_stack)  # type: ignore[method-assign]
    CloudFormationResponse.describe_change_set = _describe_change_set  # type: ignore[method-assign]
    CloudFormationResponse.delete_change_set = _delete_change_set  # type: ignore[method-assign]
    CloudFormationResponse.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    CloudFormationResponse.list_change_sets = _list_change_sets  # type: ignore[method-assign]
    CloudFormationResponse.delete_stack = _delete_stack  # type: ignore[method-assign]
    CloudFormationResponse.continue_update_rollback = _continue_update_rollback  # type: ignore[attr-defined]
    CloudFormationResponse.rollback_stack = _rollback_stack  # type: ignore[attr-defined]
    Stack.create_resources = _create_resources  # type: ignore[method-assign]
    Stack.stack_resources = property(_stack_resources)  # type: ignore[assignment,method-assign]
    ResourceMap.__getitem__ = _resource  # type: ignore[method-assign]
    Stack.update = _update_stack  # type: ignore[method-assign]
    ResourceMap.parse_ssm_parameter = _ssm_parameter(ResourceMap.parse_ssm_parameter)  # type: ignore[method-assign]
