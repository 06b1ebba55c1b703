"""Enumerations whose values are the exact strings SES and CloudFormation use."""

from __future__ import annotations

from enum import Enum

from constructs_ses.lambda_src.handler import Disposition, enum_member

__all__ = ["Disposition", "InvocationType", "TlsPolicy", "enum_member"]


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
