"""Activation of a receipt rule set at deploy time (CloudFormation cannot do it)."""

from constructs_ses.activation.construct import ACTIVATION_RESOURCE_TYPE, RuleSetActivation

__all__ = ["ACTIVATION_RESOURCE_TYPE", "RuleSetActivation"]
