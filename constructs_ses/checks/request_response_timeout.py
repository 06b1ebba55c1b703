"""RequestResponse timeout: SES waits at most 30 seconds for a RequestResponse invocation
("Invoke Lambda function action", Amazon SES Developer Guide), so a function invoked that way
must time out sooner."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings, display_path
from constructs_ses.checks.rendered import RenderedRule
from constructs_ses.ses.limits import request_response_timeout_problem

__all__ = ["request_response_timeout"]


def request_response_timeout(context: CheckContext, rule: RenderedRule) -> Findings:
    """The rule's RequestResponse Lambda actions whose function (named directly, or through an
    alias or version of the stack) has a timeout above SES's 30 seconds."""
    errors: list[str] = []
    for action in rule.body.get("actions") or []:
        config = action.get("lambdaAction") if isinstance(action, dict) else None
        if not isinstance(config, dict) or config.get("invocationType") != "RequestResponse":
            continue
        invoked = context.contents.invoked_function(config.get("functionArn"))
        if invoked is None or not isinstance(invoked.timeout, int | float):
            continue  # a function of elsewhere, Lambda's default of 3 s, or known at deploy time
        described = f"Lambda function {display_path(invoked.function)}"
        if invoked.through is not None:
            kind = "alias" if isinstance(invoked.through, lambda_.CfnAlias) else "version"
            described += f" (invoked through {kind} {display_path(invoked.through)})"
        problem = request_response_timeout_problem(described, invoked.timeout)
        if problem is not None:
            errors.append(problem)
    return Findings(errors=tuple(errors))
