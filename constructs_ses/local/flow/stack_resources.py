"""A stack's buckets, topics, queues and tables in a local AWS, and what the mail flow writes there.

Created once, the first time something needs them (an S3 or SNS action, a function's worker),
under the names the functions' environment refers to (``constructs_ses.local.flow.assembly``), and
again in a new local AWS when the one they were in ended (``recover``). Every
topic has a subscriber of the flow's own: an HTTP endpoint on 127.0.0.1 that receives what any
HTTP subscriber would, SNS's envelope, for every message published to the topic (by the flow or
by a function), and appends it to ``sns/<topic>.jsonl`` in the store directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from constructs_ses.local.aws.clients import is_connection_error
from constructs_ses.local.aws.local_aws import LocalAws, LocalAwsError
from constructs_ses.local.flow.assembly import RuleSet, StackResource
from constructs_ses.local.flow.store import topic_path

__all__ = ["StackInAws"]

LOGGER = logging.getLogger("constructs_ses.local")
ENVELOPE_TIMEOUT_SECONDS = 10.0
ENDING_SECONDS = 5.0
"""How long a local AWS that stopped answering may take to end before it counts as alive."""
_T = TypeVar("_T")
_KEPT_ENVELOPES = 1000
"""Envelopes kept for ``publish`` to pick up; older ones (published by functions) are dropped."""


class StackInAws:
    """The resources of ``rule_set``'s stack in ``aws``; ``store_dir`` receives topic files."""

    def __init__(self, aws: LocalAws, rule_set: RuleSet, store_dir: Path) -> None:
        self.aws = aws
        self.rule_set = rule_set
        self.region = rule_set.region
        self.store_dir = store_dir
        self.on_new_aws: Callable[[], None] | None = None
        """Called once the resources are made again in a new local AWS (the flow replaces its
        functions' workers, which have the old one's endpoint)."""
        self._subscriber = _Subscriber(store_dir)
        self._lock = threading.RLock()
        self._ready = False
        self._made_in: tuple[int, str] | None = None
        """The generation and endpoint of the local AWS the resources were made in."""
        self._clients: dict[str, Any] = {}
        self._buckets: set[str] = set()
        self._topics: dict[str, str] = {}
        """Subscription ARN of each topic the flow listens to."""

    @property
    def endpoint_url(self) -> str:
        """The local AWS's endpoint (a new one's, when the one before ended)."""
        self.recover()
        return self.aws.endpoint_url

    def environment(self) -> dict[str, str]:
        """What a function needs to reach this AWS: ``AWS_ENDPOINT_URL`` and credentials."""
        self.ready()
        return {"AWS_ENDPOINT_URL": self.aws.endpoint_url, **self.aws.credentials}

    def ready(self) -> None:
        """Create the stack's resources, once (again in a new local AWS, see ``recover``)."""
        self.recover()
        with self._lock:
            if self._ready:
                return
            for resource in self.rule_set.resources:
                _CREATE[resource.kind](self, resource)
            url = self.aws.endpoint_url  # started now, if no resource needed it
            self._ready, self._made_in = True, (self.aws.generation, url)

    def recover(self, *, waiting: float = 0.0) -> bool:
        """If the local AWS ended (waiting up to ``waiting`` seconds for it to end), start a new
        one; if the resources were made in another than the one running now, make them again
        there, warn (once) that what the old one held is lost and call ``on_new_aws``.
        Whether a new local AWS was started or found."""
        ended = self.aws.restart_if_ended(waiting=waiting)
        with self._lock:
            if self._made_in is None or self._made_in[0] == self.aws.generation:
                return ended is not None
            _, old_url = self._made_in
            self._ready, self._made_in = False, None
            self._clients.clear()
            self._buckets.clear()
            self._topics.clear()  # the new AWS has none of the old one's subscriptions
            self.ready()
            LOGGER.warning(
                "%s; the stack's buckets, topics, queues and tables of rule set %r are made again, "
                "empty, in the local AWS at %s: the objects, messages and items the old one held "
                "are lost (the copies of stored messages and notifications under %s remain)",
                ended or f"the local AWS at {old_url} was replaced",
                self.rule_set.name,
                self.aws.endpoint_url,
                self.store_dir,
            )
        if self.on_new_aws is not None:
            self.on_new_aws()
        return True

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.aws.client(service, region=self.region)
            return self._clients[service]

    def put_message(self, bucket: str, key: str, raw: bytes, kms_key_arn: str | None) -> None:
        """Write ``raw`` as object ``key`` of ``bucket`` (SSE-KMS with ``kms_key_arn``)."""
        encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn} if kms_key_arn else {}
        )

        def put() -> None:
            self.ready()
            self._bucket(bucket)
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=raw, **encryption)

        self._in_a_live_aws(put)

    def publish(self, topic_arn: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """Publish ``message`` (as JSON) to the topic; return the envelope its subscribers got."""

        def publish() -> Any:
            self.ready()
            self._topic(topic_arn)
            return self.client("sns").publish(TopicArn=topic_arn, Message=json.dumps(message))

        published = self._in_a_live_aws(publish)
        return self._subscriber.envelope(str(published["MessageId"]))

    def _in_a_live_aws(self, call: Callable[[], _T]) -> _T:
        """``call()``, made again in a new local AWS when the one it tried to reach ended."""
        try:
            return call()
        except Exception as error:
            if not is_connection_error(error) or not self.recover(waiting=ENDING_SECONDS):
                raise
        return call()

    def close(self) -> None:
        """Unsubscribe the flow from its topics (unless the local AWS that has them ended) and
        stop its subscriber."""
        with self._lock:
            subscriptions, self._topics = list(self._topics.values()), {}
            made_in = self._made_in
            alive = made_in is not None and made_in[0] == self.aws.generation and self.aws.running
        try:
            for subscription in subscriptions if alive else ():
                self.client("sns").unsubscribe(SubscriptionArn=subscription)
        finally:
            self._subscriber.close()

    def _bucket(self, name: str) -> None:
        with self._lock:
            if name in self._buckets:
                return
            s3 = self.client("s3")
            where = (
                {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
                if self.region != "us-east-1"
                else {}
            )
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=name, **where)
            self._buckets.add(name)

    def _topic(self, arn: str, properties: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            if arn in self._topics:
                return
            _, _, _, region, account, name = arn.split(":", 5)
            if account != self.aws.account:
                raise LocalAwsError(
                    f"topic {arn} is in account {account}; the local AWS holds account "
                    f"{self.aws.account} only"
                )
            sns = self.aws.client("sns", region=region)
            attributes = _string_attributes(properties or {}, ("FifoTopic", "DisplayName"))
            created = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
            self._topics[arn] = sns.subscribe(
                TopicArn=created,
                Protocol="http",
                Endpoint=self._subscriber.url,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]

    def _create_bucket(self, resource: StackResource) -> None:
        self._bucket(resource.name)

    def _create_topic(self, resource: StackResource) -> None:
        arn = f"arn:aws:sns:{self.region}:{self.aws.account}:{resource.name}"
        self._topic(arn, resource.properties)

    def _create_queue(self, resource: StackResource) -> None:
        attributes = _string_attributes(
            resource.properties,
            ("FifoQueue", "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"),
        )
        self.client("sqs").create_queue(QueueName=resource.name, Attributes=attributes)

    def _create_table(self, resource: StackResource) -> None:
        properties = resource.properties
        indexes = {
            key: [_without(index, "ProvisionedThroughput") for index in properties[key]]
            for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            if properties.get(key)
        }
        dynamodb = self.client("dynamodb")
        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            dynamodb.create_table(
                TableName=resource.name,
                KeySchema=properties["KeySchema"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
                **indexes,
            )


_CREATE = MappingProxyType(
    {
        "AWS::S3::Bucket": StackInAws._create_bucket,
        "AWS::SNS::Topic": StackInAws._create_topic,
        "AWS::SQS::Queue": StackInAws._create_queue,
        "AWS::DynamoDB::Table": StackInAws._create_table,
    }
)


def _string_attributes(properties: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The attributes among ``names`` that ``properties`` sets, as the APIs take them."""
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name in names
        if (value := properties.get(name)) is not None
    }


def _without(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


class _Subscriber:
    """An HTTP endpoint on 127.0.0.1 subscribed to the flow's topics: it keeps each envelope
    for ``envelope()`` and appends it to its topic's file."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self._envelopes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._arrived = threading.Condition()
        self._write_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            threading.Thread(
                target=self._server.serve_forever, name="sns-subscriber", daemon=True
            ).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def received(self, envelope: dict[str, Any]) -> None:
        if envelope.get("Type") != "Notification":
            return
        topic = str(envelope.get("TopicArn", "")).rsplit(":", 1)[-1]
        path = topic_path(self.store_dir, topic)
        with self._write_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as out:
                out.write(json.dumps(envelope) + "\n")
        with self._arrived:
            self._envelopes[str(envelope.get("MessageId"))] = envelope
            while len(self._envelopes) > _KEPT_ENVELOPES:
                self._envelopes.popitem(last=False)
            self._arrived.notify_all()

    def envelope(self, message_id: str) -> dict[str, Any]:
        """The envelope of the message ``message_id`` (SNS posts it before publish returns)."""
        with self._arrived:
            if not self._arrived.wait_for(
                lambda: message_id in self._envelopes, ENVELOPE_TIMEOUT_SECONDS
            ):
                raise LocalAwsError(f"SNS did not deliver message {message_id} to the flow")
            return self._envelopes.pop(message_id)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(subscriber: _Subscriber) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                envelope = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_response(400)
            else:
                subscriber.received(envelope)
                self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the flow reports what arrived."""

    return Handler
