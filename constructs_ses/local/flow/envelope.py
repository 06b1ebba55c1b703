"""What an SMTP envelope may hold (RFC 5321 section 4.1, with RFC 6531's UTF-8): the client's
EHLO / HELO name, the reverse path of MAIL FROM and the forward paths of RCPT TO.

One grammar for the SMTP front and for ``MailFlow.deliver``: whatever it accepts goes into SES's
headers (``Return-Path``, ``Received``, ``Received-SPF``, ``Authentication-Results``), and none of
it can hold a CR, LF or NUL, so nothing from the envelope starts a header of its own.
"""

from __future__ import annotations

import re

__all__ = [
    "helo_problem",
    "mailbox_problem",
    "mailbox_reply",
    "recipient_reply",
    "sender_reply",
]

_NON_ASCII = r"\u0080-\U0010FFFF"
"""UTF-8 beyond ASCII, which SMTPUTF8 allows in addresses and domains (RFC 6531)."""
_ATEXT = rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~\-{_NON_ASCII}]"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_LOCAL_PART = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*|{_QUOTED}")
_LET_DIG = rf"[A-Za-z0-9{_NON_ASCII}]"
_LABEL = rf"{_LET_DIG}(?:[A-Za-z0-9\-{_NON_ASCII}]*{_LET_DIG})?"
_NAME = rf"{_LABEL}(?:\.{_LABEL})*"
_ADDRESS_LITERAL = r"\[[0-9A-Fa-f:.]+\]|\[IPv6:[0-9A-Fa-f:.]+\]"
_DOMAIN = re.compile(rf"{_NAME}|{_ADDRESS_LITERAL}")
"""A mailbox's domain: a name or an address literal."""
_PATH = re.compile(r"<([^<>]*)>(?:[ ](.*))?")
_MAX_LOCAL_PART_BYTES = 64
_MAX_DOMAIN_BYTES = 255


def _shown(text: str) -> str:
    """``text`` quoted for a reply, bytes that were not UTF-8 shown as replacement characters."""
    return repr(text.encode(errors="surrogateescape").decode(errors="replace"))


def _not_utf8(text: str) -> bool:
    """Whether ``text`` holds bytes that did not decode (aiosmtpd keeps them as surrogates)."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def mailbox_problem(mailbox: str) -> str | None:
    """Why ``mailbox`` is not ``local-part@domain`` (RFC 5321 4.1.2, non-ASCII as RFC 6531
    allows, valid UTF-8 only); None when it is one."""
    local, at, domain = mailbox.rpartition("@")
    if _not_utf8(mailbox):
        return "it is not valid UTF-8"
    if not at or not _LOCAL_PART.fullmatch(local) or len(local.encode()) > _MAX_LOCAL_PART_BYTES:
        return "it is not local-part@domain"
    if not _DOMAIN.fullmatch(domain) or len(domain.encode()) > _MAX_DOMAIN_BYTES:
        return f"{domain!r} is not a domain"
    return None


def helo_problem(name: str) -> str | None:
    """Why ``name`` may not follow EHLO or HELO (RFC 5321 4.1.1.1: a domain or an address
    literal, such as ``mail.example.org`` or ``[192.0.2.1]``); None when it may."""
    if _not_utf8(name):
        return f"{_shown(name)} is not valid UTF-8"
    if not _DOMAIN.fullmatch(name) or len(name.encode()) > _MAX_DOMAIN_BYTES:
        return f"{_shown(name)} is not a domain or an address literal"
    return None


def recipient_reply(argument: str) -> str | None:
    """The reply to ``RCPT TO:<argument>`` when its forward path breaks RFC 5321 (4.1.2); None
    when it names a mailbox."""
    return _path_reply(argument, "RCPT TO:<address>", null_allowed=False)


def sender_reply(argument: str) -> str | None:
    """The reply to ``MAIL FROM:<argument>`` when its reverse path breaks RFC 5321 (4.1.2: a
    mailbox, or ``<>`` for none); None when it is one."""
    return _path_reply(argument, "MAIL FROM:<address>", null_allowed=True)


def _path_reply(argument: str, syntax: str, *, null_allowed: bool) -> str | None:
    path = _PATH.fullmatch(argument.strip(" "))
    if path is None:
        return f"501 5.5.4 Syntax: {syntax} [SP <mail-parameters>]"
    mailbox = path.group(1)
    if null_allowed and not mailbox:
        return None
    return mailbox_reply(mailbox)


def mailbox_reply(mailbox: str) -> str | None:
    """The reply (553, RFC 5321 4.2.3) to a path naming ``mailbox`` when it is not a mailbox
    (``mailbox_problem``); None when it is one."""
    why = mailbox_problem(mailbox)
    return None if why is None else f"553 5.1.3 {_shown(mailbox)} is not a mailbox: {why}"
