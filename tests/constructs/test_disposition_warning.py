"""The warning for a function that answers with a disposition under Event invocation: worded for
the code the rule runs, and acknowledged with the id as the CDK CLI prints it."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from constructs import IConstruct

from constructs_ses import InboundEmail, InvocationType
from constructs_ses.scaffold import new_handler

from conftest import cdk_cli, cdk_json_context, inline_function, new_stack

PRINTED_ID = "Annotation::constructs-ses:dispositionIgnored"
"""The id as `cdk synth` prints it: "Acknowledge with 'Annotation::...'"."""
BARE_ID = "constructs-ses:dispositionIgnored"
IGNORED = Match.string_like_regexp("SES ignores the answer")


def warned_rules(stack: cdk.Stack) -> dict[str, str]:
    """The disposition warnings of ``stack``, by the path of their rule."""
    found = Annotations.from_stack(stack).find_warning("*", IGNORED)
    return {each.id: str(each.entry.data) for each in found}


def two_rules(stack: cdk.Stack, handler_directory: Path) -> tuple[InboundEmail, Path]:
    """An Event rule running the packaged template and one running a copy of it."""
    new_handler(handler_directory)
    mail = InboundEmail(stack, "Inbound")
    mail.add_lambda_rule("Packaged")
    mail.add_lambda_rule("Own", handler_directory=handler_directory)
    return mail, handler_directory.resolve()


def test_the_warning_names_what_each_rule_runs(tmp_path: Path) -> None:
    stack = new_stack()
    mail, directory = two_rules(stack, tmp_path / "mail_handler")
    mail.add_lambda_rule("Heard", invocation_type=InvocationType.REQUEST_RESPONSE)
    mail.add_lambda_rule("Mine", function=inline_function(stack))
    assert warned_rules(stack) == {
        "/Mail/Inbound/Rules/Packaged": (
            "this rule runs the packaged handler template, which answers with a disposition, "
            "under InvocationType.EVENT: SES ignores the answer, so it cannot stop mail. Use "
            "InvocationType.REQUEST_RESPONSE to let the disposition control the mail flow. "
            f"[ack: {PRINTED_ID}]"
        ),
        "/Mail/Inbound/Rules/Own": (
            f"this rule runs the handler in handler_directory='{directory}' (a copy of the "
            "handler template, which answers with a disposition) under InvocationType.EVENT: "
            "SES ignores the answer, so it cannot stop mail. Use "
            "InvocationType.REQUEST_RESPONSE to let the disposition control the mail flow; if "
            "your copy only does work of its own (stores or forwards the mail), acknowledge "
            f"this warning. [ack: {PRINTED_ID}]"
        ),
    }


def annotations_acknowledge(scope: IConstruct, warning_id: str) -> None:
    cdk.Annotations.of(scope).acknowledge_warning(warning_id, "stores mail only")


def validations_acknowledge(scope: IConstruct, warning_id: str) -> None:
    cdk.Validations.of(scope).acknowledge(
        cdk.Acknowledgment(id=warning_id, reason="stores mail only")
    )


@pytest.mark.parametrize(
    ("acknowledge", "warning_id"),
    [
        (annotations_acknowledge, PRINTED_ID),
        (validations_acknowledge, PRINTED_ID),
        (validations_acknowledge, BARE_ID),
    ],
    ids=["acknowledge_warning-printed", "Validations-printed", "Validations-bare"],
)
def test_the_warning_is_acknowledged_with_the_printed_id(
    tmp_path: Path, acknowledge: Callable[[IConstruct, str], None], warning_id: str
) -> None:
    stack = new_stack()
    mail, _ = two_rules(stack, tmp_path / "mail_handler")
    acknowledge(mail.rules[1].rule, warning_id)
    assert list(warned_rules(stack)) == ["/Mail/Inbound/Rules/Packaged"]


def test_the_id_in_the_ack_tag_is_the_printed_one() -> None:
    """What `Annotations.from_stack` and cdk.out's metadata show, ``[ack: <id>]``, holds the id
    the CLI prints; acknowledged with it beforehand, the warning is not added at all."""
    stack = new_stack()
    InboundEmail(stack, "Inbound").add_lambda_rule("Packaged")
    (text,) = warned_rules(stack).values()
    tag = re.search(r"\[ack: ([^\]]+)\]", text)
    assert tag is not None
    assert tag.group(1) == PRINTED_ID
    later = new_stack()
    cdk.Annotations.of(later).acknowledge_warning(tag.group(1))
    InboundEmail(later, "Inbound").add_lambda_rule("Packaged")
    assert warned_rules(later) == {}


CLI_APP = """
import os
import aws_cdk as cdk
from constructs_ses import InboundEmail

app = cdk.App()
stack = cdk.Stack(app, "Mail", env=cdk.Environment(account="111111111111", region="us-east-1"))
mail = InboundEmail(stack, "Inbound")
mail.add_lambda_rule("Packaged")
own = mail.add_lambda_rule("Own", handler_directory="mail_handler")
if os.environ.get("ACKNOWLEDGE"):
    cdk.Annotations.of(own.rule).acknowledge_warning(os.environ["ACKNOWLEDGE"], "stores mail")
app.synth()
"""

PRINTED_WARNING = re.compile(
    r"^WARNING (?P<message>.*) \((?:Annotation|Construct Annotations)\)\n"
    r"\s+(?P<path>\S+)(?: \S+)?\n"  # the construct's path, then its type when known
    r"\s+Acknowledge with '(?P<id>[^']+)'$",
    re.MULTILINE,
)


def printed_warnings(output: str) -> dict[str, tuple[str, str]]:
    """The CLI's warnings: (message, id to acknowledge it with) by construct path."""
    return {m["path"]: (m["message"], m["id"]) for m in PRINTED_WARNING.finditer(output)}


def test_the_id_printed_by_cdk_synth_acknowledges_the_warning(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    new_handler(project / "mail_handler")
    (project / "app.py").write_text(textwrap.dedent(CLI_APP))
    (project / "cdk.json").write_text(
        json.dumps({"app": f"{sys.executable} app.py", "context": cdk_json_context()})
    )

    first = cdk_cli("synth", "--quiet", "--no-color", cwd=project)
    assert first.returncode == 0, first.stderr
    printed = printed_warnings(first.stderr)
    assert set(printed) == {"Mail/Inbound/Rules/Packaged", "Mail/Inbound/Rules/Own"}, first.stderr
    message, printed_id = printed["Mail/Inbound/Rules/Own"]
    assert f"handler_directory='{(project / 'mail_handler').resolve()}'" in message
    assert "[ack:" not in message  # the CLI strips the tag and prints the id below

    second = cdk_cli("synth", "--quiet", "--no-color", cwd=project, env={"ACKNOWLEDGE": printed_id})
    assert second.returncode == 0, second.stderr
    assert set(printed_warnings(second.stderr)) == {"Mail/Inbound/Rules/Packaged"}
