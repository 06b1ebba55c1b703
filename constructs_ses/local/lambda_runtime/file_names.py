"""File names for what the local side keeps in files: any text, one safe name."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

__all__ = ["store_name"]

_MAX_NAME_BYTES = 255
"""The longest file name of common file systems (NAME_MAX)."""
_KEPT_BYTES = 180


def store_name(segment: str) -> str:
    """One file name for ``segment`` (a part of a key without ``/``, a bucket or topic name)."""
    if not segment:
        return "%"
    name = quote(segment, safe="", errors="surrogatepass")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(segment.encode(errors="surrogatepass")).hexdigest()[:32]
        kept = name[:_KEPT_BYTES]
        if "%" in kept[-2:]:  # no escape cut in half
            kept = kept[: kept.rindex("%")]
        name = f"{kept}%~{digest}"
    return name
