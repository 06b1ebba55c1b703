"""The AddHeader action ("Add header action", Amazon SES Developer Guide): the header goes before
the message, and the actions after it see it."""

from __future__ import annotations

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Step

__all__ = ["run"]


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    name, value = str(action.config["HeaderName"]), str(action.config["HeaderValue"])
    rule_run.delivery.steps.append(
        Step(rule_run.rule.name, "AddHeader", "added", f"{name}: {value}")
    )
    return "CONTINUE", f"{name}: {value}\r\n".encode() + raw
