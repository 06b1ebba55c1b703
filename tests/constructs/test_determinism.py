"""Two synthesis runs of the same app give byte-identical templates and assets."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import REPO, cdk_cli


def digest_tree(directory: Path) -> dict[str, str]:
    """A digest per template and asset file; manifests that hold run-specific paths are left out."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and (path.name.endswith(".template.json") or "asset." in str(path))
    }


def test_example_app_synthesizes_identically_twice(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        result = cdk_cli("synth", "--quiet", "--output", str(out), cwd=REPO)
        assert result.returncode == 0, result.stderr
    first_digests = digest_tree(first)
    assert any(name.endswith(".template.json") for name in first_digests)
    assert any(name.startswith("asset.") for name in first_digests)
    assert first_digests == digest_tree(second)
