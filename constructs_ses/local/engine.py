"""SES's receipt-rule semantics on this machine: the rules of a rule set run against a message.

Rules run in order; a disabled rule is skipped; every rule whose recipients match runs, with the
recipients it matched; its actions run in order. Lambda functions run from their code asset in a
worker process with their environment; RequestResponse answers control the flow as in SES.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_ses.lambda_src.handler import address_matches
from constructs_ses.local.assembly import (
    Action,
    AssemblyError,
    FunctionSpec,
    Rule,
    RuleSet,
    load_assembly,
)
from constructs_ses.local.message import new_message_id, now_iso, parse_headers, ses_mail
from constructs_ses.local.store import object_path, store_name

if TYPE_CHECKING:
    from aws_cdk import Stack

__all__ = ["Bounce", "Delivery", "Invocation", "MailFlow", "Step", "Verdicts", "matches"]

WORKER = Path(__file__).with_name("worker.py")
REQUEST_RESPONSE_LIMIT_SECONDS = 30.0
EVENT_RETRIES = 2
"""Lambda retries a failed asynchronous invocation twice."""
DISPOSITIONS = ("CONTINUE", "STOP_RULE", "STOP_RULE_SET")
MAX_SNS_MESSAGE_BYTES = 150 * 1024
"""The largest message an SNS action publishes; SES bounces larger ones."""


def matches(recipient: str, patterns: Sequence[str]) -> bool:
    """Whether a rule with recipients ``patterns`` receives mail for ``recipient``.

    No patterns: every recipient. ``user@example.com`` matches itself and ``user+tag@example.com``;
    ``example.com`` matches every address of that domain; ``.example.com`` every subdomain's.
    """
    if not patterns:
        return True
    address = recipient.lower()
    local, _, domain = address.rpartition("@")
    untagged = f"{local.split('+', 1)[0]}@{domain}"
    lowered = [p.lower() for p in patterns]
    return address_matches(address, lowered) or address_matches(untagged, lowered)


@dataclass(frozen=True)
class Verdicts:
    """The findings SES would report for a message; PASS unless said otherwise."""

    spam: str = "PASS"
    virus: str = "PASS"
    spf: str = "PASS"
    dkim: str = "PASS"
    dmarc: str = "PASS"
    dmarc_policy: str | None = None
    """The sender's DMARC policy (none, quarantine, reject); SES sends it when DMARC fails."""

    @classmethod
    def of(cls, value: Verdicts | Mapping[str, str | None] | None) -> Verdicts:
        """Verdicts from a mapping such as ``{"spam": "FAIL"}``; unknown keys are refused."""
        if value is None:
            return cls()
        if isinstance(value, Verdicts):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            allowed = ", ".join(cls.__dataclass_fields__)
            raise ValueError(f"verdicts has unknown keys {sorted(unknown)}; allowed: {allowed}")
        return cls(**{k: (v.upper() if k != "dmarc_policy" and v else v) for k, v in value.items()})  # type: ignore[arg-type]

    def receipt_fields(self, scan_enabled: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "spfVerdict": {"status": self.spf},
            "dkimVerdict": {"status": self.dkim},
            "dmarcVerdict": {"status": self.dmarc},
        }
        if scan_enabled:
            fields["spamVerdict"] = {"status": self.spam}
            fields["virusVerdict"] = {"status": self.virus}
        if self.dmarc == "FAIL" and self.dmarc_policy:
            fields["dmarcPolicy"] = self.dmarc_policy.lower()
        return fields


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
    """One call of a Lambda function: the event it got and what it answered."""

    function: str
    invocation_type: str
    event: dict[str, Any]
    answer: Any = None
    error: str | None = None
    attempts: int = 0
    logs: str = ""


@dataclass(frozen=True)
class Bounce:
    """A Bounce action's reply to the sender."""

    smtp_reply_code: str
    status_code: str | None
    message: str


@dataclass
class Delivery:
    """What happened to one message."""

    message_id: str
    recipients: list[str]
    steps: list[Step] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    stored: list[Path] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    bounce: Bounce | None = None
    stopped_by: str | None = None
    pending: list[Future[Invocation]] = field(default_factory=list, repr=False)

    @property
    def matched(self) -> bool:
        """Whether any enabled rule received the message."""
        return any(step.action == "rule" and step.outcome == "matched" for step in self.steps)

    def wait(self, timeout: float | None = None) -> Delivery:
        """Wait for the asynchronous (Event) invocations of this delivery to finish."""
        for future in self.pending:
            future.result(timeout)
        return self

    def trace(self) -> str:
        """A readable account: one line per rule and action."""
        return "\n".join(str(step) for step in self.steps)


class MailFlow:
    """Runs one receipt rule set locally.

    :param rule_set: the rule set to run.
    :param store_dir: where S3 actions store messages (``bucket/prefix+messageId``, each part of
        the key a file name inside it, see ``constructs_ses.local.store``) and SNS notifications
        are written (``sns/<topic>.jsonl``). Default: a new temporary directory.
    """

    def __init__(self, rule_set: RuleSet, *, store_dir: str | Path | None = None) -> None:
        self.rule_set = rule_set
        self.store_dir = Path(store_dir or tempfile.mkdtemp(prefix="constructs-ses-mail-"))
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ses-event")
        self._write_lock = threading.Lock()
        self._inline_dirs: dict[str, Path] = {}
        self._workers = _Workers()

    @classmethod
    def from_assembly(
        cls,
        directory: str | Path,
        *,
        rule_set: str | None = None,
        stack: str | None = None,
        store_dir: str | Path | None = None,
    ) -> MailFlow:
        """The flow of one rule set of a cloud assembly (``cdk.out``).

        :param rule_set: its name; may be left out when the assembly has one rule set.
        """
        return cls(_choose(load_assembly(directory, stack=stack), rule_set), store_dir=store_dir)

    @classmethod
    def from_stack(
        cls, stack: Stack, *, rule_set: str | None = None, store_dir: str | Path | None = None
    ) -> MailFlow:
        """The flow of a rule set of a stack, synthesized now (for tests)."""
        app = stack.node.root
        assembly = app.synth()  # type: ignore[attr-defined]
        return cls.from_assembly(
            assembly.directory, rule_set=rule_set, stack=stack.artifact_id, store_dir=store_dir
        )

    def accepts(self, recipient: str) -> bool:
        """Whether an enabled rule would receive mail for ``recipient`` (SMTP RCPT)."""
        return any(r.enabled and matches(recipient, r.recipients) for r in self.rule_set.rules)

    def requires_tls(self, recipient: str) -> bool:
        """Whether an enabled rule receiving ``recipient`` has TlsPolicy Require."""
        return any(
            r.enabled and r.tls_required and matches(recipient, r.recipients)
            for r in self.rule_set.rules
        )

    def deliver(
        self,
        message: bytes | str | EmailMessage,
        *,
        recipients: Sequence[str],
        sender: str | None = None,
        verdicts: Verdicts | Mapping[str, str | None] | None = None,
        tls: bool = True,
    ) -> Delivery:
        """Run the rule set for ``message`` sent to ``recipients``; return what happened.

        :param sender: the envelope sender (MAIL FROM). Default: the From header's address.
        :param verdicts: what SES's checks found. Default: all PASS.
        :param tls: whether the message came over TLS (rules with TlsPolicy Require bounce
            it otherwise).
        """
        raw = _raw(message)
        found = Verdicts.of(verdicts)
        delivery = Delivery(message_id=new_message_id(), recipients=list(recipients))
        headers = _HeaderCache()
        envelope_sender = sender or _from_address(headers.of(raw))
        timestamp = now_iso()
        started = time.monotonic()
        for rule in self.rule_set.rules:
            if not rule.enabled:
                delivery.steps.append(Step(rule.name, "rule", "skipped", "disabled"))
                continue
            matched = [r for r in recipients if matches(r, rule.recipients)]
            if not matched:
                continue
            delivery.steps.append(Step(rule.name, "rule", "matched", ", ".join(matched)))
            if rule.tls_required and not tls:
                delivery.bounce = Bounce("530", "5.7.0", "TLS is required by this rule")
                delivery.steps.append(Step(rule.name, "TlsPolicy", "bounced", "sent without TLS"))
                delivery.stopped_by = rule.name
                break
            context = _Context(
                delivery,
                rule,
                matched,
                found,
                envelope_sender,
                timestamp,
                started,
                recipients,
                headers,
            )
            outcome, raw = self._run_rule(rule, raw, context)
            if outcome == "STOP_RULE_SET":
                delivery.stopped_by = rule.name
                break
        return delivery

    def close(self) -> None:
        """Wait for asynchronous invocations, then stop the workers and threads."""
        self._async.shutdown(wait=True)
        self._workers.close()

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
        run = {
            "AddHeader": self._add_header,
            "S3": self._store_action,
            "SNS": self._publish,
            "Stop": self._stop,
            "Bounce": self._bounce,
            "Lambda": self._run_lambda,
        }.get(action.kind)
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
        path = self._store(raw, bucket, prefix, context.delivery.message_id)
        context.delivery.stored.append(path)
        context.delivery.steps.append(Step(rule.name, "S3", "stored", str(path)))
        self._notify(config.get("TopicArn"), context, action, raw, with_content=False)
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
        event = {
            "Records": [
                {
                    "eventSource": "aws:ses",
                    "eventVersion": "1.0",
                    "ses": {
                        "mail": context.mail(raw),
                        "receipt": context.receipt(
                            {
                                "type": "Lambda",
                                "functionArn": function.arn,
                                "invocationType": invocation_type,
                            }
                        ),
                    },
                }
            ]
        }
        invocation = Invocation(function.name, invocation_type, event)
        delivery.invocations.append(invocation)
        if invocation_type != "RequestResponse":
            delivery.pending.append(self._async.submit(self._invoke_async, function, invocation))
            delivery.steps.append(Step(rule.name, f"Lambda {function.name}", "invoked", "Event"))
            return "CONTINUE", raw
        self._invoke(function, invocation, min(REQUEST_RESPONSE_LIMIT_SECONDS, function.timeout))
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

    def _invoke_async(self, function: FunctionSpec, invocation: Invocation) -> Invocation:
        for _ in range(1 + EVENT_RETRIES):
            self._invoke(function, invocation, function.timeout)
            if invocation.error is None:
                break
        return invocation

    def _invoke(self, function: FunctionSpec, invocation: Invocation, timeout: float) -> None:
        """Run the function once in a warm worker; record its answer or error."""
        invocation.attempts += 1
        request = {
            "handler": function.handler,
            "event": invocation.event,
            "function_name": function.name,
            "timeout": timeout,
        }
        answer = self._workers.call(function, self._code_dir(function), request, timeout)
        invocation.logs += str(answer.get("logs", ""))
        if "error" not in answer:
            invocation.error = None
            invocation.answer = answer.get("result")
        elif answer.get("type") in ("Timeout", "WorkerFailure"):
            invocation.error = str(answer["error"])
        else:
            invocation.error = f"{answer['type']}: {answer['error']}"

    def _code_dir(self, function: FunctionSpec) -> Path:
        if function.code_dir is not None:
            return function.code_dir
        if function.inline_code is None:
            raise AssemblyError(f"function {function.name} has no code in the assembly")
        if function.name not in self._inline_dirs:
            directory = self.store_dir / "inline" / store_name(function.name)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "index.py").write_text(function.inline_code)
            self._inline_dirs[function.name] = directory
        return self._inline_dirs[function.name]

    def _store(self, raw: bytes, bucket: str, prefix: str, message_id: str) -> Path:
        path = object_path(self.store_dir, bucket, prefix + message_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        return path

    def _notify(
        self,
        topic: object,
        context: _Context,
        action: Action,
        raw: bytes,
        *,
        with_content: bool,
    ) -> None:
        """Publish SES's notification of ``action`` to ``topic`` (when there is one)."""
        if not topic:
            return
        receipt_action = {"type": action.kind, **{_camel(k): v for k, v in action.config.items()}}
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
        context.delivery.notifications.append({"topic": str(topic), **notification})
        path = self.store_dir / "sns" / f"{store_name(str(topic).rsplit(':', 1)[-1])}.jsonl"
        with self._write_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as out:
                out.write(json.dumps(notification) + "\n")


class _Workers:
    """Warm worker processes, one function each, reused across invocations (like Lambda)."""

    GRACE_SECONDS = 10.0
    """How long past the function's timeout a silent worker is given before it is killed."""

    def __init__(self) -> None:
        self._idle: dict[str, list[subprocess.Popen[str]]] = {}
        self._all: list[subprocess.Popen[str]] = []
        self._lock = threading.Lock()

    def _start(self, function: FunctionSpec, code_dir: Path) -> subprocess.Popen[str]:
        environment = {
            **os.environ,
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": f"{function.timeout:g}",
        }
        worker = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=environment,
            cwd=code_dir,
        )
        with self._lock:
            self._all.append(worker)
        return worker

    def call(
        self, function: FunctionSpec, code_dir: Path, request: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send one request to an idle worker of ``function`` (or a new one); its answer."""
        with self._lock:
            idle = self._idle.setdefault(function.name, [])
            worker = idle.pop() if idle else None
        worker = worker or self._start(function, code_dir)
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            ready, _, _ = select.select([worker.stdout], [], [], timeout + self.GRACE_SECONDS)
            line = worker.stdout.readline() if ready else None
        except OSError:
            line = ""
        if not line:
            if line is None:  # silent past the grace period
                worker.kill()
                message = f"timed out after {timeout:g} seconds (the worker did not answer)"
            else:  # end of output: the process ended
                try:
                    exit_code = worker.wait(5)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    exit_code = worker.wait()
                message = f"the worker ended (exit {exit_code})"
            worker.wait()
            return {"error": message, "type": "WorkerFailure"}
        with self._lock:
            self._idle[function.name].append(worker)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], {}
        for worker in workers:
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in workers:
            try:
                worker.wait(5)
            except subprocess.TimeoutExpired:
                worker.kill()
            if worker.stdout is not None:
                worker.stdout.close()


class _HeaderCache:
    """The parsed headers of a delivery's message, parsed again only after AddHeader."""

    def __init__(self) -> None:
        self._raw: bytes | None = None
        self._headers: Message | None = None

    def of(self, raw: bytes) -> Message:
        if self._headers is None or raw is not self._raw:
            self._raw, self._headers = raw, parse_headers(raw)
        return self._headers


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
    destination: Sequence[str]
    headers: _HeaderCache

    def mail(self, raw: bytes) -> dict[str, Any]:
        return ses_mail(
            self.headers.of(raw),
            message_id=self.delivery.message_id,
            source=self.sender,
            destination=list(self.destination),
            timestamp=self.timestamp,
        )

    def receipt(self, action: dict[str, Any]) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "processingTimeMillis": int((time.monotonic() - self.started) * 1000),
            "recipients": list(self.matched),
            **self.verdicts.receipt_fields(self.rule.scan_enabled),
            "action": action,
        }


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _raw(message: bytes | str | EmailMessage) -> bytes:
    if isinstance(message, EmailMessage):
        return message.as_bytes()
    return message.encode() if isinstance(message, str) else message


def _from_address(headers: Message) -> str:
    return parseaddr(str(headers.get("From", "")))[1] or "unknown@localhost"


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
