"""Enumerations whose values are the exact strings SES and CloudFormation use."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from constructs_ses.lambda_src.handler import Disposition

__all__ = ["Disposition", "InvocationType", "TlsPolicy", "coerce_enum"]


class InvocationType(str, Enum):
    """How SES invokes the function of a Lambda action."""

    EVENT = "Event"
    """Asynchronous: SES does not wait and ignores the answer; Lambda retries failed calls twice."""
    REQUEST_RESPONSE = "RequestResponse"
    """Synchronous, within 30 seconds: the function's disposition controls the mail flow."""


class TlsPolicy(str, Enum):
    """Whether a receipt rule accepts messages sent without TLS."""

    OPTIONAL = "Optional"
    """Accept messages whether or not they were sent over TLS."""
    REQUIRE = "Require"
    """Bounce messages that were not sent over TLS."""


E = TypeVar("E", bound=Enum)


def coerce_enum(enum_type: type[E], value: object, argument: str) -> E:
    """Return the member of ``enum_type`` that ``value`` names.

    Accepts a member, its value ("RequestResponse") or its name ("REQUEST_RESPONSE"), which also
    covers aws-cdk-lib's jsii enums of the same names. Raises ValueError naming ``argument``.
    """
    if isinstance(value, enum_type):
        return value
    for candidate in (getattr(value, "value", value), getattr(value, "name", None)):
        for member in enum_type:
            if candidate in (member.value, member.name):
                return member
    allowed = ", ".join(
        f"{enum_type.__name__}.{member.name} ({member.value!r})" for member in enum_type
    )
    raise ValueError(f"{argument}={value!r} is not allowed; use one of {allowed}")
