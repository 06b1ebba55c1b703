"""State the constructs keep on the construct tree: one record of each kind per app, stack or
construct.

A record is an attribute of the construct's Python object (jsii hands back the same object for a
construct every time), so it lives and goes with its app, and two apps in one process never see
each other's records.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["record_of"]

RECORDS_ATTRIBUTE = "_constructs_ses_records"

Record = TypeVar("Record")


def record_of(holder: Any, kind: type[Record]) -> Record:
    """The ``kind`` record of ``holder`` (an app, a stack or another construct), made empty on
    first use."""
    records: dict[type[Any], Any] | None = getattr(holder, RECORDS_ATTRIBUTE, None)
    if records is None:
        records = {}
        setattr(holder, RECORDS_ATTRIBUTE, records)
    found = records.get(kind)
    if found is None:
        found = records[kind] = kind()
    record: Record = found
    return record
