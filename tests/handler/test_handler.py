"""The packaged handler template's decisions, over an SES event factory."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from constructs_ses import Disposition
from constructs_ses.lambda_src.handler import (
    AuthenticatedSender,
    Decision,
    Policy,
    SesRecord,
    StopVerdict,
    authenticated_senders,
    decide_by_policy,
    domains_align,
    handler,
    make_handler,
)

from events import DEFAULT_SENDER, dkim_signature, ses_event

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
    unauthenticated = ses_event(spam="FAIL", spf="FAIL", dkim="FAIL", dmarc="FAIL")
    assert answer(unauthenticated, policy) == STOP_RULE_SET


# Allowed senders count only through an identity SES authenticated. Verdicts: SES Developer Guide,
# "Lambda action" (event contents) and "Incoming email notification contents"; alignment: RFC 7489.

PARTNER = Policy(allow_senders=("partner.example",))
CEO = "The CEO <ceo@partner.example>"


def spoof(**changes: Any) -> dict[str, Any]:
    """Spam whose envelope sender is the attacker's and whose From names the partner's CEO."""
    return ses_event(
        **{"spam": "FAIL", "source": "bounce@attacker.example", "from_": [CEO], **changes}
    )


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(  # the attacker's own domain passes SPF; From names the partner
            spoof(dkim=None, dmarc="GRAY"), id="another domain's SPF"
        ),
        pytest.param(
            spoof(spf="FAIL", dmarc="GRAY", headers=(dkim_signature("attacker.example"),)),
            id="another domain's DKIM signature",
        ),
        pytest.param(  # which signature passed is not said: the forged one may not have
            spoof(
                spf="FAIL",
                dmarc="GRAY",
                headers=(dkim_signature("attacker.example"), dkim_signature("partner.example")),
            ),
            id="a partner signature beside another domain's",
        ),
        pytest.param(
            spoof(dmarc="FAIL", dmarc_policy="none", headers=(dkim_signature("partner.example"),)),
            id="DMARC FAIL whatever passed",
        ),
        pytest.param(
            spoof(
                spf="FAIL",
                dmarc="GRAY",
                headers=(dkim_signature("partner.example"),),
                headers_truncated=True,
            ),
            id="signatures SES may have cut off",
        ),
        pytest.param(
            spoof(
                spf="FAIL",
                from_=[CEO, "x@attacker.example"],
                headers=(dkim_signature("attacker.example"),),
            ),
            id="From addresses of two domains",
        ),
        pytest.param(
            spoof(spf="FAIL", headers=(("From", CEO), ("From", "x@attacker.example"))),
            id="two From headers",
        ),
        pytest.param(
            spoof(
                spf="FAIL",
                dmarc="GRAY",
                headers=(dkim_signature("partner.example.attacker.example"),),
            ),
            id="a signing domain that only looks like the partner's",
        ),
    ],
)
def test_fails_to_let_a_spoofed_allowed_sender_through(event: dict[str, Any]) -> None:
    assert answer(event, PARTNER) == STOP_RULE_SET


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(
            ses_event(spam="FAIL", source="ceo@partner.example", from_=[CEO], dmarc="GRAY"),
            "envelope sender authenticated by SPF",
            id="SPF of the same address",
        ),
        pytest.param(  # the service's SPF and signature, plus the partner's: DMARC aligned them
            ses_event(
                spam="FAIL",
                source="bounces@mailer.example",
                from_=[CEO],
                dmarc="PASS",
                headers=(dkim_signature("partner.example"), dkim_signature("mailer.example")),
            ),
            "From address authenticated by DMARC",
            id="DMARC PASS through a mailing service",
        ),
        pytest.param(
            ses_event(
                spam="FAIL",
                source="bounces@mailer.example",
                spf="FAIL",
                from_=[CEO],
                dmarc="GRAY",
                headers=(dkim_signature("mail.partner.example"),),
            ),
            "From address authenticated by DKIM",
            id="DKIM of the From domain",
        ),
    ],
)
def test_genuine_allowed_sender_passes_the_findings(event: dict[str, Any], reason: str) -> None:
    record = SesRecord(event["Records"][0])
    assert decide_by_policy(record, PARTNER) == Decision(
        Disposition.CONTINUE, f"sender is allowed: {reason}"
    )


def test_allowed_address_needs_that_address_authenticated() -> None:
    policy = Policy(allow_senders=("ceo@partner.example",))
    signed = ses_event(
        spam="FAIL",
        source="bounces@mailer.example",
        spf="FAIL",
        from_=["Someone Else <other@partner.example>"],
        dmarc="PASS",
    )
    assert answer(signed, policy) == STOP_RULE_SET  # DMARC vouches for other@, not ceo@


def test_authenticated_senders_name_each_identity_and_check() -> None:
    record = SesRecord(
        ses_event(
            source="Bounce@Mailer.example",
            from_=[CEO],
            dmarc="GRAY",
            headers=(dkim_signature("partner.example"),),
        )["Records"][0]
    )
    assert authenticated_senders(record) == [
        AuthenticatedSender("bounce@mailer.example", "spf"),
        AuthenticatedSender("ceo@partner.example", "dkim"),
    ]


@pytest.mark.parametrize(
    ("signer", "sender", "aligned"),
    [
        ("example.com", "example.com", True),
        ("mail.example.com", "example.com", True),
        ("example.com", "news.example.com", True),
        ("news.example.com", "mail.example.com", False),  # siblings: DMARC's PSL would align
        ("badexample.com", "example.com", False),
        ("example.com.evil.example", "example.com", False),
        ("", "example.com", False),
    ],
)
def test_signing_domains_align_with_the_same_domain_and_its_parents_and_children(
    signer: str, sender: str, aligned: bool
) -> None:
    assert domains_align(signer, sender) is aligned


def test_dkim_signing_domains_are_read_from_the_tag_lists() -> None:
    event = ses_event(
        headers=(
            ("dkim-signature", "v=1; a=rsa-sha256;\r\n\td =\r\n Partner.Example ; s=x; b=abc="),
            ("X-SES-DKIM-SIGNATURE", "a=rsa-sha256; d=amazonses.com; v=1"),
            ("DKIM-Signature", "v=1; s=no-domain; b=abc="),
        )
    )
    assert SesRecord(event["Records"][0]).mail.dkim_signing_domains == ["partner.example", None]


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
        (
            {"allow_senders": ("a@b.example,evil.example",)},
            r"allow_senders entry 'a@b.example,evil.example' is not an address \(user@example.com\)"
            r", a domain \(example.com\) or '.example.com' for its subdomains: ',' is not allowed",
        ),
        ({"deny_senders": (" spam.example",)}, r"deny_senders entry ' spam.example' .*: ' ' is"),
        ({"deny_senders": ("",)}, r"deny_senders entry '' is not an address"),
        ({"allow_senders": ("@example.com",)}, r"allow_senders entry '@example.com' is not"),
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
