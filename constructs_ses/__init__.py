"""AWS CDK v2 constructs for Amazon SES inbound email.

``InboundEmail`` provisions a receipt rule set whose rules invoke Lambda functions with the
invocation type you choose and notify SNS topics; ``SameRegionCheck`` fails synthesis when a rule
uses resources of another region or the region does not receive email.
"""

from constructs_ses.assets import handler_template_directory
from constructs_ses.enums import Disposition, InvocationType, TlsPolicy
from constructs_ses.inbound_email import InboundEmail
from constructs_ses.lambda_action import LambdaAction
from constructs_ses.lambda_rule import LambdaRule
from constructs_ses.lambda_src.handler import Policy as HandlerPolicy
from constructs_ses.lambda_src.handler import StopVerdict
from constructs_ses.limits_check import ReceiptRuleLimitsCheck
from constructs_ses.region_check import SameRegionCheck
from constructs_ses.regions import default_receiving_regions
from constructs_ses.store_action import StoreMessageAction

__all__ = [
    "Disposition",
    "HandlerPolicy",
    "InboundEmail",
    "InvocationType",
    "LambdaAction",
    "LambdaRule",
    "ReceiptRuleLimitsCheck",
    "SameRegionCheck",
    "StopVerdict",
    "StoreMessageAction",
    "TlsPolicy",
    "default_receiving_regions",
    "handler_template_directory",
]
