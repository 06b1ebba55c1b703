"""Receiving domains in plain Python: which domain a recipient names, which domains cover it, and
where a domain's MX record must point ("Publishing an MX record for Amazon SES email receiving",
Amazon SES Developer Guide).

Shared by the constructs' checks and the local mail flow, so it imports no aws-cdk-lib.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "DeclaredDomains",
    "RecipientDomain",
    "covering_domain",
    "inbound_endpoint",
    "mx_host",
    "recipient_domain",
    "region_of_endpoint",
]

_ENDPOINT = re.compile(r"inbound-smtp\.([a-z0-9-]+)\.amazonaws\.com")


def inbound_endpoint(region: str) -> str:
    """SES's receiving endpoint of ``region``: ``inbound-smtp.<region>.amazonaws.com``."""
    return f"inbound-smtp.{region}.amazonaws.com"


def region_of_endpoint(host: str) -> str | None:
    """The region whose SES receiving endpoint ``host`` is; None for another host."""
    found = _ENDPOINT.fullmatch(host.lower().rstrip("."))
    return found.group(1) if found else None


def mx_host(value: str) -> str | None:
    """The host of an MX record value ``<priority> <host>``; None when it is not one."""
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    return parts[1].lower().rstrip(".")


@dataclass(frozen=True)
class RecipientDomain:
    """The domain a rule's recipient names: ``user@example.com`` and ``example.com`` name
    example.com; ``.example.com`` names its subdomains (``subdomains``)."""

    domain: str
    subdomains: bool = False

    def names(self, domain: str) -> bool:
        """Whether mail for ``domain`` is mail this recipient names."""
        name = domain.lower().rstrip(".")
        if self.subdomains:
            return name.endswith("." + self.domain)
        return name == self.domain


def recipient_domain(recipient: str) -> RecipientDomain:
    """The domain ``recipient`` (an address, a domain or ``.domain``) names."""
    domain = recipient.rpartition("@")[2].lower()
    if domain.startswith("."):
        return RecipientDomain(domain[1:], subdomains=True)
    return RecipientDomain(domain)


def covering_domain(domain: str, declared: Iterable[str]) -> str | None:
    """The declared domain that covers ``domain`` (itself or a parent: a verified domain's
    subdomains share its verification, "Creating and verifying identities", Amazon SES Developer
    Guide); None when none does."""
    name = domain.lower().rstrip(".")
    for each in declared:
        if name == each or name.endswith("." + each):
            return each
    return None


@dataclass
class DeclaredDomains:
    """A stack's record of the domains each of its ``InboundEmail`` rule sets receives
    (``add_domain``), by the rule set's Ref token."""

    by_rule_set: dict[str, dict[str, str]] = field(default_factory=dict)
    """By the rule set's Ref token, its domains in the order declared, each with the path of
    the construct that declared it."""

    def of(self, reference: str) -> tuple[str, ...]:
        """The domains the rule set whose Ref token is ``reference`` declares."""
        return tuple(self.by_rule_set.get(reference, ()))

    def declared_by(self, domain: str) -> str | None:
        """The path of the construct of the stack that declared ``domain``, if one did."""
        for declared in self.by_rule_set.values():
            if domain in declared:
                return declared[domain]
        return None
