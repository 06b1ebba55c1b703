"""Telling tokens from literal values, without a call to aws-cdk-lib for plain strings."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Token

__all__ = ["TOKEN_MARK", "is_unresolved"]

TOKEN_MARK = "${Token["
"""How every string token begins."""

_ANY_TOKEN_MARK = "{Token["
_STRING_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")
"""aws-cdk-lib's encoding of a token in a string."""


def is_unresolved(value: Any) -> bool:
    """``Token.is_unresolved(value)``, answered here for strings without a token mark and for
    those with a string token (the values the checks meet most)."""
    if isinstance(value, str):
        if _ANY_TOKEN_MARK not in value:
            return False
        if _STRING_TOKEN.search(value):
            return True
    return bool(Token.is_unresolved(value))
