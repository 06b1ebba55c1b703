"""AWS CDK v2 constructs for Amazon SES inbound email.

``InboundEmail`` provisions a receipt rule set whose rules invoke Lambda functions with the
invocation type you choose and notify SNS topics; ``SameRegionCheck`` fails synthesis when a rule
uses resources of another region or the region does not receive email.

The constructs live at the top of the package, one file per concept; they build on ``checks``
(the synth-time checks), which build on ``ses`` (SES's own facts), and never the other way.
This module only names the public API: names are imported on first use, so that parts that do
not need aws-cdk-lib (the handler template, the local mail flow, ``python -m constructs_ses``)
start without it.
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from constructs_ses.checks.aspects import ReceiptRuleLimitsCheck, SameRegionCheck
    from constructs_ses.enums import Disposition, InvocationType, TlsPolicy
    from constructs_ses.inbound_email import InboundEmail
    from constructs_ses.lambda_action import LambdaAction, RuleSetLambdaAction
    from constructs_ses.lambda_rule import LambdaRule
    from constructs_ses.lambda_src.handler import Policy as HandlerPolicy
    from constructs_ses.lambda_src.handler import StopVerdict
    from constructs_ses.mail_function import MailFunction
    from constructs_ses.package_files import handler_template_directory
    from constructs_ses.rule_options import LambdaRuleOptions
    from constructs_ses.ses.regions import default_receiving_regions
    from constructs_ses.store_action import StoreMessageAction

_WHERE = MappingProxyType(
    {
        "Disposition": ("constructs_ses.lambda_src.handler", "Disposition"),
        "HandlerPolicy": ("constructs_ses.lambda_src.handler", "Policy"),
        "InboundEmail": ("constructs_ses.inbound_email", "InboundEmail"),
        "InvocationType": ("constructs_ses.enums", "InvocationType"),
        "LambdaAction": ("constructs_ses.lambda_action", "LambdaAction"),
        "LambdaRule": ("constructs_ses.lambda_rule", "LambdaRule"),
        "LambdaRuleOptions": ("constructs_ses.rule_options", "LambdaRuleOptions"),
        "MailFunction": ("constructs_ses.mail_function", "MailFunction"),
        "ReceiptRuleLimitsCheck": ("constructs_ses.checks.aspects", "ReceiptRuleLimitsCheck"),
        "RuleSetLambdaAction": ("constructs_ses.lambda_action", "RuleSetLambdaAction"),
        "SameRegionCheck": ("constructs_ses.checks.aspects", "SameRegionCheck"),
        "StopVerdict": ("constructs_ses.lambda_src.handler", "StopVerdict"),
        "StoreMessageAction": ("constructs_ses.store_action", "StoreMessageAction"),
        "TlsPolicy": ("constructs_ses.enums", "TlsPolicy"),
        "default_receiving_regions": ("constructs_ses.ses.regions", "default_receiving_regions"),
        "handler_template_directory": (
            "constructs_ses.package_files",
            "handler_template_directory",
        ),
    }
)

__all__ = [
    "Disposition",
    "HandlerPolicy",
    "InboundEmail",
    "InvocationType",
    "LambdaAction",
    "LambdaRule",
    "LambdaRuleOptions",
    "MailFunction",
    "ReceiptRuleLimitsCheck",
    "RuleSetLambdaAction",
    "SameRegionCheck",
    "StopVerdict",
    "StoreMessageAction",
    "TlsPolicy",
    "default_receiving_regions",
    "handler_template_directory",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module 'constructs_ses' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
