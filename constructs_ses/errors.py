"""Errors about a user's input, located at the construct that received it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["at_construct", "child_path"]


@contextmanager
def at_construct(path: str) -> Iterator[None]:
    """Re-raise a ValueError raised inside the block with the construct path in front."""
    try:
        yield
    except ValueError as error:
        raise ValueError(f"[{path}] {error}") from None


def child_path(scope_path: str, construct_id: str) -> str:
    """The path a construct with ``construct_id`` gets under a scope with ``scope_path``."""
    return f"{scope_path}/{construct_id}" if scope_path else construct_id
