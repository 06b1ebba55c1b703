"""The SES view of a raw message: the ``mail`` object SES builds from its headers."""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import format_datetime, getaddresses, parseaddr
from types import MappingProxyType
from typing import Any

from constructs_ses.local.aws.ids import random_token
from constructs_ses.local.flow.envelope import helo_problem

__all__ = [
    "DMARC_POLICIES",
    "MAX_HEADERS_BYTES",
    "VERDICT_STATUSES",
    "Arrival",
    "Verdicts",
    "address_pairs",
    "header_items",
    "headers_before",
    "mailbox",
    "new_message_id",
    "now_iso",
    "parse_headers",
    "ses_headers",
    "ses_mail",
]

MAX_HEADERS_BYTES = 10 * 1024
"""SES truncates the headers it passes on above 10 KB."""


def new_message_id() -> str:
    """A message id in SES's style: 40 lower-case letters and digits."""
    return random_token(40)


@functools.lru_cache(maxsize=1)
def utc_second(second: int) -> str:
    """The epoch second ``second`` in UTC, ``2026-11-23T20:32:33``: made once a second, as
    receipts ask for the same one many times (``strftime`` is a good share of their cost)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def now_iso(moment: datetime | None = None) -> str:
    """``moment`` (a UTC time; default: now) as SES writes times, e.g.
    ``2026-11-23T20:32:33.936Z``."""
    if moment is not None:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    now = time.time()
    second = int(now)
    return f"{utc_second(second)}.{int((now - second) * 1000):03d}Z"


def parse_headers(raw: bytes) -> Message:
    """The message's headers (compat32 keeps values as sent, malformed ones included)."""
    return BytesParser(policy=compat32).parsebytes(raw, headersonly=True)


def header_items(message: Message) -> list[tuple[str, str]]:
    """The message's headers, in order, as text (what ``Message.items`` reads, as strings)."""
    return [(name, str(value)) for name, value in message.items()]


def headers_before(
    added: list[tuple[str, str]], original: bytes, parsed: Message
) -> tuple[bytes, list[tuple[str, str]]]:
    """``added`` as header lines before the message ``original``, whose ``parse_headers`` is
    ``parsed``: the new message and the ``header_items`` of its ``parse_headers``, made from
    both rather than parsed again. Parsed again where the two could differ: an added value that
    the parser would not keep as it is (not printable ASCII, or starting with a space), or a
    message whose first line is folded (it would continue the last added header)."""
    raw = b"".join(f"{name}: {value}\r\n".encode() for name, value in added) + original
    kept = all(
        value.isascii() and value.isprintable() and not value.startswith(" ") for _, value in added
    )
    if not kept or original[:1] in (b" ", b"\t"):
        return raw, header_items(parse_headers(raw))
    return raw, [*added, *header_items(parsed)]


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
"""An address with nothing around it for a parser to read: dot-atoms (RFC 5322) only."""


def address_pairs(values: list[str]) -> list[tuple[str, str]]:
    """``email.utils.getaddresses(values)``, without its parser for one plain address."""
    if len(values) == 1 and _PLAIN_ADDRESS.fullmatch(values[0]):
        return [("", values[0])]
    return getaddresses(values)


def mailbox(value: str) -> str:
    """``email.utils.parseaddr(value)[1]``, without its parser for a plain address, bare or in
    angle brackets."""
    inner = value[1:-1] if value[:1] == "<" and value[-1:] == ">" else value
    if _PLAIN_ADDRESS.fullmatch(inner):
        return inner
    return parseaddr(value)[1]


def _addresses(values: list[str] | None) -> list[str] | None:
    """The addresses in a header's values as SES lists them: ``"Doe, John" <john@example.com>``."""
    if not values:
        return None
    return [_listed(name, address) for name, address in address_pairs(values) if address]


_SPECIALS = frozenset('()<>@,:;."[]\\')


def _listed(name: str, address: str) -> str:
    """``name <address>`` with the name quoted when it holds specials (RFC 5322), as
    ``email.utils.formataddr`` writes it but keeping non-ASCII addresses (SMTPUTF8) as sent."""
    if not name:
        return address
    if _SPECIALS & set(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        name = f'"{escaped}"'
    return f"{name} <{address}>"


VERDICT_STATUSES = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")
"""The statuses SES gives a spam, virus, SPF, DKIM or DMARC verdict ("Contents of notifications
for Amazon SES email receiving", Amazon SES Developer Guide: the verdict objects)."""
DMARC_POLICIES = ("none", "quarantine", "reject")
"""The DMARC policies SES reports in ``dmarcPolicy`` (the same page)."""


@dataclass(frozen=True)
class Verdicts:
    """The findings SES would report for a message; PASS unless said otherwise.

    Each verdict is one of ``VERDICT_STATUSES``; ``dmarc_policy`` one of ``DMARC_POLICIES`` or
    None: a ValueError names any other value (``of`` takes them in any case).
    """

    spam: str = "PASS"
    virus: str = "PASS"
    spf: str = "PASS"
    dkim: str = "PASS"
    dmarc: str = "PASS"
    dmarc_policy: str | None = None
    """The sender's DMARC policy (none, quarantine, reject); SES sends it when DMARC fails."""

    def __post_init__(self) -> None:
        for name in ("spam", "virus", "spf", "dkim", "dmarc", "dmarc_policy"):
            value = getattr(self, name)
            allowed = DMARC_POLICIES if name == "dmarc_policy" else VERDICT_STATUSES
            if value not in allowed and not (name == "dmarc_policy" and value is None):
                shown = ", ".join(allowed) + (" (or none given)" if name == "dmarc_policy" else "")
                raise ValueError(
                    f"verdicts[{name!r}]={value!r} is not a value SES sends; allowed: {shown}"
                )

    @classmethod
    def of(cls, value: Verdicts | Mapping[str, str | None] | None) -> Verdicts:
        """Verdicts from a mapping such as ``{"spam": "FAIL"}``, in any case; unknown keys and
        values are refused. None or an empty mapping: the one all-PASS instance (so messages
        share it)."""
        if not value:
            return _ALL_PASS
        if isinstance(value, Verdicts):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            allowed = ", ".join(cls.__dataclass_fields__)
            raise ValueError(f"verdicts has unknown keys {sorted(unknown)}; allowed: {allowed}")
        return cls(**{key: _normal(key, given) for key, given in value.items()})

    def receipt_fields(self, scan_enabled: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "spfVerdict": {"status": self.spf},
            "dkimVerdict": {"status": self.dkim},
            "dmarcVerdict": {"status": self.dmarc},
        }
        if scan_enabled:
            fields["spamVerdict"] = {"status": self.spam}
            fields["virusVerdict"] = {"status": self.virus}
        if self.dmarc == "FAIL" and self.dmarc_policy:
            fields["dmarcPolicy"] = self.dmarc_policy
        return fields


_ALL_PASS = Verdicts()


def _normal(key: str, value: Any) -> Any:
    """A verdict as ``Verdicts`` holds it: statuses in upper case, the DMARC policy in lower
    case; anything that is not text as it is (and refused)."""
    if not isinstance(value, str):
        return value
    return value.lower() if key == "dmarc_policy" else value.upper()


_RESULTS = MappingProxyType(
    {"PASS": "pass", "FAIL": "fail", "GRAY": "none", "PROCESSING_FAILED": "temperror"}
)
"""Authentication-Results words (RFC 8601) for SES's verdicts."""


@dataclass(frozen=True)
class Arrival:
    """How a message reached SES: the SMTP client and the receiving host."""

    client_address: str = "127.0.0.1"
    """The client's IP address."""
    helo: str = "localhost"
    """The name the client gave in EHLO / HELO."""
    received_by: str = "localhost"
    """The host that received it (SES: ``inbound-smtp.<region>.amazonaws.com``)."""

    def __post_init__(self) -> None:
        """Refuse what SES's headers could not hold as it is: ``client_address`` must be an IP
        address, ``helo`` what RFC 5321 allows after EHLO (a domain or an address literal) and
        ``received_by`` a host name without spaces or control characters."""
        try:
            ipaddress.ip_address(self.client_address)
        except ValueError:
            raise ValueError(
                f"arrival.client_address={self.client_address!r} is not an IP address"
            ) from None
        problem = helo_problem(self.helo)
        if problem is not None:
            raise ValueError(f"arrival.helo: {problem}")
        host = self.received_by
        if not host or not host.isprintable() or any(c.isspace() for c in host):
            raise ValueError(
                f"arrival.received_by={host!r} is not a host name: it is empty or holds spaces "
                "or control characters"
            )


def ses_headers(
    *,
    message_id: str,
    source: str,
    recipient: str,
    from_domain: str,
    arrival: Arrival,
    verdicts: Verdicts,
    moment: datetime,
) -> list[tuple[str, str]]:
    """The headers SES puts before a message's own, in SES's order, as its sample event has
    them ("Lambda action: sample incoming email event", Amazon SES Developer Guide): Return-Path,
    Received, X-SES-Spam-Verdict, X-SES-Virus-Verdict, Received-SPF, Authentication-Results,
    X-SES-RECEIPT.

    Only the PASS wording of the SPF comment is SES's (from that sample); the others follow the
    same pattern. X-SES-RECEIPT is an opaque token here as there; X-SES-DKIM-SIGNATURE, SES's
    signature over the headers, is not added. ``from_domain`` is the domain of the From
    header's address, which DKIM and DMARC name.
    """
    mail_domain = source.rpartition("@")[2] or source
    ip = arrival.client_address
    spf = _RESULTS.get(verdicts.spf, "none")
    spf_comment = {
        "pass": f"domain of {mail_domain} designates {ip} as permitted sender",
        "fail": f"domain of {mail_domain} does not designate {ip} as permitted sender",
        "none": f"{ip} is neither permitted nor denied by domain of {mail_domain}",
    }.get(spf, f"error in processing during lookup of {mail_domain}")
    spf_clause = (
        f"{spf} (spfCheck: {spf_comment}) client-ip={ip}; envelope-from={source}; "
        f"helo={arrival.helo};"
    )
    receipt = hashlib.sha256(f"{message_id}/{recipient}".encode()).digest()
    added = [
        ("Return-Path", f"<{source}>"),
        (
            "Received",
            f"from {arrival.helo} ([{ip}]) by {arrival.received_by} with SMTP id {message_id} "
            f"for {recipient}; {format_datetime(moment)} (UTC)",
        ),
        ("X-SES-Spam-Verdict", verdicts.spam),
        ("X-SES-Virus-Verdict", verdicts.virus),
        ("Received-SPF", spf_clause),
        (
            "Authentication-Results",
            f"amazonses.com; spf={spf_clause} "
            f"dkim={_RESULTS.get(verdicts.dkim, 'none')} header.i=@{from_domain}; "
            f"dmarc={_RESULTS.get(verdicts.dmarc, 'none')} header.from={from_domain};",
        ),
        ("X-SES-RECEIPT", base64.b64encode(receipt).decode()),
    ]
    for name, value in added:
        if _LINE_BREAKING.search(value):
            raise ValueError(f"{name} would hold a CR, LF or NUL: {value!r}")
    return added


_LINE_BREAKING = re.compile(r"[\r\n\x00]")
"""What no header SES adds may hold: each would end it or start another."""


def ses_mail(
    items: list[tuple[str, str]],
    *,
    message_id: str,
    source: str,
    timestamp: str,
) -> dict[str, Any]:
    """SES's ``mail`` object for a message's headers (``header_items``): in order, and common.

    ``destination`` is "a complete list of all recipient addresses (including To: and CC:
    recipients) from the MIME headers of the incoming email" ("Contents of notifications for
    Amazon SES email receiving", Amazon SES Developer Guide, the mail object): the addresses of
    the To, Cc and Bcc headers, each once, in that order. The envelope recipients a rule
    matched are the receipt's ``recipients``.

    ``commonHeaders`` holds only the fields whose headers the message has ("Contents of
    notifications for Amazon SES email receiving", Amazon SES Developer Guide: "The fields present
    in this object vary depending on which fields were present in the incoming email"): a
    message without ``Date:`` or ``Message-ID:`` has no ``date`` or ``messageId`` there.
    """
    headers: list[dict[str, str]] = []
    by_name: dict[str, list[str]] = {}
    size = 0
    truncated = False
    for name, text in items:
        by_name.setdefault(name.lower(), []).append(text)
        if not truncated:
            size += len(name) + len(text) + 4
            truncated = size > MAX_HEADERS_BYTES
            if not truncated:
                headers.append({"name": name, "value": text})
    return_path = mailbox(by_name.get("return-path", [""])[0])
    common: dict[str, Any] = {"returnPath": return_path or source}
    for key, header in (
        ("from", "From"),
        ("to", "To"),
        ("cc", "Cc"),
        ("bcc", "Bcc"),
        ("sender", "Sender"),
        ("replyTo", "Reply-To"),
    ):
        found = _addresses(by_name.get(header.lower()))
        if found is not None:
            common[key] = found
    for key, header in (("date", "Date"), ("messageId", "Message-ID"), ("subject", "Subject")):
        if header.lower() in by_name:
            common[key] = by_name[header.lower()][0]
    return {
        "timestamp": timestamp,
        "source": source,
        "messageId": message_id,
        "destination": _destination(by_name),
        "headersTruncated": truncated,
        "headers": headers,
        "commonHeaders": common,
    }


def _destination(by_name: Mapping[str, list[str]]) -> list[str]:
    """The addresses of the To, Cc and Bcc headers (values by lower-case name), each once."""
    values = [v for name in ("to", "cc", "bcc") for v in by_name.get(name, ())]
    addresses = (address for _, address in address_pairs(values) if address) if values else ()
    return list(dict.fromkeys(addresses))
