"""The public sample events (tests/events/) are read in full and decided."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_ses.lambda_src.handler import Policy, SesEvent, SesRecord, make_handler

from conftest import REPO

EVENTS = REPO / "tests" / "events"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def record_of(name: str) -> SesRecord:
    record = SesEvent(load(name)).record
    assert record is not None
    return record


@pytest.mark.parametrize("name", ["ses-developer-guide.json", "powertools.json", "sam-cli.json"])
def test_sample_is_read_and_continues(name: str) -> None:
    record = record_of(name)
    assert record.event_source == "aws:ses"
    assert record.event_version == "1.0"
    assert record.mail.message_id
    assert record.mail.source and "@" in record.mail.source
    assert record.mail.destination
    assert record.mail.headers_truncated is False
    assert record.mail.headers and all(h.name for h in record.mail.headers)
    assert record.mail.common_headers.subject == record.mail.header("subject")
    assert record.receipt.recipients
    assert record.receipt.processing_time_millis is not None
    assert record.receipt.spam_verdict.passed and record.receipt.virus_verdict.passed
    assert record.receipt.action.type == "Lambda"
    assert record.receipt.action.invocation_type == "Event"
    assert record.receipt.action.function_arn
    assert make_handler(policy=Policy())(load(name), None) == {"disposition": "CONTINUE"}


def test_developer_guide_sample_details() -> None:
    record = record_of("ses-developer-guide.json")
    assert record.receipt.dmarc_verdict.status == "GRAY"
    assert record.receipt.dmarc_policy is None
    assert record.mail.common_headers.subject == "This is a test"
    assert record.mail.header("X-SES-Spam-Verdict") == "PASS"
    assert len(record.mail.headers) == 29


def test_powertools_sample_has_a_string_dmarc_policy() -> None:
    record = record_of("powertools.json")
    assert record.receipt.dmarc_policy == "reject"
    assert record.receipt.dmarc_verdict.passed


def test_sam_cli_sample_lacks_dmarc_verdict() -> None:
    record = record_of("sam-cli.json")
    assert record.receipt.dmarc_verdict.status is None
    assert not record.receipt.dmarc_verdict.failed
    assert record.receipt.dkim_verdict.passed
