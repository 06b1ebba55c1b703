"""One receipt rule whose action invokes a Lambda function."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_ses.assets import HANDLER_TEMPLATE_HANDLER, handler_template_code
from constructs_ses.enums import InvocationType, TlsPolicy
from constructs_ses.lambda_action import LambdaAction

__all__ = ["DEFAULT_FUNCTION_TIMEOUT", "LambdaRule"]

DEFAULT_FUNCTION_TIMEOUT = Duration.seconds(10)
"""Timeout of the default function: well within the 30 seconds SES waits for RequestResponse."""
DEFAULT_RUNTIME = lambda_.Runtime.PYTHON_3_14


class LambdaRule(Construct):
    """A receipt rule that invokes a Lambda function; made by ``InboundEmail.add_lambda_rule``.

    Its arguments are checked by ``InboundEmail.add_lambda_rule``, which documents them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set: ses.IReceiptRuleSet,
        rule_name: str,
        after: ses.IReceiptRule | None,
        recipients: Sequence[str] | None,
        function: lambda_.IFunction | None,
        invocation_type: InvocationType,
        topic: sns.ITopic | None,
        notify: bool,
        scan_enabled: bool,
        tls_policy: TlsPolicy,
        enabled: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function: lambda_.IFunction = function or lambda_.Function(
            self,
            "Function",
            description=f"SES receipt rule {rule_name}: returns a mail-flow disposition",
            runtime=DEFAULT_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER_TEMPLATE_HANDLER,
            code=handler_template_code(),
            timeout=DEFAULT_FUNCTION_TIMEOUT,
        )
        """The function the rule invokes."""
        self.topic: sns.ITopic | None = sns.Topic(self, "Topic") if notify else topic
        """The topic notified when the function is triggered, or None."""
        self.action = LambdaAction(
            function=self.function, invocation_type=invocation_type, topic=self.topic
        )
        """The rule's Lambda action."""
        self.invocation_type = self.action.invocation_type
        self.rule_name = rule_name
        """The receipt rule's name in SES."""
        self.rule = ses.ReceiptRule(
            self,
            "Rule",
            rule_set=rule_set,
            receipt_rule_name=rule_name,
            after=after,
            recipients=list(recipients) if recipients is not None else None,
            scan_enabled=scan_enabled,
            tls_policy=ses.TlsPolicy[tls_policy.name],
            enabled=enabled,
            actions=[self.action],
        )
        """The ``aws_ses.ReceiptRule``."""
