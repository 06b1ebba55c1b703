"""The packaged handler template: dispositions over an SES event factory; it never raises."""

from __future__ import annotations

import logging

import pytest

from constructs_ses import Disposition
from constructs_ses.lambda_src.handler import handler

from events import ses_event


def test_clean_message_continues() -> None:
    assert handler(ses_event(), None) == {"disposition": "CONTINUE"}


@pytest.mark.parametrize("verdicts", [{"spam": "FAIL"}, {"virus": "FAIL"}, {"spam": "fail"}])
def test_spam_or_virus_stops_the_rule_set(verdicts: dict[str, str]) -> None:
    assert handler(ses_event(**verdicts), None) == {"disposition": Disposition.STOP_RULE_SET.value}


@pytest.mark.parametrize("status", ["GRAY", "PROCESSING_FAILED", None])
def test_uncertain_or_missing_verdicts_continue(status: str | None) -> None:
    event = ses_event(spam=status, virus=status, dmarc=None)
    assert handler(event, None) == {"disposition": "CONTINUE"}


def test_event_invocation_is_answered_the_same_way() -> None:
    assert handler(ses_event(invocation_type="Event", spam="FAIL"), None) == {
        "disposition": "STOP_RULE_SET"
    }


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"Records": []},
        {"Records": "x"},
        {"Records": [None]},
        {"Records": [{"ses": 1}]},
        [1],
        "text",
    ],
)
def test_malformed_events_continue_without_raising(event: object) -> None:
    assert handler(event, None) == {"disposition": "CONTINUE"}


def test_logs_one_line_with_message_id_and_decision(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        handler(ses_event(virus="FAIL", message_id="abc123"), None)
    (line,) = [r.getMessage() for r in caplog.records]
    assert '"messageId": "abc123"' in line
    assert '"disposition": "STOP_RULE_SET"' in line
    assert "virusVerdict" in line
