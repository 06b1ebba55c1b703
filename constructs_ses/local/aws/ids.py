"""Identifiers as AWS makes them: random tokens of lower-case letters and digits, and digits of
a chosen alphabet read from bytes."""

from __future__ import annotations

import secrets
import string

__all__ = ["alphabet_digits", "random_token"]

_ID_ALPHABET = string.ascii_lowercase + string.digits


def alphabet_digits(source: bytes, alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` read from ``source`` as one big number."""
    number = int.from_bytes(source, "big")
    digits = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        digits.append(alphabet[index])
    return "".join(digits)


_KEPT_BYTES = 256 - 256 % len(_ID_ALPHABET)
"""Random bytes below this (252, 7 times 36) each make one character, each character as often."""
_TOKEN_CHARACTERS = bytes.maketrans(
    bytes(range(_KEPT_BYTES)), (_ID_ALPHABET * (_KEPT_BYTES // len(_ID_ALPHABET))).encode()
)
_UNUSED_BYTES = bytes(range(_KEPT_BYTES, 256))
"""Random bytes a token drops."""


def random_token(length: int = 40) -> str:
    """``length`` lower-case letters and digits, each as likely as any other: random bytes
    below ``_KEPT_BYTES`` each make one (through a translation table), the few others are
    dropped; one read of the system's randomness almost always."""
    if length < 1:
        raise ValueError(f"length={length!r} must be 1 or more")
    token = b""
    while len(token) < length:
        token += secrets.token_bytes(length + 8).translate(_TOKEN_CHARACTERS, _UNUSED_BYTES)
    return token[:length].decode()
