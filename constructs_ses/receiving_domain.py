"""ReceivingDomain: a domain an ``InboundEmail`` receives mail for, with its SES identity, its
DKIM records and its MX record.

SES receives mail only for domains verified in the region ("Verifying your domain for Amazon SES
email receiving") and only through the receiving endpoint its MX record names ("Publishing an MX
record for Amazon SES email receiving", Amazon SES Developer Guide). An ``EmailIdentity`` with
Easy DKIM verifies the domain once its three DKIM CNAME records are published.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnOutput, Stack, Token
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from constructs import Construct

from constructs_ses.ses.domains import covering_domain, inbound_endpoint

__all__ = ["ReceivingDomain", "check_mx_priority", "check_zone_holds"]

MAX_MX_PRIORITY = 65535
"""An MX record's preference is a 16-bit number (RFC 1035)."""


class ReceivingDomain(Construct):
    """A domain the rule set receives: made by ``InboundEmail.add_domain``.

    :param domain: the domain, in lower case.
    :param hosted_zone: the Route 53 zone holding the domain (its apex or a parent). Default:
        none; the records to publish are stack outputs.
    :param mx_priority: the MX record's priority.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: str,
        hosted_zone: route53.IHostedZone | None,
        mx_priority: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = domain
        """The domain, in lower case."""
        self.hosted_zone = hosted_zone
        """The zone its records are in; None when they are stack outputs."""
        self.identity = ses.EmailIdentity(self, "Identity", identity=ses.Identity.domain(domain))
        """Its ``aws_ses.EmailIdentity`` (Easy DKIM)."""
        endpoint = inbound_endpoint(Stack.of(self).region)
        self.mx_value = f"{mx_priority} {endpoint}"
        """The MX record's value: ``<priority> inbound-smtp.<region>.amazonaws.com``."""
        dkim = [
            (self.identity.dkim_dns_token_name1, self.identity.dkim_dns_token_value1),
            (self.identity.dkim_dns_token_name2, self.identity.dkim_dns_token_value2),
            (self.identity.dkim_dns_token_name3, self.identity.dkim_dns_token_value3),
        ]
        self.dkim_records: list[route53.CnameRecord] = []
        """Its three DKIM CNAME records, when it has a zone."""
        self.mx_record: route53.MxRecord | None = None
        """Its MX record, when it has a zone."""
        if hosted_zone is not None:
            self.dkim_records = [
                # a trailing dot: the token is already the record's full name
                route53.CnameRecord(
                    self, f"Dkim{n}", zone=hosted_zone, record_name=name + ".", domain_name=value
                )
                for n, (name, value) in enumerate(dkim, start=1)
            ]
            self.mx_record = route53.MxRecord(
                self,
                "Mx",
                zone=hosted_zone,
                record_name=domain + ".",
                values=[route53.MxRecordValue(host_name=endpoint, priority=mx_priority)],
            )
            return
        CfnOutput(
            self,
            "MxRecord",
            value=self.mx_value,
            description=f"Publish for {domain}: MX record with this value",
        )
        for n, (name, value) in enumerate(dkim, start=1):
            CfnOutput(
                self,
                f"DkimName{n}",
                value=name,
                description=f"Publish for {domain}: name of DKIM CNAME record {n}",
            )
            CfnOutput(
                self,
                f"DkimValue{n}",
                value=value,
                description=f"Publish for {domain}: value of DKIM CNAME record {n}",
            )


def check_zone_holds(zone: route53.IHostedZone, domain: str) -> None:
    """Refuse a zone that does not hold ``domain`` (neither its apex nor a parent of it), or
    whose name is not known to the app."""
    try:
        name = zone.zone_name
    except (RuntimeError, jsii.errors.JSIIError):  # aws-cdk-lib's CannotReferenceZoneName
        raise ValueError(
            f"hosted_zone {zone.node.path} has no zone name (HostedZone.from_hosted_zone_id): "
            "import it with HostedZone.from_hosted_zone_attributes(..., zone_name=...) or "
            "HostedZone.from_lookup, so that the records for the domain can be checked"
        ) from None
    if Token.is_unresolved(name):
        return
    zone_name = name.lower().rstrip(".")
    if covering_domain(domain, [zone_name]) is None:
        raise ValueError(
            f"domain {domain!r} is not in hosted zone {zone_name!r} ({zone.node.path}): "
            f"the zone holds {zone_name} and its subdomains only; pass the zone of {domain} "
            "or of a parent domain"
        )


def check_mx_priority(value: object) -> int:
    """An MX priority: a whole number from 0 to 65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MX_PRIORITY:
        raise ValueError(
            f"mx_priority={value!r} must be a whole number from 0 to {MAX_MX_PRIORITY} "
            "(lower numbers are tried first)"
        )
    return value
