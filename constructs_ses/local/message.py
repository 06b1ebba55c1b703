"""The SES view of a raw message: the ``mail`` object SES builds from its headers."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

__all__ = [
    "MAX_HEADERS_BYTES",
    "alphabet_digits",
    "new_message_id",
    "now_iso",
    "parse_headers",
    "ses_mail",
]

MAX_HEADERS_BYTES = 10 * 1024
"""SES truncates the headers it passes on above 10 KB."""
_ID_ALPHABET = string.ascii_lowercase + string.digits


def alphabet_digits(source: bytes, alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` read from ``source`` as one big number."""
    number = int.from_bytes(source, "big")
    digits = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        digits.append(alphabet[index])
    return "".join(digits)


def new_message_id() -> str:
    """A message id in SES's style: 40 lower-case letters and digits, from one read of the
    system's randomness (2**256 is 2**49 times 36**40 and more: the ids are as good as
    uniform)."""
    return alphabet_digits(secrets.token_bytes(32), _ID_ALPHABET, 40)


def now_iso() -> str:
    """The current time as SES writes it, e.g. ``2026-11-23T20:32:33.936Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_headers(raw: bytes) -> Message:
    """The message's headers (compat32 keeps values as sent, malformed ones included)."""
    return BytesParser(policy=compat32).parsebytes(raw, headersonly=True)


def _addresses(message: Message, name: str) -> list[str] | None:
    values = message.get_all(name)
    if not values:
        return None
    pairs = getaddresses([str(v) for v in values])
    return [f"{name} <{address}>" if name else address for name, address in pairs if address]


def ses_mail(
    message: Message, *, message_id: str, source: str, destination: list[str], timestamp: str
) -> dict[str, Any]:
    """SES's ``mail`` object for a message's headers (``parse_headers``): in order, and common."""
    headers: list[dict[str, str]] = []
    size = 0
    truncated = False
    for name, value in message.items():
        size += len(name) + len(str(value)) + 4
        if size > MAX_HEADERS_BYTES:
            truncated = True
            break
        headers.append({"name": name, "value": str(value)})
    common: dict[str, Any] = {"returnPath": str(message.get("Return-Path") or source)}
    for key, header in (
        ("from", "From"),
        ("to", "To"),
        ("cc", "Cc"),
        ("bcc", "Bcc"),
        ("sender", "Sender"),
        ("replyTo", "Reply-To"),
    ):
        found = _addresses(message, header)
        if found is not None:
            common[key] = found
    for key, header in (("date", "Date"), ("messageId", "Message-ID"), ("subject", "Subject")):
        if message.get(header) is not None:
            common[key] = str(message.get(header))
    return {
        "timestamp": timestamp,
        "source": source,
        "messageId": message_id,
        "destination": destination,
        "headersTruncated": truncated,
        "headers": headers,
        "commonHeaders": common,
    }
