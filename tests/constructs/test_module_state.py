"""No module of the package keeps mutable state: what the constructs remember lives on the
construct tree (``constructs_ses.records``), so two apps in one process never share it."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import aws_cdk as cdk
from aws_cdk import aws_ses as ses
from aws_cdk.assertions import Template

import constructs_ses
from constructs_ses import InboundEmail, LambdaAction, SameRegionCheck

from conftest import inline_function, new_stack

MUTABLE = (dict, list, set, bytearray)


def package_modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(constructs_ses.__path__, "constructs_ses.")
        if ".lambda_src" not in info.name and not info.name.endswith("__main__")
    ]
    return [constructs_ses, *(importlib.import_module(name) for name in names)]


def test_no_module_holds_a_mutable_value() -> None:
    found = [
        f"{module.__name__}.{name}: {type(value).__name__}"
        for module in package_modules()
        for name, value in vars(module).items()
        if not name.startswith("__")
        and isinstance(value, MUTABLE)
        and not type(value).__module__.startswith("moto.")  # moto's backends, imported
    ]
    assert found == []


def rule_set_with_plain_rule(app: cdk.App) -> Template:
    """An InboundEmail's rule set, and an aws_ses.ReceiptRule of it with a LambdaAction,
    checked by a SameRegionCheck aspect."""
    stack = new_stack(app, "Mail")
    mail = InboundEmail(stack, "Inbound")
    function = inline_function(stack)
    mail.add_lambda_rule("Own", recipients=["own@example.com"], function=function)
    ses.ReceiptRule(
        stack, "Plain", rule_set=mail.rule_set, actions=[LambdaAction(function=function)]
    )
    cdk.Aspects.of(app).add(SameRegionCheck())
    return Template.from_stack(stack)


def test_two_apps_in_one_process_each_get_their_own_grants_and_checks() -> None:
    first = rule_set_with_plain_rule(cdk.App())
    second = rule_set_with_plain_rule(cdk.App())
    assert first.to_json() == second.to_json()
    assert len(second.find_resources("AWS::SES::ReceiptRule")) == 2
    permissions = second.find_resources("AWS::Lambda::Permission")
    assert len(permissions) == 2  # InboundEmail's and the LambdaAction's own
