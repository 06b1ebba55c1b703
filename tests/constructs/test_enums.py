"""Enums hold the exact SES / CloudFormation strings and accept what users would pass."""

from __future__ import annotations

import pytest
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions

from constructs_ses import Disposition, InvocationType, TlsPolicy
from constructs_ses.enums import enum_member
from constructs_ses.lambda_src import handler as template


def test_values_are_the_cloudformation_and_ses_strings() -> None:
    assert [m.value for m in InvocationType] == ["Event", "RequestResponse"]
    assert [m.value for m in TlsPolicy] == ["Optional", "Require"]
    assert {m.value for m in Disposition} == {"CONTINUE", "STOP_RULE", "STOP_RULE_SET"}
    assert InvocationType("RequestResponse") is InvocationType.REQUEST_RESPONSE
    assert isinstance(InvocationType.EVENT, str)


def test_disposition_is_the_handler_templates_own() -> None:
    assert Disposition is template.Disposition


@pytest.mark.parametrize(
    "value",
    [
        InvocationType.REQUEST_RESPONSE,
        "RequestResponse",
        "REQUEST_RESPONSE",
        ses_actions.LambdaInvocationType.REQUEST_RESPONSE,
    ],
)
def test_coerce_accepts_members_values_names_and_jsii_enums(value: object) -> None:
    assert enum_member(InvocationType, value, "invocation_type") is InvocationType.REQUEST_RESPONSE


def test_coerce_maps_aws_cdk_lib_tls_policy() -> None:
    assert enum_member(TlsPolicy, ses.TlsPolicy.REQUIRE, "tls_policy") is TlsPolicy.REQUIRE


@pytest.mark.parametrize("value", ["Sync", "event", None, 3])
def test_fails_on_unknown_invocation_type(value: object) -> None:
    with pytest.raises(ValueError) as error:
        enum_member(InvocationType, value, "invocation_type")
    message = str(error.value)
    assert f"invocation_type={value!r} is not allowed" in message
    assert "InvocationType.EVENT ('Event')" in message
    assert "InvocationType.REQUEST_RESPONSE ('RequestResponse')" in message
