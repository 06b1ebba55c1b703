"""Amazon SES Lambda action handler: decides what happens to an incoming message.

SES calls this function with the message's metadata (never its body). Under the RequestResponse
invocation type the returned ``{"disposition": ...}`` controls the mail flow:

- ``STOP_RULE``: no further actions of this receipt rule run; later rules still do.
- ``STOP_RULE_SET``: no further actions and no further rules run.
- ``CONTINUE`` (or anything SES does not recognise): the mail flow goes on.

Under the Event invocation type SES ignores the answer; the function still runs and logs.

This file imports nothing outside the standard library, so it deploys as it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = ["Disposition", "decide", "handler"]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)


class Disposition(str, Enum):
    """What a RequestResponse Lambda action tells SES to do next (the exact SES strings)."""

    CONTINUE = "CONTINUE"
    """Go on with the next action of the rule, then the next rules."""
    STOP_RULE = "STOP_RULE"
    """Run no further actions of this rule; later rules still run."""
    STOP_RULE_SET = "STOP_RULE_SET"
    """Run no further actions and no further rules."""


STOPPING_VERDICTS = ("spamVerdict", "virusVerdict")
"""Receipt verdicts whose FAIL status stops the rule set."""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def decide(record: Mapping[str, Any]) -> tuple[Disposition, str]:
    """Return the disposition for one SES event record and the reason for it."""
    receipt = _mapping(_mapping(record.get("ses")).get("receipt"))
    for verdict in STOPPING_VERDICTS:
        status = _mapping(receipt.get(verdict)).get("status")
        if isinstance(status, str) and status.upper() == "FAIL":
            return Disposition.STOP_RULE_SET, f"{verdict} is FAIL"
    return Disposition.CONTINUE, "no verdict failed"


def handler(event: object, context: object = None) -> dict[str, str]:
    """Lambda entry point: ``{"disposition": "STOP_RULE" | "STOP_RULE_SET" | "CONTINUE"}``.

    Never raises: input it cannot read is logged and answered with CONTINUE, which is also what
    SES does with an answer it cannot read.
    """
    try:
        records = _mapping(event).get("Records")
        if not isinstance(records, list) or not records:
            LOGGER.warning(json.dumps({"problem": "event has no Records"}))
            return {"disposition": Disposition.CONTINUE.value}
        record = _mapping(records[0])
        disposition, reason = decide(record)
        mail = _mapping(_mapping(record.get("ses")).get("mail"))
        LOGGER.info(
            json.dumps(
                {
                    "messageId": mail.get("messageId"),
                    "disposition": disposition.value,
                    "reason": reason,
                }
            )
        )
        return {"disposition": disposition.value}
    except Exception:  # the mail flow must go on whatever the input was
        LOGGER.exception("unexpected error; answering CONTINUE")
        return {"disposition": Disposition.CONTINUE.value}
