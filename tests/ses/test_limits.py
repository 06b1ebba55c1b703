"""Names, recipients and counts, checked without synthesizing anything."""

from __future__ import annotations

import pytest

from constructs_ses.ses.limits import (
    MAX_RECIPIENTS_PER_RULE,
    check_recipients,
    check_rule_name,
    check_rule_set_name,
    sanitize_name,
)


@pytest.mark.parametrize("name", ["a", "Support", "rule_1", "my-rule.v2", "x" * 64, "9to5"])
def test_valid_rule_names(name: str) -> None:
    check_rule_name(name)


@pytest.mark.parametrize(
    "name", ["", "-rule", "rule-", ".rule", "rule.", "has space", "é", "x" * 65]
)
def test_fails_on_invalid_rule_name(name: str) -> None:
    with pytest.raises(ValueError, match=r"rule_name=.* is not a valid name: use 1 to 64"):
        check_rule_name(name)


@pytest.mark.parametrize("name", ["a", "Inbound-Mail_1", "x" * 64])
def test_valid_rule_set_names(name: str) -> None:
    check_rule_set_name(name)


@pytest.mark.parametrize("name", ["with.period", "_x", "x_", "x" * 65, "a/b"])
def test_fails_on_invalid_rule_set_name(name: str) -> None:
    with pytest.raises(ValueError, match=r"rule_set_name=.*\(no '\.'\)"):
        check_rule_set_name(name)


def test_rule_set_name_error_shows_the_value_and_its_length() -> None:
    with pytest.raises(ValueError) as error:
        check_rule_set_name("my.rules")
    assert "'my.rules'" in str(error.value)
    assert "(8 given)" in str(error.value)


@pytest.mark.parametrize(
    ("raw", "punctuation", "expected"),
    [("Support", "_-.", "Support"), ("-my rule!.", "_-.", "myrule"), ("Stack/x", "_-", "Stackx")],
)
def test_sanitize_name(raw: str, punctuation: str, expected: str) -> None:
    assert sanitize_name(raw, punctuation) == expected


def test_sanitize_name_keeps_at_most_64_characters_and_valid_ends() -> None:
    name = sanitize_name("a" * 63 + "-b", "_-")
    assert len(name) == 63
    check_rule_set_name(name)


@pytest.mark.parametrize(
    "recipients",
    [
        None,
        ["support@example.com"],
        ["example.com", ".example.com", "sub.example.co.uk"],
        ["first.last+tag@example.com", "o'brien@example.org"],
        [f"user{i}@example.com" for i in range(MAX_RECIPIENTS_PER_RULE)],
    ],
)
def test_valid_recipients(recipients: list[str] | None) -> None:
    check_recipients(recipients)


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ([], r"recipients=\[\] matches nothing you named"),
        ("support@example.com", r"must be a list of recipients, not a string"),
        ([""], r"recipients\[0\]='' is not a recipient"),
        (["support@"], r"recipients\[0\]='support@' is not a recipient"),
        (["@example.com"], r"part before '@' is not a valid mailbox name"),
        (["a@b@example.com"], r"part before '@' is not a valid mailbox name"),
        (["ok@example.com", "no spaces@example.com"], r"recipients\[1\]='no spaces@example.com'"),
        (["localhost"], r"'localhost' is not a domain name such as example.com"),
        (["..example.com"], r"is not a domain name"),
        (["-bad.example.com"], r"is not a domain name"),
        (["user@exa_mple.com"], r"is not a domain name"),
        ([42], r"recipients\[0\]=42 is not a string"),
        (
            ["a@example.com", "A@EXAMPLE.com"],
            r"recipients\[1\]='A@EXAMPLE.com' repeats recipients\[0\]",
        ),
        (
            [f"user{i}@example.com" for i in range(MAX_RECIPIENTS_PER_RULE + 1)],
            r"recipients has 501 entries; SES allows at most 500",
        ),
    ],
)
def test_fails_on_invalid_recipients(recipients: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_recipients(recipients)  # type: ignore[arg-type]


def test_recipient_error_lists_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"Allowed: an address .* a domain .* '\.example\.com'"):
        check_recipients(["not valid"])
