"""SES's event for a Lambda action and its notifications, as a rule's run builds them ("Invoking
Lambda functions" and "Contents of notifications for Amazon SES email receiving", Amazon SES
Developer Guide): the message's ``mail`` object, made once per version of the message, and each
action's ``receipt``."""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from constructs_ses.local.flow.assembly import Action, Rule
from constructs_ses.local.flow.message import (
    Verdicts,
    header_items,
    now_iso,
    parse_headers,
    ses_mail,
)
from constructs_ses.local.flow.results import Delivery
from constructs_ses.local.lambda_runtime.runtime import encode_value

__all__ = ["MAIL_PATH", "MessageHeaders", "RuleRun", "lambda_event", "notification"]


class MessageHeaders:
    """The headers of a delivery's message and SES's ``mail`` object for them, made again only
    after AddHeader changed the message."""

    def __init__(self, raw: bytes, headers: list[tuple[str, str]]) -> None:
        self._raw = raw
        self._headers = headers
        self._mail: dict[str, Any] | None = None
        self._encoded_mail: bytes | None = None

    def of(self, raw: bytes) -> list[tuple[str, str]]:
        if raw is not self._raw:
            self._raw, self._headers = raw, header_items(parse_headers(raw))
            self._mail = self._encoded_mail = None
        return self._headers

    def encoded_mail(
        self, raw: bytes, build: Callable[[list[tuple[str, str]]], dict[str, Any]]
    ) -> bytes:
        """``mail(raw, build)`` encoded for events (``encode_value``), once per version of the
        message."""
        mail = self.mail(raw, build)
        if self._encoded_mail is None:
            self._encoded_mail = encode_value(mail)
        return self._encoded_mail

    def mail(
        self, raw: bytes, build: Callable[[list[tuple[str, str]]], dict[str, Any]]
    ) -> dict[str, Any]:
        """``build(headers)`` for this message, once per version of it: the events of one
        message share their ``mail`` object, as SES builds it once."""
        headers = self.of(raw)
        if self._mail is None:
            self._mail = build(headers)
        return self._mail


@dataclass
class RuleRun:
    """What every event of one rule's run shares."""

    delivery: Delivery
    rule: Rule
    matched: list[str]
    verdicts: Verdicts
    sender: str
    timestamp: str
    started: float
    headers: MessageHeaders

    def mail(self, raw: bytes) -> dict[str, Any]:
        return self.headers.mail(raw, self._build_mail)

    def encoded_mail(self, raw: bytes) -> bytes:
        return self.headers.encoded_mail(raw, self._build_mail)

    def _build_mail(self, headers: list[tuple[str, str]]) -> dict[str, Any]:
        return ses_mail(
            headers,
            message_id=self.delivery.message_id,
            source=self.sender,
            timestamp=self.timestamp,
        )

    def moment(self) -> tuple[str, int]:
        """Now, as a receipt says it: the time, and the milliseconds since the message arrived
        (at least 1, as SES never reports 0)."""
        return now_iso(), max(1, math.ceil((time.monotonic() - self.started) * 1000))

    def receipt(
        self, action: dict[str, Any], moment: tuple[str, int] | None = None
    ) -> dict[str, Any]:
        """SES's ``receipt`` for ``action``, triggered at ``moment`` (default: now)."""
        timestamp, millis = moment or self.moment()
        return {
            "timestamp": timestamp,
            "processingTimeMillis": millis,
            "recipients": list(self.matched),
            **self.verdicts.receipt_fields(self.rule.scan_enabled),
            "action": action,
        }


MAIL_PATH = ("Records", 0, "ses", "mail")
"""Where an event's ``mail`` object goes."""


def lambda_event(receipt: dict[str, Any]) -> dict[str, Any]:
    """SES's event for a Lambda action ("Invoking Lambda functions", Amazon SES Developer
    Guide), its ``mail`` left for the message's encoded one to go in at ``MAIL_PATH``."""
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": None, "receipt": receipt},
            }
        ]
    }


_ACTION_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "S3": ("TopicArn", "BucketName", "ObjectKeyPrefix"),
        "SNS": ("TopicArn", "Encoding"),
        "Lambda": ("TopicArn", "FunctionArn", "InvocationType"),
        "Bounce": ("TopicArn", "SmtpReplyCode", "StatusCode", "Message", "Sender"),
        "WorkMail": ("TopicArn", "OrganizationArn"),
    }
)
"""The settings of each action kind that SES's notification reports (its action object)."""
_ACTION_DEFAULTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "Lambda": {"invocationType": "Event"},
        "SNS": {"encoding": "UTF-8"},
    }
)
"""What SES reports for an action setting the rule leaves out."""


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def notification(
    action: Action, run: RuleRun, raw: bytes, *, with_content: bool, object_key: str | None = None
) -> dict[str, Any]:
    """SES's notification of ``action`` for the message ``raw``, with the action as SES
    describes it ("Contents of notifications for Amazon SES email receiving", the action
    object); the message itself only ``with_content`` (the SNS action's)."""
    receipt_action = {"type": action.kind, **_ACTION_DEFAULTS.get(action.kind, {})}
    for name in _ACTION_FIELDS.get(action.kind, ("TopicArn",)):
        if action.config.get(name) is not None:
            receipt_action[_camel(name)] = action.config[name]
    if object_key is not None:
        receipt_action["objectKey"] = object_key
    found: dict[str, Any] = {
        "notificationType": "Received",
        "mail": run.mail(raw),
        "receipt": run.receipt(receipt_action),
    }
    if with_content:
        encoding = str(action.config.get("Encoding", "UTF-8"))
        found["content"] = (
            base64.b64encode(raw).decode() if encoding == "Base64" else raw.decode(errors="replace")
        )
    return found
