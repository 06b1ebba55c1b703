"""The Stop action ("Stop rule set action", Amazon SES Developer Guide): no further actions or
rules run; the topic, if any, is notified."""

from __future__ import annotations

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Step

__all__ = ["run"]


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    services.notify(action.config.get("TopicArn"), action, raw, rule_run)
    rule_run.delivery.steps.append(Step(rule_run.rule.name, "Stop", "STOP_RULE_SET"))
    return "STOP_RULE_SET", raw
