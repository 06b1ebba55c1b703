"""SES's receipt-rule semantics on this machine: the rules of a rule set run against a message.

SES first puts its own headers before the message's (``ses_headers``). Rules run in order; a
disabled rule is skipped; every rule whose recipients match runs, with the recipients it matched;
its actions run in order. Lambda functions run from their code asset in a worker process with
their environment; RequestResponse answers control the flow as in SES. S3 and SNS actions write
to the stack's buckets and topics in a local AWS (``constructs_ses.local.flow.stack_resources``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_ses.local.aws.local_aws import LocalAws
from constructs_ses.local.flow.actions import ACTIONS, ActionServices
from constructs_ses.local.flow.assembly import (
    AssemblyError,
    Rule,
    RuleSet,
    StackResource,
    load_assembly,
)
from constructs_ses.local.flow.envelope import mailbox_problem, mailbox_reply
from constructs_ses.local.flow.events import MessageHeaders, RuleRun
from constructs_ses.local.flow.matching import matches
from constructs_ses.local.flow.message import (
    Arrival,
    Verdicts,
    headers_before,
    mailbox,
    new_message_id,
    now_iso,
    parse_headers,
    ses_headers,
)
from constructs_ses.local.flow.resources import find_resource
from constructs_ses.local.flow.results import Bounce, Delivery, Invocation, Refusal, Step
from constructs_ses.local.flow.stack_resources import StackInAws
from constructs_ses.local.lambda_runtime.runtime import (
    DEFAULT_CONCURRENCY,
    EVENT_RETRY_DELAYS,
    LambdaRuntime,
)
from constructs_ses.ses.domains import covering_domain

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


class MailFlow:
    """Runs one receipt rule set locally.

    :param rule_set: the rule set to run.
    :param store_dir: where a copy of what S3 actions store is kept for people to look at
        (``bucket/prefix+messageId``, each part of the key a file name inside it, see
        ``constructs_ses.local.flow.store``), and what each topic's subscribers receive
        (``sns/<topic>.jsonl``). Default: a new temporary directory, removed by ``close()``.
    :param aws: the local AWS that holds the stack's buckets and topics, for the rule set's
        account. Default: one of the flow's own, stopped by ``close()``.
    :param python: the interpreter that runs the Python functions. Default: this one.
    :param node: the ``node`` that runs the Node.js functions. Default: the one installed with
        this package.
    :param concurrency: workers per function that reserves no concurrency. Default:
        ``DEFAULT_CONCURRENCY`` (10).
    :param event_retry_delays: seconds before each retry of a failed Event invocation.
        Default: 1 and 2 (Lambda waits about 1 and 2 minutes).
    :param sandbox: whether functions run in a sandbox: True (refused where none can be had),
        False (plain processes), or None, the default: a sandbox where one can be had, plain
        processes with a warning elsewhere (``LambdaRuntime``).
    """

    def __init__(
        self,
        rule_set: RuleSet,
        *,
        store_dir: str | Path | None = None,
        python: str | None = None,
        node: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        event_retry_delays: Sequence[float] = EVENT_RETRY_DELAYS,
        aws: LocalAws | None = None,
        sandbox: bool | None = None,
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
                node=node,
                default_concurrency=concurrency,
                event_retry_delays=event_retry_delays,
                aws_environment=self._stack.environment,
                sandbox=sandbox,
            )
            """The Lambda runtime that runs the rules' functions."""
        except BaseException:  # an interpreter that does not run, say: nothing left behind
            self._remove_directories()
            raise
        self._stack.on_new_aws = self.runtime.replace_workers
        self._services = ActionServices(self._stack, self.store_dir, self.runtime)

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
        :param options: ``store_dir``, ``python``, ``node``, ``concurrency``,
            ``event_retry_delays``, ``aws`` as for ``MailFlow``.
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
        headers = MessageHeaders(raw, headers_of_raw)
        timestamp = now_iso(arrived)
        for rule in self.rule_set.rules:
            if not rule.enabled:
                delivery.steps.append(Step(rule.name, "rule", "skipped", "disabled"))
                continue
            matched = [r for r in accepted if matches(r, rule.recipients)]
            if not matched:
                continue
            delivery.steps.append(Step(rule.name, "rule", "matched", ", ".join(matched)))
            rule_run = RuleRun(
                delivery,
                rule,
                matched,
                found,
                envelope_sender,
                timestamp,
                started,
                headers,
            )
            outcome, raw = self._run_rule(rule, raw, rule_run)
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

    def _run_rule(self, rule: Rule, raw: bytes, rule_run: RuleRun) -> tuple[str, bytes]:
        """Run the rule's actions in order, until one stops the rule or the rule set; the
        outcome, and the message as it is then."""
        for action in rule.actions:
            run = ACTIONS.get(action.kind)
            if run is None:
                step = Step(rule.name, action.kind, "skipped", "not run locally")
                rule_run.delivery.steps.append(step)
                continue
            outcome, raw = run(self._services, action, raw, rule_run)
            if outcome in ("STOP_RULE", "STOP_RULE_SET"):
                return outcome, raw
        return "CONTINUE", raw


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
