#!/usr/bin/env python3
"""Example app: mail to a domain, and to its support@ address, reaches Lambda functions.

The stack's account and region come from CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION (set by the
CDK CLI from your AWS profile); the region defaults to us-east-1, which receives email. Set
MAIL_DOMAIN to your verified domain (default: example.com).
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from constructs_ses import InboundEmail, InvocationType, MailFunction

DEFAULT_REGION = "us-east-1"

TICKETS_CODE = """
import json

def handler(event, context):
    mail = event["Records"][0]["ses"]["mail"]
    subject = mail["commonHeaders"].get("subject")
    print(json.dumps({"ticketFor": mail["messageId"], "subject": subject}))
"""


class InboundMailStack(cdk.Stack):
    """A receipt rule set with a filtering rule and a notifying rule."""

    def __init__(
        self, scope: Construct, construct_id: str, *, domain: str, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        mail = InboundEmail(self, "Inbound")
        # First: the packaged handler decides synchronously; spam and viruses stop the rule set.
        mail.add_lambda_rule(
            "Filter",
            recipients=[domain],
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )
        # Then: what passed the filter and was sent to support@ is handed on asynchronously to
        # the application's own code, and a topic is told that it arrived.
        # A MailFunction's role may write only to the function's own log group.
        tickets = MailFunction(
            self,
            "Tickets",
            description="Opens a support ticket for each message (example)",
            handler="index.handler",
            code=lambda_.Code.from_inline(TICKETS_CODE),
        )
        mail.add_lambda_rule(
            "Support",
            recipients=[f"support@{domain}"],
            function=tickets,
            invocation_type=InvocationType.EVENT,
            notify=True,
        )


def main() -> None:
    app = cdk.App()
    InboundMailStack(
        app,
        "InboundMail",
        domain=os.environ.get("MAIL_DOMAIN", "example.com"),
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION", DEFAULT_REGION),
        ),
    )
    app.synth()


if __name__ == "__main__":
    main()
