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
- the awslambdaric floor: the same events sent to 10 warm processes, one a function, each
  running the template's handler under AWS's runtime interface client (``python -m awslambdaric
  handler.handler``, as the flow's workers run it) against a bare Runtime API written here (raw
  sockets, one listening socket and one keep-alive connection a process, nothing but ``next``
  and ``response``): what the flow's runtime pays at least, with no sandbox, log file, timeout,
  limits or bookkeeping. Its ``AWS_EXECUTION_ENV`` is the flow's functions' own, so the client
  runs the same code (for ``python3.12`` and later it asks for ``next`` from a new thread at
  each invocation, awslambdaric's ``SUPPORTED_THREADPOLLING_ENVS``);
- the awslambdaric floor behind aiosmtpd: a bare server that runs each message's round trips to
  the awslambdaric floor's processes before it accepts the message;
- the flow over SMTP with 4 concurrent clients;
- a Node.js rule set: the same 10 rules, each a function of its own running ``NODE_HANDLER`` (the
  template's decision, in JavaScript) under AWS's runtime client for Node.js, through the API,
  against the awslambdaric floor and against its own floor, the same handler in 10 warm
  ``aws-lambda-ric`` processes behind the same bare Runtime API.

Ratios are of medians and, paired, the median of each repetition's ratio. Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import select
import shutil
import smtplib
import socket
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
from aws_cdk import aws_lambda as lambda_

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.lambda_src.handler import handler
from constructs_ses.local import MailFlow
from constructs_ses.local.flow.smtp import FlowHandler, free_port, serving
from constructs_ses.local.lambda_runtime.environment import Paths
from constructs_ses.local.lambda_runtime.function import FunctionSpec
from constructs_ses.local.lambda_runtime.nodejs import NodeRuntime

from conftest import new_stack

RULES = 10
MESSAGES = 200
REPETITIONS = 5
CLIENTS = 4
RAW = b"From: a@sender.example\r\nTo: to@example.com\r\nSubject: bench\r\n\r\nbody\r\n"
TARGET_API, TARGET_SMTP = 0.25, 0.20
TARGET_FLOOR = 0.8
"""The flow's share of the awslambdaric floor, through the API and over SMTP."""

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


NODE_HANDLER = """
const VERDICTS = ["spamVerdict", "virusVerdict", "spfVerdict", "dkimVerdict"];
exports.handler = async (event) => {
  const { mail, receipt } = event.Records[0].ses;
  const failed = VERDICTS.some((verdict) => receipt[verdict]?.status === "FAIL");
  const disposition = failed ? "STOP_RULE_SET" : "CONTINUE";
  console.log(JSON.stringify({ messageId: mail.messageId, disposition }));
  return { disposition };
};
"""
"""The template's decision in JavaScript: stop the rule set for a failed verdict."""


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


_NEXT_HEAD = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
_ACCEPTED += b'{"status":"OK"}'


class BareRuntimeApi:
    """A bare Lambda Runtime API for one process: one listening socket, ``next`` answered with
    the event (``Content-Type`` and the four ``Lambda-Runtime-*`` headers the client needs, the
    request id a counter) and ``response`` read and answered 202; nothing else (no other path,
    no error, no timeout, no log). Python's client keeps one keep-alive connection, read with
    blocking ``recv`` alone; with ``connections=True`` (Node.js's client, which posts its
    response on a connection of its own) every connection is watched with ``select``."""

    def __init__(self, function_arn: str, *, connections: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(60)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.many = connections
        self.buffers: dict[socket.socket, bytearray] = {}
        self.count = 0
        deadline_ms = int((time.time() + 86400) * 1000)
        self.head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Lambda-Runtime-Aws-Request-Id: {}\r\n"
            f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
            f"Lambda-Runtime-Invoked-Function-Arn: {function_arn}\r\n"
            "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
            "Content-Length: {}\r\n\r\n"
        )

    def _accept(self) -> None:
        sock, _ = self.listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffers[sock] = bytearray()

    def _receive(self, sock: socket.socket) -> None:
        data = sock.recv(1 << 16)
        if not data:
            del self.buffers[sock]
            sock.close()
            if not self.many:
                raise ConnectionError("the runtime client closed its connection")
            return
        self.buffers[sock] += data

    @staticmethod
    def _complete(buffer: bytearray) -> tuple[bytes, bytes] | None:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buffer[: end + 2])
        found = _LENGTH.search(head)
        total = end + 4 + (int(found.group(1)) if found else 0)
        if len(buffer) < total:
            return None
        body = bytes(buffer[end + 4 : total])
        del buffer[:total]
        return head, body

    def _request(self) -> tuple[socket.socket, bytes, bytes]:
        """The next request's connection, head and body."""
        if not self.buffers:
            self._accept()
        while True:
            for sock, buffer in list(self.buffers.items()):
                if (complete := self._complete(buffer)) is not None:
                    return sock, *complete
            if not self.many:
                (sock,) = self.buffers
                self._receive(sock)
                continue
            readable, _, _ = select.select([self.listener, *self.buffers], [], [], 60)
            for ready in readable:
                if ready is self.listener:
                    self._accept()
                else:
                    self._receive(ready)

    def invoke(self, event: bytes) -> bytes:
        """One invocation: the held ``next`` answered with ``event``; the response's body."""
        sock, head, _ = self._request()
        assert head.startswith(_NEXT_HEAD), head
        self.count += 1
        request_id = f"00000000-0000-4000-8000-{self.count:012x}"
        sock.sendall(self.head.format(request_id, len(event)).encode() + event)
        sock, head, body = self._request()
        expected = f"POST /2018-06-01/runtime/invocation/{request_id}/response "
        assert head.startswith(expected.encode()), head
        sock.sendall(_ACCEPTED)
        return body

    def close(self) -> None:
        for sock in self.buffers:
            sock.close()
        self.listener.close()


def flow_functions(flow: MailFlow) -> list[FunctionSpec]:
    """The ``FunctionSpec`` of every Lambda action of the flow's rules."""
    return [
        action.function
        for rule in flow.rule_set.rules
        for action in rule.actions
        if action.function is not None
    ]


def ric_processes(
    task_root: str, apis: list[BareRuntimeApi], names: list[str], execution_env: str
) -> list[subprocess.Popen[bytes]]:
    """One ``python -m awslambdaric handler.handler`` a Runtime API, in ``task_root``, with the
    flow's functions' ``AWS_EXECUTION_ENV``."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "handler.handler"],
            cwd=task_root,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_EXECUTION_ENV": execution_env,
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]" + "0" * 32,
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        for api, name in zip(apis, names, strict=True)
    ]


def node_ric_processes(
    task_root: str, apis: list[BareRuntimeApi], names: list[str]
) -> list[subprocess.Popen[bytes]]:
    """One ``aws-lambda-ric`` a Runtime API, in ``task_root``, started as the flow starts it."""
    node = NodeRuntime.find()
    paths = node.paths(
        Paths(task_root=task_root, runtime_dir=str(node.packages_dir), opt="/opt", lang="")
    )
    command = node.command(str(node.executable), "index.handler", paths)
    return [
        subprocess.Popen(
            command,
            cwd=task_root,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                **dict(paths.language_variables),
                "_HANDLER": "index.handler",
                "LAMBDA_TASK_ROOT": task_root,
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{node.name}",
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]" + "0" * 32,
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        for api, name in zip(apis, names, strict=True)
    ]


def ric_round_trips_of(events: list[Any], apis: list[BareRuntimeApi]) -> Callable[[], None]:
    """One message's invocations: each event to one of ``apis`` in turn, its answer decoded."""
    encoded = [json.dumps(event).encode() for event in events]
    pairs = [(apis[index % len(apis)], event) for index, event in enumerate(encoded)]

    def one_message() -> None:
        for api, event in pairs:
            json.loads(api.invoke(event))

    return one_message


def ric_floor(one_message: Callable[[], None]) -> float:
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


def stack_of_node_rules() -> Any:
    stack = new_stack(construct_id="NodeMail")
    mail = InboundEmail(stack, "Inbound", rule_set_name="bench-node")
    for index in range(RULES):
        mail.add_lambda_rule(
            f"Rule{index}",
            recipients=["example.com"],
            function=lambda_.Function(
                stack,
                f"Node{index}",
                runtime=lambda_.Runtime.NODEJS_24_X,
                handler="index.handler",
                code=lambda_.Code.from_inline(NODE_HANDLER),
            ),
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
        task_root = Path(store) / "ric-task"
        task_root.mkdir()
        shutil.copy(handler.__code__.co_filename, task_root / "handler.py")
        apis = [BareRuntimeApi(invocation.function_arn) for invocation in warm.invocations]
        (runtime,) = {spec.runtime for spec in flow_functions(flow)}
        rics = ric_processes(
            str(task_root),
            apis,
            [invocation.function for invocation in warm.invocations],
            f"AWS_Lambda_{runtime}",
        )
        ric_message = ric_round_trips_of(events, apis)
        ric_message()  # each client's first invocation: its connection and init
        node_flow = MailFlow.from_stack(stack_of_node_rules(), store_dir=Path(store) / "node")
        node_warm = node_flow.deliver(RAW, recipients=["to@example.com"])
        node_root = Path(store) / "node-task"
        node_root.mkdir()
        (node_root / "index.js").write_text(NODE_HANDLER)
        node_apis = [
            BareRuntimeApi(invocation.function_arn, connections=True)
            for invocation in node_warm.invocations
        ]
        node_rics = node_ric_processes(
            str(node_root), node_apis, [invocation.function for invocation in node_warm.invocations]
        )
        node_events = [invocation.event for invocation in node_warm.invocations]
        node_message = ric_round_trips_of(node_events, node_apis)
        node_message()
        bare = bare_port()
        bare_isolated = bare_port(RoundTrips(round_trips_of(events, isolated)))
        bare_ric = bare_port(RoundTrips(ric_message))
        port = free_port()
        with serving(FlowHandler(flow), port=port, starttls=False):
            measures: list[tuple[str, Callable[[], float]]] = [
                ("api", lambda: flow_api(flow)),
                ("in-process", lambda: in_process(events)),
                ("echo", lambda: round_trips(events, echoes[:1])),
                ("echo10", lambda: round_trips(events, echoes)),
                ("handler10", lambda: round_trips(events, isolated)),
                ("ric10", lambda: ric_floor(ric_message)),
                ("smtp", lambda: smtp(port)),
                ("bare", lambda: smtp(bare.port)),
                ("bare-handler10", lambda: smtp(bare_isolated.port)),
                ("bare-ric10", lambda: smtp(bare_ric.port)),
                ("smtp4", lambda: smtp(port, CLIENTS)),
                ("bare4", lambda: smtp(bare.port, CLIENTS)),
                ("node-api", lambda: flow_api(node_flow)),
                ("node-ric10", lambda: ric_floor(node_message)),
            ]
            for _ in range(REPETITIONS):
                for name, measure in measures:
                    runs.setdefault(name, []).append(measure())
        bare.stop()
        bare_isolated.stop()
        bare_ric.stop()
        for ric in rics + node_rics:
            ric.terminate()
            ric.wait()
        for api in apis + node_apis:
            api.close()
        node_flow.close()
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
        (
            f"awslambdaric floor, {RULES} processes",
            "ric10",
            "handler in-process",
            "in-process",
            None,
        ),
        (
            "flow, Python API",
            "api",
            f"awslambdaric floor, {RULES} processes",
            "ric10",
            TARGET_FLOOR,
        ),
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
            f"awslambdaric floor behind aiosmtpd, {RULES} processes, 1 client",
            "bare-ric10",
            "bare aiosmtpd, 1 client",
            "bare",
            None,
        ),
        (
            "flow, SMTP, 1 client",
            "smtp",
            "awslambdaric floor behind aiosmtpd, 1 client",
            "bare-ric10",
            TARGET_FLOOR,
        ),
        (
            f"flow, SMTP, {CLIENTS} clients",
            "smtp4",
            f"bare aiosmtpd, {CLIENTS} clients",
            "bare4",
            None,
        ),
        (
            f"aws-lambda-ric floor, {RULES} Node.js processes",
            "node-ric10",
            f"awslambdaric floor, {RULES} processes",
            "ric10",
            None,
        ),
        (
            "Node.js flow, Python API",
            "node-api",
            f"awslambdaric floor, {RULES} processes",
            "ric10",
            None,
        ),
        (
            "Node.js flow, Python API",
            "node-api",
            f"aws-lambda-ric floor, {RULES} Node.js processes",
            "node-ric10",
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
