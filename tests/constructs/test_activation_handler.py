"""The activation custom resource's handler, against moto's SES API and a local response URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from constructs_ses.activation.runtime.handler import (
    ActivationRefusedError,
    active_rule_set,
    handle,
    on_event,
)

OURS = "constructs-ses-inbound"
THEIRS = "someone-elses"


@pytest.fixture
def ses() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")
        for name in (OURS, THEIRS, "renamed"):
            client.create_receipt_rule_set(RuleSetName=name)
        yield client


def request(kind: str, name: str = OURS, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": kind,
        "ResourceProperties": {"RuleSetName": name, "ReplaceActive": "false"},
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/Mail/1",
        "RequestId": "req-1",
        "LogicalResourceId": "InboundActivation",
        "ResponseURL": "http://127.0.0.1:9/unused",
    }
    event.update(extra)
    return event


def test_create_activates_when_nothing_is_active(ses: Any) -> None:
    assert handle(request("Create"), ses) == (OURS, {"PreviouslyActive": ""})
    assert active_rule_set(ses) == OURS


def test_create_refuses_to_replace_another_active_rule_set(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    with pytest.raises(ActivationRefusedError, match=rf"rule set '{THEIRS}' is the active"):
        handle(request("Create"), ses)
    assert active_rule_set(ses) == THEIRS


def test_create_replaces_when_allowed(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    event = request("Create")
    event["ResourceProperties"]["ReplaceActive"] = "true"
    assert handle(event, ses) == (OURS, {"PreviouslyActive": THEIRS})
    assert active_rule_set(ses) == OURS


def test_create_when_already_active_is_a_no_op(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    assert handle(request("Create"), ses) == (OURS, {"PreviouslyActive": OURS})


def test_update_follows_a_rename_of_our_rule_set(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    event = request(
        "Update",
        "renamed",
        PhysicalResourceId=OURS,
        OldResourceProperties={"RuleSetName": OURS, "ReplaceActive": "false"},
    )
    assert handle(event, ses) == ("renamed", {"PreviouslyActive": OURS})
    assert active_rule_set(ses) == "renamed"
    # CloudFormation then deletes the old physical id: it is no longer active, so nothing changes.
    handle(request("Delete", PhysicalResourceId=OURS), ses)
    assert active_rule_set(ses) == "renamed"


def test_update_still_refuses_someone_elses_rule_set(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    event = request(
        "Update",
        "renamed",
        PhysicalResourceId=OURS,
        OldResourceProperties={"RuleSetName": OURS},
    )
    with pytest.raises(ActivationRefusedError):
        handle(event, ses)


def test_delete_while_active_deactivates(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    handle(request("Delete", PhysicalResourceId=OURS), ses)
    assert active_rule_set(ses) is None
    ses.delete_receipt_rule_set(RuleSetName=OURS)  # now possible


def test_delete_after_someone_else_activated_leaves_theirs(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    handle(request("Delete", PhysicalResourceId=OURS), ses)
    assert active_rule_set(ses) == THEIRS


def test_delete_of_a_failed_create_changes_nothing(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    handle(request("Delete", PhysicalResourceId="not-activated:InboundActivation"), ses)
    assert active_rule_set(ses) == THEIRS


class ResponseCatcher(BaseHTTPRequestHandler):
    """Stands in for CloudFormation's pre-signed response URL, on loopback."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        ResponseCatcher.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def response_url() -> Iterator[str]:
    ResponseCatcher.received = []
    server = HTTPServer(("127.0.0.1", 0), ResponseCatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response"
    server.shutdown()
    server.server_close()


def test_on_event_reports_success_to_cloudformation(ses: Any, response_url: str) -> None:
    on_event(request("Create", ResponseURL=response_url), None, ses)
    (response,) = ResponseCatcher.received
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == OURS
    assert response["Data"] == {"PreviouslyActive": ""}
    assert (response["RequestId"], response["LogicalResourceId"]) == ("req-1", "InboundActivation")


def test_on_event_reports_a_refusal_as_failure(ses: Any, response_url: str) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    on_event(request("Create", ResponseURL=response_url), None, ses)
    (response,) = ResponseCatcher.received
    assert response["Status"] == "FAILED"
    assert f"rule set '{THEIRS}' is the active receipt rule set" in response["Reason"]
    assert response["PhysicalResourceId"] == "not-activated:InboundActivation"


def test_on_event_reports_an_unknown_rule_set_as_failure(ses: Any, response_url: str) -> None:
    on_event(request("Create", "does-not-exist", ResponseURL=response_url), None, ses)
    (response,) = ResponseCatcher.received
    assert response["Status"] == "FAILED"
    assert "does-not-exist" in response["Reason"]
