"""Property-based: whatever the event, the handler answers a valid disposition and never raises."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constructs_ses import Disposition
from constructs_ses.lambda_src.handler import (
    Policy,
    SesEvent,
    SettingError,
    StopVerdict,
    _log_line,
    decide_by_policy,
    make_handler,
)

VALID = {d.value for d in Disposition}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)
statuses = st.sampled_from(["PASS", "FAIL", "GRAY", "PROCESSING_FAILED", "fail", ""]) | json_values
verdict = st.one_of(st.fixed_dictionaries({"status": statuses}), json_values)
addresses = st.sampled_from(
    ["a@example.com", "Jane <j@example.org>", "<>", "@", "x@", "", "b@sub.example.com"]
) | st.text(max_size=30)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field's plausible values, or any JSON value in its place."""
    return strategy | json_values


headers = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["From", "DKIM-Signature", "dkim-signature", "Subject"]),
        "value": st.sampled_from(["v=1; d=example.com; b=x", "d=", "a@example.com"])
        | st.text(max_size=30),
    }
)
common_headers = st.fixed_dictionaries(
    {"from": maybe(st.lists(addresses, max_size=3)), "subject": maybe(st.text(max_size=20))}
)
mail = st.fixed_dictionaries(
    {
        "source": maybe(addresses),
        "messageId": maybe(st.text(max_size=40)),
        "headers": maybe(st.lists(headers | json_values, max_size=3)),
        "commonHeaders": maybe(common_headers),
    }
)
invocation_types = st.sampled_from(["Event", "RequestResponse"])
receipt = st.fixed_dictionaries(
    {
        "recipients": maybe(st.lists(addresses, max_size=3)),
        "spamVerdict": verdict,
        "virusVerdict": verdict,
        "spfVerdict": verdict,
        "dkimVerdict": verdict,
        "dmarcVerdict": verdict,
        "dmarcPolicy": maybe(st.sampled_from(["none", "quarantine", "reject", "REJECT"])),
        "action": maybe(st.fixed_dictionaries({"invocationType": maybe(invocation_types)})),
    }
)
record = st.fixed_dictionaries(
    {
        "eventSource": maybe(st.just("aws:ses")),
        "ses": maybe(st.fixed_dictionaries({"mail": maybe(mail), "receipt": maybe(receipt)})),
    }
)
ses_events = st.fixed_dictionaries({"Records": st.lists(record, max_size=2)})

senders = st.sampled_from(["example.com", ".example.com", "a@example.com", "j@example.org"])
policies = st.builds(
    Policy,
    stop_on=st.lists(st.sampled_from(list(StopVerdict)), unique=True).map(tuple),
    on_stop=st.sampled_from([Disposition.STOP_RULE, Disposition.STOP_RULE_SET]),
    allow_senders=st.lists(st.sampled_from(["example.com", ".example.com", "a@example.com"])).map(
        tuple
    ),
    deny_senders=st.lists(st.sampled_from(["example.org", "j@example.org"])).map(tuple),
    on_error=st.sampled_from(list(Disposition)),
)


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    logger = logging.getLogger("ses_handler")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(event=ses_events, policy=policies)
def test_ses_shaped_events_always_get_a_valid_disposition(event: Any, policy: Policy) -> None:
    for record in SesEvent(event).records:
        # Reading and deciding must cope by themselves, without the handler's last-resort catch.
        decision = decide_by_policy(record, policy)
        assert decision.disposition in Disposition
        assert json.loads(_log_line(record, decision))["disposition"] == decision.disposition
    answer = make_handler(policy=policy)(event, None)
    assert set(answer) == {"disposition"}
    assert answer["disposition"] in VALID


@settings(max_examples=1000)
@given(event=json_values)
def test_arbitrary_json_gets_the_error_disposition_or_a_decision(event: Any) -> None:
    answer = make_handler(policy=Policy())(event, None)
    assert answer["disposition"] in VALID


entries = st.lists(
    senders
    | st.sampled_from(
        ["a@b.example,evil.example", " a@b.example", "b.example\n", "", "A@B.Example"]
    )
    | st.text(max_size=16),
    max_size=4,
)
enum_settings = st.sampled_from(list(StopVerdict)) | st.sampled_from([v.value for v in StopVerdict])


@settings(max_examples=1500)
@given(
    stop_on=st.lists(enum_settings, max_size=4),
    on_stop=st.sampled_from(
        [Disposition.STOP_RULE, Disposition.STOP_RULE_SET, "STOP_RULE", "STOP_RULE_SET"]
    ),
    allow_senders=entries,
    deny_senders=entries,
    on_error=st.sampled_from([*Disposition, *(d.value for d in Disposition)]),
)
def test_every_setting_comes_back_from_the_environment_as_given_or_is_refused(
    stop_on: list[Any],
    on_stop: Any,
    allow_senders: list[str],
    deny_senders: list[str],
    on_error: Any,
) -> None:
    """The constructs pass a policy as comma-separated environment variables: an entry that
    would not come back as it was given must be refused when the policy is made."""
    settings = {
        "stop_on": stop_on,
        "on_stop": on_stop,
        "allow_senders": allow_senders,
        "deny_senders": deny_senders,
        "on_error": on_error,
    }
    split = [
        e for e in allow_senders + deny_senders if not e or "," in e or e != "".join(e.split())
    ]
    if split:
        with pytest.raises(SettingError, match="entries hold no commas, whitespace"):
            Policy(**settings)
        return
    try:
        policy = Policy(**settings)
    except SettingError:
        return  # not a sender at all (no domain, two '@'...)
    assert Policy.from_environment(policy.to_environment()) == policy
    assert policy.allow_senders == tuple(e.lower() for e in allow_senders)
    assert policy.deny_senders == tuple(e.lower() for e in deny_senders)
    assert [v.value for v in policy.stop_on] == list(
        dict.fromkeys(getattr(v, "value", v) for v in stop_on)
    )
    assert policy.on_stop.value == getattr(on_stop, "value", on_stop)
    assert policy.on_error.value == getattr(on_error, "value", on_error)
