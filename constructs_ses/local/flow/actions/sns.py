"""The SNS action ("Publish to Amazon SNS topic action", Amazon SES Developer Guide): the topic is
notified with the content; a message over 150 KB is bounced, as SES does."""

from __future__ import annotations

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Bounce, Step

__all__ = ["MAX_SNS_MESSAGE_BYTES", "run"]

MAX_SNS_MESSAGE_BYTES = 150 * 1024
"""The largest message an SNS action publishes; SES bounces larger ones."""


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    topic = action.config.get("TopicArn")
    delivery, rule = rule_run.delivery, rule_run.rule.name
    if len(raw) > MAX_SNS_MESSAGE_BYTES:
        delivery.bounce = Bounce(
            "552", "5.3.4", "Message too large for the SNS action (over 150 KB)"
        )
        delivery.steps.append(Step(rule, "SNS", "bounced", "over 150 KB"))
        return "CONTINUE", raw
    services.notify(topic, action, raw, rule_run, with_content=True)
    delivery.steps.append(Step(rule, "SNS", "published", str(topic)))
    return "CONTINUE", raw
