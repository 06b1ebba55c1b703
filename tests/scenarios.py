"""The configurations the quality gates check: the example app and every option at once."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from constructs_ses import HandlerPolicy, InboundEmail, InvocationType, StopVerdict

from conftest import ACCOUNT, REGION, REPO, new_stack


def load_app_module() -> ModuleType:
    """The example app's module (app.py), loaded without running it."""
    spec = importlib.util.spec_from_file_location("example_app", REPO / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_stack(
    app: cdk.App, construct_id: str = "InboundMail", region: str = REGION
) -> cdk.Stack:
    """The example app's stack, as app.py builds it."""
    stack: cdk.Stack = load_app_module().InboundMailStack(
        app,
        construct_id,
        domain="example.com",
        env=cdk.Environment(account=ACCOUNT, region=region),
    )
    return stack


ZONE_ID = "Z0123456789EXAMPLE0000"
"""The hosted zone of the every-option configuration's domain, which it imports."""


def every_option_stack(
    app: cdk.App | None = None,
    construct_id: str = "Mail",
    region: str = REGION,
    hosted_zone_id: str = ZONE_ID,
    domain: str = "example.com",
) -> cdk.Stack:
    """Activation, drop-spam, stored messages, an encrypted topic, a created topic, and
    ``domain`` declared with its records in its hosted zone ``hosted_zone_id``."""
    stack = new_stack(app, construct_id, region=region)
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id=hosted_zone_id, zone_name=domain
    )
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    access_logs = s3.Bucket(stack, "AccessLogs", enforce_ssl=True)
    archive = s3.Bucket(
        stack,
        "Archive",
        enforce_ssl=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="archive/",
    )
    mail = InboundEmail(stack, "Inbound", activate=True, drop_spam=True)
    mail.add_domain(domain, hosted_zone=zone)
    mail.add_lambda_rule(
        "Support",
        recipients=[f"support@{domain}"],
        invocation_type=InvocationType.REQUEST_RESPONSE,
        policy=HandlerPolicy(stop_on=(StopVerdict.DMARC_QUARANTINE,)),
        bucket=archive,
        object_key_prefix="support/",
        topic=sns.Topic(stack, "Alerts", master_key=key),
    )
    mail.add_lambda_rule(
        "Sales",
        recipients=[f"sales@{domain}"],
        invocation_type=InvocationType.REQUEST_RESPONSE,
        notify=True,
    )
    return stack
