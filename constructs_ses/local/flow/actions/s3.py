"""The S3 action ("Deliver to S3 bucket action", Amazon SES Developer Guide): the message goes to
the bucket as ``<prefix><messageId>`` (SSE-KMS with the action's key), a copy into the store, and
the topic, if any, is notified without the content."""

from __future__ import annotations

from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun
from constructs_ses.local.flow.results import Step
from constructs_ses.local.flow.store import object_path

__all__ = ["run"]


def run(services: ActionServices, action: Action, raw: bytes, rule_run: RuleRun) -> Outcome:
    config = action.config
    delivery = rule_run.delivery
    bucket, prefix = str(config["BucketName"]), str(config.get("ObjectKeyPrefix", ""))
    key = prefix + delivery.message_id
    kms_key = config.get("KmsKeyArn")
    services.stack.put_message(bucket, key, raw, str(kms_key) if kms_key else None)
    path = object_path(services.store_dir, bucket, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    delivery.stored.append(path)
    delivery.steps.append(Step(rule_run.rule.name, "S3", "stored", f"s3://{bucket}/{key}"))
    services.notify(config.get("TopicArn"), action, raw, rule_run, object_key=key)
    return "CONTINUE", raw
