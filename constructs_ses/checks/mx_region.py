"""MX region: an MX record of the app for a domain the rule set receives points at the receiving
endpoint of the rule set's region. Mail sent to another region's endpoint finds no active rule
set there and bounces ("Publishing an MX record for Amazon SES email receiving", Amazon SES
Developer Guide)."""

from __future__ import annotations

from typing import Any

from constructs_ses.checks.base import CheckContext
from constructs_ses.checks.findings import Findings, display_path
from constructs_ses.checks.region_check import flatten_intrinsics
from constructs_ses.checks.rendered import RenderedMxRecord, RenderedRuleSet
from constructs_ses.records import record_of
from constructs_ses.ses.domains import (
    DeclaredDomains,
    RecipientDomain,
    inbound_endpoint,
    mx_host,
    recipient_domain,
    region_of_endpoint,
)
from constructs_ses.ses.tokens import is_unresolved

__all__ = ["mx_points_here"]

_REGION_REFERENCE = "${AWS::Region}"


def mx_points_here(context: CheckContext, rule_set: RenderedRuleSet) -> Findings:
    """An error for each MX record of a domain the rule set receives that does not point at
    the endpoint of its region; a warning where a record's value is known only at deploy
    time."""
    region = context.contents.region
    received = _received(context, rule_set)
    if is_unresolved(region) or not received:
        return Findings()  # the receiving-region check warns about an unknown region
    endpoint = inbound_endpoint(region)
    errors: list[str] = []
    warnings: list[str] = []
    for record in context.app_mx_records:
        domain = _text(record.name, record)
        if domain is None or not any(each.names(domain) for each in received):
            continue
        domain = domain.lower().rstrip(".")
        path = display_path(record.resource)
        hosts = [_host(value, record) for value in record.values]
        if None in hosts:
            warnings.append(
                f"MX record {path} for {domain} has a value known only at deploy time, so "
                f"whether it points at {endpoint} (the rule set's region, {region}) was not "
                "checked"
            )
        known = [host for host in hosts if host is not None]
        elsewhere = sorted({h for h in known if region_of_endpoint(h) not in (None, region)})
        for host in elsewhere:
            errors.append(
                f"MX record {path} for {domain} points at {host}, the receiving endpoint of "
                f"{region_of_endpoint(host)}, but this rule set, which receives {domain}, is in "
                f"{region}: mail sent there finds no active rule set and bounces. Point the "
                f"record at {endpoint}"
            )
        if known and not elsewhere and endpoint not in known:
            errors.append(
                f"MX record {path} for {domain} points at {', '.join(known)}, not at SES: mail "
                f"for {domain} never reaches this rule set (region {region}). Point the record "
                f"at {endpoint}"
            )
    return Findings(tuple(errors), tuple(warnings))


def _received(context: CheckContext, rule_set: RenderedRuleSet) -> set[RecipientDomain]:
    """The domains the rule set receives: those declared with ``add_domain`` and those its
    rules' recipients name."""
    declared = record_of(context.contents.stack, DeclaredDomains).of(rule_set.reference)
    found = {RecipientDomain(domain) for domain in declared}
    for rule in context.contents.rules({rule_set.reference}):
        for recipient in rule.body.get("recipients") or ():
            if isinstance(recipient, str) and not is_unresolved(recipient):
                found.add(recipient_domain(recipient))
    return found


def _text(value: Any, record: RenderedMxRecord) -> str | None:
    """A resolved value as text, the record's own region written in; None when not known."""
    flat = flatten_intrinsics(value)
    if flat is not None and not is_unresolved(record.region):
        flat = flat.replace(_REGION_REFERENCE, record.region)
    return None if flat is None or "${" in flat else flat


def _host(value: Any, record: RenderedMxRecord) -> str | None:
    """The host a value names (the whole value when it is not ``<priority> <host>``); None
    when not known."""
    text = _text(value, record)
    return None if text is None else mx_host(text) or text.strip().lower()
