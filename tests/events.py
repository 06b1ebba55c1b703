"""An SES event factory for handler tests, following the SES Developer Guide's sample event."""

from __future__ import annotations

import copy
from typing import Any


def ses_event(
    *,
    spam: str | None = "PASS",
    virus: str | None = "PASS",
    spf: str | None = "PASS",
    dkim: str | None = "PASS",
    dmarc: str | None = "PASS",
    invocation_type: str = "RequestResponse",
    message_id: str = "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
) -> dict[str, Any]:
    """A one-record SES Lambda event; a verdict of None leaves that verdict out."""
    receipt: dict[str, Any] = {
        "timestamp": "1970-01-01T00:00:00.000Z",
        "processingTimeMillis": 574,
        "recipients": ["johndoe@example.com"],
        "action": {
            "type": "Lambda",
            "invocationType": invocation_type,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:Example",
        },
    }
    for field, status in (
        ("spamVerdict", spam),
        ("virusVerdict", virus),
        ("spfVerdict", spf),
        ("dkimVerdict", dkim),
        ("dmarcVerdict", dmarc),
    ):
        if status is not None:
            receipt[field] = {"status": status}
    mail = {
        "timestamp": "1970-01-01T00:00:00.000Z",
        "source": "janedoe@example.com",
        "messageId": message_id,
        "destination": ["johndoe@example.com"],
        "headersTruncated": False,
        "headers": [{"name": "Subject", "value": "Test Subject"}],
        "commonHeaders": {
            "returnPath": "janedoe@example.com",
            "from": ["Jane Doe <janedoe@example.com>"],
            "date": "Wed, 7 Oct 2015 12:34:56 -0700",
            "to": ["Johndoe <johndoe@example.com>"],
            "messageId": "<0123456789example.com>",
            "subject": "Test Subject",
        },
    }
    event = {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": mail, "receipt": receipt},
            }
        ]
    }
    return copy.deepcopy(event)
