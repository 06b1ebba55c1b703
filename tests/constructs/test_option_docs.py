"""add_lambda_rule's options are one object (``LambdaRuleOptions``); its signature, its
docstring, the options and the README's table name the same options in the same order, with the
same defaults, so that none of them can drift from the others."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

from constructs_ses import InboundEmail, LambdaRuleOptions

from conftest import REPO

SIGNATURE = inspect.signature(InboundEmail.add_lambda_rule)
KEYWORDS = [name for name, p in SIGNATURE.parameters.items() if p.kind is p.KEYWORD_ONLY]


def readme_table_arguments() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("### `InboundEmail.add_lambda_rule(", 1)[1].split("\n\n`LambdaRule`", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def docstring_parameters() -> list[str]:
    names = re.findall(r":param (\w+):", inspect.getdoc(InboundEmail.add_lambda_rule) or "")
    return [name for name in names if name != "construct_id"]


def test_the_signature_the_options_the_docstring_and_the_readme_name_the_same_options() -> None:
    options = [field.name for field in dataclasses.fields(LambdaRuleOptions)]
    assert options == KEYWORDS
    assert docstring_parameters() == options
    assert readme_table_arguments() == options


@pytest.mark.parametrize("name", KEYWORDS)
def test_the_signature_and_the_options_have_the_same_default(name: str) -> None:
    (field,) = [f for f in dataclasses.fields(LambdaRuleOptions) if f.name == name]
    assert SIGNATURE.parameters[name].default == field.default


def test_fails_to_make_options_that_contradict_each_other() -> None:
    with pytest.raises(ValueError, match="object_key_prefix"):
        LambdaRuleOptions(object_key_prefix="support/")  # a prefix without a bucket


def test_options_hold_enum_members_once_checked() -> None:
    options = LambdaRuleOptions(invocation_type="RequestResponse", tls_policy="Require")
    assert options.invocation.value == "RequestResponse"
    assert options.tls.value == "Require"
