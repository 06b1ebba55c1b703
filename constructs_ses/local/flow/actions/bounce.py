"""The Bounce action ("Bounce action", Amazon SES Developer Guide): the sender is answered with
the action's SMTP reply code, status code and message; the topic, if any, is notified."""

from __future__ import annotations

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Bounce, Step

__all__ = ["run"]


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    config = action.config
    bounce = Bounce(
        str(config.get("SmtpReplyCode", "550")),
        str(config["StatusCode"]) if config.get("StatusCode") else None,
        str(config.get("Message", "")),
    )
    rule_run.delivery.bounce = bounce
    rule_run.delivery.steps.append(
        Step(rule_run.rule.name, "Bounce", "bounced", bounce.smtp_reply_code)
    )
    services.notify(config.get("TopicArn"), action, raw, rule_run)
    return "CONTINUE", raw
