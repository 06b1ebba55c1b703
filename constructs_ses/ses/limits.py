"""SES limits and naming rules for receipt rules and rule sets, as pure checks.

Each check raises ValueError with a message that names the argument, shows the value and says
what is allowed. Values that are CDK tokens (unknown until deploy time) are let through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from constructs_ses.ses.tokens import is_unresolved

__all__ = [
    "MAX_ACTIONS_PER_RULE",
    "MAX_NAME_LENGTH",
    "MAX_RECIPIENTS_PER_RULE",
    "MAX_RULES_PER_RULE_SET",
    "MAX_RULE_SETS_PER_REGION",
    "REQUEST_RESPONSE_TIMEOUT_SECONDS",
    "check_domain",
    "check_flag",
    "check_interface",
    "check_object_key_prefix",
    "check_recipients",
    "check_rule_name",
    "check_rule_set_name",
    "request_response_timeout_problem",
    "sanitize_name",
]

MAX_NAME_LENGTH = 64
MAX_RECIPIENTS_PER_RULE = 500
"""The current SES quota; older documentation said 100."""
MAX_RULES_PER_RULE_SET = 200
MAX_ACTIONS_PER_RULE = 10
MAX_OBJECT_KEY_PREFIX_LENGTH = 1024
"""S3 object keys are at most 1024 bytes; the prefix leaves room for the message id."""
MAX_RULE_SETS_PER_REGION = 40
REQUEST_RESPONSE_TIMEOUT_SECONDS = 30
"""SES gives a RequestResponse invocation 30 seconds."""

_RULE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?")
_RULE_SET_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?")
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_DOMAIN_LENGTH = 253
_MAX_LOCAL_PART_LENGTH = 64


def _check_name(argument: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
    if is_unresolved(value):
        return
    if not value or len(value) > MAX_NAME_LENGTH or not pattern.fullmatch(value):
        raise ValueError(
            f"{argument}={value!r} is not a valid name: use 1 to {MAX_NAME_LENGTH} characters "
            f"({len(value)} given) of {allowed}, starting and ending with a letter or digit"
        )


def check_rule_name(value: str, argument: str = "rule_name") -> None:
    """A receipt rule name: ASCII letters, digits, ``_``, ``-`` and ``.``; at most 64."""
    _check_name(argument, value, _RULE_NAME, "ASCII letters, digits, '_', '-' and '.'")


def check_rule_set_name(value: str, argument: str = "rule_set_name") -> None:
    """A receipt rule set name: ASCII letters, digits, ``_`` and ``-`` (no periods); at most 64."""
    _check_name(argument, value, _RULE_SET_NAME, "ASCII letters, digits, '_' and '-' (no '.')")


def sanitize_name(value: str, allowed_punctuation: str) -> str:
    """Drop the characters a name may not hold and trim punctuation from both ends."""
    kept = "".join(c for c in value if (c.isascii() and c.isalnum()) or c in allowed_punctuation)
    return kept.strip(allowed_punctuation)[:MAX_NAME_LENGTH].strip(allowed_punctuation)


def _recipient_problem(recipient: str) -> str | None:
    """Why ``recipient`` is not an address, a domain or ``.domain``; None when it is one."""
    local, at, domain = recipient.rpartition("@")
    if at:
        if not _LOCAL_PART.fullmatch(local) or len(local) > _MAX_LOCAL_PART_LENGTH:
            return "its part before '@' is not a valid mailbox name"
    elif domain.startswith("."):
        domain = domain[1:]
    if len(domain) > _MAX_DOMAIN_LENGTH or not _DOMAIN.fullmatch(domain):
        return f"{domain!r} is not a domain name such as example.com"
    return None


def check_recipients(recipients: Sequence[str] | None, argument: str = "recipients") -> None:
    """Recipients of a rule: addresses, domains or ``.domain`` for every subdomain; 1 to 500.

    None means "every recipient of every verified domain" and is allowed; an empty list is not,
    as it would mean the same while looking like a mistake.
    """
    if recipients is None:
        return
    if isinstance(recipients, str):
        raise ValueError(
            f"{argument}={recipients!r} must be a list of recipients, not a string: "
            f"write [{recipients!r}]"
        )
    count = len(recipients)
    if count == 0:
        raise ValueError(
            f"{argument}=[] matches nothing you named: give 1 to {MAX_RECIPIENTS_PER_RULE} "
            "addresses or domains, or leave it out (None) to match every recipient of every "
            "verified domain"
        )
    if count > MAX_RECIPIENTS_PER_RULE:
        raise ValueError(
            f"{argument} has {count} entries; SES allows at most {MAX_RECIPIENTS_PER_RULE} "
            "per receipt rule: split them across several rules or use domains"
        )
    seen: dict[str, int] = {}
    for index, recipient in enumerate(recipients):
        if not isinstance(recipient, str):
            raise ValueError(f"{argument}[{index}]={recipient!r} is not a string")
        if is_unresolved(recipient):
            continue
        problem = _recipient_problem(recipient)
        if problem:
            raise ValueError(
                f"{argument}[{index}]={recipient!r} is not a recipient: {problem}. Allowed: an "
                "address (user@example.com), a domain (example.com) or '.example.com' for "
                "all of its subdomains"
            )
        key = recipient.lower()
        if key in seen:
            raise ValueError(
                f"{argument}[{index}]={recipient!r} repeats {argument}[{seen[key]}]"
                f"={recipients[seen[key]]!r}: each recipient may be given once"
            )
        seen[key] = index


def request_response_timeout_problem(function: str, seconds: float) -> str | None:
    """Why the function described by ``function``, with a timeout of ``seconds``, cannot serve a
    RequestResponse Lambda action; None when it can."""
    if seconds <= REQUEST_RESPONSE_TIMEOUT_SECONDS:
        return None
    return (
        f"{function} has a timeout of {seconds:g} seconds, but SES waits at most "
        f"{REQUEST_RESPONSE_TIMEOUT_SECONDS} seconds for a RequestResponse invocation: set its "
        f"timeout to {REQUEST_RESPONSE_TIMEOUT_SECONDS} seconds or less, or use "
        "InvocationType.EVENT"
    )


def check_domain(value: object, argument: str = "domain") -> str:
    """A receiving domain such as ``example.com`` or ``mail.example.com``, known at synthesis;
    returned in lower case, as SES compares domains."""
    if not isinstance(value, str) or is_unresolved(value):
        raise ValueError(
            f"{argument}={value!r} must be a domain name written in the app, such as example.com"
        )
    if "@" in value:
        raise ValueError(
            f"{argument}={value!r} is an address: give its domain, {value.rpartition('@')[2]!r}"
        )
    if len(value) > _MAX_DOMAIN_LENGTH or not _DOMAIN.fullmatch(value):
        raise ValueError(
            f"{argument}={value!r} is not a domain name: write labels of letters, digits and "
            "'-' joined by dots, without a leading or trailing dot, such as example.com"
        )
    return value.lower()


def check_flag(value: object, argument: str) -> None:
    """A True/False argument; anything else (such as the string "false") is refused."""
    if not isinstance(value, bool):
        raise ValueError(f"{argument}={value!r} must be True or False")


def check_interface(value: object, argument: str, attribute: str, expected: str, hint: str) -> None:
    """A construct argument: ``value`` must look like ``expected`` (it has ``attribute``; its
    class is asked first, which costs no call to aws-cdk-lib)."""
    if value is None or hasattr(type(value), attribute):
        return
    if not hasattr(value, attribute):
        raise ValueError(f"{argument}={value!r} is not {expected}: {hint}")


def check_object_key_prefix(prefix: object, has_bucket: bool) -> None:
    """The key prefix of stored messages: a string, only with a bucket, short enough."""
    if not isinstance(prefix, str):
        raise ValueError(f"object_key_prefix={prefix!r} must be a string")
    if prefix and not has_bucket:
        raise ValueError(
            f"object_key_prefix={prefix!r} was given without bucket=: it names where in the "
            "bucket messages are stored"
        )
    size = len(prefix.encode())
    if size > MAX_OBJECT_KEY_PREFIX_LENGTH - 64:
        raise ValueError(
            f"object_key_prefix is {size} bytes long; S3 keys hold at most "
            f"{MAX_OBJECT_KEY_PREFIX_LENGTH} bytes, and the message id needs room: use at most "
            f"{MAX_OBJECT_KEY_PREFIX_LENGTH - 64}"
        )
