"""Uncovered recipients: when an ``InboundEmail`` declares its domains (``add_domain``), a rule
whose recipients name a domain none of them covers receives that mail only if the domain is
verified in SES some other way ("Verifying your domain for Amazon SES email receiving", Amazon
SES Developer Guide)."""

from __future__ import annotations

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings
from constructs_ses.checks.rendered import RenderedRule
from constructs_ses.records import record_of
from constructs_ses.ses.domains import DeclaredDomains, covering_domain, recipient_domain
from constructs_ses.ses.tokens import is_unresolved

__all__ = ["DOMAIN_WARNING_ID", "uncovered_recipients"]

DOMAIN_WARNING_ID = "constructs-ses:uncoveredRecipient"


def uncovered_recipients(context: CheckContext, rule: RenderedRule) -> Findings:
    """A warning for each recipient domain of ``rule`` that the declared domains do not cover."""
    declared = record_of(context.contents.stack, DeclaredDomains).of(rule.rule_set)
    if not declared:
        return Findings()
    warnings: list[str] = []
    for recipient in rule.body.get("recipients") or ():
        if not isinstance(recipient, str) or is_unresolved(recipient):
            continue
        named = recipient_domain(recipient)
        if covering_domain(named.domain, declared) is not None:
            continue
        which = f"subdomains of {named.domain}" if named.subdomains else named.domain
        warnings.append(
            f"rule {rule.body.get('name')!r} receives {recipient!r}, in {which}, which none "
            f"of the InboundEmail's domains ({', '.join(declared)}) covers: mail for it "
            f"reaches the rule only if {named.domain} is verified in SES some other way "
            f"(add_domain({named.domain!r}) declares it)"
        )
    return Findings(warnings=tuple(warnings))
