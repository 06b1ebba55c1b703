"""The Lambda action ("Invoke Lambda function action", Amazon SES Developer Guide): the function
gets SES's event; under ``RequestResponse`` SES waits at most 30 seconds and the answer's
disposition (``STOP_RULE``, ``STOP_RULE_SET``, ``CONTINUE``; anything else continues) controls
the flow; under ``Event`` the answer is ignored and Lambda retries a failure twice. The topic, if
any, is notified when the function is triggered."""

from __future__ import annotations

from functools import partial

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Invocation, Step, record

__all__ = ["DISPOSITIONS", "REQUEST_RESPONSE_LIMIT_SECONDS", "run"]

REQUEST_RESPONSE_LIMIT_SECONDS = 30.0
"""SES waits at most 30 seconds for a RequestResponse invocation."""
DISPOSITIONS = ("CONTINUE", "STOP_RULE", "STOP_RULE_SET")


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    delivery, rule = rule_run.delivery, rule_run.rule.name
    config = action.config
    invocation_type = str(config.get("InvocationType", "Event"))
    function = action.function
    services.notify(config.get("TopicArn"), action, raw, rule_run)
    if function is None:
        detail = f"{config.get('FunctionArn')} is not in the assembly"
        delivery.steps.append(Step(rule, "Lambda", "skipped", detail))
        return "CONTINUE", raw
    encoded = services.lambda_event(action, function.arn, invocation_type, rule_run, raw)
    invocation = Invocation(function.name, function.arn, invocation_type, encoded)
    delivery.invocations.append(invocation)
    step = f"Lambda {function.name}"
    if invocation_type != "RequestResponse":
        attempts = services.runtime.invoke_event(function, encoded, partial(record, invocation))
        invocation.track(attempts)
        delivery.pending.append(attempts)
        delivery.steps.append(Step(rule, step, "invoked", "Event"))
        return "CONTINUE", raw
    timeout = min(REQUEST_RESPONSE_LIMIT_SECONDS, function.timeout)
    record(invocation, services.runtime.invoke(function, encoded, timeout=timeout))
    answer = invocation.answer
    if invocation.error is not None:
        delivery.steps.append(Step(rule, step, "error", f"{invocation.error}; continuing"))
        return "CONTINUE", raw
    disposition = answer.get("disposition") if isinstance(answer, dict) else None
    outcome = disposition if disposition in DISPOSITIONS else "CONTINUE"
    detail = "" if disposition in DISPOSITIONS else f"answer {answer!r} is not a disposition"
    delivery.steps.append(Step(rule, step, str(outcome), detail))
    return str(outcome), raw
