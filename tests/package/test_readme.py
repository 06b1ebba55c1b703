"""Every ```python block of README.md runs as written.

A block runs on its own, in a fresh namespace and a temporary working directory, unless the
line before its fence is a marker, an HTML comment that GitHub does not show:

    <!-- readme-test: prelude NAME; fill OLD => NEW -->
    <!-- readme-test: skip REASON -->

``prelude NAME`` runs ``PRELUDES[NAME]`` (below) first, for a fragment that uses names it does
not define (``stack``, ``mail``, ...); ``fill OLD => NEW`` replaces a placeholder the reader fills
in (``Bucket=...``), and fails when the block no longer holds ``OLD``; ``skip REASON`` leaves a
block that is not meant to run here, saying why. After a block, an ``app`` it or its prelude
made is synthesized, so that its constructs pass the synth-time checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, run

STACK = """
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Mail", env=cdk.Environment(account="111111111111", region="us-east-1"))
my_function = lambda_.Function(
    stack, "MyFunction", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
    code=lambda_.Code.from_inline("def handler(event, context):\\n    return None\\n"),
)
"""

PRELUDES = {
    # A stack of an app, and a function of it.
    "stack": STACK,
    # An app and nothing in it.
    "app": "import aws_cdk as cdk\napp = cdk.App()\n",
    # An InboundEmail in a stack, and a copy of the handler template in ./mail_handler.
    "inbound": STACK
    + """
from constructs_ses import InboundEmail
from constructs_ses.scaffold import new_handler

mail = InboundEmail(stack, "Inbound")
new_handler("mail_handler")
""",
    # The code directory of the function in "Using the constructs in your own CDK app".
    "tickets": """
from pathlib import Path

Path("tickets").mkdir()
Path("tickets", "app.py").write_text("def handler(event, context):\\n    return None\\n")
""",
    # A stack whose rule stores support@'s mail in the bucket "archive" under "support/", then
    # runs the packaged template (RequestResponse), and a message for it.
    "local-flow": STACK
    + """
from aws_cdk import aws_s3 as s3
from constructs_ses import InboundEmail, InvocationType

InboundEmail(stack, "Inbound").add_lambda_rule(
    "Support", recipients=["support@example.com"],
    bucket=s3.Bucket(stack, "Archive", bucket_name="archive"), object_key_prefix="support/",
    invocation_type=InvocationType.REQUEST_RESPONSE,
)
raw_message = (
    "From: Jane <jane@sender.example>\\r\\nTo: support@example.com\\r\\nSubject: Hello\\r\\n"
    "Message-ID: <1@sender.example>\\r\\n\\r\\nIt does not work.\\r\\n"
)
""",
    # The pinned CDK CLI on PATH, and ./cdk.out: an app of account 123456789012 whose rule set
    # "inbound" has one rule.
    "assembly": f"""
import os
os.environ["PATH"] = {str(REPO / "node_modules" / ".bin")!r} + os.pathsep + os.environ["PATH"]
os.environ["CDK_DISABLE_CLI_TELEMETRY"] = "true"
import aws_cdk as cdk
from constructs_ses import InboundEmail

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(app, "Mail", env=cdk.Environment(account="123456789012", region="us-east-1"))
InboundEmail(stack, "Inbound", rule_set_name="inbound").add_lambda_rule("Support")
app.synth()
""",
}
"""The names a marked block may ask for: code run before it."""

MARKER = re.compile(r"^<!-- readme-test: (?P<directives>.*) -->$")
FENCE = re.compile(r"^```(?P<language>\S*)$")


@dataclass(frozen=True)
class Block:
    """A ```python block of the README and what its marker asks."""

    name: str
    line: int
    code: str
    preludes: tuple[str, ...] = ()
    fills: tuple[tuple[str, str], ...] = ()
    skip: str | None = None

    def source(self) -> str:
        """The code to run: preludes, then the block with its placeholders filled in."""
        code = self.code
        for old, new in self.fills:
            assert old in code, f"README.md:{self.line}: the block no longer holds {old!r}"
            code = code.replace(old, new)
        return "".join(PRELUDES[name] + "\n" for name in self.preludes) + code


def parse_marker(directives: str, line: int) -> dict[str, Any]:
    """The preludes, fills and skip reason of a marker."""
    preludes: list[str] = []
    fills: list[tuple[str, str]] = []
    skip: str | None = None
    for directive in (d.strip() for d in directives.split(";")):
        word, _, rest = directive.partition(" ")
        if word == "prelude" and rest in PRELUDES:
            preludes.append(rest)
        elif word == "fill" and " => " in rest:
            old, new = rest.split(" => ", 1)
            fills.append((old, new))
        elif word == "skip" and rest.strip():
            skip = rest.strip()
        else:
            raise ValueError(
                f"README.md:{line}: marker directive {directive!r} is not one of 'prelude NAME' "
                f"(NAME one of {sorted(PRELUDES)}), 'fill OLD => NEW' or 'skip REASON'"
            )
    return {"preludes": tuple(preludes), "fills": tuple(fills), "skip": skip}


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of ``text``, named after their section; a marker not followed by
    one is an error."""
    blocks: list[Block] = []
    lines = text.splitlines()
    heading, in_section, marker, fence = "top", 0, None, None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        opened = FENCE.match(line)
        if fence is not None:
            if line == "```":
                if fence[0] == "python":
                    in_section += 1
                    blocks.append(
                        Block(
                            f"{heading}-{in_section}",
                            fence[1],
                            textwrap.dedent("\n".join(body)) + "\n",
                            **(marker or {}),
                        )
                    )
                fence, body, marker = None, [], None
            else:
                body.append(line)
            continue
        if marker is not None and (opened is None or opened["language"] != "python"):
            raise ValueError(f"README.md:{number - 1}: a marker must come right before ```python")
        if opened is not None:
            fence = (opened["language"], number)
        elif line.startswith("#"):
            heading = re.sub(r"[^A-Za-z0-9]+", "-", line.lstrip("#")).strip("-").lower()
            in_section = 0
        elif found := MARKER.match(line):
            marker = parse_marker(found["directives"], number)
    return blocks


EPILOGUE = """
if isinstance(globals().get("app"), __import__("aws_cdk").App):
    app.synth()
"""
"""Synthesizes the ``app`` a block or its prelude made, so that its constructs are checked."""


def run_block(block: Block, directory: Path) -> subprocess.CompletedProcess[str]:
    """Run ``block`` as a program of its own in ``directory``, as a user's app runs (relative
    asset paths included); then synthesize its ``app``, if any."""
    (directory / "readme_block.py").write_text(block.source() + EPILOGUE)
    return run([sys.executable, "readme_block.py"], cwd=directory)


BLOCKS = python_blocks((REPO / "README.md").read_text())


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    if block.skip is not None:
        pytest.skip(f"README.md:{block.line}: {block.skip}")
    result = run_block(block, tmp_path)
    assert result.returncode == 0, f"README.md:{block.line} does not run:\n{result.stderr}"


def test_fails_on_a_block_that_does_not_run(tmp_path: Path) -> None:
    """A new block that needs names it does not define fails until marked with a prelude."""
    (block,) = python_blocks("# New\n\n```python\nmail.add_lambda_rule('New')\n```\n")
    failed = run_block(block, tmp_path)
    assert failed.returncode != 0
    assert "NameError: name 'mail' is not defined" in failed.stderr
    (fragment,) = python_blocks(
        "<!-- readme-test: prelude inbound -->\n```python\nmail.add_lambda_rule('New')\n```\n"
    )
    assert run_block(fragment, tmp_path).returncode == 0


def test_fails_on_a_marker_without_its_block_or_with_an_unknown_directive() -> None:
    with pytest.raises(ValueError, match=r"README.md:1: a marker must come right before"):
        python_blocks("<!-- readme-test: prelude stack -->\n\n```python\npass\n```\n")
    with pytest.raises(ValueError, match=r"README.md:1: marker directive 'prelude nothing'"):
        python_blocks("<!-- readme-test: prelude nothing -->\n```python\npass\n```\n")


def test_fails_on_a_fill_whose_placeholder_is_gone() -> None:
    (block,) = python_blocks(
        "<!-- readme-test: fill Bucket=... => Bucket='x' -->\n```python\npass\n```\n"
    )
    with pytest.raises(AssertionError, match=r"no longer holds 'Bucket=\.\.\.'"):
        block.source()


def test_no_block_is_left_unrun() -> None:
    """A block marked skip must be named here, with its reason in the README."""
    skipped = {block.name: block.skip for block in BLOCKS if block.skip is not None}
    assert list(skipped) == []
