"""Amazon SES Lambda action handler: decides what happens to an incoming message.

SES calls this function with the message's metadata (never its body). Under the RequestResponse
invocation type the returned ``{"disposition": ...}`` controls the mail flow:

- ``STOP_RULE``: no further actions of this receipt rule run; later rules still do.
- ``STOP_RULE_SET``: no further actions and no further rules run.
- ``CONTINUE`` (or anything SES does not recognise): the mail flow goes on.

Under the Event invocation type SES ignores the answer; the function still decides and logs.
Deciding has no side effects, so a second delivery of the same event (which asynchronous
invocation can bring) gives the same answer and the same log line.

What stops mail is set without code through environment variables (see ``Policy``), and in code by
passing your own decision function to ``make_handler``::

    def decide(record: SesRecord, policy: Policy) -> Decision | None:
        if record.mail.common_headers.subject == "unsubscribe":
            return Decision(Disposition.STOP_RULE_SET, "unsubscribe request")
        return None  # let the policy decide

    handler = make_handler(decide)

An allowed sender (``allow_senders``) passes the stopping findings only through an identity SES
authenticated (``authenticated_senders``): SPF vouches for the envelope sender alone, DMARC for
the From address, DKIM for the From address only when every signature's domain aligns with it,
and a DMARC failure leaves the From address unauthenticated. A message whose envelope sender
passes SPF for one domain and whose From header names another is not let through on the
latter. Denied senders (``deny_senders``) match any identity, authenticated or not.

This file imports nothing outside the standard library, so it deploys as it is. Its one helper
that reads the message body from S3 (``fetch_message``) uses boto3, which Lambda provides.
"""

from __future__ import annotations

import json
import logging
import os
from enum import Enum

# Only what runs is imported at run time (typing, dataclasses and collections would add a third to
# the cold start); type checkers see the rest. Type checkers treat TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from email.message import EmailMessage
    from typing import Any, TypeAlias, TypeVar

    E = TypeVar("E", bound=Enum)
    Decider: TypeAlias = Callable[["SesRecord", "Policy"], "Decision | None"]
    """A decision function: a ``Decision``, or None to leave the message to the policy."""

__all__ = [
    "AuthenticatedSender",
    "CommonHeaders",
    "Decision",
    "Disposition",
    "Header",
    "Policy",
    "ReceiptAction",
    "SesEvent",
    "SesMail",
    "SesReceipt",
    "SesRecord",
    "SettingError",
    "StopVerdict",
    "Verdict",
    "address_matches",
    "authenticated_senders",
    "decide_by_policy",
    "domains_align",
    "enum_member",
    "fetch_message",
    "handler",
    "make_handler",
]

LOGGER = logging.getLogger("ses_handler")
LOGGER.setLevel(logging.INFO)


class Disposition(str, Enum):
    """What a RequestResponse Lambda action tells SES to do next (the exact SES strings)."""

    CONTINUE = "CONTINUE"
    """Go on with the next action of the rule, then the next rules."""
    STOP_RULE = "STOP_RULE"
    """Run no further actions of this rule; later rules still run."""
    STOP_RULE_SET = "STOP_RULE_SET"
    """Run no further actions and no further rules."""


# ---------------------------------------------------------------------------------------------
# The event: typed, read-only views. Absent or malformed fields read as None or [].
# ---------------------------------------------------------------------------------------------


class _View:
    """A read-only view of one JSON object of the event; anything but an object reads as {}."""

    __slots__ = ("_data",)

    def __init__(self, data: object) -> None:
        self._data: Mapping[str, Any] = data if isinstance(data, dict) else {}

    @property
    def raw(self) -> Mapping[str, Any]:
        """The underlying JSON object."""
        return self._data

    def _str(self, key: str) -> str | None:
        value = self._data.get(key)
        return value if isinstance(value, str) else None

    def _strs(self, key: str) -> list[str]:
        value = self._data.get(key)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def _objects(self, key: str) -> list[Any]:
        value = self._data.get(key)
        return value if isinstance(value, list) else []

    def _bool(self, key: str) -> bool | None:
        value = self._data.get(key)
        return value if isinstance(value, bool) else None

    def _int(self, key: str) -> int | None:
        value = self._data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class Header(_View):
    """One message header as SES passes it."""

    @property
    def name(self) -> str | None:
        """The header's name, e.g. ``Subject``."""
        return self._str("name")

    @property
    def value(self) -> str | None:
        """The header's value."""
        return self._str("value")


class CommonHeaders(_View):
    """The headers SES parses for every message. Any of them may be missing."""

    @property
    def return_path(self) -> str | None:
        """The Return-Path header."""
        return self._str("returnPath")

    @property
    def from_(self) -> list[str]:
        """The From header's addresses, e.g. ``["Jane Doe <janedoe@example.com>"]``."""
        return self._strs("from")

    @property
    def date(self) -> str | None:
        """The Date header."""
        return self._str("date")

    @property
    def to(self) -> list[str]:
        """The To header's addresses."""
        return self._strs("to")

    @property
    def cc(self) -> list[str]:
        """The Cc header's addresses."""
        return self._strs("cc")

    @property
    def bcc(self) -> list[str]:
        """The Bcc header's addresses."""
        return self._strs("bcc")

    @property
    def sender(self) -> list[str]:
        """The Sender header's addresses."""
        return self._strs("sender")

    @property
    def reply_to(self) -> list[str]:
        """The Reply-To header's addresses."""
        return self._strs("replyTo")

    @property
    def message_id(self) -> str | None:
        """The Message-ID header (not SES's messageId)."""
        return self._str("messageId")

    @property
    def subject(self) -> str | None:
        """The Subject header."""
        return self._str("subject")


class SesMail(_View):
    """The ``mail`` object: information about the message."""

    @property
    def timestamp(self) -> str | None:
        """When the message was received, in ISO 8601 format."""
        return self._str("timestamp")

    @property
    def source(self) -> str | None:
        """The envelope MAIL FROM address."""
        return self._str("source")

    @property
    def message_id(self) -> str | None:
        """SES's unique id of the message; also its S3 object name after an S3 action."""
        return self._str("messageId")

    @property
    def destination(self) -> list[str]:
        """Every recipient address of the message's MIME headers (To and CC included): the
        header addresses, which may differ from the envelope's (``receipt.recipients``)."""
        return self._strs("destination")

    @property
    def headers_truncated(self) -> bool | None:
        """Whether SES truncated the headers in the notification (above 10 KB)."""
        return self._bool("headersTruncated")

    @property
    def headers(self) -> list[Header]:
        """The message's headers, in order."""
        return [Header(h) for h in self._objects("headers")]

    def header(self, name: str) -> str | None:
        """The value of the first header called ``name`` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """The values of every header called ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [
            h.value
            for h in self.headers
            if h.name is not None and h.value is not None and h.name.lower() == wanted
        ]

    @property
    def dkim_signing_domains(self) -> list[str | None]:
        """The signing domain (``d=`` tag, RFC 6376 section 3.5) of each ``DKIM-Signature``
        header, lower case, in order; None for a signature without one. SES's own signature
        (``X-SES-DKIM-SIGNATURE``) is not among them."""
        return [_dkim_tag(value, "d") for value in self.header_values("DKIM-Signature")]

    @property
    def common_headers(self) -> CommonHeaders:
        """The headers SES parses for every message."""
        return CommonHeaders(self._data.get("commonHeaders"))


def _dkim_tag(value: str, tag: str) -> str | None:
    """A tag of a DKIM-Signature tag list (``v=1; d=example.com; ...``), lower case."""
    for item in value.split(";"):
        name, equals, content = item.partition("=")
        if equals and name.strip() == tag:
            found = "".join(content.split()).lower()  # folding whitespace is not part of it
            return found or None
    return None


class Verdict(_View):
    """The result of one of SES's checks."""

    @property
    def status(self) -> str | None:
        """``PASS``, ``FAIL``, ``GRAY`` or ``PROCESSING_FAILED`` (upper case), or None."""
        status = self._str("status")
        return status.upper() if status is not None else None

    @property
    def failed(self) -> bool:
        """True when the status is ``FAIL``."""
        return self.status == "FAIL"

    @property
    def passed(self) -> bool:
        """True when the status is ``PASS``."""
        return self.status == "PASS"


class ReceiptAction(_View):
    """The action that invoked this function."""

    @property
    def type(self) -> str | None:
        """The action type: ``Lambda``."""
        return self._str("type")

    @property
    def function_arn(self) -> str | None:
        """The ARN of the invoked function."""
        return self._str("functionArn")

    @property
    def invocation_type(self) -> str | None:
        """``RequestResponse`` (SES waits for the disposition) or ``Event`` (it does not)."""
        return self._str("invocationType")


class SesReceipt(_View):
    """The ``receipt`` object: what SES found when it received the message."""

    @property
    def timestamp(self) -> str | None:
        """When the action was triggered, in ISO 8601 format."""
        return self._str("timestamp")

    @property
    def processing_time_millis(self) -> int | None:
        """Milliseconds from receiving the message to triggering the action."""
        return self._int("processingTimeMillis")

    @property
    def recipients(self) -> list[str]:
        """The envelope (RCPT TO) recipients that matched the active receipt rule; they may
        differ from ``mail.destination``, the headers' addresses."""
        return self._strs("recipients")

    @property
    def spam_verdict(self) -> Verdict:
        """Whether the message is spam."""
        return Verdict(self._data.get("spamVerdict"))

    @property
    def virus_verdict(self) -> Verdict:
        """Whether the message contains a virus."""
        return Verdict(self._data.get("virusVerdict"))

    @property
    def spf_verdict(self) -> Verdict:
        """Whether the Sender Policy Framework (SPF) check passed."""
        return Verdict(self._data.get("spfVerdict"))

    @property
    def dkim_verdict(self) -> Verdict:
        """Whether the DomainKeys Identified Mail (DKIM) check passed."""
        return Verdict(self._data.get("dkimVerdict"))

    @property
    def dmarc_verdict(self) -> Verdict:
        """Whether the DMARC check passed."""
        return Verdict(self._data.get("dmarcVerdict"))

    @property
    def dmarc_policy(self) -> str | None:
        """The sending domain's DMARC policy when DMARC failed: ``none``, ``quarantine`` or
        ``reject`` (lower case). SES sends it as a plain string, only when DMARC fails."""
        policy = self._data.get("dmarcPolicy")
        if isinstance(policy, dict):  # tolerate the object form of AWS's own example
            policy = policy.get("status")
        return policy.lower() if isinstance(policy, str) else None

    @property
    def action(self) -> ReceiptAction:
        """The action that invoked this function."""
        return ReceiptAction(self._data.get("action"))


class SesRecord(_View):
    """One record of the event: a message and its receipt."""

    @property
    def event_source(self) -> str | None:
        """``aws:ses``."""
        return self._str("eventSource")

    @property
    def event_version(self) -> str | None:
        """``1.0``."""
        return self._str("eventVersion")

    @property
    def mail(self) -> SesMail:
        """Information about the message."""
        return SesMail(_View(self._data.get("ses")).raw.get("mail"))

    @property
    def receipt(self) -> SesReceipt:
        """What SES found when it received the message."""
        return SesReceipt(_View(self._data.get("ses")).raw.get("receipt"))


class SesEvent(_View):
    """The event SES passes to a Lambda action: ``{"Records": [...]}``."""

    @property
    def records(self) -> list[SesRecord]:
        """The records; SES sends one message per invocation."""
        return [SesRecord(r) for r in self._objects("Records") if isinstance(r, dict)]

    @property
    def record(self) -> SesRecord | None:
        """The first record, or None when there is none."""
        records = self.records
        return records[0] if records else None


# ---------------------------------------------------------------------------------------------
# The policy: what stops mail, configured through environment variables.
# ---------------------------------------------------------------------------------------------


class StopVerdict(str, Enum):
    """A finding of SES that can stop a message."""

    SPAM = "spam"
    """SES's spam verdict is FAIL."""
    VIRUS = "virus"
    """SES's virus verdict is FAIL."""
    SPF = "spf"
    """The SPF check failed."""
    DKIM = "dkim"
    """The DKIM check failed."""
    DMARC_REJECT = "dmarc_reject"
    """DMARC failed and the sending domain's policy is ``reject``."""
    DMARC_QUARANTINE = "dmarc_quarantine"
    """DMARC failed and the sending domain's policy is ``quarantine``."""


class SettingError(ValueError):
    """A setting (of the policy, or an argument of the constructs) that is not valid."""


ENV_STOP_ON = "SES_STOP_ON"
ENV_ON_STOP = "SES_ON_STOP"
ENV_ALLOW_SENDERS = "SES_ALLOW_SENDERS"
ENV_DENY_SENDERS = "SES_DENY_SENDERS"
ENV_ON_ERROR = "SES_ON_ERROR"
ENV_MESSAGE_BUCKET = "SES_MESSAGE_BUCKET"
ENV_MESSAGE_PREFIX = "SES_MESSAGE_PREFIX"

DEFAULT_STOP_ON = (StopVerdict.SPAM, StopVerdict.VIRUS, StopVerdict.DMARC_REJECT)


def enum_member(enum_type: type[E], value: object, setting: str) -> E:
    """The member of ``enum_type`` that ``value`` is, or whose value or name it is.

    A member of another enum with the same names (such as aws-cdk-lib's jsii enums) is accepted
    by its name. Raises SettingError, naming ``setting``, the value and what is allowed.
    """
    if isinstance(value, enum_type):
        return value
    for candidate in (getattr(value, "value", value), getattr(value, "name", None)):
        for member in enum_type:
            if candidate in (member.value, member.name):
                return member
    allowed = ", ".join(f"{enum_type.__name__}.{m.name} ({m.value!r})" for m in enum_type)
    raise SettingError(f"{setting}={value!r} is not allowed; use one of {allowed}")


def _sender_pattern(entry: object, setting: str) -> str:
    if not isinstance(entry, str):
        raise SettingError(f"{setting} entry {entry!r} is not a string")
    pattern = entry.lower()
    local, at, domain = pattern.rpartition("@")
    bare = domain.removeprefix(".")
    unsafe = [c for c in pattern if c == "," or c.isspace() or not c.isprintable()]
    malformed = "@" in local or (at and not local) or bare.startswith(".")
    if unsafe or malformed or not bare or "." not in bare:
        why = f": {unsafe[0]!r} is not allowed in an entry" if unsafe else ""
        raise SettingError(
            f"{setting} entry {entry!r} is not an address (user@example.com), a domain "
            f"(example.com) or '.example.com' for its subdomains{why}; entries hold no commas, "
            "whitespace or control characters"
        )
    return pattern


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class Policy:
    """What stops a message, and what the function answers then.

    Read from the environment by ``Policy.from_environment()`` (the constructs write it with
    ``to_environment()``), so it is set without code. Settings may be given as enum members or
    their strings.

    :param stop_on: (``SES_STOP_ON``, comma-separated) the findings that stop a message.
        Default: spam, virus, dmarc_reject.
    :param on_stop: (``SES_ON_STOP``) the answer when one is found: ``STOP_RULE_SET`` (default)
        or ``STOP_RULE``.
    :param allow_senders: (``SES_ALLOW_SENDERS``) addresses, domains or ``.domain`` whose mail is
        never stopped by a finding, when SES authenticated the sender identity that matches
        (see ``authenticated_senders``: otherwise anyone could claim to be them). Default: none.
    :param deny_senders: (``SES_DENY_SENDERS``) senders whose mail is always stopped; this wins
        over ``allow_senders`` and matches the envelope address (MAIL FROM) or any From header
        address, authenticated or not (a forged identity is denied all the same). Default: none.
    :param on_error: (``SES_ON_ERROR``) the answer when the event cannot be read or deciding
        fails. Default: ``CONTINUE``, as SES itself continues on an answer it cannot read.

    A sender entry is written in ASCII or Unicode without commas or whitespace (the environment
    variables are comma-separated, so such an entry would not come back as written); entries are
    compared in lower case.
    """

    __slots__ = ("allow_senders", "deny_senders", "on_error", "on_stop", "stop_on")

    def __init__(
        self,
        *,
        stop_on: Iterable[StopVerdict | str] = DEFAULT_STOP_ON,
        on_stop: Disposition | str = Disposition.STOP_RULE_SET,
        allow_senders: Iterable[str] = (),
        deny_senders: Iterable[str] = (),
        on_error: Disposition | str = Disposition.CONTINUE,
    ) -> None:
        self.stop_on: tuple[StopVerdict, ...] = _verdicts(stop_on, "stop_on")
        self.on_stop: Disposition = enum_member(Disposition, on_stop, "on_stop")
        if self.on_stop is Disposition.CONTINUE:
            raise SettingError(
                "on_stop='CONTINUE' would stop nothing; use STOP_RULE_SET or STOP_RULE"
            )
        self.allow_senders: tuple[str, ...] = _senders_setting(allow_senders, "allow_senders")
        self.deny_senders: tuple[str, ...] = _senders_setting(deny_senders, "deny_senders")
        self.on_error: Disposition = enum_member(Disposition, on_error, "on_error")

    def _settings(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self._settings() == other._settings()

    def __hash__(self) -> int:
        return hash(self._settings())

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Policy({settings})"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Policy:
        """The policy the environment variables describe; defaults where they are unset."""
        env = os.environ if environ is None else environ
        stop_on = env.get(ENV_STOP_ON)
        return cls(
            stop_on=_verdicts(_split(stop_on), ENV_STOP_ON)
            if stop_on is not None
            else DEFAULT_STOP_ON,
            on_stop=enum_member(Disposition, env.get(ENV_ON_STOP) or "STOP_RULE_SET", ENV_ON_STOP),
            allow_senders=_split(env.get(ENV_ALLOW_SENDERS)),
            deny_senders=_split(env.get(ENV_DENY_SENDERS)),
            on_error=enum_member(Disposition, env.get(ENV_ON_ERROR) or "CONTINUE", ENV_ON_ERROR),
        )

    def to_environment(self) -> dict[str, str]:
        """The environment variables that make ``from_environment()`` return this policy."""
        return {
            ENV_STOP_ON: ",".join(v.value for v in self.stop_on),
            ENV_ON_STOP: self.on_stop.value,
            ENV_ALLOW_SENDERS: ",".join(self.allow_senders),
            ENV_DENY_SENDERS: ",".join(self.deny_senders),
            ENV_ON_ERROR: self.on_error.value,
        }


def _verdicts(values: Iterable[StopVerdict | str], setting: str) -> tuple[StopVerdict, ...]:
    if isinstance(values, str):
        raise SettingError(f"{setting}={values!r} must be a list of findings, not a string")
    return tuple(dict.fromkeys(enum_member(StopVerdict, value, setting) for value in values))


def _senders_setting(entries: Iterable[str], setting: str) -> tuple[str, ...]:
    if isinstance(entries, str):
        raise SettingError(f"{setting}={entries!r} must be a list of senders, not a string")
    return tuple(_sender_pattern(entry, setting) for entry in entries)


class Decision:
    """A disposition and the reason for it (logged, never sent to SES)."""

    __slots__ = ("disposition", "reason")

    def __init__(self, disposition: Disposition, reason: str) -> None:
        self.disposition = disposition
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and (self.disposition, self.reason) == (
            other.disposition,
            other.reason,
        )

    def __hash__(self) -> int:
        return hash((self.disposition, self.reason))

    def __repr__(self) -> str:
        return f"Decision({self.disposition!r}, {self.reason!r})"


def _address(text: str) -> str | None:
    """The bare address in ``Name <user@example.com>`` or ``user@example.com``, lower case."""
    start, end = text.rfind("<"), text.rfind(">")
    address = text[start + 1 : end] if 0 <= start < end else text
    address = address.strip().lower()
    return address if "@" in address else None


def _senders(mail: SesMail) -> list[str]:
    candidates = [mail.source or "", *mail.common_headers.from_]
    return [a for a in (_address(c) for c in candidates) if a is not None]


def address_matches(address: str, patterns: Iterable[str]) -> bool:
    """Whether ``address`` is one of ``patterns``: an address, its domain, or ``.parent-domain``.

    Both sides must be lower case, as ``Policy`` stores its senders.
    """
    domain = address.rpartition("@")[2]
    for pattern in patterns:
        if pattern.startswith("."):
            if domain.endswith(pattern):
                return True
        elif pattern == (address if "@" in pattern else domain):
            return True
    return False


def domains_align(signing_domain: str, sender_domain: str) -> bool:
    """Whether a DKIM signing domain vouches for a sender's domain: they are the same, or one is
    a subdomain of the other (both lower case).

    This is DMARC's relaxed alignment (RFC 7489, section 3.1.1) without the Public Suffix List:
    ``mail.example.com`` aligns with ``example.com`` both ways, but two sibling subdomains
    (``news.example.com``, ``mail.example.com``) do not, though DMARC would align them through
    their organizational domain. Whoever controls a domain's DNS controls its subdomains', so
    the rule admits no signer that relaxed alignment would refuse for a registrable domain.
    """
    shorter, longer = sorted((signing_domain, sender_domain), key=len)
    return bool(shorter) and (longer == shorter or longer.endswith("." + shorter))


class AuthenticatedSender:
    """A sender identity of a message that SES authenticated, and by which check."""

    __slots__ = ("address", "by")

    def __init__(self, address: str, by: str) -> None:
        self.address = address
        """The address, lower case."""
        self.by = by
        """``spf`` (the envelope sender), ``dmarc`` or ``dkim`` (a From address)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthenticatedSender) and (self.address, self.by) == (
            other.address,
            other.by,
        )

    def __hash__(self) -> int:
        return hash((self.address, self.by))

    def __repr__(self) -> str:
        return f"AuthenticatedSender({self.address!r}, {self.by!r})"


def authenticated_senders(record: SesRecord) -> list[AuthenticatedSender]:
    """The sender identities of ``record`` that SES's verdicts authenticate.

    - SPF ``PASS`` authenticates the envelope sender (``mail.source``), and nothing else.
    - DMARC ``PASS`` authenticates the From header's addresses.
    - DKIM ``PASS`` authenticates the From header's addresses when the domain of every
      ``DKIM-Signature`` (its ``d=``) aligns with theirs (``domains_align``). SES's verdict does
      not say which signature passed, so one from another domain beside them authenticates no
      From address; nor does any signature when SES truncated the headers.
    - DMARC ``FAIL`` leaves the From addresses unauthenticated, whatever passed.
    - From addresses of more than one domain, or more than one From header, are not
      authenticated by DMARC or DKIM.

    SES documents the verdicts in "Lambda action" and "Incoming email notification contents"
    of the SES Developer Guide.
    """
    mail, receipt = record.mail, record.receipt
    found: list[AuthenticatedSender] = []
    source = _address(mail.source or "")
    if source is not None and receipt.spf_verdict.passed:
        found.append(AuthenticatedSender(source, "spf"))
    from_addresses = [a for a in (_address(f) for f in mail.common_headers.from_) if a]
    domains = {address.rpartition("@")[2] for address in from_addresses}
    if len(domains) != 1 or len(mail.header_values("From")) > 1 or receipt.dmarc_verdict.failed:
        return found
    (domain,) = domains
    by = "dmarc" if receipt.dmarc_verdict.passed else None
    if by is None and receipt.dkim_verdict.passed and not mail.headers_truncated:
        signers = mail.dkim_signing_domains
        if signers and all(d is not None and domains_align(d, domain) for d in signers):
            by = "dkim"
    if by is not None:
        found.extend(AuthenticatedSender(address, by) for address in from_addresses)
    return found


def _findings(receipt: SesReceipt) -> list[StopVerdict]:
    dmarc_failed = receipt.dmarc_verdict.failed
    found = {
        StopVerdict.SPAM: receipt.spam_verdict.failed,
        StopVerdict.VIRUS: receipt.virus_verdict.failed,
        StopVerdict.SPF: receipt.spf_verdict.failed,
        StopVerdict.DKIM: receipt.dkim_verdict.failed,
        StopVerdict.DMARC_REJECT: dmarc_failed and receipt.dmarc_policy == "reject",
        StopVerdict.DMARC_QUARANTINE: dmarc_failed and receipt.dmarc_policy == "quarantine",
    }
    return [verdict for verdict, hit in found.items() if hit]


def decide_by_policy(record: SesRecord, policy: Policy) -> Decision:
    """The policy's decision for one record (see ``Policy``)."""
    senders = _senders(record.mail)
    if any(address_matches(s, policy.deny_senders) for s in senders):
        return Decision(policy.on_stop, "sender is denied")
    receipt = record.receipt
    hits = [v for v in _findings(receipt) if v in policy.stop_on]
    if not hits:
        return Decision(Disposition.CONTINUE, "no stopping finding")
    if policy.allow_senders:
        for sender in authenticated_senders(record):
            if address_matches(sender.address, policy.allow_senders):
                identity = "envelope sender" if sender.by == "spf" else "From address"
                return Decision(
                    Disposition.CONTINUE,
                    f"sender is allowed: {identity} authenticated by {sender.by.upper()}",
                )
    return Decision(policy.on_stop, "found: " + ", ".join(v.value for v in hits))


def _log_line(record: SesRecord, decision: Decision) -> str:
    """One JSON line: no body and no full sender address (the sender's domain only)."""
    receipt = record.receipt
    senders = _senders(record.mail)
    return json.dumps(
        {
            "messageId": record.mail.message_id,
            "recipients": receipt.recipients,
            "senderDomain": senders[0].rpartition("@")[2] if senders else None,
            "invocationType": receipt.action.invocation_type,
            "verdicts": {
                "spam": receipt.spam_verdict.status,
                "virus": receipt.virus_verdict.status,
                "spf": receipt.spf_verdict.status,
                "dkim": receipt.dkim_verdict.status,
                "dmarc": receipt.dmarc_verdict.status,
                "dmarcPolicy": receipt.dmarc_policy,
            },
            "disposition": decision.disposition.value,
            "reason": decision.reason,
        }
    )


def make_handler(
    decide: Decider | None = None, policy: Policy | None = None
) -> Callable[[object, object], dict[str, str]]:
    """A Lambda handler that answers with ``decide``'s decision, or else the policy's.

    :param decide: your decision function; it returns a ``Decision``, or None to let the policy
        decide. Default: the policy alone.
    :param policy: Default: ``Policy.from_environment()``, read once, at the first invocation.
    """
    state: dict[str, Policy | SettingError] = {}

    def current_policy() -> Policy:
        if "policy" not in state:
            try:
                state["policy"] = policy or Policy.from_environment()
            except SettingError as error:
                state["policy"] = error
        found = state["policy"]
        if isinstance(found, SettingError):
            raise found
        return found

    def handle(event: object, context: object = None) -> dict[str, str]:
        on_error = Disposition.CONTINUE
        try:
            active = current_policy()
            on_error = active.on_error
            record = SesEvent(event).record
            if record is None:
                LOGGER.error(json.dumps({"problem": "the event has no SES record"}))
                return {"disposition": on_error.value}
            decision = (decide(record, active) if decide else None) or decide_by_policy(
                record, active
            )
            LOGGER.info(_log_line(record, decision))
            return {"disposition": decision.disposition.value}
        except Exception as error:  # the mail flow must go on whatever happened
            LOGGER.exception(
                json.dumps(
                    {"problem": f"{type(error).__name__}: {error}", "answer": on_error.value}
                )
            )
            return {"disposition": on_error.value}

    return handle


handler = make_handler()
"""The Lambda entry point (``handler.handler``): ``{"disposition": ...}``; it never raises."""


def fetch_message(
    mail: SesMail,
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    s3_client: Any = None,
) -> EmailMessage:
    """The message body stored by the rule's S3 action, parsed by the ``email`` package.

    The object is ``prefix + messageId`` in ``bucket``.

    :param bucket: Default: the ``SES_MESSAGE_BUCKET`` environment variable.
    :param prefix: Default: the ``SES_MESSAGE_PREFIX`` environment variable, or "".
    :param s3_client: a boto3 S3 client. Default: ``boto3.client("s3")``.
    :raises LookupError: when there is no bucket or message id to read.
    """
    # Imported here, not at the top: reading bodies is optional and these cost cold-start time.
    from email import policy as email_policy  # noqa: PLC0415
    from email.message import EmailMessage  # noqa: PLC0415
    from email.parser import BytesParser  # noqa: PLC0415

    bucket = bucket or os.environ.get(ENV_MESSAGE_BUCKET)
    prefix = os.environ.get(ENV_MESSAGE_PREFIX, "") if prefix is None else prefix
    if not bucket:
        raise LookupError(f"no bucket: pass bucket= or set {ENV_MESSAGE_BUCKET}")
    if not mail.message_id:
        raise LookupError("the event's mail has no messageId")
    if s3_client is None:
        import boto3  # noqa: PLC0415 (provided by the Lambda runtime)

        s3_client = boto3.client("s3")
    body = s3_client.get_object(Bucket=bucket, Key=prefix + mail.message_id)["Body"].read()
    return BytesParser(_class=EmailMessage, policy=email_policy.default).parsebytes(body)
