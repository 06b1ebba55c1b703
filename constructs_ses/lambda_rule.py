"""One receipt rule whose action invokes a Lambda function."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_ses.acknowledgements import acknowledge_wildcard_resource
from constructs_ses.assets import handler_code
from constructs_ses.enums import InvocationType
from constructs_ses.grants import RulesScope
from constructs_ses.lambda_action import RuleSetLambdaAction
from constructs_ses.lambda_src.handler import ENV_MESSAGE_BUCKET, ENV_MESSAGE_PREFIX, Policy
from constructs_ses.mail_function import MailFunction
from constructs_ses.package_files import HANDLER_TEMPLATE_HANDLER
from constructs_ses.rule_options import LambdaRuleOptions
from constructs_ses.store_action import StoreMessageAction

__all__ = ["DISPOSITION_WARNING_ID", "LambdaRule", "SharedActions"]

READ_MESSAGE_ACTION = "s3:GetObject"

DISPOSITION_WARNING_ID = "constructs-ses:dispositionIgnored"
"""The warning that a function answering with a disposition runs under Event invocation; the CDK
CLI prints it as ``Annotation::constructs-ses:dispositionIgnored``."""

SharedActions = dict[tuple[int, InvocationType, int], RuleSetLambdaAction]
"""Lambda actions by the id of their function, invocation type and id of their topic."""


class LambdaRule:
    """A receipt rule that invokes a Lambda function; made by ``InboundEmail.add_lambda_rule``.

    The rule (``rule``) is the construct ``<InboundEmail>/Rules/<construct_id>``; a function or
    topic made for it is under ``<InboundEmail>/<construct_id>``. Its ``options``, checked
    ``LambdaRuleOptions``, are passed whole; ``InboundEmail.add_lambda_rule`` documents them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rules: RulesScope,
        rule_set: ses.IReceiptRuleSet,
        rule_name: str,
        after: ses.IReceiptRule | None,
        shared_actions: SharedActions,
        options: LambdaRuleOptions,
    ) -> None:
        function, topic, bucket = options.function, options.topic, options.bucket
        invocation_type, prefix = options.invocation, options.object_key_prefix
        home = _Home(scope, construct_id)
        self.function: lambda_.IFunction = function or self._new_function(
            home.construct, rule_name, options.template_directory, options.policy
        )
        """The function the rule invokes."""
        self.topic: sns.ITopic | None = (
            sns.Topic(home.construct, "Topic", enforce_ssl=True) if options.notify else topic
        )
        """The topic notified when the function is triggered, or None."""
        key = (id(self.function), invocation_type, id(self.topic))
        if key not in shared_actions:  # each action holds its function and topic: ids stay theirs
            shared_actions[key] = RuleSetLambdaAction(
                rules, function=self.function, invocation_type=invocation_type, topic=self.topic
            )
        self.action = shared_actions[key]
        """The rule's Lambda action (shared by the rules of a rule set that invoke the same
        function the same way)."""
        self.invocation_type = self.action.invocation_type
        """How SES invokes the function."""
        self.rule_name = rule_name
        """The receipt rule's name in SES."""
        self.bucket = bucket
        """The bucket the rule stores each message in before invoking the function, or None."""
        self.object_key_prefix = prefix
        """The key prefix of the stored messages: each is ``prefix + messageId``."""
        actions: list[ses.IReceiptRuleAction] = []
        if bucket is not None:
            actions.append(StoreMessageAction(bucket=bucket, object_key_prefix=prefix))
            self._let_function_read_messages(bucket, prefix)
        actions.append(self.action)
        self.rule = ses.ReceiptRule(
            rules.construct,
            construct_id,
            rule_set=rule_set,
            receipt_rule_name=rule_name,
            after=after,
            recipients=list(options.recipients) if options.recipients is not None else None,
            scan_enabled=options.scan_enabled,
            tls_policy=ses.TlsPolicy[options.tls.name],
            enabled=options.enabled,
            actions=actions,
        )
        """The ``aws_ses.ReceiptRule``."""
        self.action.annotate(self.rule)
        if function is None and invocation_type is InvocationType.EVENT:
            Validations.of(self.rule).add_warning(
                DISPOSITION_WARNING_ID, _disposition_warning(options.template_directory)
            )

    def __repr__(self) -> str:
        return f"LambdaRule({self.rule_name!r})"

    @staticmethod
    def _new_function(
        home: Construct, rule_name: str, handler_directory: Path | None, policy: Policy | None
    ) -> MailFunction:
        """A function running the handler template (or the user's copy of it)."""
        return MailFunction(
            home,
            "Function",
            description=f"SES receipt rule {rule_name}: returns a mail-flow disposition",
            handler=HANDLER_TEMPLATE_HANDLER,
            code=handler_code(handler_directory),
            environment=policy.to_environment() if policy is not None else None,
        )

    def _let_function_read_messages(self, bucket: s3.IBucket, prefix: str) -> None:
        """Read access to exactly the stored messages, and where to find them."""
        function = self.function
        assert isinstance(function, lambda_.Function)  # add_lambda_rule refuses other functions
        messages = bucket.arn_for_objects(f"{prefix}*")
        function.add_to_role_policy(
            iam.PolicyStatement(actions=[READ_MESSAGE_ACTION], resources=[messages])
        )
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant_decrypt(function)
        acknowledge_wildcard_resource(
            function.role or function,
            messages,
            f"SES stores each message as <object_key_prefix><messageId> ({prefix!r} + an ID "
            "known only when the mail arrives), so the function may read exactly the objects "
            f"under that prefix, with {READ_MESSAGE_ACTION} only.",
        )
        function.add_environment(ENV_MESSAGE_BUCKET, bucket.bucket_name)
        function.add_environment(ENV_MESSAGE_PREFIX, prefix)


def _disposition_warning(handler_directory: Path | None) -> str:
    """Why the function a rule creates answers in vain under Event invocation, in terms of the
    code it runs: the packaged template, or the user's copy of it in ``handler_directory``."""
    if handler_directory is None:
        runs = "the packaged handler template, which answers with a disposition,"
        advice = ""
    else:
        runs = (
            f"the handler in handler_directory={str(handler_directory)!r} (a copy of the "
            "handler template, which answers with a disposition)"
        )
        advice = (
            "; if your copy only does work of its own (stores or forwards the mail), "
            "acknowledge this warning"
        )
    return (
        f"this rule runs {runs} under InvocationType.EVENT: SES ignores the answer, so it "
        "cannot stop mail. Use InvocationType.REQUEST_RESPONSE to let the disposition control "
        f"the mail flow{advice}."
    )


class _Home:
    """Where the resources made for one rule go: a construct made on first use only, so that a
    rule with the user's function and topic costs no construct besides the rule."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        self._scope = scope
        self._id = construct_id

    @cached_property
    def construct(self) -> Construct:
        return Construct(self._scope, self._id)
