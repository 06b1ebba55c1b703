"""RuleSetActivation: makes a receipt rule set the active one at deploy time."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_ses.acknowledgements import acknowledge_wildcard_resource
from constructs_ses.assets import handler_code
from constructs_ses.mail_function import MailFunction
from constructs_ses.package_files import package_directory

__all__ = ["ACTIVATION_RESOURCE_TYPE", "RuleSetActivation"]

ACTIVATION_RESOURCE_TYPE = "Custom::SesActiveReceiptRuleSet"
RUNTIME_PACKAGE = "constructs_ses.activation.runtime"
ACTIVATION_ACTIONS = ("ses:DescribeActiveReceiptRuleSet", "ses:SetActiveReceiptRuleSet")
ALL_RESOURCES = "*"


class RuleSetActivation(Construct):
    """A custom resource that activates a rule set on deploy and deactivates it on delete.

    It refuses to replace another active rule set unless ``replace_active``, and on delete
    deactivates the rule set only while it is still the active one. Make it depend on the rule set
    and its rules, so that it activates a complete set and deactivates it before it is deleted.

    :param rule_set_name: the name of the rule set to activate.
    :param replace_active: replace another active rule set. Default: False (the deployment fails
        and names the active rule set).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str,
        replace_active: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = MailFunction(
            self,
            "Handler",
            description="Activates an SES receipt rule set (constructs-ses)",
            handler="handler.on_event",
            code=handler_code(package_directory(RUNTIME_PACKAGE)),
            timeout=Duration.minutes(2),
        )
        """The custom resource's handler."""
        access = iam.Policy(
            self,
            "RuleSetAccess",
            roles=[self.function.execution_role],
            statements=[
                iam.PolicyStatement(actions=list(ACTIVATION_ACTIONS), resources=[ALL_RESOURCES])
            ],
        )
        acknowledge_wildcard_resource(
            access,
            ALL_RESOURCES,
            f"{' and '.join(ACTIVATION_ACTIONS)} have no resource-level permissions (Service "
            "Authorization Reference, Amazon SES): IAM accepts them only on Resource '*'. The "
            "role belongs to this custom resource's function alone.",
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=ACTIVATION_RESOURCE_TYPE,
            properties={
                "RuleSetName": rule_set_name,
                "ReplaceActive": "true" if replace_active else "false",
            },
        )
        """The ``Custom::SesActiveReceiptRuleSet`` resource."""
        self.resource.node.add_dependency(access)  # creating the resource invokes the function
