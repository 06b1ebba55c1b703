"""The local store keeps every S3 object under its directory, whatever the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_ses.local.flow.store import object_path
from constructs_ses.local.lambda_runtime.file_names import store_name

# S3 object keys: up to 1,024 bytes of UTF-8, any characters ("Naming Amazon S3 objects",
# Amazon S3 User Guide); ".." and "/" included.
keys = st.text(st.sampled_from("./%~-_aZ9 é") | st.characters(codec="utf-8"), max_size=60).filter(
    lambda key: len(key.encode()) <= 1024
)
ROOT = Path("/store")


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("support/0123abc", "support/0123abc"),
        ("../../x/0123abc", "%2E./%2E./x/0123abc"),
        ("/tmp/x/0123abc", "%/tmp/x/0123abc"),
        ("a//b", "a/%/b"),
        ("./.hidden", "%2E/%2Ehidden"),
        ("tickets 2026/ü", "tickets%202026/%C3%BC"),
        ("50%/x", "50%25/x"),
    ],
)
def test_keys_map_to_readable_file_names_inside_the_store(key: str, path: str) -> None:
    assert object_path(ROOT, "archive", key) == ROOT / "archive" / path


def test_a_bucket_or_topic_name_is_one_file_name() -> None:
    assert store_name("../x") == "%2E.%2Fx"
    assert store_name("") == "%"


def test_long_segments_are_cut_to_a_file_name_with_a_digest() -> None:
    first, second = store_name("é" * 200 + "1"), store_name("é" * 200 + "2")
    assert len(first.encode()) <= 255
    assert first != second
    assert "%~" in first
    assert store_name("a" * 300).startswith("a" * 180 + "%~")


@settings(max_examples=500)
@given(key=keys, other=keys)
def test_every_key_stays_inside_the_store_and_keeps_a_file_of_its_own(key: str, other: str) -> None:
    path = object_path(ROOT, "bucket", key)
    parts = path.relative_to(ROOT / "bucket").parts
    assert all(part not in ("", ".", "..") and "/" not in part for part in parts)
    assert all(len(part.encode()) <= 255 for part in parts)
    assert len(parts) == key.count("/") + 1
    if other != key:
        assert object_path(ROOT, "bucket", other) != path


def test_the_worst_keys_are_written_inside_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for key in ("../../escaped", "/tmp/escaped-absolute", "a/../../../escaped", "x/" + "y" * 400):
        path = object_path(store, "bucket", key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        assert path.resolve().is_relative_to(store.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
