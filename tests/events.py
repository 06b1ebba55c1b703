"""An SES event factory for handler tests, shaped like the SES Developer Guide's sample event."""

from __future__ import annotations

from typing import Any

DEFAULT_SENDER = "janedoe@example.com"


def dkim_signature(domain: str) -> tuple[str, str]:
    """A DKIM-Signature header signed by ``domain``, shaped like the SES guide's sample."""
    return (
        "DKIM-Signature",
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=example; "
        "h=from:to:subject:date:message-id; bh=DSofsjAoUvyZj6YsBDP5enpRO1otGb7Nes0Qexample=; "
        "b=Cm1emU30VcD6example=",
    )


def ses_event(
    *,
    spam: str | None = "PASS",
    virus: str | None = "PASS",
    spf: str | None = "PASS",
    dkim: str | None = "PASS",
    dmarc: str | None = "PASS",
    dmarc_policy: Any = None,
    invocation_type: str = "RequestResponse",
    message_id: str = "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
    source: str | None = DEFAULT_SENDER,
    from_: list[str] | None = None,
    subject: str | None = "Test Subject",
    recipients: tuple[str, ...] = ("johndoe@example.com",),
    headers: tuple[tuple[str, str], ...] = (),
    headers_truncated: bool = False,
) -> dict[str, Any]:
    """A one-record SES Lambda event; a verdict, source or subject of None is left out.

    ``headers`` (name, value) come before the Subject header in ``mail.headers``.
    """
    receipt: dict[str, Any] = {
        "timestamp": "2015-09-11T20:32:33.936Z",
        "processingTimeMillis": 222,
        "recipients": list(recipients),
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
    if dmarc_policy is not None:
        receipt["dmarcPolicy"] = dmarc_policy
    common: dict[str, Any] = {
        "returnPath": DEFAULT_SENDER,
        "from": from_ if from_ is not None else [f"Jane Doe <{DEFAULT_SENDER}>"],
        "date": "Wed, 7 Oct 2015 12:34:56 -0700",
        "to": ["Johndoe <johndoe@example.com>"],
        "messageId": "<0123456789example.com>",
    }
    if subject is not None:
        common["subject"] = subject
    mail: dict[str, Any] = {
        "timestamp": "2015-09-11T20:32:33.936Z",
        "messageId": message_id,
        "destination": list(recipients),
        "headersTruncated": headers_truncated,
        "headers": [
            *({"name": name, "value": value} for name, value in headers),
            {"name": "Subject", "value": subject or ""},
        ],
        "commonHeaders": common,
    }
    if source is not None:
        mail["source"] = source
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": mail, "receipt": receipt},
            }
        ]
    }
