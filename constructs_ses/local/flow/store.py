"""Where the local flow writes what S3 and SNS actions produce: always under its store directory.

An S3 object key is any sequence of up to 1,024 bytes of UTF-8 ("Naming Amazon S3 objects", Amazon
S3 User Guide), so ``../../x/``, ``/tmp/x/`` and ``a//b`` are keys, and an ``object_key_prefix``
such as these would leave the store directory if a key were joined to it as a path. Here each
``/``-separated segment of a key is one file name instead, encoded so that no key leaves the
directory and no two keys share a file:

- characters other than ASCII letters, digits, ``-``, ``_``, ``.`` and ``~`` are written
  ``%XX`` (their UTF-8 bytes, upper-case hex), so ``support/`` stays ``support/``;
- a leading ``.`` is written ``%2E`` (``..`` becomes ``%2E.``);
- an empty segment (a leading ``/``, or ``//``) is written ``%``;
- a name longer than file systems allow is cut and ends in ``%~`` and a digest of the segment.

None of ``%``, ``%~...`` or ``%2E`` at the start can come from encoding a segment otherwise.
"""

from __future__ import annotations

from pathlib import Path

from constructs_ses.local.lambda_runtime.file_names import store_name

__all__ = ["object_path", "topic_path"]


def object_path(store: Path, bucket: str, key: str) -> Path:
    """The file under ``store`` that holds object ``key`` of ``bucket``."""
    return store.joinpath(store_name(bucket), *(store_name(part) for part in key.split("/")))


def topic_path(store: Path, topic_name: str) -> Path:
    """The file under ``store`` that holds what topic ``topic_name``'s subscribers received,
    one SNS envelope a line: ``sns/<topic>.jsonl``."""
    return store / "sns" / f"{store_name(topic_name)}.jsonl"
