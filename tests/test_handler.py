"""The packaged handler template's decisions, over an SES event factory."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from constructs_ses import Disposition
from constructs_ses.lambda_src.handler import (
    Decision,
    Policy,
    SesRecord,
    StopVerdict,
    handler,
    make_handler,
)

from events import DEFAULT_SENDER, ses_event

CONTINUE = {"disposition": "CONTINUE"}
STOP_RULE_SET = {"disposition": "STOP_RULE_SET"}
STOP_RULE = {"disposition": "STOP_RULE"}


def answer(event: object, policy: Policy | None = None) -> dict[str, str]:
    return make_handler(policy=policy or Policy())(event, None)


# The default policy


def test_clean_message_continues() -> None:
    assert handler(ses_event(), None) == CONTINUE


@pytest.mark.parametrize("verdicts", [{"spam": "FAIL"}, {"virus": "FAIL"}, {"spam": "fail"}])
def test_spam_or_virus_stops_the_rule_set(verdicts: dict[str, Any]) -> None:
    assert answer(ses_event(**verdicts)) == STOP_RULE_SET


@pytest.mark.parametrize("policy", ["reject", "REJECT", "Reject"])
def test_dmarc_failure_with_reject_policy_stops(policy: str) -> None:
    assert answer(ses_event(dmarc="FAIL", dmarc_policy=policy)) == STOP_RULE_SET


@pytest.mark.parametrize("policy", ["none", "quarantine", None])
def test_dmarc_failure_without_reject_policy_continues_by_default(policy: str | None) -> None:
    assert answer(ses_event(dmarc="FAIL", dmarc_policy=policy)) == CONTINUE


def test_dmarc_policy_in_the_object_form_of_aws_example_is_read() -> None:
    event = ses_event(dmarc="FAIL", dmarc_policy={"status": "REJECT"})
    assert answer(event) == STOP_RULE_SET


@pytest.mark.parametrize("verdicts", [{"spf": "FAIL"}, {"dkim": "FAIL"}])
def test_spf_and_dkim_failures_continue_by_default(verdicts: dict[str, Any]) -> None:
    assert answer(ses_event(**verdicts)) == CONTINUE


@pytest.mark.parametrize("status", ["GRAY", "PROCESSING_FAILED", None])
def test_uncertain_or_missing_verdicts_continue(status: str | None) -> None:
    event = ses_event(spam=status, virus=status, spf=status, dkim=status, dmarc=status)
    assert answer(event) == CONTINUE


def test_event_invocation_decides_the_same_and_twice_the_same() -> None:
    event = ses_event(invocation_type="Event", spam="FAIL")
    assert answer(event) == answer(event) == STOP_RULE_SET


# Configured policies


@pytest.mark.parametrize(
    ("stop_on", "verdicts"),
    [
        (StopVerdict.SPF, {"spf": "FAIL"}),
        (StopVerdict.DKIM, {"dkim": "FAIL"}),
        (StopVerdict.DMARC_QUARANTINE, {"dmarc": "FAIL", "dmarc_policy": "quarantine"}),
        (StopVerdict.SPAM, {"spam": "FAIL"}),
        (StopVerdict.VIRUS, {"virus": "FAIL"}),
        (StopVerdict.DMARC_REJECT, {"dmarc": "FAIL", "dmarc_policy": "reject"}),
    ],
)
def test_each_finding_stops_only_when_chosen(
    stop_on: StopVerdict, verdicts: dict[str, Any]
) -> None:
    assert answer(ses_event(**verdicts), Policy(stop_on=(stop_on,))) == STOP_RULE_SET
    others = tuple(v for v in StopVerdict if v is not stop_on)
    assert answer(ses_event(**verdicts), Policy(stop_on=others)) == CONTINUE


def test_stop_rule_can_be_the_answer() -> None:
    policy = Policy(on_stop=Disposition.STOP_RULE)
    assert answer(ses_event(spam="FAIL"), policy) == STOP_RULE


def test_denied_sender_domain_is_stopped_even_when_clean() -> None:
    policy = Policy(deny_senders=("example.com",))
    assert answer(ses_event(), policy) == STOP_RULE_SET


def test_denied_subdomains_match_by_leading_dot() -> None:
    policy = Policy(deny_senders=(".example.com",))
    assert (
        answer(ses_event(source="a@mail.example.com", from_=["a@mail.example.com"]), policy)
        == STOP_RULE_SET
    )
    assert answer(ses_event(), policy) == CONTINUE  # example.com itself is not a subdomain


def test_denied_address_matches_the_from_header_too() -> None:
    policy = Policy(deny_senders=("Boss@Example.org",))
    event = ses_event(source="bounce@mailer.example.net", from_=["The Boss <boss@example.org>"])
    assert answer(event, policy) == STOP_RULE_SET


def test_allowed_sender_passes_findings_once_authenticated() -> None:
    policy = Policy(allow_senders=(DEFAULT_SENDER,))
    assert answer(ses_event(spam="FAIL"), policy) == CONTINUE
    unauthenticated = ses_event(spam="FAIL", spf="FAIL", dkim="FAIL")
    assert answer(unauthenticated, policy) == STOP_RULE_SET


def test_deny_wins_over_allow() -> None:
    policy = Policy(allow_senders=("example.com",), deny_senders=(DEFAULT_SENDER,))
    assert answer(ses_event(), policy) == STOP_RULE_SET


def test_policy_round_trips_through_the_environment() -> None:
    policy = Policy(
        stop_on=(StopVerdict.SPF, StopVerdict.VIRUS),
        on_stop=Disposition.STOP_RULE,
        allow_senders=("friend@example.org", ".example.net"),
        deny_senders=("spam.example",),
        on_error=Disposition.STOP_RULE_SET,
    )
    assert Policy.from_environment(policy.to_environment()) == policy


def test_unset_environment_gives_the_default_policy() -> None:
    assert Policy.from_environment({}) == Policy()
    assert Policy().stop_on == (StopVerdict.SPAM, StopVerdict.VIRUS, StopVerdict.DMARC_REJECT)


def test_empty_stop_on_stops_nothing() -> None:
    policy = Policy.from_environment({"SES_STOP_ON": ""})
    assert policy.stop_on == ()
    assert answer(ses_event(spam="FAIL", virus="FAIL"), policy) == CONTINUE


def test_handler_reads_its_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SES_STOP_ON", "spf")
    monkeypatch.setenv("SES_ON_STOP", "STOP_RULE")
    fresh = make_handler()
    assert fresh(ses_event(spf="FAIL"), None) == STOP_RULE
    assert fresh(ses_event(spam="FAIL"), None) == CONTINUE


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"stop_on": ("spam", "phishing")},
            r"stop_on='phishing' is not allowed; use one of StopVerdict.SPAM \('spam'\)",
        ),
        ({"stop_on": "spam"}, r"stop_on='spam' must be a list of findings"),
        ({"on_stop": "CONTINUE"}, r"on_stop='CONTINUE' would stop nothing"),
        ({"on_stop": "HALT"}, r"on_stop='HALT' is not allowed"),
        ({"on_error": "RETRY"}, r"on_error='RETRY' is not allowed"),
        ({"allow_senders": ("not an address",)}, r"allow_senders entry 'not an address' is not"),
        ({"deny_senders": ("localhost",)}, r"deny_senders entry 'localhost' is not"),
        ({"deny_senders": "example.com"}, r"deny_senders='example.com' must be a list"),
    ],
)
def test_fails_on_invalid_policy(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy(**settings)  # type: ignore[arg-type]


def test_invalid_environment_answers_the_safe_default_and_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SES_STOP_ON", "spam,phishing")
    assert make_handler()(ses_event(spam="FAIL"), None) == CONTINUE
    assert "SES_STOP_ON='phishing' is not allowed" in caplog.text


# Errors and malformed input


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"Records": []},
        {"Records": "x"},
        {"Records": [None]},
        [1],
        "text",
    ],
)
def test_events_without_a_record_get_the_error_disposition(event: object) -> None:
    assert answer(event) == CONTINUE
    assert answer(event, Policy(on_error=Disposition.STOP_RULE_SET)) == STOP_RULE_SET


def test_record_without_ses_data_is_decided_on_what_there_is() -> None:
    assert answer({"Records": [{"ses": 1}]}) == CONTINUE


def test_failing_decision_function_gets_the_error_disposition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(record: SesRecord, policy: Policy) -> Decision | None:
        raise RuntimeError("boom")

    failing = make_handler(broken, Policy(on_error=Disposition.STOP_RULE))
    assert failing(ses_event(), None) == STOP_RULE
    assert "RuntimeError: boom" in caplog.text


# Your own decision function


def test_decision_function_overrides_or_defers_to_the_policy() -> None:
    def unsubscribe(record: SesRecord, policy: Policy) -> Decision | None:
        if record.mail.common_headers.subject == "unsubscribe":
            return Decision(Disposition.STOP_RULE, "unsubscribe request")
        return None

    custom = make_handler(unsubscribe, Policy())
    assert custom(ses_event(subject="unsubscribe"), None) == STOP_RULE
    assert custom(ses_event(spam="FAIL"), None) == STOP_RULE_SET
    assert custom(ses_event(), None) == CONTINUE


# The log line


def test_logs_one_json_line_without_the_sender_address(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        answer(ses_event(virus="FAIL", message_id="abc123", dmarc="FAIL", dmarc_policy="none"))
    (record,) = caplog.records
    line = json.loads(record.getMessage())
    assert line == {
        "messageId": "abc123",
        "recipients": ["johndoe@example.com"],
        "senderDomain": "example.com",
        "invocationType": "RequestResponse",
        "verdicts": {
            "spam": "PASS",
            "virus": "FAIL",
            "spf": "PASS",
            "dkim": "PASS",
            "dmarc": "FAIL",
            "dmarcPolicy": "none",
        },
        "disposition": "STOP_RULE_SET",
        "reason": "found: virus",
    }
    assert DEFAULT_SENDER not in record.getMessage()
    assert "janedoe" not in caplog.text
