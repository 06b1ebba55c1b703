"""CloudFormation models the local AWS adds to moto's, for the resource types our stacks use.

moto 5.2 skips ``AWS::SES::ReceiptRuleSet``, ``AWS::SES::ReceiptRule``, ``AWS::S3::BucketPolicy``,
``AWS::SNS::TopicPolicy`` and ``AWS::CDK::Metadata`` and still reports CREATE_COMPLETE. Here:

- rule sets and rules are created, updated and deleted through moto's SES backend, so the SES
  API (``DescribeReceiptRuleSet``...) shows what a deploy made; a rule goes after its ``After``
  rule, or first without one, as ``CreateReceiptRule`` places it ("AWS::SES::ReceiptRule",
  CloudFormation User Guide);
- bucket and topic policies are recorded on the bucket or topic (``cfn_policy``) without being
  enforced: moto enforces bucket policies ignoring their conditions, which would refuse the
  CDK's asset uploads to a bootstrap bucket that denies requests without TLS;
- ``AWS::CDK::Metadata`` is accepted and does nothing, as in AWS;
- a change set creates the resources it adds in ``DependsOn`` order (``install()``; moto creates
  them in template order, following only ``Ref`` and ``Fn::GetAtt``);
- ``DescribeChangeSet`` and ``DeleteChangeSet`` of a change set that does not exist answer
  ``ChangeSetNotFound``, as CloudFormation does and the CDK CLI expects before an update (moto
  answers ``ValidationError`` or fails), and a change set named, not given by ARN, is the newest
  of that name (moto takes the oldest, of any stack); an SSM-typed parameter passed with
  ``UsePreviousValue`` keeps its value (moto fails on it);
- like SES's ``CreateReceiptRule``, a rule whose Lambda action's function does not let
  ``ses.amazonaws.com`` invoke it, for this account and this rule, is refused, which fails the
  deploy ("Giving permissions to Amazon SES for email receiving", Amazon SES Developer Guide).

``aws_server`` imports this module and calls ``install()`` before moto's server starts (moto
collects the models of its ``CloudFormationModel`` subclasses once, on first use).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, ClassVar

from moto.awslambda.models import lambda_backends
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.ses.exceptions import InvalidLambdaFunctionException
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.ssm.models import ssm_backends

__all__ = [
    "CdkMetadata",
    "RecordedPolicy",
    "SesReceiptRule",
    "SesReceiptRuleSet",
    "TopicPolicy",
    "install",
    "ses_may_invoke",
]


class _Model:
    """What the models here share. moto finds models among the direct subclasses of
    ``CloudFormationModel``, so each model names it beside this mixin."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    """The property that names the resource; without one moto makes a name up."""
    physical_id: str
    """What ``Ref`` returns."""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # no Fn::GetAtt attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id


class SesReceiptRuleSet(_Model, CloudFormationModel):
    """``AWS::SES::ReceiptRuleSet``: ``Ref`` is its name."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.physical_id = name
        self.account_id = account_id
        self.region_name = region_name

    TYPE = "AWS::SES::ReceiptRuleSet"
    NAME_PROPERTY = "RuleSetName"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesReceiptRuleSet:
        ses_backends[account_id][region_name].create_receipt_rule_set(resource_name)
        return cls(resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesReceiptRuleSet,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesReceiptRuleSet:
        if new_resource_name == original_resource.name:
            return original_resource
        created = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return created

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].delete_receipt_rule_set(self.name)


class SesReceiptRule(_Model, CloudFormationModel):
    """``AWS::SES::ReceiptRule``: ``Ref`` is the rule's name (``Rule.Name``, or one made up
    as CloudFormation does when it has none)."""

    def __init__(self, rule_set: str, rule: dict[str, Any], account_id: str, region: str) -> None:
        self.rule_set = rule_set
        self.rule = rule
        self.physical_id = str(rule["Name"])
        self.account_id = account_id
        self.region_name = region

    TYPE = "AWS::SES::ReceiptRule"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesReceiptRule:
        properties = cloudformation_json["Properties"]
        rule = _rule_of(properties, resource_name)
        rule_set = str(properties["RuleSetName"])
        after = properties.get("After")
        _check_lambda_permissions(rule, rule_set, account_id, region_name)
        ses_backends[account_id][region_name].create_receipt_rule(rule_set, rule, after)
        return cls(rule_set, rule, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesReceiptRule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesReceiptRule:
        """A new name, rule set or place replaces the rule; other changes update it."""
        properties = cloudformation_json["Properties"]
        rule = _rule_of(properties, str(original_resource.rule["Name"]))
        same_place = (
            rule["Name"] == original_resource.rule["Name"]
            and str(properties["RuleSetName"]) == original_resource.rule_set
            and properties.get("After") == original_resource.after()
        )
        if not same_place:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        _check_lambda_permissions(rule, original_resource.rule_set, account_id, region_name)
        backend = ses_backends[account_id][region_name]
        backend.update_receipt_rule(original_resource.rule_set, rule)
        return cls(original_resource.rule_set, rule, account_id, region_name)

    def after(self) -> str | None:
        """The name of the rule before this one, or None when it is first."""
        rules = self._rules()
        names = [str(r["Name"]) for r in rules]
        index = names.index(str(self.rule["Name"])) if self.rule["Name"] in names else 0
        return names[index - 1] if index > 0 else None

    def delete(self, account_id: str, region_name: str) -> None:
        """``DeleteReceiptRule``, which moto's SES backend lacks; gone already is fine, as a
        rule goes with its rule set."""
        rules = self._rules()
        rules[:] = [r for r in rules if r["Name"] != self.rule["Name"]]

    def _rules(self) -> list[dict[str, Any]]:
        backend = ses_backends[self.account_id][self.region_name]
        rule_set = backend.receipt_rule_set.get(self.rule_set)
        return rule_set.rules if rule_set is not None else []


class RecordedPolicy(_Model, CloudFormationModel):
    """``AWS::S3::BucketPolicy`` and ``AWS::SNS::TopicPolicy`` (see the module): the document
    is kept as ``cfn_policy`` on each bucket or topic it names, and removed on delete."""

    def __init__(self, targets: list[Any], document: Any, logical_id: str) -> None:
        self.targets = targets
        self.document = document
        self.logical_id = logical_id
        self.physical_id = logical_id

    TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RecordedPolicy:
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        targets: list[Any]
        if cls.TYPE == "AWS::S3::BucketPolicy":
            targets = [s3_backends[account_id]["aws"].get_bucket(properties["Bucket"])]
        else:
            backend = sns_backends[account_id][region_name]
            targets = [backend.get_topic(arn) for arn in properties["Topics"]]
        for target in targets:
            target.cfn_policy = document
        return cls(targets, document, str(kwargs.get("LogicalId", resource_name)))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RecordedPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RecordedPolicy:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name,
            cloudformation_json,
            account_id,
            region_name,
            LogicalId=original_resource.logical_id,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        for target in self.targets:
            target.cfn_policy = None


class TopicPolicy(RecordedPolicy, CloudFormationModel):
    """``AWS::SNS::TopicPolicy``, recorded as ``RecordedPolicy`` records bucket policies (a
    direct subclass of ``CloudFormationModel`` too: moto finds models by direct subclasses)."""

    TYPE = "AWS::SNS::TopicPolicy"


class CdkMetadata(_Model, CloudFormationModel):
    """``AWS::CDK::Metadata``: accepted, as CloudFormation accepts it, and nothing more."""

    def __init__(self, logical_id: str) -> None:
        self.logical_id = logical_id
        self.physical_id = logical_id

    TYPE = "AWS::CDK::Metadata"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CdkMetadata:
        return cls(str(kwargs.get("LogicalId", resource_name)))

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to delete."""


def _rule_of(properties: Mapping[str, Any], default_name: str) -> dict[str, Any]:
    """The rule as SES's API takes it: ``Enabled`` false and ``Name`` ``default_name`` unless
    the template says otherwise (CloudFormation names an unnamed rule itself)."""
    rule = {"Enabled": False, **properties["Rule"]}
    rule.setdefault("Name", default_name)
    return rule


def ses_may_invoke(statements: Iterable[Mapping[str, Any]], *, account: str, rule_arn: str) -> bool:
    """Whether a function policy's ``statements`` let SES invoke it for the rule ``rule_arn``
    of ``account``: an Allow of ``lambda:InvokeFunction`` to ``ses.amazonaws.com`` whose
    ``AWS:SourceAccount`` and ``AWS:SourceArn`` conditions, where present, admit them."""
    for statement in statements:
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "ses.amazonaws.com":
            continue
        if statement.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        condition = statement.get("Condition", {})
        source_account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
        arns = {**condition.get("ArnLike", {}), **condition.get("ArnEquals", {})}
        source_arn = arns.get("AWS:SourceArn")
        if source_account not in (None, account):
            continue
        if source_arn is not None and not fnmatchcase(rule_arn, str(source_arn)):
            continue
        return True
    return False


def _check_lambda_permissions(
    rule: Mapping[str, Any], rule_set: str, account_id: str, region_name: str
) -> None:
    rule_arn = (
        f"arn:aws:ses:{region_name}:{account_id}:receipt-rule-set/{rule_set}"
        f":receipt-rule/{rule['Name']}"
    )
    for action in rule.get("Actions", []):
        function_arn = action.get("LambdaAction", {}).get("FunctionArn")
        if function_arn is None:
            continue
        try:
            wire = lambda_backends[account_id][region_name].get_policy(function_arn)
            statements = json.loads(json.loads(wire)["Policy"])["Statement"]
        except Exception:  # no function, or a function without a policy
            statements = []
        if not ses_may_invoke(statements, account=account_id, rule_arn=rule_arn):
            raise InvalidLambdaFunctionException(
                f"rule {rule['Name']}: the policy of {function_arn} does not let "
                f"ses.amazonaws.com invoke it for {rule_arn}"
            )


def _in_dependency_order(names: Iterable[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` with each after the ones among them it ``DependsOn``."""
    wanted = list(names)
    placed: list[str] = []

    def place(name: str, seen: tuple[str, ...]) -> None:
        if name in placed or name in seen:
            return
        depends = resources.get(name, {}).get("DependsOn", [])
        for dependency in [depends] if isinstance(depends, str) else depends:
            if dependency in wanted:
                place(dependency, (*seen, name))
        placed.append(name)

    for name in wanted:
        place(name, ())
    return placed


class ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFound"


def _change_set_must_exist(method: Any) -> Any:
    """``method`` of moto's CloudFormation backend, answering ``ChangeSetNotFound`` for a
    change set it does not hold. A name is taken to mean the newest change set of that name:
    moto's own lookup takes the oldest, of whichever stack (the CLI names every stack's change
    set ``cdk-deploy-change-set``), and its API does not pass the stack on."""

    def call(self: CloudFormationBackend, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        arns = [
            arn
            for arn, change_set in self.change_sets.items()
            if change_set_name in (arn, change_set.change_set_name)
        ]
        if not arns:
            raise ChangeSetNotFoundError(f"ChangeSet [{change_set_name}] does not exist")
        return method(self, arns[-1], *args, **kwargs)

    return call


def _ssm_parameter(method: Any) -> Any:
    """moto's SSM-typed parameter lookup, taking a value that is no parameter name as the
    value already resolved: what an update passes with ``UsePreviousValue`` (the CDK's
    ``BootstrapVersion``), on which moto fails; a missing parameter is CloudFormation's error."""

    def parse(self: ResourceMap, value: str, value_type: str) -> Any:
        backend = ssm_backends[self._account_id][self._region_name]
        if backend.get_parameter(value) is not None:
            return method(self, value, value_type)
        if not str(value).startswith("/"):
            return value
        raise ValidationError(
            message=f"Unable to fetch parameters [{value}] from parameter store for this account."
        )

    return parse


def install() -> None:
    """Make moto's change sets add resources in ``DependsOn`` order, and answer
    ``ChangeSetNotFound`` as CloudFormation does (once)."""
    original = ResourceMap.build_resource_diff
    if getattr(original, "in_dependency_order", False):
        return
    for name in ("describe_change_set", "delete_change_set", "execute_change_set"):
        method = getattr(CloudFormationBackend, name)
        setattr(CloudFormationBackend, name, _change_set_must_exist(method))
    ResourceMap.parse_ssm_parameter = _ssm_parameter(ResourceMap.parse_ssm_parameter)  # type: ignore[method-assign]

    def build_resource_diff(
        self: ResourceMap, other_template: dict[str, Any], parameters: Any = None
    ) -> dict[str, Any]:
        diff: dict[str, Any] = original(self, other_template, parameters)
        diff["Add"] = _in_dependency_order(diff["Add"], other_template.get("Resources", {}))
        return diff

    build_resource_diff.in_dependency_order = True  # type: ignore[attr-defined]
    ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]
