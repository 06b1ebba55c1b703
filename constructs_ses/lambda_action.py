"""A receipt rule action that invokes a Lambda function, with the invocation type stated."""

from __future__ import annotations

import hashlib
from typing import cast

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces.aws_ses import IReceiptRuleRef
from constructs import Construct

from constructs_ses.enums import InvocationType, enum_member
from constructs_ses.findings import add_findings_validation
from constructs_ses.grants import (
    KEY_ACTIONS,
    SES_PRINCIPAL,
    BoundRule,
    bound_rule,
    is_literal,
    rules_arn,
    ses_key_statement,
)
from constructs_ses.limits import REQUEST_RESPONSE_TIMEOUT_SECONDS
from constructs_ses.region_check import REGION_WARNING_ID
from constructs_ses.regions import Placement, judge_placements
from constructs_ses.tokens import TOKEN_MARK

__all__ = ["LambdaAction"]

_PERMISSIONS: dict[tuple[int, str], tuple[lambda_.IFunction, lambda_.CfnPermission]] = {}
"""Invoke permissions made, by function and the rules' RuleSetName token (unique in a process)."""


class LambdaAction(ses_actions.Lambda):
    """Invokes a Lambda function from a receipt rule, and optionally notifies an SNS topic.

    An ``aws_ses_actions.Lambda`` with its own ``bind``: the rendered action always states its
    ``InvocationType``, and the permission for SES to invoke the function is this action's own: one
    ``AWS::Lambda::Permission`` per function and rule set (principal ses.amazonaws.com, conditions
    SourceAccount and SourceArn of the rule set's rules), which the rule ``DependsOn`` because SES
    tests it when the rule is created. A topic encrypted with a key of the app gets a key policy
    statement for SES under the same conditions, and the rule depends on the key.

    :param function: the function to invoke.
    :param invocation_type: ``InvocationType.EVENT`` (default: SES does not wait; the answer is
        ignored) or ``InvocationType.REQUEST_RESPONSE`` (the answer's disposition controls the
        mail flow; the function must finish within 30 seconds).
    :param topic: an SNS topic to notify when the function is triggered. Default: none.
    """

    def __init__(
        self,
        *,
        function: lambda_.IFunction,
        invocation_type: InvocationType | str = InvocationType.EVENT,
        topic: sns.ITopic | None = None,
    ) -> None:
        invocation = enum_member(InvocationType, invocation_type, "invocation_type")
        if invocation is InvocationType.REQUEST_RESPONSE:
            _check_request_response_timeout(function)
        super().__init__(
            function=function,
            invocation_type=ses_actions.LambdaInvocationType[invocation.name],
            topic=topic,
        )
        self.function = function
        """The function to invoke."""
        self.invocation_type = invocation
        """How SES invokes it."""
        self.topic = topic
        """The topic notified when the function is triggered, or None."""
        self._config: ses.ReceiptRuleActionConfig | None = None

    def bind(self, receipt_rule: IReceiptRuleRef) -> ses.ReceiptRuleActionConfig:
        """Grant SES what the action needs, order the rule after the grants, render the action."""
        rule = bound_rule(receipt_rule, "LambdaAction")
        rule_set_name = rule.rule_set_name
        permission = self._shared_invoke_permission(
            receipt_rule, rule_set_name, rule.rule_set_reference
        )
        if permission is not None:
            rule.depend_on(permission)
        self._grant_topic_key(rule)
        self._check_imported_topic_key(receipt_rule)
        if self._config is None:  # the same for every rule the action is bound to
            self._config = ses.ReceiptRuleActionConfig(
                lambda_action=ses.LambdaActionConfig(
                    function_arn=self.function.function_arn,
                    invocation_type=self.invocation_type.value,
                    topic_arn=self.topic.topic_arn if self.topic else None,
                )
            )
        return self._config

    def _shared_invoke_permission(
        self, rule: IReceiptRuleRef, rule_set_name: str, reference: str
    ) -> lambda_.CfnPermission | None:
        """The permission made for an earlier rule of the same rule set, or a new one."""
        key = (id(self.function), reference)
        known = _PERMISSIONS.get(key)
        if known is not None and known[0] is self.function:
            return known[1]
        permission = self._invoke_permission(rule, rule_set_name)
        if permission is not None and TOKEN_MARK in reference:  # a reference to a rule set
            _PERMISSIONS[key] = (self.function, permission)
        return permission

    def _invoke_permission(
        self, rule: IReceiptRuleRef, rule_set_name: str
    ) -> lambda_.CfnPermission | None:
        """The function's permission for SES, shared by the rules of one rule set."""
        rule_account = Stack.of(rule).account
        function_account = self.function.env.account
        if (
            is_literal(rule_account)
            and is_literal(function_account)
            and rule_account != function_account
        ):
            Annotations.of(rule).add_warning_v2(
                "constructs-ses:crossAccountFunction",
                f"Lambda function {self.function.node.path} is in account {function_account}, "
                f"not {rule_account}: its owner must allow {SES_PRINCIPAL} to invoke it "
                f"(lambda:InvokeFunction, SourceAccount {rule_account}) before this rule deploys.",
            )
            return None
        digest = hashlib.sha256(f"{Stack.of(rule).node.path}|{rule_set_name}".encode()).hexdigest()
        permission_id = f"InvokedBySes{digest[:8].upper()}"
        existing = self.function.node.try_find_child(permission_id)
        if isinstance(existing, lambda_.CfnPermission):
            return existing
        return self._new_permission(rule, rule_set_name, permission_id, rule_account)

    def _new_permission(
        self, rule: IReceiptRuleRef, rule_set_name: str, permission_id: str, rule_account: str
    ) -> lambda_.CfnPermission:
        return lambda_.CfnPermission(
            cast(Construct, self.function),  # every IFunction is a construct
            permission_id,
            action="lambda:InvokeFunction",
            function_name=self.function.function_arn,
            principal=iam.ServicePrincipal(SES_PRINCIPAL).service,
            source_account=rule_account,
            source_arn=rules_arn(rule, rule_set_name),
        )

    def _grant_topic_key(self, bound: BoundRule) -> None:
        """Let SES use the key of an encrypted topic, before the rule is created."""
        topic = self.topic
        key = topic.master_key if topic is not None else None
        if topic is None or key is None:
            return
        rule, rule_set_name = bound.rule, bound.rule_set_name
        added = key.add_to_resource_policy(ses_key_statement(rule, rule_set_name))
        if added.statement_added:
            bound.depend_on(key)
            return
        Annotations.of(rule).add_warning_v2(
            "constructs-ses:importedTopicKey",
            f"SNS topic {topic.node.path} is encrypted with key "
            f"{key.key_arn}, whose policy this app cannot change: allow {SES_PRINCIPAL} "
            f"{' and '.join(KEY_ACTIONS)} on it (conditions aws:SourceAccount and aws:SourceArn "
            f"{rules_arn(rule, rule_set_name)}) before this rule deploys.",
        )

    def _check_imported_topic_key(self, rule: IReceiptRuleRef) -> None:
        """Region-check the KMS key of an imported topic, which the template does not show."""
        topic = self.topic
        if topic is None or topic.master_key is None:
            return
        if isinstance(topic.node.default_child, sns.CfnTopic):
            return  # an owned topic's key is in its template; SameRegionCheck sees it there
        key = Placement(
            f"KMS key of SNS topic {topic.node.path}",
            topic.master_key.key_arn,
            topic.master_key.env.region,
        )
        add_findings_validation(
            rule, lambda: judge_placements(Stack.of(rule).region, [key]), REGION_WARNING_ID
        )


def _check_request_response_timeout(function: lambda_.IFunction) -> None:
    timeout = getattr(function, "timeout", None)
    if not isinstance(timeout, Duration) or timeout.is_unresolved():
        return
    seconds = timeout.to_seconds()
    if seconds > REQUEST_RESPONSE_TIMEOUT_SECONDS:
        raise ValueError(
            f"function={function.node.path} has a timeout of {seconds:g} seconds, but SES waits "
            f"at most {REQUEST_RESPONSE_TIMEOUT_SECONDS} seconds for a RequestResponse "
            f"invocation: set its timeout to {REQUEST_RESPONSE_TIMEOUT_SECONDS} seconds or less, "
            "or use InvocationType.EVENT"
        )
