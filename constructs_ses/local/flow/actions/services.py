"""What the actions of a flow share: the stack's resources in the local AWS, the store, the
Lambda runtime, and SES's notifications and Lambda events built for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import MAIL_PATH, RuleRun, lambda_event, notification
from constructs_ses.local.flow.stack_resources import StackInAws
from constructs_ses.local.lambda_runtime.results import EventTemplate
from constructs_ses.local.lambda_runtime.runtime import EncodedEvent, LambdaRuntime

__all__ = ["ActionServices", "Outcome"]

Outcome = tuple[str, bytes]
"""An action's outcome (``CONTINUE``, ``STOP_RULE``, ``STOP_RULE_SET``) and the message as the
actions after it see it."""
_RECEIPT_PATH = ("Records", 0, "ses", "receipt")
_TIMESTAMP_PATH = (*_RECEIPT_PATH, "timestamp")
_MILLIS_PATH = (*_RECEIPT_PATH, "processingTimeMillis")
_RECEIPTS = 1024
"""How many receipts (one per Lambda action, recipients and verdicts) are kept before the
cache starts again."""


@dataclass
class ActionServices:
    """The flow's parts that actions use."""

    stack: StackInAws
    """The stack's buckets and topics in the local AWS."""
    store_dir: Path
    """Where copies of what S3 actions store are kept."""
    runtime: LambdaRuntime
    """Runs the functions of Lambda actions."""
    _receipts: dict[tuple[object, ...], EventTemplate] = field(default_factory=dict)

    def notify(
        self,
        topic: object,
        action: Action,
        raw: bytes,
        rule_run: RuleRun,
        *,
        with_content: bool = False,
        object_key: str | None = None,
    ) -> None:
        """Publish SES's notification of ``action`` to ``topic``, when there is one, and add
        what its subscribers got to the delivery."""
        if not topic:
            return
        found = notification(
            action, rule_run, raw, with_content=with_content, object_key=object_key
        )
        rule_run.delivery.notifications.append(self.stack.publish(str(topic), found))

    def lambda_event(
        self, action: Action, arn: str, invocation_type: str, rule_run: RuleRun, raw: bytes
    ) -> EncodedEvent:
        """SES's event for a Lambda action: the message's ``mail`` (made and encoded once per
        version of it) and a receipt encoded once per action, recipients and verdicts, with its
        times now set in it."""
        timestamp, millis = moment = rule_run.moment()
        key = (id(action), tuple(rule_run.matched), rule_run.verdicts)
        template = self._receipts.get(key)
        if template is None:
            if len(self._receipts) >= _RECEIPTS:
                self._receipts.clear()
            receipt_action = {
                "type": "Lambda",
                "functionArn": arn,
                "invocationType": invocation_type,
            }
            receipt = rule_run.receipt(receipt_action, moment)
            template = self._receipts[key] = EventTemplate(
                lambda_event(receipt), (MAIL_PATH, _TIMESTAMP_PATH, _MILLIS_PATH)
            )
        return template.fill(
            rule_run.encoded_mail(raw), f'"{timestamp}"'.encode(), str(millis).encode()
        )
