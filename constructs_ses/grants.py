"""What SES is granted, scoped to the rules of one rule set.

AWS recommends conditions on every grant to ses.amazonaws.com: ``aws:SourceAccount`` and an
``aws:SourceArn`` of the rules that may use it. The ARN is built from the rule set's *name*, never
from a reference to the rule or rule set resource, which would make the rule depend on the grant and
the grant on the rule: a dependency cycle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from constructs import Construct, IConstruct, IDependable

from constructs_ses.checks.references import RuleSetReferences, rule_set_resource_of
from constructs_ses.records import record_of
from constructs_ses.ses.regions import known_partition
from constructs_ses.ses.tokens import is_unresolved

__all__ = [
    "KEY_ACTIONS",
    "SES_PRINCIPAL",
    "BoundRule",
    "Invoker",
    "RuleSetNames",
    "RulesScope",
    "bound_rule",
    "cross_account_warning",
    "is_literal",
    "rules_arn",
    "ses_conditions",
    "ses_invoke_permission",
    "ses_key_statement",
]

SES_PRINCIPAL = "ses.amazonaws.com"
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
"""What SES needs of the key of an encrypted SNS topic it publishes to."""
PERMISSION_ID = "AllowSes"
"""The id under which ``aws_ses_actions.Lambda`` looks for a function's permission for SES."""


@dataclass(frozen=True)
class RuleSetNames:
    """How the rules of a rule set name it: its Ref token and its name."""

    reference: str
    name: str


@dataclass(frozen=True)
class Invoker:
    """How the rules of one rule set invoke a function."""

    function: lambda_.IFunction
    """The function."""
    reference: lambda_.IFunction
    """The function as the rules' Lambda actions name it: a reference to it whose child
    ``AllowSes`` is the permission for SES, scoped to the rule set (none for a function of another
    account). ``aws_ses_actions.Lambda`` finds that permission, adds none of its own and makes each
    rule depend on it; being a reference, it is not seen by actions bound to the function itself."""
    account_warning: str | None
    """What its owner must grant, for a function of another account; else None."""


class RulesScope:
    """The construct that holds all rules ``InboundEmail`` adds to its rule set.

    Grants SES needs besides the invoke permission (a topic's key policy, a bucket policy) are made
    dependencies of this construct, which CloudFormation renders as a ``DependsOn`` of every rule
    in it: one call to aws-cdk-lib per grant instead of one per rule. The rule set resource is not
    in it, so a resource that refers to the rule set can still be granted to SES without a cycle.
    The invoke permissions hang on the rules' ``Invoker``s.
    """

    def __init__(self, scope: Construct, construct_id: str, names: RuleSetNames) -> None:
        self.owner = scope
        """The construct the rules scope is in, which also holds the rules' invokers."""
        self.construct = Construct(scope, construct_id)
        """The construct; rules are made with it as their scope."""
        setattr(self.construct, RULES_SCOPE_ATTRIBUTE, self)  # found by ``bound_rule``
        self.names = names
        """The rule set the rules belong to."""
        self._node = self.construct.node
        self._dependencies: dict[int, IDependable] = {}
        self._invokers: dict[int, Invoker] = {}

    def depend_on(self, target: IDependable) -> None:
        """Have every rule of the scope, made before or after, depend on ``target``."""
        if id(target) not in self._dependencies:  # held, so that the id stays target's
            self._dependencies[id(target)] = target
            self._node.add_dependency(target)

    def invoker(self, function: lambda_.IFunction) -> Invoker:
        """How the rules invoke ``function``: made on first use, then shared."""
        known = self._invokers.get(id(function))
        if known is None:  # an Invoker holds its function, so the id stays the function's
            known = self._invokers[id(function)] = self._new_invoker(function)
        return known

    def _new_invoker(self, function: lambda_.IFunction) -> Invoker:
        stack = Stack.of(self.owner)
        warning = cross_account_warning(function, stack)
        path = function.node.path
        reference = lambda_.Function.from_function_attributes(
            self.owner,
            f"Invoke{hashlib.sha256(path.encode()).hexdigest()[:8].upper()}",
            function_arn=function.function_arn,
            same_environment=warning is None,
            skip_permissions=warning is not None,
        )
        if warning is None:
            ses_invoke_permission(reference, PERMISSION_ID, function, stack, self.names.name)
        return Invoker(function, reference, warning)


def cross_account_warning(function: lambda_.IFunction, stack: Stack) -> str | None:
    """What the owner of ``function`` must grant, when it is in another account than ``stack``;
    None when the accounts are the same or not known at synthesis."""
    account = stack.account
    function_account = function.env.account
    if is_literal(account) and is_literal(function_account) and account != function_account:
        return (
            f"Lambda function {function.node.path} is in account {function_account}, not "
            f"{account}: its owner must allow {SES_PRINCIPAL} to invoke it (lambda:InvokeFunction, "
            f"SourceAccount {account}) before this rule deploys."
        )
    return None


def ses_invoke_permission(
    scope: IConstruct,
    construct_id: str,
    function: lambda_.IFunction,
    stack: Stack,
    rule_set_name: str,
) -> lambda_.CfnPermission:
    """A permission for SES to invoke ``function`` for the rules of one rule set of ``stack``."""
    return lambda_.CfnPermission(
        cast(Construct, scope),  # every IFunction is a construct
        construct_id,
        action="lambda:InvokeFunction",
        function_name=function.function_arn,
        principal=SES_PRINCIPAL,
        source_account=stack.account,
        source_arn=rules_arn(stack, rule_set_name),
    )


@dataclass(frozen=True)
class BoundRule:
    """The receipt rule an action is bound to, as the action's grants need it."""

    rule: IConstruct
    rule_set_reference: str
    """The rule's RuleSetName as given: a token unique in the process, or a name."""
    rule_set_name: str
    """The rule set's name: the literal name when the app gives one, else the reference."""
    scope: RulesScope | None = None
    """The rules scope the rule is being made in, if ``InboundEmail`` makes it."""

    def depend_on(self, target: IDependable) -> None:
        """Have the rule resource depend on ``target`` (a grant SES tests at its creation)."""
        if self.scope is not None:
            self.scope.depend_on(target)
        else:
            self.rule.node.add_dependency(target)


RULES_SCOPE_ATTRIBUTE = "_constructs_ses_rules_scope"
"""The attribute of a rules scope's construct that holds the ``RulesScope``."""


def bound_rule(receipt_rule: IConstruct, action: str) -> BoundRule:
    """The ``AWS::SES::ReceiptRule`` ``action`` is bound to; ValueError if there is none.

    A rule made in an ``InboundEmail``'s rules scope takes its rule set from the scope, and its
    grants are the scope's dependencies (fewer calls to aws-cdk-lib per rule)."""
    scope = getattr(receipt_rule.node.scope, RULES_SCOPE_ATTRIBUTE, None)
    if isinstance(scope, RulesScope):
        return BoundRule(receipt_rule, scope.names.reference, scope.names.name, scope)
    cfn_rule = receipt_rule.node.default_child
    if not isinstance(cfn_rule, ses.CfnReceiptRule):
        raise ValueError(
            f"{action} can only be bound to an aws_ses.ReceiptRule; "
            f"{receipt_rule.node.path} has no AWS::SES::ReceiptRule resource"
        )
    reference = cfn_rule.rule_set_name
    references = record_of(receipt_rule.node.root, RuleSetReferences)
    return BoundRule(receipt_rule, reference, _rule_set_name(reference, references))


def _rule_set_name(reference: str, references: RuleSetReferences) -> str:
    """The name of the rule set a rule's RuleSetName ``reference`` refers to."""
    name = references.names.get(reference)
    if name is None:
        rule_set = rule_set_resource_of(reference, references)
        literal = rule_set is not None and is_literal(rule_set.rule_set_name)
        name = str(rule_set.rule_set_name) if rule_set is not None and literal else reference
        references.names[reference] = name
    return name


def is_literal(value: object) -> bool:
    """A non-empty string known at synthesis (not a token)."""
    return isinstance(value, str) and bool(value) and not is_unresolved(value)


def rules_arn(scope: IConstruct, rule_set_name: str) -> str:
    """``arn:<partition>:ses:<region>:<account>:receipt-rule-set/<name>:receipt-rule/*``.

    For a region of the packaged list the partition is taken from it, which spares aws-cdk-lib
    loading its table of region facts (about 80 ms, once per process).
    """
    stack = Stack.of(scope)
    return stack.format_arn(
        partition=known_partition(stack.region),
        service="ses",
        resource="receipt-rule-set",
        resource_name=f"{rule_set_name}:receipt-rule/*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def ses_conditions(scope: IConstruct, rule_set_name: str) -> dict[str, dict[str, str]]:
    """IAM conditions that admit SES only for the rules of this rule set in this account."""
    return {
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
        "ArnLike": {"aws:SourceArn": rules_arn(scope, rule_set_name)},
    }


def ses_key_statement(scope: IConstruct, rule_set_name: str) -> iam.PolicyStatement:
    """A key policy statement that lets SES use a topic's key for this rule set's rules."""
    return iam.PolicyStatement(
        sid="AllowSesReceiptRules",
        principals=[iam.ServicePrincipal(SES_PRINCIPAL)],
        actions=list(KEY_ACTIONS),
        resources=["*"],
        conditions=ses_conditions(scope, rule_set_name),
    )
