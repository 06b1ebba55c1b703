"""What SES checks when a receipt rule is created: that it may use what the rule's actions name.

"Giving permissions to Amazon SES for email receiving" (Amazon SES Developer Guide): SES needs a
function policy that lets ``ses.amazonaws.com`` invoke a Lambda action's function, a bucket policy
that lets it ``s3:PutObject`` under an S3 action's prefix, and, for an SNS topic encrypted with a
customer managed key, a key policy that lets it ``kms:GenerateDataKey`` and ``kms:Decrypt``; each
grant may (and should) be limited with ``aws:SourceAccount`` and ``aws:SourceArn`` (the rule's
ARN). ``CreateReceiptRule`` tests them and refuses the rule (``InvalidLambdaFunction``,
``InvalidS3Configuration``, ``InvalidSnsTopic``); so does the local AWS, reading the policies
moto holds. A policy statement admits SES when it allows the actions to the SES service
principal on the resource and its conditions (``StringEquals``, ``StringLike``, ``ArnEquals``,
``ArnLike`` on the source account and ARN) admit the rule; other condition keys are not
evaluated. A topic without a key, or with an AWS managed key, needs no grant here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.ses.exceptions import (
    InvalidLambdaFunctionException,
    InvalidS3ConfigurationException,
    InvalidSnsTopicException,
)
from moto.sns.models import sns_backends

__all__ = ["check_rule_grants", "ses_allowed"]

SES_PRINCIPAL = "ses.amazonaws.com"
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SETUP_OBJECT = "AMAZON_SES_SETUP_NOTIFICATION"
"""The object SES writes under an S3 action's prefix when the rule is created."""
_MATCHING = MappingProxyType(
    {
        "stringequals": lambda value, pattern: value == pattern,
        "arnequals": lambda value, pattern: value == pattern,
        "stringlike": fnmatchcase,
        "arnlike": fnmatchcase,
    }
)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(policy: Any) -> list[Any]:
    """The statements of a policy moto holds as a document, JSON text or bytes (or None)."""
    if isinstance(policy, (str, bytes)):
        policy = json.loads(policy)
    return _listed((policy or {}).get("Statement", []))


def _admits(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Whether a statement's ``Condition`` admits the request ``context`` (keys lower case)."""
    for operator, tests in condition.items():
        match = _MATCHING.get(operator.lower())
        for key, patterns in tests.items():
            value = context.get(key.lower())
            if match is None or value is None:
                continue  # a key or operator not evaluated here
            if not any(match(value, str(pattern)) for pattern in _listed(patterns)):
                return False
    return True


def ses_allowed(
    statements: Iterable[Mapping[str, Any]],
    *,
    action: str,
    account: str,
    rule_arn: str,
    resource: str | None = None,
) -> bool:
    """Whether policy ``statements`` allow SES ``action`` (on ``resource``, when the policy names
    resources) for the rule ``rule_arn`` of ``account``."""
    context = {"aws:sourceaccount": account, "aws:sourcearn": rule_arn}
    for statement in statements:
        principal = statement.get("Principal")
        services = _listed(principal.get("Service")) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or SES_PRINCIPAL not in services:
            continue
        actions = [str(each) for each in _listed(statement.get("Action", []))]
        if not any(fnmatchcase(action, pattern) for pattern in actions):
            continue
        resources = [str(each) for each in _listed(statement.get("Resource", "*"))]
        if resource is not None and not any(fnmatchcase(resource, each) for each in resources):
            continue
        if _admits(statement.get("Condition", {}), context):
            return True
    return False


def check_rule_grants(
    rule: Mapping[str, Any], rule_set: str, account_id: str, region_name: str
) -> None:
    """Refuse ``rule`` as ``CreateReceiptRule`` does when SES may not use what it names."""
    rule_arn = (
        f"arn:aws:ses:{region_name}:{account_id}:receipt-rule-set/{rule_set}"
        f":receipt-rule/{rule['Name']}"
    )
    where = f"rule {rule['Name']}"
    for action in rule.get("Actions", []):
        for kind, settings in action.items():
            if kind == "LambdaAction":
                _check_function(settings["FunctionArn"], where, account_id, region_name, rule_arn)
            if kind == "S3Action":
                _check_bucket(settings, where, account_id, rule_arn)
            if settings.get("TopicArn"):
                _check_topic(settings["TopicArn"], where, account_id, region_name, rule_arn)


def _check_function(arn: str, where: str, account: str, region: str, rule_arn: str) -> None:
    try:
        wire = lambda_backends[account][region].get_policy(arn)
        statements = json.loads(json.loads(wire)["Policy"])["Statement"]
    except Exception:  # no function, or a function without a policy
        statements = []
    if not ses_allowed(
        statements, action="lambda:InvokeFunction", account=account, rule_arn=rule_arn
    ):
        raise InvalidLambdaFunctionException(
            f"{where}: the policy of {arn} does not let {SES_PRINCIPAL} invoke it for {rule_arn}"
        )


def _check_bucket(settings: Mapping[str, Any], where: str, account: str, rule_arn: str) -> None:
    name = str(settings["BucketName"])
    key = f"{settings.get('ObjectKeyPrefix', '')}{SETUP_OBJECT}"
    try:
        bucket = s3_backends[account]["aws"].get_bucket(name)
    except Exception:
        raise InvalidS3ConfigurationException(f"{where}: bucket {name} does not exist") from None
    if not ses_allowed(
        _statements(getattr(bucket, "cfn_policy", None) or bucket.policy),
        action="s3:PutObject",
        account=account,
        rule_arn=rule_arn,
        resource=f"arn:aws:s3:::{name}/{key}",
    ):
        raise InvalidS3ConfigurationException(
            f"{where}: Could not write to bucket {name}: its policy does not let {SES_PRINCIPAL} "
            f"s3:PutObject {key} for {rule_arn}"
        )


def _check_topic(arn: str, where: str, account: str, region: str, rule_arn: str) -> None:
    try:
        topic = sns_backends[account][region].get_topic(arn)
    except Exception:
        raise InvalidSnsTopicException(f"{where}: topic {arn} does not exist") from None
    key_id = str(getattr(topic, "kms_master_key_id", "") or "")
    if not key_id or key_id.startswith("alias/aws/"):
        return  # no key, or an AWS managed one
    try:
        key = kms_backends[account][region].describe_key(key_id)
    except Exception:
        raise InvalidSnsTopicException(
            f"{where}: topic {arn} is encrypted with key {key_id}, which does not exist"
        ) from None
    statements = _statements(key.policy)
    missing = [
        action
        for action in KEY_ACTIONS
        if not ses_allowed(statements, action=action, account=account, rule_arn=rule_arn)
    ]
    if missing:
        raise InvalidSnsTopicException(
            f"{where}: topic {arn} is encrypted with key {key.arn}, whose policy does not let "
            f"{SES_PRINCIPAL} {' and '.join(missing)} for {rule_arn}"
        )
