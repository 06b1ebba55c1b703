"""The README's "Layout" map is the package's: every directory of modules has its row (or is
named in its parent's), every module is named in it, the tests mirror the rooms, and imports run
one way, as the map says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "constructs_ses"
ROWS: dict[str, str] = {
    str(room): str(text)
    for room, text in re.findall(
        r"^\| `([\w/]+/)` \| (.*) \|$", (REPO / "README.md").read_text().split("## Layout")[1], re.M
    )
}
"""Each room of the map (``constructs_ses/local/flow/``) and what its row says."""
ALLOWED = {
    "constructs_ses.ses": ("constructs_ses.ses",),
    "constructs_ses.checks": (
        "constructs_ses.checks",
        "constructs_ses.ses",
        "constructs_ses.records",
    ),
    "constructs_ses.local.lambda_runtime": ("constructs_ses.local.lambda_runtime",),
    "constructs_ses.local.aws": ("constructs_ses.local.aws", "constructs_ses.local.lambda_runtime"),
    "constructs_ses.local.flow": (
        "constructs_ses.local.flow",
        "constructs_ses.local.lambda_runtime",
        "constructs_ses.local.aws",
        "constructs_ses.ses",
        "constructs_ses.lambda_src",
    ),
    "constructs_ses.local": ("constructs_ses.local",),
}
"""What a module of each room (and of the rooms inside it) may import of the package; the
nearest room decides."""


def modules() -> list[Path]:
    """The package's modules, the handler template (behind the link) left out."""
    return sorted(
        path for path in PACKAGE.rglob("*.py") if "lambda_src" not in path.relative_to(REPO).parts
    )


def row_of(directory: Path) -> str:
    """The map's row of ``directory``, or of its parent when that row names it (``runtime/``)."""
    room = f"{directory.relative_to(REPO).as_posix()}/"
    if room in ROWS:
        return ROWS[room]
    parent = f"{directory.parent.relative_to(REPO).as_posix()}/"
    assert parent in ROWS and f"`{directory.name}/`" in ROWS[parent], (
        f"{room} has no row in the README's Layout, nor is it named in {parent}'s"
    )
    return ROWS[parent]


@pytest.mark.parametrize("module", modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_module_is_named_in_its_room_s_row(module: Path) -> None:
    """A package's ``__init__`` is its room's own; every other module is named."""
    if module.stem == "__init__":
        row_of(module.parent)
        return
    assert f"`{module.stem}`" in row_of(module.parent), (
        f"{module.relative_to(REPO)} is not named in its room's row of the README's Layout"
    )


def test_the_tests_mirror_the_rooms() -> None:
    folders = {
        path.parent.relative_to(REPO / "tests").as_posix()
        for path in (REPO / "tests").rglob("test_*.py")
    }
    assert "." not in folders, "a test module at the top of tests/: put it in its room's folder"
    for folder in folders:
        assert f"`{folder}/`" in ROWS["tests/"], f"tests/{folder}/ is not in the Layout's map"


def imported(module: Path) -> set[str]:
    """The modules of the package that ``module`` imports (at its top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "constructs_ses"}


def module_name(module: Path) -> str:
    return ".".join(module.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("module", modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_imports_run_one_way(module: Path) -> None:
    name = module_name(module)
    rooms = [room for room in ALLOWED if name == room or name.startswith(f"{room}.")]
    if not rooms:  # the constructs: anything but the local side (testing is its door)
        outside = {i for i in imported(module) if i.startswith("constructs_ses.local")}
        assert not outside or name == "constructs_ses.testing", f"{name} imports {outside}"
        return
    allowed = ALLOWED[max(rooms, key=len)]
    against = {
        i for i in imported(module) if not any(i == a or i.startswith(f"{a}.") for a in allowed)
    }
    assert not against, f"{name} imports {sorted(against)}; its room may import only {allowed}"


def test_the_handler_template_imports_nothing_of_the_package() -> None:
    assert imported(REPO / "lambda_src" / "handler.py") == set()
