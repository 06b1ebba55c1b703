"""MailFunction: a Lambda function whose role may do only what the function needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import jsii
from aws_cdk import CfnResource, Duration, IStableListProducer, Lazy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

__all__ = ["DEFAULT_FUNCTION_TIMEOUT", "DEFAULT_RUNTIME", "MailFunction"]

DEFAULT_RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_FUNCTION_TIMEOUT = Duration.seconds(10)
"""Well within the 30 seconds SES waits for a RequestResponse invocation."""
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"


class MailFunction(lambda_.Function):
    """A Lambda function (ARM; Python unless another runtime is given) with its own log group
    and a role limited to it.

    ``aws_lambda.Function`` gives its role the AWS managed policy AWSLambdaBasicExecutionRole,
    which may write to every log group in the account (cdk-nag AwsSolutions-IAM4). A
    ``MailFunction``'s role has no managed policy: it may write only to the function's own log
    group, created beside it; grant it more as for any function (``bucket.grant_read(fn)``). The
    function ``DependsOn`` its role's policies but not the role itself, which it already references
    (cfn-lint W3005). The role and the log group are siblings of the function, with the ids
    ``<construct_id>Role`` and ``<construct_id>Logs``.

    :param scope: the parent construct.
    :param construct_id: the function's construct id.
    :param code: the function's code, as for ``aws_lambda.Function``.
    :param handler: the entry point, such as ``"index.handler"``.
    :param description: the function's description. Default: none.
    :param runtime: the function's runtime (Python, or Node.js for a Node.js handler).
        Default: Python 3.14.
    :param timeout: Default: 10 seconds, within the 30 seconds SES waits for a RequestResponse
        invocation.
    :param environment: environment variables. Default: none.
    :param memory_size: memory in MB. Default: 128.
    :param log_retention: how long the log group keeps events. Default: two years. The log group
        is kept when the stack is deleted (aws-cdk-lib's default for log groups).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        description: str | None = None,
        runtime: lambda_.Runtime = DEFAULT_RUNTIME,
        timeout: Duration = DEFAULT_FUNCTION_TIMEOUT,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.TWO_YEARS,
    ) -> None:
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal(LAMBDA_PRINCIPAL),
            description=f"Role of the Lambda function {scope.node.path}/{construct_id}",
        )
        log_group = logs.LogGroup(scope, f"{construct_id}Logs", retention=log_retention)
        super().__init__(
            scope,
            construct_id,
            code=code,
            handler=handler,
            description=description,
            runtime=runtime,
            architecture=lambda_.Architecture.ARM_64,
            timeout=timeout,
            environment=dict(environment) if environment is not None else None,
            memory_size=memory_size,
            role=role,
            log_group=log_group,
        )
        log_group.grant_write(role)
        self.execution_role = role
        """The function's role (``role``, typed as the ``aws_iam.Role`` it is)."""
        cfn_function = cast(CfnResource, self.node.default_child)
        cfn_function.add_override(
            "DependsOn",
            Lazy.list(
                _DependenciesExcept(cfn_function, cast(CfnResource, role.node.default_child))
            ),
        )


@jsii.implements(IStableListProducer)
class _DependenciesExcept:
    """The logical IDs a resource depends on, in template order, except one it references."""

    def __init__(self, resource: CfnResource, referenced: CfnResource) -> None:
        self._resource = resource
        self._referenced = referenced

    def produce(self) -> list[str] | None:
        stack = Stack.of(self._resource)
        ids = sorted(
            str(stack.resolve(dependency.logical_id))
            for dependency in self._resource.obtain_dependencies()
            if isinstance(dependency, CfnResource)
            and dependency.stack.node.path == stack.node.path
            and dependency.node.path != self._referenced.node.path
        )
        return ids or None
