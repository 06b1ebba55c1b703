"""What happened to a message in the local flow: ``Delivery``, with its ``Step``s, ``Invocation``s,
``Refusal``s and ``Bounce``."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_ses.local.lambda_runtime.runtime import EncodedEvent, InvokeResult

__all__ = ["Bounce", "Delivery", "Invocation", "Refusal", "Step", "record"]


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
    error_payload: dict[str, Any] | None = None
    """The last attempt's error as Lambda's Invoke API returns it: ``errorMessage``,
    ``errorType`` and, for an error the function raised, ``requestId`` and ``stackTrace``."""
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

    def track(self, attempts: Future[Any]) -> None:
        """Complete this (Event) invocation once ``attempts`` is done, its last attempt made."""
        self._completion = attempts

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


def record(invocation: Invocation, result: InvokeResult) -> None:
    """Add one attempt's outcome to ``invocation``."""
    invocation.attempts += 1
    invocation._results.append(result)
    invocation.error = result.error
    invocation.error_payload = result.error_payload
    invocation.answer = result.answer if result.error is None else None
