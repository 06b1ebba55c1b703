"""SES's receipt-rule semantics on this machine: the rules of a rule set run against a message.

SES first puts its own headers before the message's (``ses_headers``). Rules run in order; a
disabled rule is skipped; every rule whose recipients match runs, with the recipients it matched;
its actions run in order. Lambda functions run from their code asset in a worker process with
their environment; RequestResponse answers control the flow as in SES. S3 and SNS actions write
to the stack's buckets and topics in a local AWS (``constructs_ses.local.flow.stack_resources``).
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import lru_cache, partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from constructs_ses.domains import covering_domain
from constructs_ses.lambda_src.handler import address_matches
from constructs_ses.local.aws.local_aws import LocalAws
from constructs_ses.local.flow.assembly import (
    Action,
    AssemblyError,
    Rule,
    RuleSet,
    StackResource,
    find_resource,
    load_assembly,
)
from constructs_ses.local.flow.envelope import mailbox_problem, mailbox_reply
from constructs_ses.local.flow.message import (
    Arrival,
    Verdicts,
    header_items,
    headers_before,
    mailbox,
    new_message_id,
    now_iso,
    parse_headers,
    ses_headers,
    ses_mail,
)
from constructs_ses.local.flow.stack_resources import StackInAws
from constructs_ses.local.flow.store import object_path
from constructs_ses.local.lambda_runtime.runtime import (
    DEFAULT_CONCURRENCY,
    EVENT_RETRY_DELAYS,
    EncodedEvent,
    InvokeResult,
    LambdaRuntime,
    encode_value,
)

if TYPE_CHECKING:
    from aws_cdk import Stack

__all__ = [
    "Arrival",
    "Bounce",
    "Delivery",
    "Invocation",
    "MailFlow",
    "Refusal",
    "Step",
    "Verdicts",
    "matches",
]

REQUEST_RESPONSE_LIMIT_SECONDS = 30.0
"""SES waits at most 30 seconds for a RequestResponse invocation."""
DISPOSITIONS = ("CONTINUE", "STOP_RULE", "STOP_RULE_SET")
MAX_SNS_MESSAGE_BYTES = 150 * 1024
"""The largest message an SNS action publishes; SES bounces larger ones."""
_RECEIPTS = 1024
"""How many receipts (one per Lambda action, recipients and verdicts) a flow keeps before it
starts again."""


def matches(recipient: str, patterns: Sequence[str]) -> bool:
    """Whether a rule with recipients ``patterns`` receives mail for ``recipient``.

    No patterns: every recipient. ``user@example.com`` matches itself and ``user+tag@example.com``;
    ``example.com`` matches every address of that domain; ``.example.com`` every subdomain's.
    """
    return _matches(recipient, tuple(patterns))


@lru_cache(maxsize=4096)
def _matches(recipient: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    address = recipient.lower()
    local, _, domain = address.rpartition("@")
    untagged = f"{local.split('+', 1)[0]}@{domain}"
    lowered = [p.lower() for p in patterns]
    return address_matches(address, lowered) or address_matches(untagged, lowered)


@dataclass
class Step:
    """One line of a delivery's trace: a rule, an action and what came of it."""

    rule: str
    action: str
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.rule}: {self.action} -> {self.outcome}{detail}"


@dataclass
class Invocation:
    """One call of a Lambda function: the event it got and what it answered.

    An Event invocation is complete once its delivery's ``wait()`` returns; until then its
    fields show the attempts made so far.
    """

    function: str
    """The function's name (its FunctionName, or the name CloudFormation would give it)."""
    function_arn: str
    """Its ARN, as the event's ``receipt.action.functionArn`` and the context have it."""
    invocation_type: str
    encoded_event: EncodedEvent = field(repr=False)
    """The event as it was sent to the function."""
    answer: Any = None
    error: str | None = None
    """The last attempt's error: ``ErrorType: message``, or Lambda's wording for a timeout
    (``Task timed out after 3.00 seconds``), a process that exited or a throttle (``Rate
    Exceeded.``, a reserved concurrency of 0); None when it answered."""
    attempts: int = 0
    _completion: Future[Any] | None = field(default=None, repr=False, compare=False)
    _event: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _results: list[InvokeResult] = field(default_factory=list, repr=False, compare=False)

    @property
    def logs(self) -> str:
        """Every attempt's log lines, as Lambda's log stream holds them (START, output, END,
        REPORT)."""
        return "".join(result.logs for result in self._results)

    @property
    def event(self) -> dict[str, Any]:
        """The event the function got ("Invoking Lambda functions", Amazon SES Developer
        Guide), decoded when first asked for."""
        if self._event is None:
            self._event = self.encoded_event.decoded()
        return self._event

    @property
    def event_json(self) -> str:
        """The event as JSON text, as Lambda passes it to the function."""
        return json.dumps(self.encoded_event.decoded())

    @property
    def done(self) -> bool:
        """Whether the last attempt has ended."""
        return self._completion is None or self._completion.done()

    def when_done(self, callback: Callable[[Invocation], None]) -> None:
        """Call ``callback`` with this invocation once its last attempt has ended (at once for
        a RequestResponse invocation, which has ended when ``deliver`` returns)."""
        if self._completion is None:
            callback(self)
        else:
            self._completion.add_done_callback(lambda _: callback(self))


@dataclass(frozen=True)
class Bounce:
    """A Bounce action's reply to the sender."""

    smtp_reply_code: str
    status_code: str | None
    message: str


@dataclass(frozen=True)
class Refusal:
    """A recipient SES refuses at RCPT TO, so no rule runs for it, and the SMTP front's reply."""

    recipient: str
    reply: str
    """The whole reply, e.g. ``550 5.1.1 <a@b.example>: no enabled receipt rule ...``."""

    @property
    def smtp_reply_code(self) -> str:
        """The reply's code: ``550``, ``553`` or ``530``."""
        return self.reply[:3]

    @property
    def reason(self) -> str:
        """The reply after its code and enhanced status code."""
        return self.reply.split(" ", 2)[2]

    def __str__(self) -> str:
        return f"refused {self.recipient}: {self.reply}"


@dataclass
class Delivery:
    """What happened to one message."""

    message_id: str
    recipients: list[str]
    """The recipients SES accepted, for which the rules ran."""
    refused: list[Refusal] = field(default_factory=list)
    """The recipients SES refused at RCPT TO, each with the SMTP front's reply; when it
    refused every one, no rule ran."""
    steps: list[Step] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    stored: list[Path] = field(default_factory=list)
    """The file copies of what S3 actions wrote to their buckets."""
    notifications: list[dict[str, Any]] = field(default_factory=list)
    """What each topic's subscribers received for this message, in order: SNS's envelope
    (``Type``, ``MessageId``, ``TopicArn``, ``Message`` holding SES's notification as JSON,
    ``Timestamp``, ``Signature``...)."""
    bounce: Bounce | None = None
    stopped_by: str | None = None
    pending: list[Future[Any]] = field(default_factory=list, repr=False)

    @property
    def matched(self) -> bool:
        """Whether any enabled rule received the message."""
        return any(step.action == "rule" and step.outcome == "matched" for step in self.steps)

    def wait(self, timeout: float | None = None) -> Delivery:
        """Wait for the asynchronous (Event) invocations of this delivery to finish, retries
        included; then their ``Invocation``s are complete.

        :param timeout: seconds to wait for each; TimeoutError past it. Default: no limit.
        """
        for future in self.pending:
            future.result(timeout)
        return self

    def trace(self) -> str:
        """A readable account: one line per rule and action."""
        return "\n".join(str(step) for step in self.steps)


class MailFlow:
    """Runs one receipt rule set locally.

    :param rule_set: the rule set to run.
    :param store_dir: where a copy of what S3 actions store is kept for people to look at
        (``bucket/prefix+messageId``, each part of the key a file name inside it, see
        ``constructs_ses.local.flow.store``), and what each topic's subscribers receive
        (``sns/<topic>.jsonl``). Default: a new temporary directory, removed by ``close()``.
    :param aws: the local AWS that holds the stack's buckets and topics, for the rule set's
        account. Default: one of the flow's own, stopped by ``close()``.
    :param python: the interpreter that runs the functions. Default: this one.
    :param concurrency: workers per function that reserves no concurrency. Default:
        ``DEFAULT_CONCURRENCY`` (10).
    :param event_retry_delays: seconds before each retry of a failed Event invocation.
        Default: 1 and 2 (Lambda waits about 1 and 2 minutes).
    """

    def __init__(
        self,
        rule_set: RuleSet,
        *,
        store_dir: str | Path | None = None,
        python: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        event_retry_delays: Sequence[float] = EVENT_RETRY_DELAYS,
        aws: LocalAws | None = None,
    ) -> None:
        if aws is not None and aws.account != rule_set.account:
            raise ValueError(
                f"aws is a local AWS of account {aws.account}; rule set {rule_set.name!r} is in "
                f"account {rule_set.account}"
            )
        self.rule_set = rule_set
        self._own_aws = aws is None
        self.aws = aws or LocalAws(account=rule_set.account, region=rule_set.region)
        """The local AWS behind the flow (``endpoint_url``, ``client()``); started when first
        needed (by an S3 or SNS action, a function's worker, ``endpoint_url``)."""
        self._own_store = store_dir is None
        self.store_dir = Path(store_dir or tempfile.mkdtemp(prefix="constructs-ses-mail-"))
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix="constructs-ses-lambda-"))
        self._stack = StackInAws(self.aws, rule_set, self.store_dir)
        try:
            self.runtime = LambdaRuntime(
                self._scratch,
                python=python,
                default_concurrency=concurrency,
                event_retry_delays=event_retry_delays,
                aws_environment=self._stack.environment,
            )
            """The Lambda runtime that runs the rules' functions."""
        except BaseException:  # an interpreter that does not run, say: nothing left behind
            self._remove_directories()
            raise
        self._stack.on_new_aws = self.runtime.replace_workers
        self._actions: Mapping[str, Callable[[Rule, Action, bytes, _Context], tuple[str, bytes]]]
        self._actions = {
            "AddHeader": self._add_header,
            "S3": self._store_action,
            "SNS": self._publish,
            "Stop": self._stop,
            "Bounce": self._bounce,
            "Lambda": self._run_lambda,
        }
        self._receipts: dict[tuple[object, ...], dict[str, Any]] = {}

    @property
    def endpoint_url(self) -> str:
        """The local AWS's endpoint, ``http://127.0.0.1:<port>`` (a new one's, once the one
        before ended)."""
        return self._stack.endpoint_url

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` against the local AWS, in the rule set's region: to
        read what the flow wrote (``flow.client("s3").get_object(...)``)."""
        self._stack.ready()
        return self._stack.client(service)

    def resource(self, reference: str) -> StackResource:
        """The stack's bucket, topic, queue, table or function that ``reference`` names: its
        construct path (``"Mail/Tickets/Table"``; the stack's path and a trailing ``/Resource``
        may be left out) or its logical id. Its ``name`` and ``arn`` are those the local AWS and
        the functions use; ``kind``, ``logical_id`` and ``path`` say which it is.

        :raises ValueError: no such resource, or several (``AssemblyError``, naming them).
        """
        return find_resource(self.rule_set, reference)

    def physical_name(self, reference: str) -> str:
        """The name in the local AWS of the resource ``reference`` names (as ``resource``
        takes it): ``flow.client("dynamodb").get_item(TableName=flow.physical_name(...))``."""
        return self.resource(reference).name

    @classmethod
    def from_assembly(
        cls,
        directory: str | Path,
        *,
        rule_set: str | None = None,
        stack: str | None = None,
        **options: Any,
    ) -> MailFlow:
        """The flow of one rule set of a cloud assembly (``cdk.out``).

        :param rule_set: its name; may be left out when the assembly has one rule set.
        :param stack: the stack to read; default: every stack of the assembly.
        :param options: ``store_dir``, ``python``, ``concurrency``, ``event_retry_delays``,
            ``aws`` as for ``MailFlow``.
        """
        return cls(_choose(load_assembly(directory, stack=stack), rule_set), **options)

    @classmethod
    def from_stack(cls, stack: Stack, *, rule_set: str | None = None, **options: Any) -> MailFlow:
        """The flow of a rule set of a stack, synthesized now (for tests); ``options`` as for
        ``from_assembly``."""
        app = stack.node.root
        assembly = app.synth()  # type: ignore[attr-defined]
        return cls.from_assembly(
            assembly.directory, rule_set=rule_set, stack=stack.artifact_id, **options
        )

    def accepts(self, recipient: str) -> bool:
        """Whether an enabled rule would receive mail for ``recipient`` (SMTP RCPT), in a domain
        SES receives for (``verifies``): whether ``refusal`` finds nothing (over TLS)."""
        return self.refusal(recipient) is None

    def refusal(self, recipient: str, *, tls: bool = True) -> Refusal | None:
        """Why SES refuses ``recipient`` at RCPT TO, with the SMTP front's reply; None when it
        accepts it. Refused: what is not a mailbox (553, RFC 5321 4.1.2), an address of a
        domain the stack does not verify (550), one that no enabled rule receives (550), and,
        without TLS, one that a rule with TlsPolicy Require receives (530)."""
        malformed = mailbox_reply(recipient)
        if malformed is not None:
            return Refusal(recipient, malformed)
        if not self.verifies(recipient):
            return Refusal(
                recipient,
                f"550 5.1.1 <{recipient}>: its domain is not one that the stack verifies in SES "
                f"({', '.join(self.rule_set.domains)}), so SES does not receive mail for it",
            )
        receiving = [
            r for r in self.rule_set.rules if r.enabled and matches(recipient, r.recipients)
        ]
        if not receiving:
            return Refusal(
                recipient,
                f"550 5.1.1 <{recipient}>: no enabled receipt rule of rule set "
                f"{self.rule_set.name!r} receives mail for this address",
            )
        if not tls and any(r.tls_required for r in receiving):
            return Refusal(recipient, "530 5.7.0 Must issue a STARTTLS command first")
        return None

    def verifies(self, recipient: str) -> bool:
        """Whether the stack verifies the domain of ``recipient`` (or a parent of it), as SES
        receives mail only for verified domains; True for every domain when the stack declares
        none (they may be verified outside it)."""
        domains = self.rule_set.domains
        domain = recipient.rpartition("@")[2]
        return not domains or covering_domain(domain, domains) is not None

    def deliver(
        self,
        message: bytes | str | EmailMessage,
        *,
        recipients: Sequence[str],
        sender: str | None = None,
        verdicts: Verdicts | Mapping[str, str | None] | None = None,
        tls: bool = True,
        arrival: Arrival | None = None,
    ) -> Delivery:
        """Run the rule set for ``message`` sent to ``recipients``; return what happened.

        Each recipient is taken as SMTP's RCPT TO would take it: one that SES refuses
        (``refusal``) is in ``delivery.refused`` with the SMTP front's reply, and the rules run
        for the others only (for none, when every one is refused).

        :param recipients: the envelope recipients (RCPT TO), at least one.
        :param sender: the envelope sender (MAIL FROM), a mailbox. Default: the From header's
            address.
        :param verdicts: what SES's checks found: keys ``spam``, ``virus``, ``spf``, ``dkim``,
            ``dmarc`` (each PASS, FAIL, GRAY or PROCESSING_FAILED) and ``dmarc_policy`` (none,
            quarantine or reject). Default: all PASS.
        :param tls: whether the message came over TLS (recipients of a rule with TlsPolicy
            Require are refused otherwise, 530).
        :param arrival: the SMTP client and receiving host, for SES's ``Received`` and
            authentication headers. Default: a client 127.0.0.1 that said ``EHLO localhost``.
        """
        self._stack.recover()  # a local AWS that ended is replaced before any action needs it
        started = time.monotonic()
        arrived = datetime.now(UTC)
        found = Verdicts.of(verdicts)
        if isinstance(recipients, str) or not recipients:
            raise ValueError(
                f"recipients={recipients!r} must be a list of one or more addresses (RCPT TO)"
            )
        if sender is not None and (why := mailbox_problem(sender)) is not None:
            raise ValueError(f"sender={sender!r} is not a mailbox (MAIL FROM): {why}")
        delivery = Delivery(message_id=new_message_id(), recipients=[])
        for recipient in recipients:
            refusal = self.refusal(recipient, tls=tls)
            if refusal is None:
                delivery.recipients.append(recipient)
            else:
                delivery.refused.append(refusal)
        if not delivery.recipients:
            return delivery
        original = _raw(message)
        parsed = parse_headers(original)
        from_mailbox = mailbox(str(parsed.get("From", "")))
        if mailbox_problem(from_mailbox) is not None:
            from_mailbox = ""  # nothing SES's headers could hold as it is
        envelope_sender = sender or from_mailbox or "unknown@localhost"
        accepted = delivery.recipients
        added = ses_headers(
            message_id=delivery.message_id,
            source=envelope_sender,
            recipient=accepted[0],
            from_domain=from_mailbox.rpartition("@")[2],
            arrival=arrival or Arrival(),
            verdicts=found,
            moment=arrived,
        )
        raw, headers_of_raw = headers_before(added, original, parsed)
        headers = _HeaderCache(raw, headers_of_raw)
        timestamp = now_iso(arrived)
        for rule in self.rule_set.rules:
            if not rule.enabled:
                delivery.steps.append(Step(rule.name, "rule", "skipped", "disabled"))
                continue
            matched = [r for r in accepted if matches(r, rule.recipients)]
            if not matched:
                continue
            delivery.steps.append(Step(rule.name, "rule", "matched", ", ".join(matched)))
            context = _Context(
                delivery,
                rule,
                matched,
                found,
                envelope_sender,
                timestamp,
                started,
                headers,
            )
            outcome, raw = self._run_rule(rule, raw, context)
            if outcome == "STOP_RULE_SET":
                delivery.stopped_by = rule.name
                break
        return delivery

    def close(self) -> None:
        """Wait for asynchronous invocations, stop the workers and the flow's local AWS, and
        remove the temporary directories the flow made (the store directory too, when it made
        it), each part whatever became of the others."""
        with ExitStack() as closing:
            closing.callback(self._remove_directories)
            if self._own_aws:
                closing.callback(self.aws.stop)
            closing.callback(self._stack.close)
            self.runtime.close()

    def _remove_directories(self) -> None:
        """Remove the flow's temporary directories (the store too, when the flow made it)."""
        shutil.rmtree(self._scratch, ignore_errors=True)
        if self._own_store:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self) -> MailFlow:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run_rule(self, rule: Rule, raw: bytes, context: _Context) -> tuple[str, bytes]:
        for action in rule.actions:
            outcome, raw = self._run_action(rule, action, raw, context)
            if outcome in ("STOP_RULE", "STOP_RULE_SET"):
                return outcome, raw
        return "CONTINUE", raw

    def _run_action(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        """Run one action; return its outcome and the message as later actions see it."""
        run = self._actions.get(action.kind)
        if run is None:
            context.delivery.steps.append(
                Step(rule.name, action.kind, "skipped", "not run locally")
            )
            return "CONTINUE", raw
        return run(rule, action, raw, context)

    def _add_header(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        name, value = str(action.config["HeaderName"]), str(action.config["HeaderValue"])
        context.delivery.steps.append(Step(rule.name, "AddHeader", "added", f"{name}: {value}"))
        return "CONTINUE", f"{name}: {value}\r\n".encode() + raw

    def _store_action(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        config = action.config
        bucket, prefix = str(config["BucketName"]), str(config.get("ObjectKeyPrefix", ""))
        key = prefix + context.delivery.message_id
        kms_key = config.get("KmsKeyArn")
        self._stack.put_message(bucket, key, raw, str(kms_key) if kms_key else None)
        path = object_path(self.store_dir, bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        context.delivery.stored.append(path)
        context.delivery.steps.append(Step(rule.name, "S3", "stored", f"s3://{bucket}/{key}"))
        self._notify(
            config.get("TopicArn"), context, action, raw, with_content=False, object_key=key
        )
        return "CONTINUE", raw

    def _publish(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        topic = action.config.get("TopicArn")
        if len(raw) > MAX_SNS_MESSAGE_BYTES:
            context.delivery.bounce = Bounce(
                "552", "5.3.4", "Message too large for the SNS action (over 150 KB)"
            )
            context.delivery.steps.append(Step(rule.name, "SNS", "bounced", "over 150 KB"))
            return "CONTINUE", raw
        self._notify(topic, context, action, raw, with_content=True)
        context.delivery.steps.append(Step(rule.name, "SNS", "published", str(topic)))
        return "CONTINUE", raw

    def _stop(self, rule: Rule, action: Action, raw: bytes, context: _Context) -> tuple[str, bytes]:
        self._notify(action.config.get("TopicArn"), context, action, raw, with_content=False)
        context.delivery.steps.append(Step(rule.name, "Stop", "STOP_RULE_SET"))
        return "STOP_RULE_SET", raw

    def _bounce(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        config = action.config
        bounce = Bounce(
            str(config.get("SmtpReplyCode", "550")),
            str(config["StatusCode"]) if config.get("StatusCode") else None,
            str(config.get("Message", "")),
        )
        context.delivery.bounce = bounce
        context.delivery.steps.append(Step(rule.name, "Bounce", "bounced", bounce.smtp_reply_code))
        self._notify(config.get("TopicArn"), context, action, raw, with_content=False)
        return "CONTINUE", raw

    def _run_lambda(
        self, rule: Rule, action: Action, raw: bytes, context: _Context
    ) -> tuple[str, bytes]:
        delivery = context.delivery
        config = action.config
        invocation_type = str(config.get("InvocationType", "Event"))
        function = action.function
        self._notify(config.get("TopicArn"), context, action, raw, with_content=False)
        if function is None:
            delivery.steps.append(
                Step(
                    rule.name,
                    "Lambda",
                    "skipped",
                    f"{config.get('FunctionArn')} is not in the assembly",
                )
            )
            return "CONTINUE", raw
        encoded = self._encoded_event(action, function.arn, invocation_type, context, raw)
        invocation = Invocation(function.name, function.arn, invocation_type, encoded)
        delivery.invocations.append(invocation)
        if invocation_type != "RequestResponse":
            attempts = self.runtime.invoke_event(function, encoded, partial(_record, invocation))
            invocation._completion = attempts
            delivery.pending.append(attempts)
            delivery.steps.append(Step(rule.name, f"Lambda {function.name}", "invoked", "Event"))
            return "CONTINUE", raw
        timeout = min(REQUEST_RESPONSE_LIMIT_SECONDS, function.timeout)
        _record(invocation, self.runtime.invoke(function, encoded, timeout=timeout))
        answer = invocation.answer
        disposition = answer.get("disposition") if isinstance(answer, dict) else None
        if invocation.error is not None:
            delivery.steps.append(
                Step(
                    rule.name, f"Lambda {function.name}", "error", f"{invocation.error}; continuing"
                )
            )
            return "CONTINUE", raw
        outcome = disposition if disposition in DISPOSITIONS else "CONTINUE"
        detail = "" if disposition in DISPOSITIONS else f"answer {answer!r} is not a disposition"
        delivery.steps.append(Step(rule.name, f"Lambda {function.name}", str(outcome), detail))
        return str(outcome), raw

    def _encoded_event(
        self, action: Action, arn: str, invocation_type: str, context: _Context, raw: bytes
    ) -> EncodedEvent:
        """SES's event for a Lambda action: the message's ``mail`` (made and encoded once per
        version of it) and a receipt made once per action, recipients and verdicts, with its
        times now."""
        timestamp, millis = moment = context.moment()
        key = (id(action), tuple(context.matched), context.verdicts)
        receipt = self._receipts.get(key)
        if receipt is None:
            if len(self._receipts) >= _RECEIPTS:
                self._receipts.clear()
            receipt_action = {
                "type": "Lambda",
                "functionArn": arn,
                "invocationType": invocation_type,
            }
            receipt = self._receipts[key] = context.receipt(receipt_action, moment)
        timed = {**receipt, "timestamp": timestamp, "processingTimeMillis": millis}
        return EncodedEvent.of(
            _lambda_event(timed),
            json_types=True,
            inserts=((_MAIL_PATH, context.encoded_mail(raw)),),
        )

    def _notify(
        self,
        topic: object,
        context: _Context,
        action: Action,
        raw: bytes,
        *,
        with_content: bool,
        object_key: str | None = None,
    ) -> None:
        """Publish SES's notification of ``action`` to ``topic`` (when there is one), with the
        action as SES describes it ("Contents of notifications for Amazon SES email receiving",
        the action object)."""
        if not topic:
            return
        receipt_action = {"type": action.kind, **_ACTION_DEFAULTS.get(action.kind, {})}
        for name in _ACTION_FIELDS.get(action.kind, ("TopicArn",)):
            if action.config.get(name) is not None:
                receipt_action[_camel(name)] = action.config[name]
        if object_key is not None:
            receipt_action["objectKey"] = object_key
        notification: dict[str, Any] = {
            "notificationType": "Received",
            "mail": context.mail(raw),
            "receipt": context.receipt(receipt_action),
        }
        if with_content:
            encoding = str(action.config.get("Encoding", "UTF-8"))
            notification["content"] = (
                base64.b64encode(raw).decode()
                if encoding == "Base64"
                else raw.decode(errors="replace")
            )
        context.delivery.notifications.append(self._stack.publish(str(topic), notification))


class _HeaderCache:
    """The headers of a delivery's message and SES's ``mail`` object for them, made again only
    after AddHeader changed the message."""

    def __init__(self, raw: bytes, headers: list[tuple[str, str]]) -> None:
        self._raw = raw
        self._headers = headers
        self._mail: dict[str, Any] | None = None
        self._encoded_mail: bytes | None = None

    def of(self, raw: bytes) -> list[tuple[str, str]]:
        if raw is not self._raw:
            self._raw, self._headers = raw, header_items(parse_headers(raw))
            self._mail = self._encoded_mail = None
        return self._headers

    def encoded_mail(
        self, raw: bytes, build: Callable[[list[tuple[str, str]]], dict[str, Any]]
    ) -> bytes:
        """``mail(raw, build)`` encoded for events (``encode_value``), once per version of the
        message."""
        mail = self.mail(raw, build)
        if self._encoded_mail is None:
            self._encoded_mail = encode_value(mail)
        return self._encoded_mail

    def mail(
        self, raw: bytes, build: Callable[[list[tuple[str, str]]], dict[str, Any]]
    ) -> dict[str, Any]:
        """``build(headers)`` for this message, once per version of it: the events of one
        message share their ``mail`` object, as SES builds it once."""
        headers = self.of(raw)
        if self._mail is None:
            self._mail = build(headers)
        return self._mail


@dataclass
class _Context:
    """What every event of one rule's run shares."""

    delivery: Delivery
    rule: Rule
    matched: list[str]
    verdicts: Verdicts
    sender: str
    timestamp: str
    started: float
    headers: _HeaderCache

    def mail(self, raw: bytes) -> dict[str, Any]:
        return self.headers.mail(raw, self._build_mail)

    def encoded_mail(self, raw: bytes) -> bytes:
        return self.headers.encoded_mail(raw, self._build_mail)

    def _build_mail(self, headers: list[tuple[str, str]]) -> dict[str, Any]:
        return ses_mail(
            headers,
            message_id=self.delivery.message_id,
            source=self.sender,
            timestamp=self.timestamp,
        )

    def moment(self) -> tuple[str, int]:
        """Now, as a receipt says it: the time, and the milliseconds since the message arrived
        (at least 1, as SES never reports 0)."""
        return now_iso(), max(1, math.ceil((time.monotonic() - self.started) * 1000))

    def receipt(
        self, action: dict[str, Any], moment: tuple[str, int] | None = None
    ) -> dict[str, Any]:
        """SES's ``receipt`` for ``action``, triggered at ``moment`` (default: now)."""
        timestamp, millis = moment or self.moment()
        return {
            "timestamp": timestamp,
            "processingTimeMillis": millis,
            "recipients": list(self.matched),
            **self.verdicts.receipt_fields(self.rule.scan_enabled),
            "action": action,
        }


_MAIL_PATH = ("Records", 0, "ses", "mail")
"""Where an event's ``mail`` object goes."""


def _lambda_event(receipt: dict[str, Any]) -> dict[str, Any]:
    """SES's event for a Lambda action ("Invoking Lambda functions", Amazon SES Developer
    Guide), its ``mail`` left for the message's encoded one to go in at ``_MAIL_PATH``."""
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": None, "receipt": receipt},
            }
        ]
    }


def _record(invocation: Invocation, result: InvokeResult) -> None:
    """Add one attempt's outcome to ``invocation``."""
    invocation.attempts += 1
    invocation._results.append(result)
    invocation.error = result.error
    invocation.answer = result.answer if result.error is None else None


_ACTION_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "S3": ("TopicArn", "BucketName", "ObjectKeyPrefix"),
        "SNS": ("TopicArn", "Encoding"),
        "Lambda": ("TopicArn", "FunctionArn", "InvocationType"),
        "Bounce": ("TopicArn", "SmtpReplyCode", "StatusCode", "Message", "Sender"),
        "WorkMail": ("TopicArn", "OrganizationArn"),
    }
)
"""The settings of each action kind that SES's notification reports (its action object)."""
_ACTION_DEFAULTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "Lambda": {"invocationType": "Event"},
        "SNS": {"encoding": "UTF-8"},
    }
)
"""What SES reports for an action setting the rule leaves out."""


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _raw(message: bytes | str | EmailMessage) -> bytes:
    if isinstance(message, EmailMessage):
        return message.as_bytes()
    return message.encode() if isinstance(message, str) else message


def _choose(rule_sets: Iterable[RuleSet], name: str | None) -> RuleSet:
    found = list(rule_sets)
    if name is not None:
        for rule_set in found:
            if rule_set.name == name:
                return rule_set
    elif len(found) == 1:
        return found[0]
    names = ", ".join(repr(r.name) for r in found) or "none"
    wanted = f"rule set {name!r} is not" if name else "pass rule_set=: several rule sets are"
    raise AssemblyError(f"{wanted} in the assembly; its rule sets: {names}")
