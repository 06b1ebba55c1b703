"""A receipt rule action that stores each message in S3, with a grant scoped to the rule set."""

from __future__ import annotations

import jsii
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk.interfaces.aws_ses import IReceiptRuleRef

from constructs_ses.grants import (
    SES_PRINCIPAL,
    bound_rule,
    rules_arn,
    ses_conditions,
)

__all__ = ["StoreMessageAction"]


@jsii.implements(ses.IReceiptRuleAction)
class StoreMessageAction:
    """Stores the raw message as ``object_key_prefix + messageId`` in a bucket.

    Unlike ``aws_ses_actions.S3``, the bucket policy statement that lets SES write
    (``s3:PutObject`` on exactly ``prefix*``) carries both ``aws:SourceAccount`` and the
    ``aws:SourceArn`` of the rule set's rules; the rule depends on the bucket policy, as SES tests
    it when the rule is created. For an imported bucket it warns what the owner must allow.

    :param bucket: the bucket.
    :param object_key_prefix: the key prefix. Default: "".
    """

    def __init__(self, *, bucket: s3.IBucket, object_key_prefix: str = "") -> None:
        self.bucket = bucket
        self.object_key_prefix = object_key_prefix

    def bind(self, receipt_rule: IReceiptRuleRef) -> ses.ReceiptRuleActionConfig:
        """Grant SES the write, order the rule after the bucket policy, render the action."""
        rule = bound_rule(receipt_rule, "StoreMessageAction")
        rule_set_name = rule.rule_set_name
        objects = self.bucket.arn_for_objects(f"{self.object_key_prefix}*")
        added = self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSesReceiptRulesToStoreMail",
                principals=[iam.ServicePrincipal(SES_PRINCIPAL)],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions=ses_conditions(receipt_rule, rule_set_name),
            )
        )
        if added.statement_added and added.policy_dependable is not None:
            rule.depend_on(added.policy_dependable)
        elif not added.statement_added:
            Validations.of(receipt_rule).add_warning(
                "constructs-ses:importedBucket",
                f"bucket {self.bucket.bucket_name} is imported, so this app cannot change its "
                f"policy: allow {SES_PRINCIPAL} s3:PutObject on {self.object_key_prefix}* "
                f"(conditions aws:SourceAccount and aws:SourceArn "
                f"{rules_arn(receipt_rule, rule_set_name)}) before this rule deploys.",
            )
        return ses.ReceiptRuleActionConfig(
            s3_action=ses.S3ActionConfig(
                bucket_name=self.bucket.bucket_name,
                object_key_prefix=self.object_key_prefix or None,
            )
        )
