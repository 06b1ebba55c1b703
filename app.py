#!/usr/bin/env python3
"""Example app: mail to a domain, and to its sales@ and support@ addresses, reaches Lambda
functions.

Mail for sales@ goes to a Node.js function (an ES module, as TypeScript compiles to), which
logs it as a lead and stops the rule. Mail for support@ is stored in a bucket; the tickets
function reads it back with the handler template's ``fetch_message`` and publishes a ticket to
the rule's topic (boto3 calls that run unchanged in AWS and in the local flow, where they reach
its local AWS).

The stack's account and region come from CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION (set by the
CDK CLI from your AWS profile); the region defaults to us-east-1, which receives email. Set
MAIL_DOMAIN to your domain (default: example.com): the stack verifies it in SES (Easy DKIM).
With HOSTED_ZONE_ID (a Route 53 public zone of MAIL_DOMAIN, or of the parent domain named by
HOSTED_ZONE_NAME) the stack also makes its DKIM and MX records there; without it, the records to
publish at your DNS provider are the stack's outputs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_ses import InboundEmail, InvocationType, MailFunction
from constructs_ses.scaffold import new_handler

DEFAULT_REGION = "us-east-1"

TICKETS_CODE = """
import json
import os

import boto3

from handler import SesEvent, fetch_message

SNS = boto3.client("sns")


def handler(event, context):
    mail = SesEvent(event).record.mail
    message = fetch_message(mail)  # from SES_MESSAGE_BUCKET, where the rule stored it
    body = message.get_body(preferencelist=("plain",))
    ticket = {
        "ticketFor": mail.message_id,
        "subject": message["Subject"],
        "text": body.get_content().strip()[:200] if body is not None else "",
    }
    SNS.publish(TopicArn=os.environ["TICKETS_TOPIC_ARN"], Message=json.dumps(ticket))
    print(json.dumps(ticket))
"""
"""The tickets function's module; its code asset is this module beside the handler template."""

LEADS_CODE = """
export const handler = async (event) => {
  const { mail } = event.Records[0].ses;
  const lead = { from: mail.commonHeaders.from, subject: mail.commonHeaders.subject };
  console.log("lead %s: %j", mail.messageId, lead);
  return { disposition: "STOP_RULE" };
};
"""
"""The leads function, a Node.js handler (``index.mjs``)."""


class InboundMailStack(cdk.Stack):
    """A receipt rule set with a filtering rule and a notifying rule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: str,
        hosted_zone_id: str | None = None,
        zone_name: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        mail = InboundEmail(self, "Inbound")
        # The domain's identity and, in its zone when there is one, its DKIM and MX records.
        zone = (
            route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=zone_name or domain
            )
            if hosted_zone_id
            else None
        )
        mail.add_domain(domain, hosted_zone=zone)
        # First: the packaged handler decides synchronously; spam and viruses stop the rule set.
        mail.add_lambda_rule(
            "Filter",
            recipients=[domain],
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )
        # Then: mail to sales@ is a lead, decided by a Node.js function.
        with tempfile.TemporaryDirectory() as code_dir:
            Path(code_dir, "index.mjs").write_text(LEADS_CODE)
            leads = MailFunction(
                self,
                "Leads",
                description="Logs each message to sales@ as a lead (example, Node.js)",
                runtime=lambda_.Runtime.NODEJS_24_X,
                handler="index.handler",
                code=lambda_.Code.from_asset(code_dir),
            )
        mail.add_lambda_rule(
            "Leads",
            recipients=[f"sales@{domain}"],
            function=leads,
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )
        # Then: what passed the filter and was sent to support@ is stored, handed on
        # asynchronously to the application's own code, and a topic is told that it arrived.
        # A MailFunction's role may write only to the function's own log group.
        with tempfile.TemporaryDirectory() as code_dir:  # copied into the assembly at once
            new_handler(code_dir)
            Path(code_dir, "tickets.py").write_text(TICKETS_CODE)
            tickets = MailFunction(
                self,
                "Tickets",
                description="Opens a support ticket for each message (example)",
                handler="tickets.handler",
                code=lambda_.Code.from_asset(code_dir),
            )
        access_logs = s3.Bucket(self, "AccessLogs", enforce_ssl=True)
        archive = s3.Bucket(
            self,
            "Archive",
            enforce_ssl=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="archive/",
        )
        support = mail.add_lambda_rule(
            "Support",
            recipients=[f"support@{domain}"],
            function=tickets,
            invocation_type=InvocationType.EVENT,
            notify=True,
            bucket=archive,
            object_key_prefix="support/",
        )
        if support.topic is not None:
            support.topic.grant_publish(tickets)
            tickets.add_environment("TICKETS_TOPIC_ARN", support.topic.topic_arn)


def main() -> None:
    app = cdk.App()
    InboundMailStack(
        app,
        "InboundMail",
        domain=os.environ.get("MAIL_DOMAIN", "example.com"),
        hosted_zone_id=os.environ.get("HOSTED_ZONE_ID") or None,
        zone_name=os.environ.get("HOSTED_ZONE_NAME") or None,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION", DEFAULT_REGION),
        ),
    )
    app.synth()


if __name__ == "__main__":
    main()
