"""SES's headers put before a message: the headers the flow reads are those a parser finds in
the message SES passes on, whatever the message."""

from __future__ import annotations

from email.utils import getaddresses, parseaddr

from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_ses.local.message import address_pairs, headers_before, mailbox, parse_headers

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
    assert list(headers.raw_items()) == list(parse_headers(raw).raw_items())


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
