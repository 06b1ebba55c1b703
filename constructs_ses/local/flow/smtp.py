"""The SMTP front of the local mail flow: aiosmtpd on loopback, answering as SES would.

EHLO / HELO names, MAIL FROM and RCPT TO paths outside RFC 5321 are refused; a recipient that
SES would refuse (``MailFlow.refusal``: no enabled rule receives it, its domain is not verified,
or a rule with TlsPolicy Require receives it in a session without STARTTLS) is refused at RCPT;
a Bounce action answers DATA with its code; messages above SES's size limit are refused. A
``X-Local-Verdicts: spam=FAIL, dmarc=FAIL`` header sets the message's verdicts (it is removed
before the rules run).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import os
import queue
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

from constructs_ses.local.flow.envelope import helo_problem, recipient_reply, sender_reply
from constructs_ses.local.flow.mail_flow import Delivery, MailFlow
from constructs_ses.local.flow.message import Arrival, Verdicts

__all__ = [
    "MAX_MESSAGE_BYTES",
    "VERDICTS_HEADER",
    "FlowHandler",
    "free_port",
    "local_tls_context",
    "parse_verdicts",
    "serving",
]

LOGGER = logging.getLogger("constructs_ses.local")
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
"""The largest message SES receives (with an S3 action)."""
VERDICTS_HEADER = "X-Local-Verdicts"


def parse_verdicts(pairs: Iterable[str]) -> dict[str, str]:
    """``["spam=FAIL", "dmarc_policy=reject"]`` as a mapping; ValueError for a pair without '='."""
    found = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise ValueError(f"{pair!r} is not NAME=STATUS, e.g. spam=FAIL")
        found[key.strip().lower()] = value.strip()
    return found


def _take_verdicts_header(raw: bytes) -> tuple[bytes, dict[str, str]]:
    """The message without its verdicts header, and the verdicts it named."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = raw.partition(b"\n\n")
    kept, found = [], {}
    prefix = VERDICTS_HEADER.lower().encode() + b":"
    for line in head.splitlines(keepends=True):
        if line.lower().startswith(prefix):
            text = line[len(prefix) :].decode(errors="replace")
            found = parse_verdicts(part for part in text.split(",") if "=" in part)
        else:
            kept.append(line)
    return b"".join(kept) + separator + body, found


class FlowHandler:
    """aiosmtpd handler that hands every accepted message to a ``MailFlow``."""

    def __init__(
        self,
        flow: MailFlow,
        *,
        verdicts: Mapping[str, str] | None = None,
        report: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.flow = flow
        self.verdicts = dict(verdicts or {})
        self._verdicts = Verdicts.of(self.verdicts)  # refused now, not at the first message
        self.report = report

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """EHLO's answer without AUTH: no credentials are accepted here, so none are offered."""
        session.host_name = hostname
        return [line for line in responses if not line[4:].upper().startswith("AUTH")]

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.flow.refusal(address, tls=session.ssl is not None)
        if refusal is not None:
            return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw, named = _take_verdicts_header(bytes(envelope.original_content or envelope.content))
        try:
            verdicts = Verdicts.of({**self.verdicts, **named}) if named else self._verdicts
        except ValueError as error:
            return f"501 5.5.4 {VERDICTS_HEADER}: {error}"
        deliver = partial(
            self.flow.deliver,
            raw,
            recipients=list(envelope.rcpt_tos),
            sender=None if envelope.mail_from in (None, "", "<>") else envelope.mail_from,
            verdicts=verdicts,
            tls=session.ssl is not None,
            arrival=Arrival(
                client_address=str(session.peer[0]) if session.peer else "127.0.0.1",
                helo=session.host_name or "unknown",
                received_by=str(server.hostname),
            ),
        )
        try:
            delivery = await _in_own_thread(deliver)
        except Exception as error:  # the server must stay up whatever one message does
            LOGGER.exception("delivery failed")
            return f"451 4.3.0 Local processing failed: {type(error).__name__}: {error}"
        if self.report is not None:
            self.report(delivery)
        if delivery.bounce is not None:
            bounce = delivery.bounce
            status = f" {bounce.status_code}" if bounce.status_code else ""
            return f"{bounce.smtp_reply_code}{status} {bounce.message or 'Message rejected'}"
        return f"250 2.0.0 Ok: {delivery.message_id}"


class _Threads:
    """Runs each job in a thread that has nothing else to do: an idle one when there is one,
    a new one otherwise (so a job never waits for another); a thread idle for
    ``IDLE_SECONDS`` ends."""

    IDLE_SECONDS = 60.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, job: Callable[[], None]) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that thread is this job's
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._serve, name="ses-delivery", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # else a job was handed to this thread meanwhile
                        self._idle -= 1
                        return
                continue
            job()
            with self._lock:
                self._idle += 1


_DELIVERIES = _Threads()


async def _in_own_thread(function: Callable[[], Delivery]) -> Delivery:
    """``function()`` in a thread of its own: a message waiting for a slow function holds up no
    other message (a pool of fixed size would, once its threads were all waiting)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Delivery] = loop.create_future()

    def settle(outcome: Delivery | BaseException) -> None:
        if future.done():  # the session went away meanwhile
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome: Delivery | BaseException = function()
        except BaseException as error:  # handed to the session, which answers 451
            outcome = error
        with suppress(RuntimeError):  # the server's loop has closed
            loop.call_soon_threadsafe(settle, outcome)

    _DELIVERIES.run(run)
    return await future


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def local_tls_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a new self-signed certificate for localhost and 127.0.0.1."""
    from cryptography import x509  # noqa: PLC0415 (only when TLS is offered)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "local-smtp.crt", directory / "local-smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.unlink(missing_ok=True)
    secret = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(secret)  # readable by its owner only, from the start
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@contextmanager
def serving(
    handler: FlowHandler,
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    starttls: bool = True,
) -> Iterator[tuple[str, int]]:
    """Run an SMTP server for ``handler`` while the block runs; yields its host and port."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415 (the 'local' extra)
    from aiosmtpd.smtp import SMTP  # noqa: PLC0415

    class StrictSMTP(SMTP):
        """aiosmtpd, refusing EHLO / HELO names and paths outside RFC 5321 that it would let
        through (they go into SES's headers)."""

        async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802 (aiosmtpd's name)
            if not await self._refused_name("EHLO", hostname):
                await super().smtp_EHLO(hostname)

        async def smtp_HELO(self, hostname: str) -> None:  # noqa: N802 (aiosmtpd's name)
            if not await self._refused_name("HELO", hostname):
                await super().smtp_HELO(hostname)

        async def smtp_MAIL(self, arg: str | None) -> None:  # noqa: N802 (aiosmtpd's name)
            ready = self.session is not None and self.session.host_name and arg is not None
            if ready and arg is not None and arg[:5].upper() == "FROM:":
                problem = sender_reply(arg[5:])
                if problem is not None:
                    await self.push(problem)
                    return
            await super().smtp_MAIL(arg)

        async def smtp_RCPT(self, arg: str | None) -> None:  # noqa: N802 (aiosmtpd's name)
            envelope = self.envelope
            ready = envelope is not None and envelope.mail_from and arg is not None
            if ready and arg is not None and arg[:3].upper() == "TO:":
                problem = recipient_reply(arg[3:])
                if problem is not None:
                    await self.push(problem)
                    return
            await super().smtp_RCPT(arg)

        async def _refused_name(self, command: str, name: str) -> bool:
            """Answer 501 when ``name`` may not follow ``command``; whether it did."""
            problem = helo_problem(name) if name else None
            if problem is not None:
                await self.push(f"501 5.5.2 Syntax: {command} domain or address literal: {problem}")
            return problem is not None

    class StrictController(Controller):
        def factory(self) -> SMTP:
            return StrictSMTP(self.handler, **self.SMTP_kwargs)

    tls = local_tls_context(handler.flow.store_dir / "tls") if starttls else None
    controller = StrictController(
        handler,
        hostname=host,
        port=port,
        tls_context=tls,
        data_size_limit=MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
    controller.start()
    try:
        yield host, port
    finally:
        controller.stop()
