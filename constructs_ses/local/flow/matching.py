"""Which rules receive a recipient, as SES matches them ("Receipt rules", Amazon SES Developer
Guide: an address, ``user+tag@`` for ``user@``, a domain, ``.domain`` for its subdomains)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from constructs_ses.lambda_src.handler import address_matches

__all__ = ["matches"]


def matches(recipient: str, patterns: Sequence[str]) -> bool:
    """Whether a rule with recipients ``patterns`` receives mail for ``recipient``.

    No patterns: every recipient. ``user@example.com`` matches itself and ``user+tag@example.com``;
    ``example.com`` matches every address of that domain; ``.example.com`` every subdomain's.
    """
    return _matches(recipient, tuple(patterns))


@lru_cache(maxsize=4096)
def _matches(recipient: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    address = recipient.lower()
    local, _, domain = address.rpartition("@")
    untagged = f"{local.split('+', 1)[0]}@{domain}"
    lowered = [p.lower() for p in patterns]
    return address_matches(address, lowered) or address_matches(untagged, lowered)
