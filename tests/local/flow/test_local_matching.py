"""SES's recipient matching, as the local flow applies it."""

from __future__ import annotations

import pytest

from constructs_ses.local.flow.matching import matches


@pytest.mark.parametrize(
    ("recipient", "patterns", "expected"),
    [
        ("anyone@anywhere.example", (), True),
        ("support@example.com", ("support@example.com",), True),
        ("Support@Example.COM", ("support@example.com",), True),
        ("support+urgent@example.com", ("support@example.com",), True),
        ("sales@example.com", ("support@example.com",), False),
        ("sales@example.com", ("example.com",), True),
        ("sales@mail.example.com", ("example.com",), False),
        ("sales@mail.example.com", (".example.com",), True),
        ("sales@deep.mail.example.com", (".example.com",), True),
        ("sales@example.com", (".example.com",), False),
        ("sales@notexample.com", (".example.com",), False),
        ("support@example.org", ("support@example.com", "example.org"), True),
    ],
)
def test_matches(recipient: str, patterns: tuple[str, ...], expected: bool) -> None:
    assert matches(recipient, patterns) is expected
