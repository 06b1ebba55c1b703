"""Receipt rule actions that invoke a Lambda function, with the invocation type stated."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_cdk import Annotations, Duration, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces.aws_ses import IReceiptRuleRef
from constructs import IConstruct, IDependable

from constructs_ses.checks.findings import add_findings_validation
from constructs_ses.checks.region_check import REGION_WARNING_ID, Placement, judge_placements
from constructs_ses.enums import InvocationType, enum_member
from constructs_ses.grants import (
    KEY_ACTIONS,
    SES_PRINCIPAL,
    BoundRule,
    RulesScope,
    bound_rule,
    cross_account_warning,
    rules_arn,
    ses_invoke_permission,
    ses_key_statement,
)
from constructs_ses.records import record_of
from constructs_ses.ses.limits import request_response_timeout_problem
from constructs_ses.ses.tokens import TOKEN_MARK

__all__ = ["LambdaAction", "RuleSetLambdaAction"]

CROSS_ACCOUNT_WARNING_ID = "constructs-ses:crossAccountFunction"
IMPORTED_TOPIC_KEY_WARNING_ID = "constructs-ses:importedTopicKey"
AWS_CDK_PERMISSION_WARNING_ID = "@aws-cdk/aws-ses-actions:lambdaAddInvokePermissions"


@dataclass
class InvokePermissions:
    """A function's record of the invoke permissions made for it, by the rules' RuleSetName
    token."""

    by_rule_set: dict[str, lambda_.CfnPermission] = field(default_factory=dict)


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
        invocation = _checked_invocation(function, invocation_type)
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
        permission = self._shared_invoke_permission(rule)
        if permission is not None:
            rule.depend_on(permission)
        warning = grant_topic_key(self.topic, rule.rule, rule.rule_set_name, rule.depend_on)
        if warning is not None:
            Validations.of(rule.rule).add_warning(IMPORTED_TOPIC_KEY_WARNING_ID, warning)
        check_key_region(rule.rule, imported_topic_key(self.topic))
        if self._config is None:  # the same for every rule the action is bound to
            self._config = ses.ReceiptRuleActionConfig(
                lambda_action=ses.LambdaActionConfig(
                    function_arn=self.function.function_arn,
                    invocation_type=self.invocation_type.value,
                    topic_arn=self.topic.topic_arn if self.topic else None,
                )
            )
        return self._config

    def _shared_invoke_permission(self, rule: BoundRule) -> lambda_.CfnPermission | None:
        """The permission made for an earlier rule of the same rule set, or a new one."""
        reference = rule.rule_set_reference
        made = record_of(self.function, InvokePermissions).by_rule_set
        known = made.get(reference)
        if known is not None:
            return known
        permission = self._invoke_permission(rule)
        if permission is not None and TOKEN_MARK in reference:  # a reference to a rule set
            made[reference] = permission
        return permission

    def _invoke_permission(self, rule: BoundRule) -> lambda_.CfnPermission | None:
        """The function's permission for SES, shared by the rules of one rule set."""
        stack = Stack.of(rule.rule)
        warning = cross_account_warning(self.function, stack)
        if warning is not None:
            Validations.of(rule.rule).add_warning(CROSS_ACCOUNT_WARNING_ID, warning)
            return None
        digest = hashlib.sha256(f"{stack.node.path}|{rule.rule_set_name}".encode()).hexdigest()
        permission_id = f"InvokedBySes{digest[:8].upper()}"
        existing = self.function.node.try_find_child(permission_id)
        if isinstance(existing, lambda_.CfnPermission):
            return existing
        return ses_invoke_permission(
            self.function, permission_id, self.function, stack, rule.rule_set_name
        )


class RuleSetLambdaAction(ses_actions.Lambda):
    """The Lambda action of ``InboundEmail``'s rules: bound by aws-cdk-lib itself, to the rules of
    one rule set only.

    Made with its grants: the function is named through the rule set's ``Invoker`` (a reference
    whose permission for SES is scoped as ``LambdaAction``'s, which each rule ``DependsOn``), and an
    encrypted topic's key gets the key policy statement, which every rule of the rules scope waits
    for. Binding it costs no call back into Python, so a rule costs one call to aws-cdk-lib.
    Bound to rules of another rule set, its permission would not admit them: use ``LambdaAction``.

    Why two classes for one concept: ``LambdaAction`` serves any ``aws_ses.ReceiptRule``, so it
    finds its rule set, grants and dependencies when each rule binds it, in a Python ``bind`` that
    jsii calls back into from Node.js for every rule. This class knows its rule set when made and
    does that work once per function, leaving ``bind`` to aws-cdk-lib: the synthesis figures of
    ``InboundEmail`` at 200 rules (``make bench``) rest on it.

    :param rules: the rules scope of the rule set.
    :param function: the function to invoke.
    :param invocation_type: how SES invokes it.
    :param topic: an SNS topic to notify when the function is triggered, or None.
    """

    def __init__(
        self,
        rules: RulesScope,
        *,
        function: lambda_.IFunction,
        invocation_type: InvocationType,
        topic: sns.ITopic | None,
    ) -> None:
        invocation = _checked_invocation(function, invocation_type)
        self._invoker = rules.invoker(function)
        super().__init__(
            function=self._invoker.reference,
            invocation_type=ses_actions.LambdaInvocationType[invocation.name],
            topic=topic,
        )
        self.function = function
        """The function to invoke."""
        self.invocation_type = invocation
        """How SES invokes it."""
        self.topic = topic
        """The topic notified when the function is triggered, or None."""
        self._key_warning = grant_topic_key(
            topic, rules.construct, rules.names.name, rules.depend_on
        )
        self._imported_key = imported_topic_key(topic)

    def annotate(self, rule: ses.ReceiptRule) -> None:
        """Tell ``rule``, made with this action, what its owner must grant by hand, and have the
        region of an imported topic's key checked for it."""
        if self._invoker.account_warning is not None:
            Validations.of(rule).add_warning(
                CROSS_ACCOUNT_WARNING_ID, self._invoker.account_warning
            )
            Annotations.of(rule).acknowledge_warning(  # aws-cdk-lib's vaguer warning says the same
                AWS_CDK_PERMISSION_WARNING_ID, "replaced by " + CROSS_ACCOUNT_WARNING_ID
            )
        if self._key_warning is not None:
            Validations.of(rule).add_warning(IMPORTED_TOPIC_KEY_WARNING_ID, self._key_warning)
        check_key_region(rule, self._imported_key)


def grant_topic_key(
    topic: sns.ITopic | None,
    scope: IConstruct,
    rule_set_name: str,
    depend_on: Callable[[IDependable], None],
) -> str | None:
    """Let SES use the key of an encrypted topic for the rules of a rule set, and have the rules
    wait for it (``depend_on``); for a key whose policy the app cannot change, what its owner must
    grant."""
    key = topic.master_key if topic is not None else None
    if topic is None or key is None:
        return None
    added = key.add_to_resource_policy(ses_key_statement(scope, rule_set_name))
    if added.statement_added:
        depend_on(key)
        return None
    return (
        f"SNS topic {topic.node.path} is encrypted with key {key.key_arn}, whose policy this app "
        f"cannot change: allow {SES_PRINCIPAL} {' and '.join(KEY_ACTIONS)} on it (conditions "
        f"aws:SourceAccount and aws:SourceArn {rules_arn(scope, rule_set_name)}) before this "
        "rule deploys."
    )


def imported_topic_key(topic: sns.ITopic | None) -> Placement | None:
    """The KMS key of an imported, encrypted topic, whose region the template does not show (an
    owned topic's key is in its template, where the region check sees it); else None."""
    if topic is None or topic.master_key is None:
        return None
    if isinstance(topic.node.default_child, sns.CfnTopic):
        return None
    key = topic.master_key
    return Placement(f"KMS key of SNS topic {topic.node.path}", key.key_arn, key.env.region)


def check_key_region(rule: IConstruct, key: Placement | None) -> None:
    """Have the region of ``key`` (see ``imported_topic_key``) checked for ``rule``."""
    if key is not None:
        add_findings_validation(
            rule, lambda: judge_placements(Stack.of(rule).region, [key]), REGION_WARNING_ID
        )


def _checked_invocation(
    function: lambda_.IFunction, invocation_type: InvocationType | str
) -> InvocationType:
    invocation = enum_member(InvocationType, invocation_type, "invocation_type")
    if invocation is InvocationType.REQUEST_RESPONSE:
        _check_request_response_timeout(function)
    return invocation


def _check_request_response_timeout(function: lambda_.IFunction) -> None:
    target, described = _timed_function(function)
    timeout = getattr(target, "timeout", None)
    if not isinstance(timeout, Duration) or timeout.is_unresolved():
        return
    problem = request_response_timeout_problem(described, timeout.to_seconds())
    if problem is not None:
        raise ValueError(problem)


def _timed_function(function: lambda_.IFunction) -> tuple[lambda_.IFunction, str]:
    """The function whose timeout an invocation of ``function`` has, and how to name it."""
    if isinstance(function, lambda_.Alias):
        target, kind = function.version.lambda_, "an alias"
    elif isinstance(function, lambda_.Version):
        target, kind = function.lambda_, "a version"
    else:
        return function, f"function={function.node.path}"
    return target, f"function={function.node.path} ({kind} of {target.node.path})"
