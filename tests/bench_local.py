"""Benchmark of the local mail flow against limits measured in the same run.

A rule set of 10 rules, each with a RequestResponse Lambda action running the handler template
in a function of its own, all receiving example.com: every message makes 10 invocations. Each
repetition measures, back to back:

- the flow through the Python API, and its limit: the template's handler called in the
  benchmark's own process with the same 10 events (no isolation at all);
- the isolation floor: 10 round trips of the same events to a warm process that echoes them over
  pipes (what any process-isolated runtime pays at least);
- the isolated handler: the same events sent to 10 warm processes, one a function, that only
  run the template's handler on each line and write its answer back (no logs, context, limits or
  bookkeeping): what a runtime with one process per function pays at least for this handler,
  including the caches each switch between ten interpreters leaves cold;
- the flow over SMTP with one client, and its limit: a bare aiosmtpd server that accepts and
  discards, with the same client;
- the isolated handler behind aiosmtpd: a bare server that sends each message's events to the
  isolated handler's processes before it accepts the message (what a server that runs the
  rules in one process per function pays at least over SMTP);
- the flow over SMTP with 4 concurrent clients.

Ratios are of medians and, paired, the median of each repetition's ratio. Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import platform
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from constructs_ses import InboundEmail, InvocationType
from constructs_ses.lambda_src.handler import handler
from constructs_ses.local import MailFlow
from constructs_ses.local.flow.smtp import FlowHandler, free_port, serving

from conftest import new_stack

RULES = 10
MESSAGES = 200
REPETITIONS = 5
CLIENTS = 4
RAW = b"From: a@sender.example\r\nTo: to@example.com\r\nSubject: bench\r\n\r\nbody\r\n"
TARGET_API, TARGET_SMTP = 0.25, 0.20

ECHO = (
    "import sys\n"
    "r, w = sys.stdin.buffer, sys.stdout.buffer\n"
    "for line in r:\n"
    "    w.write(line)\n"
    "    w.flush()\n"
)
HANDLER_ONLY = (
    "import json, sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from handler import handler\n"
    "r, w = sys.stdin.buffer, sys.stdout.buffer\n"
    "for line in r:\n"
    "    w.write((json.dumps(handler(json.loads(line), None)) + '\\n').encode())\n"
    "    w.flush()\n"
)


def rate(run: Callable[[], None], messages: int) -> float:
    started = time.perf_counter()
    run()
    return messages / (time.perf_counter() - started)


def flow_api(flow: MailFlow) -> float:
    def run() -> None:
        for _ in range(MESSAGES):
            delivery = flow.deliver(RAW, recipients=["to@example.com"])
            assert len(delivery.invocations) == RULES and delivery.invocations[-1].error is None

    return rate(run, MESSAGES)


def in_process(events: list[Any]) -> float:
    def run() -> None:
        for _ in range(MESSAGES):
            for event in events:
                handler(json.loads(json.dumps(event)), None)  # as a fresh event each time

    return rate(run, MESSAGES)


def round_trips_of(
    events: list[Any], processes: list[subprocess.Popen[bytes]]
) -> Callable[[], None]:
    """One message's round trips: each event to one of ``processes`` in turn, and back."""
    lines = [(json.dumps(event) + "\n").encode() for event in events]
    pipes = [(process.stdin, process.stdout) for process in processes]

    def one_message() -> None:
        for index, line in enumerate(lines):
            writer, reader = pipes[index % len(pipes)]
            assert writer is not None and reader is not None
            writer.write(line)
            writer.flush()
            json.loads(reader.readline())

    return one_message


def round_trips(events: list[Any], processes: list[subprocess.Popen[bytes]]) -> float:
    """10 round trips a message with the events, rotating through ``processes``."""
    one_message = round_trips_of(events, processes)

    def run() -> None:
        for _ in range(MESSAGES):
            one_message()

    return rate(run, MESSAGES)


def smtp(port: int, clients: int = 1) -> float:
    per_client = MESSAGES // clients

    def client() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as session:
            for _ in range(per_client):
                session.sendmail("a@sender.example", ["to@example.com"], RAW)

    def run() -> None:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return rate(run, per_client * clients)


class Discard:
    """A bare aiosmtpd handler: accepts every message and drops it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "250 OK"


class RoundTrips:
    """An aiosmtpd handler that runs each message's round trips to the isolated handler's
    processes (on the server's loop, the cheapest place), then accepts it."""

    def __init__(self, one_message: Callable[[], None]) -> None:
        self.one_message = one_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.one_message()
        return "250 OK"


def bare_port(handler: Any = None) -> Any:
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    controller = Controller(handler or Discard(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def stack_of_rules() -> Any:
    stack = new_stack()
    mail = InboundEmail(stack, "Inbound", rule_set_name="bench")
    for index in range(RULES):
        mail.add_lambda_rule(
            f"Rule{index}",
            recipients=["example.com"],
            invocation_type=InvocationType.REQUEST_RESPONSE,
        )
    return stack


def main() -> None:
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as store:
        flow = MailFlow.from_stack(stack_of_rules(), store_dir=store)
        warm = flow.deliver(RAW, recipients=["to@example.com"])  # starts the warm workers
        events = [invocation.event for invocation in warm.invocations]
        echoes = [
            subprocess.Popen(
                [sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            for _ in range(RULES)
        ]
        handler_dir = str(Path(handler.__code__.co_filename).parent)
        isolated = [
            subprocess.Popen(
                [sys.executable, "-c", HANDLER_ONLY, handler_dir],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(RULES)
        ]
        bare = bare_port()
        bare_isolated = bare_port(RoundTrips(round_trips_of(events, isolated)))
        port = free_port()
        with serving(FlowHandler(flow), port=port, starttls=False):
            measures: list[tuple[str, Callable[[], float]]] = [
                ("api", lambda: flow_api(flow)),
                ("in-process", lambda: in_process(events)),
                ("echo", lambda: round_trips(events, echoes[:1])),
                ("echo10", lambda: round_trips(events, echoes)),
                ("handler10", lambda: round_trips(events, isolated)),
                ("smtp", lambda: smtp(port)),
                ("bare", lambda: smtp(bare.port)),
                ("bare-handler10", lambda: smtp(bare_isolated.port)),
                ("smtp4", lambda: smtp(port, CLIENTS)),
                ("bare4", lambda: smtp(bare.port, CLIENTS)),
            ]
            for _ in range(REPETITIONS):
                for name, measure in measures:
                    runs.setdefault(name, []).append(measure())
        bare.stop()
        bare_isolated.stop()
        for echo in echoes + isolated:
            assert echo.stdin is not None
            echo.stdin.close()
            echo.wait()
        flow.close()
    report(runs)


def report(runs: dict[str, list[float]]) -> None:
    median = {name: statistics.median(values) for name, values in runs.items()}

    def paired(over: str, under: str) -> float:
        return statistics.median(a / b for a, b in zip(runs[over], runs[under], strict=True))

    print(
        f"Local mail flow, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores: {RULES} rules, each a RequestResponse "
        f"Lambda action running the handler template in a function of its own ({RULES} "
        f"invocations per message), workers warm; {MESSAGES} messages a measure, medians of "
        f"{REPETITIONS} repetitions"
    )
    print()
    print("| measure | messages/s | limit | limit messages/s | ratio | paired ratio | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = (
        ("flow, Python API", "api", "handler in-process", "in-process", TARGET_API),
        ("isolation floor, 1 echo process", "echo", "handler in-process", "in-process", None),
        (
            f"isolation floor, {RULES} echo processes",
            "echo10",
            "handler in-process",
            "in-process",
            None,
        ),
        ("flow, Python API", "api", f"isolation floor, {RULES} processes", "echo10", None),
        (
            f"isolated handler, {RULES} processes",
            "handler10",
            "handler in-process",
            "in-process",
            None,
        ),
        ("flow, Python API", "api", f"isolated handler, {RULES} processes", "handler10", None),
        ("flow, SMTP, 1 client", "smtp", "bare aiosmtpd, 1 client", "bare", TARGET_SMTP),
        (
            f"isolated handler behind aiosmtpd, {RULES} processes, 1 client",
            "bare-handler10",
            "bare aiosmtpd, 1 client",
            "bare",
            None,
        ),
        (
            "flow, SMTP, 1 client",
            "smtp",
            "isolated handler behind aiosmtpd, 1 client",
            "bare-handler10",
            None,
        ),
        (
            f"flow, SMTP, {CLIENTS} clients",
            "smtp4",
            f"bare aiosmtpd, {CLIENTS} clients",
            "bare4",
            None,
        ),
    )
    for label, over, limit, under, target in rows:
        print(
            f"| {label} | {median[over]:.1f} | {limit} | {median[under]:.1f} | "
            f"{median[over] / median[under]:.3f} | {paired(over, under):.3f} | "
            f"{'at least ' + format(target, '.2f') if target else '-'} |"
        )


if __name__ == "__main__":
    main()
