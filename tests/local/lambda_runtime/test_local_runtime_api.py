"""The local Runtime API answers as "Using the Lambda runtime API for custom runtimes" (AWS
Lambda Developer Guide) documents, on every path, to a plain HTTP client standing in for a
runtime client."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from constructs_ses.local.lambda_runtime.runtime_api import (
    Answered,
    Ended,
    Failed,
    InitFailed,
    Ready,
    RuntimeApi,
    TimedOut,
    TooLarge,
)

API = "/2018-06-01/runtime"
REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    runtime_api = RuntimeApi(response_limit=1024)
    yield runtime_api
    runtime_api.close()


class Client:
    """One keep-alive connection, as the native runtime client keeps, in a thread of its own."""

    def __init__(self, api: RuntimeApi) -> None:
        self.connection = http.client.HTTPConnection(api.address, timeout=10)
        self.answers: list[tuple[int, dict[str, str], bytes]] = []

    def call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> None:
        self.connection.request(method, API + path, body, headers)
        response = self.connection.getresponse()
        self.answers.append((response.status, dict(response.getheaders()), response.read()))

    def start(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> threading.Thread:
        thread = threading.Thread(target=self.call, args=(method, path, body), kwargs=headers)
        thread.start()
        return thread


def _deadline(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def _invoke(api: RuntimeApi, event: bytes = b'{"n": 1}') -> bool:
    return api.invoke(
        REQUEST_ID,
        event,
        deadline_ms=1_700_000_000_000,
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:Fn",
        trace_id="Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0",
        client_context='{"custom": {"k": "v"}}',
        cognito_identity='{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
    )


def test_next_gets_the_invocation_with_every_documented_header(api: RuntimeApi) -> None:
    client = Client(api)
    asking = client.start("GET", "/invocation/next")
    assert api.wait_ready(_deadline()) == Ready()
    assert _invoke(api)
    asking.join(5)
    ((status, headers, body),) = client.answers
    assert (status, body) == (200, b'{"n": 1}')
    assert headers["Content-Type"] == "application/json"  # the native client needs it
    assert headers["Lambda-Runtime-Aws-Request-Id"] == REQUEST_ID
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:Fn")
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert json.loads(headers["Lambda-Runtime-Client-Context"]) == {"custom": {"k": "v"}}
    assert json.loads(headers["Lambda-Runtime-Cognito-Identity"])["cognitoIdentityId"] == "id"


def _invoked(api: RuntimeApi) -> Client:
    client = Client(api)
    client.start("GET", "/invocation/next")
    assert api.wait_ready(_deadline()) == Ready()
    assert _invoke(api)
    deadline = time.monotonic() + 5
    while not client.answers and time.monotonic() < deadline:
        time.sleep(0.005)
    return client


def test_a_response_is_accepted_and_ends_the_invocation(api: RuntimeApi) -> None:
    client = _invoked(api)
    posting = client.start(
        "POST",
        f"/invocation/{REQUEST_ID}/response",
        b'"done"',
        **{"Content-Type": "application/json"},
    )
    assert api.wait_answer(_deadline()) == Answered(b'"done"', "application/json")
    posting.join(5)
    status, headers, body = client.answers[-1]
    assert status == 202 and json.loads(body) == {"status": "OK"}
    assert headers["Content-Type"] == "application/json"


def test_an_error_is_accepted_with_its_payload_and_type(api: RuntimeApi) -> None:
    client = _invoked(api)
    payload = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
    posting = client.start(
        "POST",
        f"/invocation/{REQUEST_ID}/error",
        json.dumps(payload).encode(),
        **{"Lambda-Runtime-Function-Error-Type": "Unhandled"},
    )
    assert api.wait_answer(_deadline()) == Failed(payload, "Unhandled")
    posting.join(5)
    assert client.answers[-1][0] == 202


def test_a_response_over_the_limit_is_refused_with_413(api: RuntimeApi) -> None:
    client = _invoked(api)
    posting = client.start("POST", f"/invocation/{REQUEST_ID}/response", b"x" * 5000)
    assert api.wait_answer(_deadline()) == TooLarge(5000)
    posting.join(5)
    status, _, body = client.answers[-1]
    assert (
        status == 413
        and "exceeded maximum allowed payload size" in json.loads(body)["errorMessage"]
    )
    # the connection stays usable: the client asks for its next invocation on it
    asking = client.start("GET", "/invocation/next")
    assert api.wait_ready(_deadline()) == Ready()
    assert _invoke(api)
    asking.join(5)
    assert client.answers[-1][0] == 200


def test_an_unknown_request_id_is_400_and_an_unknown_path_404(api: RuntimeApi) -> None:
    client = _invoked(api)

    def calls() -> None:
        client.call("POST", "/invocation/not-this-one/response", b"{}")
        client.call("GET", "/nothing/here")
        client.call("POST", f"/invocation/{REQUEST_ID}/response", b"1")

    calling = threading.Thread(target=calls)
    calling.start()
    assert api.wait_answer(_deadline()) == Answered(b"1", "application/json")
    calling.join(5)
    (status_id, _, body_id), (status_path, _, _), (status_ok, _, _) = client.answers[-3:]
    assert status_id == 400 and json.loads(body_id)["errorType"] == "InvalidRequestID"
    assert (status_path, status_ok) == (404, 202)


def test_an_init_error_is_accepted_once_and_refused_after_init(api: RuntimeApi) -> None:
    payload = {
        "errorMessage": "Unable to import module 'x'",
        "errorType": "Runtime.ImportModuleError",
    }
    client = Client(api)
    posting = client.start(
        "POST",
        "/init/error",
        json.dumps(payload).encode(),
        **{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert api.wait_ready(_deadline()) == InitFailed(payload, "Runtime.ImportModuleError")
    posting.join(5)
    assert client.answers[-1][0] == 202
    other = RuntimeApi()
    try:
        later = Client(other)
        later.start("GET", "/invocation/next")
        assert other.wait_ready(_deadline()) == Ready()
        refused = Client(other)
        refusing = refused.start("POST", "/init/error", b"{}")
        assert _invoke(other)
        time.sleep(0.2)  # the refused report arrives first
        later.start("POST", f"/invocation/{REQUEST_ID}/response", b"2")
        assert other.wait_answer(_deadline()) == Answered(b"2", "application/json")
        other.wait_ready(_deadline(1))  # answers what is left
        refusing.join(5)
        assert refused.answers and refused.answers[0][0] == 403
    finally:
        other.close()


def test_a_client_gone_while_it_waited_is_handed_no_invocation(api: RuntimeApi) -> None:
    sock = socket.create_connection(("127.0.0.1", int(api.address.split(":")[1])))
    sock.sendall(f"GET {API}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert api.wait_ready(_deadline()) == Ready()
    sock.close()  # as a worker killed while it waited
    time.sleep(0.05)
    assert not _invoke(api)


def test_a_request_that_is_not_http_is_refused_with_400(api: RuntimeApi) -> None:
    sock = socket.create_connection(("127.0.0.1", int(api.address.split(":")[1])))
    sock.sendall(b"HELLO\r\n\r\n")
    found: list[Any] = []
    waiting = threading.Thread(target=lambda: found.append(api.wait_ready(_deadline(1))))
    waiting.start()
    answer = sock.recv(4096)
    waiting.join(5)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Content-Type: application/json" in answer
    assert found == [TimedOut()]


def test_the_end_of_the_environment_s_process_is_seen(api: RuntimeApi) -> None:
    process = subprocess.Popen(["sleep", "0.2"])
    api.watch(process)
    started = time.monotonic()
    assert api.wait_ready(_deadline()) == Ended()
    assert time.monotonic() - started < 3
    process.wait()
