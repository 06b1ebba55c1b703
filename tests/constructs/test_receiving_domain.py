"""Receiving domains: ``InboundEmail.add_domain``, its identity and records, and the checks of MX
records and recipients against the declared domains."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Annotations, Match, Template

from constructs_ses import InboundEmail, SameRegionCheck

from conftest import REGION, new_stack

ENDPOINT = f"inbound-smtp.{REGION}.amazonaws.com"
ZONE_ID = "Z0123456789ABCDEFGHIJ"


def zone(stack: cdk.Stack, name: str = "example.com") -> route53.IHostedZone:
    return route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id=ZONE_ID, zone_name=name
    )


def synth_errors(stack: cdk.Stack) -> str:
    with pytest.raises(RuntimeError, match="Validation failed") as error:
        Template.from_stack(stack)
    return str(error.value)


def records(template: Template, kind: str) -> list[dict[str, Any]]:
    found = template.find_resources(
        "AWS::Route53::RecordSet", {"Properties": {"Type": kind}}
    ).values()
    return [each["Properties"] for each in found]


def dkim_names(template: Template, identity: str) -> list[Any]:
    """The DKIM record names the template builds from ``identity``'s tokens, in order."""
    return [
        {"Fn::Join": ["", [{"Fn::GetAtt": [identity, f"DkimDNSTokenName{n}"]}, "."]]}
        for n in (1, 2, 3)
    ]


def identity_id(template: Template, domain: str) -> str:
    found = template.find_resources(
        "AWS::SES::EmailIdentity", {"Properties": {"EmailIdentity": domain}}
    )
    assert len(found) == 1
    return next(iter(found))


def test_apex_domain_gets_identity_dkim_and_mx_records_in_the_zone() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    hosted = zone(stack)
    domain = mail.add_domain("example.com", hosted_zone=hosted)
    template = Template.from_stack(stack)
    identity = identity_id(template, "example.com")
    assert domain.domain == "example.com" and domain.hosted_zone is hosted
    assert domain.mx_record is not None and len(domain.dkim_records) == 3
    assert records(template, "MX") == [
        {
            "HostedZoneId": ZONE_ID,
            "Name": "example.com.",
            "ResourceRecords": [f"10 {ENDPOINT}"],
            "TTL": "1800",
            "Type": "MX",
        }
    ]
    cnames = records(template, "CNAME")
    assert [each["Name"] for each in cnames] == dkim_names(template, identity)
    assert [each["ResourceRecords"] for each in cnames] == [
        [{"Fn::GetAtt": [identity, f"DkimDNSTokenValue{n}"]}] for n in (1, 2, 3)
    ]
    assert all(each["HostedZoneId"] == ZONE_ID for each in cnames)
    assert template.to_json().get("Outputs", {}) == {}


def test_subdomain_records_are_named_for_the_subdomain() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    mail.add_domain("Mail.Example.com", hosted_zone=zone(stack), mx_priority=5)
    template = Template.from_stack(stack)
    identity = identity_id(template, "mail.example.com")
    (mx,) = records(template, "MX")
    assert mx["Name"] == "mail.example.com." and mx["ResourceRecords"] == [f"5 {ENDPOINT}"]
    assert [each["Name"] for each in records(template, "CNAME")] == dkim_names(template, identity)


def test_without_zone_the_records_are_stack_outputs() -> None:
    stack = new_stack()
    domain = InboundEmail(stack, "Inbound").add_domain("example.com")
    template = Template.from_stack(stack)
    identity = identity_id(template, "example.com")
    assert domain.mx_record is None and domain.hosted_zone is None and not domain.dkim_records
    template.resource_count_is("AWS::Route53::RecordSet", 0)
    outputs = template.to_json()["Outputs"]
    values = sorted((each["Description"], each["Value"]) for each in outputs.values())
    assert ("Publish for example.com: MX record with this value", f"10 {ENDPOINT}") in values
    for n in (1, 2, 3):
        assert (
            f"Publish for example.com: name of DKIM CNAME record {n}",
            {"Fn::GetAtt": [identity, f"DkimDNSTokenName{n}"]},
        ) in values
        assert (
            f"Publish for example.com: value of DKIM CNAME record {n}",
            {"Fn::GetAtt": [identity, f"DkimDNSTokenValue{n}"]},
        ) in values
    assert len(values) == 7


def test_environment_agnostic_stack_points_mx_at_its_own_region() -> None:
    stack = new_stack(region=None)
    InboundEmail(stack, "Inbound").add_domain("example.com", hosted_zone=zone(stack))
    (mx,) = records(Template.from_stack(stack), "MX")
    assert mx["ResourceRecords"] == [
        {"Fn::Join": ["", ["10 inbound-smtp.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    ]


def test_fails_on_domain_outside_the_zone() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    hosted = zone(stack)
    with pytest.raises(ValueError) as error:
        mail.add_domain("example.org", hosted_zone=hosted)
    assert str(error.value) == (
        "[Mail/Inbound/Domains] domain 'example.org' is not in hosted zone 'example.com' "
        "(Mail/Zone): the zone holds example.com and its subdomains only; pass the zone of "
        "example.org or of a parent domain"
    )
    with pytest.raises(ValueError, match=r"'notexample\.com' is not in hosted zone"):
        mail.add_domain("notexample.com", hosted_zone=hosted)


def test_fails_on_zone_without_a_name() -> None:
    stack = new_stack()
    hosted = route53.HostedZone.from_hosted_zone_id(stack, "Zone", ZONE_ID)
    with pytest.raises(ValueError, match=r"hosted_zone Mail/Zone has no zone name"):
        InboundEmail(stack, "Inbound").add_domain("example.com", hosted_zone=hosted)


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("support@example.com", "is an address: give its domain, 'example.com'"),
        ("example", "is not a domain name"),
        (".example.com", "is not a domain name"),
        ("example.com.", "is not a domain name"),
        ("exa mple.com", "is not a domain name"),
        (42, "must be a domain name written in the app"),
    ],
)
def test_fails_on_bad_domain(domain: Any, problem: str) -> None:
    mail = InboundEmail(new_stack(), "Inbound")
    with pytest.raises(ValueError, match=r"^\[Mail/Inbound/Domains\] domain=") as error:
        mail.add_domain(domain)
    assert problem in str(error.value)


@pytest.mark.parametrize("priority", [-1, 65536, 1.5, True, "10"])
def test_fails_on_bad_mx_priority(priority: Any) -> None:
    mail = InboundEmail(new_stack(), "Inbound")
    with pytest.raises(ValueError, match="must be a whole number from 0 to 65535"):
        mail.add_domain("example.com", mx_priority=priority)


def test_fails_on_domain_declared_twice_in_a_stack() -> None:
    stack = new_stack()
    InboundEmail(stack, "First").add_domain("example.com")
    with pytest.raises(ValueError, match=r"already declared by Mail/First/Domains/example\.com"):
        InboundEmail(stack, "Second").add_domain("EXAMPLE.com")


def test_domains_scope_and_a_rule_named_domains_do_not_collide() -> None:
    mail = InboundEmail(new_stack(), "Inbound")
    mail.add_lambda_rule("Domains")
    with pytest.raises(ValueError, match="construct id 'Domains' is taken by a rule"):
        mail.add_domain("example.com")
    other = InboundEmail(new_stack(), "Inbound")
    other.add_domain("example.com")
    with pytest.raises(ValueError, match="taken by the InboundEmail's own receiving domains"):
        other.add_lambda_rule("Domains")


def test_fails_on_mx_record_of_another_region() -> None:
    app = cdk.App()
    dns = new_stack(app, "Dns", region="eu-west-1")
    hosted = route53.PublicHostedZone(dns, "Zone", zone_name="example.com")
    route53.MxRecord(
        dns,
        "Mx",
        zone=hosted,
        values=[
            route53.MxRecordValue(host_name="inbound-smtp.eu-west-1.amazonaws.com", priority=10)
        ],
    )
    stack = new_stack(app)
    InboundEmail(stack, "Inbound").add_lambda_rule("Support", recipients=["support@example.com"])
    assert (
        "[Mail/Inbound] Mail/Inbound/RuleSet: MX record Dns/Mx for example.com points at "
        "inbound-smtp.eu-west-1.amazonaws.com, the receiving endpoint of eu-west-1, but this "
        "rule set, which receives example.com, is in us-east-1: mail sent there finds no active "
        f"rule set and bounces. Point the record at {ENDPOINT}"
    ) in synth_errors(stack)


def test_fails_on_mx_record_of_a_declared_domain_pointing_away_from_ses() -> None:
    stack = new_stack()
    hosted = zone(stack)
    InboundEmail(stack, "Inbound").add_domain("mail.example.com")
    route53.MxRecord(
        stack,
        "Mx",
        zone=hosted,
        record_name="mail",
        values=[route53.MxRecordValue(host_name="mx.provider.example", priority=10)],
    )
    assert (
        "MX record Mail/Mx for mail.example.com points at mx.provider.example, not at SES: mail "
        f"for mail.example.com never reaches this rule set (region {REGION}). Point the record "
        f"at {ENDPOINT}"
    ) in synth_errors(stack)


def test_hand_made_mx_record_of_the_right_region_passes() -> None:
    stack = new_stack()
    hosted = zone(stack)
    mail = InboundEmail(stack, "Inbound")
    mail.add_domain("example.com")
    mail.add_lambda_rule("Any", recipients=[".example.com"])
    for name, host in (("", ENDPOINT), ("eu.example.com", ENDPOINT + ".")):
        route53.MxRecord(
            stack,
            f"Mx{name}",
            zone=hosted,
            record_name=name or None,
            values=[
                route53.MxRecordValue(host_name=host, priority=10),
                route53.MxRecordValue(host_name="backup.provider.example", priority=20),
            ],
        )
    route53.MxRecord(  # a domain the rule set does not receive may point anywhere
        stack,
        "Elsewhere",
        zone=hosted,
        record_name="other.example.org.",
        values=[
            route53.MxRecordValue(host_name="inbound-smtp.eu-west-1.amazonaws.com", priority=1)
        ],
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Route53::RecordSet", 3)
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("MX")) == []


def test_same_region_check_aspect_checks_mx_records_of_plain_rule_sets() -> None:
    from aws_cdk import aws_ses as ses  # noqa: PLC0415

    stack = new_stack()
    ses.ReceiptRuleSet(stack, "Plain", rules=[ses.ReceiptRuleOptions(recipients=["example.com"])])
    route53.MxRecord(
        stack,
        "Mx",
        zone=zone(stack),
        values=[
            route53.MxRecordValue(host_name="inbound-smtp.us-west-2.amazonaws.com", priority=10)
        ],
    )
    cdk.Aspects.of(stack).add(SameRegionCheck())
    errors = synth_errors(stack)
    assert (
        "Mail/Plain: MX record Mail/Mx for example.com points at inbound-smtp.us-west-2" in errors
    )


def test_warns_on_mx_value_known_only_at_deploy_time() -> None:
    stack = new_stack()
    host = cdk.CfnParameter(stack, "MxHost").value_as_string
    InboundEmail(stack, "Inbound").add_domain("example.com")
    route53.MxRecord(
        stack, "Mx", zone=zone(stack), values=[route53.MxRecordValue(host_name=host, priority=10)]
    )
    Annotations.from_stack(stack).has_warning(
        "/Mail/Inbound/RuleSet",
        Match.string_like_regexp(
            "MX record Mail/Mx for example.com has a value known only at deploy time"
        ),
    )


def test_warns_on_recipients_outside_the_declared_domains() -> None:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound")
    mail.add_domain("example.com")
    mail.add_lambda_rule(
        "Support",
        recipients=[
            "support@example.com",
            "help@eu.example.com",
            ".mail.example.com",
            "user@other.example",
            "other.example",
            ".other.example",
        ],
    )
    warnings = Annotations.from_stack(stack).find_warning(
        "/Mail/Inbound/Rules/Support", Match.string_like_regexp("none of the InboundEmail's")
    )
    texts = [str(each.entry.data) for each in warnings]
    assert [text.split(",")[0] for text in texts] == [
        "rule 'Support' receives 'user@other.example'",
        "rule 'Support' receives 'other.example'",
        "rule 'Support' receives '.other.example'",
    ]
    assert texts[2].startswith(
        "rule 'Support' receives '.other.example', in subdomains of other.example, which none "
        "of the InboundEmail's domains (example.com) covers: mail for it reaches the rule only "
        "if other.example is verified in SES some other way (add_domain('other.example') "
        "declares it) [ack: Annotation::constructs-ses:uncoveredRecipient]"
    )


def test_no_recipient_warning_without_declared_domains() -> None:
    stack = new_stack()
    InboundEmail(stack, "Inbound").add_lambda_rule("R", recipients=["user@other.example"])
    assert (
        Annotations.from_stack(stack).find_warning(
            "*", Match.string_like_regexp("none of the InboundEmail's")
        )
        == []
    )
