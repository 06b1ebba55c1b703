"""SES's headers put before a message: the headers the flow reads are those a parser finds in
the message SES passes on, whatever the message."""

from __future__ import annotations

import secrets
import string
from collections import Counter
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_ses.local.aws.ids import random_token
from constructs_ses.local.flow.message import (
    Arrival,
    Verdicts,
    address_pairs,
    headers_before,
    mailbox,
    new_message_id,
    parse_headers,
    ses_headers,
)

names = st.sampled_from(["From", "To", "Subject", "Date", "X-Custom", "From ", "", "Bad Name"])
values = st.text(max_size=30) | st.sampled_from(["", " leading", "a\r\n folded", "\t", "é"])
lines = st.one_of(
    st.tuples(names, values).map(lambda pair: f"{pair[0]}: {pair[1]}\r\n".encode()),
    st.sampled_from([b" continued\r\n", b"\tcontinued\r\n", b"no colon\r\n", b"\r\n", b"\n"]),
    st.binary(max_size=20),
)
originals = st.lists(lines, max_size=8).map(lambda found: b"".join(found) + b"\r\nbody\r\n")
added = st.lists(st.tuples(st.sampled_from(["Return-Path", "X-SES-Spam-Verdict"]), values))


@settings(max_examples=400)
@given(added=added, original=originals)
def test_headers_put_before_a_message_are_what_parsing_it_finds(
    added: list[tuple[str, str]], original: bytes
) -> None:
    raw, headers = headers_before(added, original, parse_headers(original))
    assert raw == b"".join(f"{n}: {v}\r\n".encode() for n, v in added) + original
    assert headers == [(name, str(value)) for name, value in parse_headers(raw).items()]


plain = st.from_regex(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,12}@[a-z0-9.-]{1,12}", fullmatch=True)
header_values = st.one_of(
    plain,
    plain.map(lambda address: f"<{address}>"),
    plain.map(lambda address: f"Jane <{address}>"),
    plain.map(lambda address: f"{address} (comment)"),
    st.text(max_size=25),
)


@settings(max_examples=600)
@given(value=header_values, more=st.lists(header_values, max_size=2))
def test_addresses_read_as_the_standard_library_reads_them(value: str, more: list[str]) -> None:
    assert mailbox(value) == parseaddr(value)[1]
    assert address_pairs([value]) == getaddresses([value])
    assert address_pairs([value, *more]) == getaddresses([value, *more])


ALPHABET = string.ascii_lowercase + string.digits


def test_message_ids_are_40_letters_and_digits_each_as_likely() -> None:
    ids = [new_message_id() for _ in range(2500)]
    assert all(len(one) == 40 and set(one) <= set(ALPHABET) for one in ids)
    assert len(set(ids)) == len(ids)
    counts = Counter("".join(ids))  # 100,000 characters: about 2778 each, sd about 52
    assert set(counts) == set(ALPHABET)
    assert max(counts.values()) - min(counts.values()) < 600


def test_random_bytes_that_would_favour_some_characters_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = iter([bytes([252, 253, 254, 255]) * 3, bytes([0, 35, 36, 251, 255]) * 3])
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(reads))
    assert random_token(12) == "a9a9" * 3  # 36 is "a" again, 251 is "9"; 252 to 255 dropped


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("client_address", "127.0.0.1\r\nX: 1", r"arrival.client_address='127.0.0.1\\r\\nX: 1'"),
        ("client_address", "localhost", r"'localhost' is not an IP address"),
        ("helo", "bad\rX-Injected: 1", r"arrival.helo: 'bad\\rX-Injected: 1' is not a domain"),
        ("helo", "", r"arrival.helo: '' is not a domain or an address literal"),
        ("received_by", "mx\nX: 1", r"arrival.received_by='mx\\nX: 1' is not a host name"),
        ("received_by", "", r"arrival.received_by='' is not a host name"),
    ],
)
def test_fails_on_an_arrival_whose_names_a_header_could_not_hold(
    field: str, value: str, error: str
) -> None:
    """RFC 5321 4.1.1.1 (EHLO's domain or address literal); what SES's Received header says."""
    with pytest.raises(ValueError, match=error):
        Arrival(**{field: value})


def test_ses_headers_never_hold_a_line_break_or_nul() -> None:
    """The last guard: whatever reaches SES's headers, none of them ends early."""

    def headers(source: str) -> list[tuple[str, str]]:
        return ses_headers(
            message_id=new_message_id(),
            source=source,
            recipient="support@example.com",
            from_domain="sender.example",
            arrival=Arrival(helo="[192.0.2.1]", client_address="192.0.2.1"),
            verdicts=Verdicts(),
            moment=datetime.now(UTC),
        )

    assert headers("jane@sender.example")[0] == ("Return-Path", "<jane@sender.example>")
    for bad in ("a\r\nX-Injected: 1@b.example", "a\x00@b.example", "a\n@b.example"):
        with pytest.raises(ValueError, match=r"Return-Path would hold a CR, LF or NUL"):
            headers(bad)
