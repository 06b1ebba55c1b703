"""The local AWS's ``AWS::SES::EmailIdentity``: each property reaches SES, on create and update.

Templates are deployed through change sets, as the CDK CLI deploys them, and read back through
SESv2's ``GetEmailIdentity`` and ``ListTagsForResource`` ("AWS::SES::EmailIdentity",
CloudFormation User Guide; "GetEmailIdentity", SESv2 API Reference).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_local_cloudformation import events, execute

from constructs_ses.local.aws.local_aws import LocalAws

ACCOUNT = "111111111111"
REGION = "us-east-1"
CONFIGURATION_SETS = ("transactional", "marketing")
PRIVATE_KEY = base64.b64encode(b"a stand-in for a PKCS #1 RSA private key" * 8).decode()
STACK_NUMBERS = itertools.count(1)
FULL = {
    "DkimAttributes": {"SigningEnabled": False},
    "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_1024_BIT"},
    "FeedbackAttributes": {"EmailForwardingEnabled": False},
    "ConfigurationSetAttributes": {"ConfigurationSetName": "transactional"},
    "Tags": [{"Key": "team", "Value": "mail"}, {"Key": "env", "Value": "test"}],
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    """A local AWS with two configuration sets, for identities to name."""
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        for name in CONFIGURATION_SETS:
            local.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        yield local


def identity_template(name: str, **properties: Any) -> dict[str, Any]:
    properties = {"EmailIdentity": name, **properties}
    return {
        "Resources": {"Identity": {"Type": "AWS::SES::EmailIdentity", "Properties": properties}}
    }


def mail_from(domain: str | None = None, behavior: str | None = None) -> dict[str, str]:
    attributes = {"MailFromDomain": domain, "BehaviorOnMxFailure": behavior}
    return {key: value for key, value in attributes.items() if value is not None}


def deploy(aws: LocalAws, stack: str, template: dict[str, Any], kind: str = "CREATE") -> None:
    """Deploy ``template`` as stack ``stack`` through a change set (``kind`` CREATE or UPDATE),
    as the CDK CLI does, and check that it completed."""
    assert execute(aws, stack, template, kind)["StackStatus"] == f"{kind}_COMPLETE"


def deploy_failing(
    aws: LocalAws, stack: str, template: dict[str, Any], kind: str = "CREATE"
) -> str:
    """Deploy ``template`` expecting the operation to fail and roll back, as CloudFormation
    does ("Stack status codes", CloudFormation User Guide); the failed resource's reason."""
    rolled_back = "ROLLBACK_COMPLETE" if kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
    assert execute(aws, stack, template, kind)["StackStatus"] == rolled_back
    (reason,) = [
        reason
        for logical_id, status, reason in events(aws, stack)
        if status == f"{kind}_FAILED" and logical_id != stack
    ]
    return reason


def new_stack_name(prefix: str) -> str:
    """A stack name not used before: a failed create leaves its stack behind."""
    return f"{prefix}{next(STACK_NUMBERS)}"


def identity(aws: LocalAws, name: str) -> dict[str, Any]:
    answer: dict[str, Any] = aws.client("sesv2").get_email_identity(EmailIdentity=name)
    answer.pop("ResponseMetadata")
    return answer


def tags(aws: LocalAws, name: str) -> dict[str, str]:
    arn = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{name}"
    listed = aws.client("sesv2").list_tags_for_resource(ResourceArn=arn)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in listed}


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def assert_absent(aws: LocalAws, name: str) -> None:
    with pytest.raises(ClientError) as error:
        aws.client("sesv2").get_email_identity(EmailIdentity=name)
    assert error_code(error) == "NotFoundException"


def test_an_identity_without_properties_has_ses_s_defaults(aws: LocalAws) -> None:
    deploy(aws, "Defaults", identity_template("defaults.example"))
    made = identity(aws, "defaults.example")
    dkim = made["DkimAttributes"]
    assert len(dkim.pop("Tokens")) == 3
    assert dkim.pop("LastKeyGenerationTimestamp")
    assert dkim == {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": "RSA_2048_BIT",
        "CurrentSigningKeyLength": "RSA_2048_BIT",
    }
    assert made["FeedbackForwardingStatus"] is True
    assert made["MailFromAttributes"] == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    assert made["Tags"] == []
    assert "ConfigurationSetName" not in made
    assert tags(aws, "defaults.example") == {}


def test_each_property_reaches_the_identity_on_create(aws: LocalAws) -> None:
    template = identity_template(
        "create.example",
        **FULL,
        MailFromAttributes=mail_from("bounce.create.example", "REJECT_MESSAGE"),
    )
    deploy(aws, "Create", template)
    made = identity(aws, "create.example")
    assert made["DkimAttributes"]["SigningEnabled"] is False
    assert made["DkimAttributes"]["NextSigningKeyLength"] == "RSA_1024_BIT"
    assert made["DkimAttributes"]["CurrentSigningKeyLength"] == "RSA_1024_BIT"
    assert made["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES"
    assert made["MailFromAttributes"] == {
        "MailFromDomain": "bounce.create.example",
        "MailFromDomainStatus": "SUCCESS",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }
    assert made["FeedbackForwardingStatus"] is False
    assert made["ConfigurationSetName"] == "transactional"
    assert made["Tags"] == FULL["Tags"]
    assert tags(aws, "create.example") == {"team": "mail", "env": "test"}


def test_an_email_address_identity_takes_its_properties(aws: LocalAws) -> None:
    template = identity_template(
        "sender@address.example",
        DkimAttributes={"SigningEnabled": True},
        FeedbackAttributes={"EmailForwardingEnabled": False},
        MailFromAttributes=mail_from("bounce.address.example"),
        Tags=[{"Key": "team", "Value": "mail"}],
    )
    deploy(aws, "Address", template)
    made = identity(aws, "sender@address.example")
    assert made["IdentityType"] == "EMAIL_ADDRESS"
    assert made["DkimAttributes"]["SigningEnabled"] is True
    assert made["FeedbackForwardingStatus"] is False
    assert made["MailFromAttributes"]["MailFromDomain"] == "bounce.address.example"
    assert tags(aws, "sender@address.example") == {"team": "mail"}


def test_a_boolean_a_parameter_gives_as_text_reaches_the_identity(aws: LocalAws) -> None:
    template = identity_template(
        "parameter.example",
        DkimAttributes={"SigningEnabled": {"Ref": "Signing"}},
        FeedbackAttributes={"EmailForwardingEnabled": {"Ref": "Forwarding"}},
    )
    template["Parameters"] = {
        "Signing": {"Type": "String", "Default": "false"},
        "Forwarding": {"Type": "String", "Default": "False"},
    }
    deploy(aws, "Parameter", template)
    made = identity(aws, "parameter.example")
    assert made["DkimAttributes"]["SigningEnabled"] is False
    assert made["FeedbackForwardingStatus"] is False


def test_ses_v1_reads_the_mail_from_domain_and_feedback_forwarding_too(aws: LocalAws) -> None:
    template = identity_template(
        "v1.example",
        FeedbackAttributes={"EmailForwardingEnabled": False},
        MailFromAttributes=mail_from("bounce.v1.example", "REJECT_MESSAGE"),
    )
    deploy(aws, "V1", template)
    ses = aws.client("ses")
    mail_from_v1 = ses.get_identity_mail_from_domain_attributes(Identities=["v1.example"])
    assert mail_from_v1["MailFromDomainAttributes"]["v1.example"] == {
        "MailFromDomain": "bounce.v1.example",
        "MailFromDomainStatus": "Success",
        "BehaviorOnMXFailure": "RejectMessage",
    }
    notification = ses.get_identity_notification_attributes(Identities=["v1.example"])
    assert notification["NotificationAttributes"]["v1.example"]["ForwardingEnabled"] is False


def test_an_update_in_place_changes_and_removes_properties(aws: LocalAws) -> None:
    template = identity_template(
        "update.example",
        **FULL,
        MailFromAttributes=mail_from("bounce.update.example", "REJECT_MESSAGE"),
    )
    deploy(aws, "Update", template)
    before = identity(aws, "update.example")["DkimAttributes"]
    updated = identity_template(
        "update.example",
        MailFromAttributes=mail_from("return.update.example"),
        ConfigurationSetAttributes={"ConfigurationSetName": "marketing"},
        Tags=[{"Key": "team", "Value": "inbound"}, {"Key": "cost", "Value": "42"}],
    )
    deploy(aws, "Update", updated, "UPDATE")
    made = identity(aws, "update.example")
    dkim = made["DkimAttributes"]
    assert dkim["Tokens"] == before["Tokens"]  # the same identity, updated, not replaced
    assert dkim["SigningEnabled"] is True
    assert dkim["NextSigningKeyLength"] == "RSA_2048_BIT"
    assert dkim["CurrentSigningKeyLength"] == "RSA_1024_BIT"  # until SES makes the next pair
    assert made["MailFromAttributes"] == {
        "MailFromDomain": "return.update.example",
        "MailFromDomainStatus": "SUCCESS",
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }
    assert made["FeedbackForwardingStatus"] is True
    assert made["ConfigurationSetName"] == "marketing"
    assert tags(aws, "update.example") == {"team": "inbound", "cost": "42"}

    deploy(aws, "Update", identity_template("update.example"), "UPDATE")
    made = identity(aws, "update.example")
    assert made["MailFromAttributes"] == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    assert "ConfigurationSetName" not in made
    assert made["Tags"] == []
    assert tags(aws, "update.example") == {}


def test_an_update_switches_to_byodkim_and_back_to_easy_dkim(aws: LocalAws) -> None:
    deploy(aws, "Byodkim", identity_template("byodkim.example"))
    easy = identity(aws, "byodkim.example")["DkimAttributes"]
    byodkim = {"DomainSigningSelector": "mail2026", "DomainSigningPrivateKey": PRIVATE_KEY}
    template = identity_template("byodkim.example", DkimSigningAttributes=byodkim)
    deploy(aws, "Byodkim", template, "UPDATE")
    assert identity(aws, "byodkim.example")["DkimAttributes"] == {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "Tokens": ["mail2026"],
        "SigningAttributesOrigin": "EXTERNAL",
    }
    deploy(aws, "Byodkim", identity_template("byodkim.example"), "UPDATE")
    dkim = identity(aws, "byodkim.example")["DkimAttributes"]
    assert dkim["SigningAttributesOrigin"] == "AWS_SES"
    assert dkim["Tokens"] == easy["Tokens"]
    assert dkim["NextSigningKeyLength"] == "RSA_2048_BIT"


def test_a_renamed_identity_is_replaced_by_one_with_the_properties(aws: LocalAws) -> None:
    deploy(aws, "Rename", identity_template("old.example", Tags=[{"Key": "team", "Value": "a"}]))
    renamed = identity_template(
        "new.example",
        FeedbackAttributes={"EmailForwardingEnabled": False},
        Tags=[{"Key": "team", "Value": "b"}],
    )
    deploy(aws, "Rename", renamed, "UPDATE")
    assert identity(aws, "new.example")["FeedbackForwardingStatus"] is False
    assert tags(aws, "new.example") == {"team": "b"}
    assert_absent(aws, "old.example")
    assert tags(aws, "old.example") == {}


def test_an_identity_made_again_after_its_stack_is_deleted_has_the_defaults(
    aws: LocalAws,
) -> None:
    template = identity_template(
        "again.example",
        **FULL,
        MailFromAttributes=mail_from("bounce.again.example", "REJECT_MESSAGE"),
    )
    deploy(aws, "Again", template)
    assert tags(aws, "again.example") == {"team": "mail", "env": "test"}
    aws.client("cloudformation").delete_stack(StackName="Again")
    assert_absent(aws, "again.example")
    deploy(aws, "AgainAfter", identity_template("again.example"))
    made = identity(aws, "again.example")
    assert made["MailFromAttributes"] == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    assert made["FeedbackForwardingStatus"] is True
    assert tags(aws, "again.example") == {}


@pytest.mark.parametrize(
    "domain",
    ["bounce.other.example", "mailfrom.example", "notmailfrom.example"],
    ids=["another domain", "the identity itself", "a name ending like it"],
)
def test_fails_to_create_an_identity_whose_mail_from_domain_is_not_its_subdomain(
    aws: LocalAws, domain: str
) -> None:
    template = identity_template("mailfrom.example", MailFromAttributes=mail_from(domain))
    assert "is not subdomain" in deploy_failing(aws, new_stack_name("MailFrom"), template)
    assert_absent(aws, "mailfrom.example")


def test_fails_to_give_an_email_address_dkim_signing_attributes(aws: LocalAws) -> None:
    signing = {"NextSigningKeyLength": "RSA_1024_BIT"}
    template = identity_template("sender@nodkim.example", DkimSigningAttributes=signing)
    reason = deploy_failing(aws, "AddressDkim", template)
    assert "DkimSigningAttributes can only be specified for a domain identity" in reason
    assert_absent(aws, "sender@nodkim.example")


@pytest.mark.parametrize(
    "signing",
    [
        {"DomainSigningSelector": "mail2026"},
        {"DomainSigningPrivateKey": PRIVATE_KEY},
        {"DomainSigningSelector": "mail_2026", "DomainSigningPrivateKey": PRIVATE_KEY},
        {"DomainSigningSelector": "mail2026", "DomainSigningPrivateKey": "-----BEGIN RSA"},
    ],
    ids=["selector without key", "key without selector", "bad selector", "key not base64"],
)
def test_fails_to_create_byodkim_without_a_selector_and_key_as_ses_takes_them(
    aws: LocalAws, signing: dict[str, str]
) -> None:
    template = identity_template("badkey.example", DkimSigningAttributes=signing)
    assert "DomainSigning" in deploy_failing(aws, new_stack_name("BadKey"), template)
    assert_absent(aws, "badkey.example")


def test_fails_an_update_ses_would_refuse_leaving_the_identity_as_it_was(aws: LocalAws) -> None:
    good = identity_template(
        "refused.example",
        MailFromAttributes=mail_from("bounce.refused.example"),
        Tags=[{"Key": "team", "Value": "mail"}],
    )
    deploy(aws, "Refused", good)
    refused = identity_template(
        "refused.example",
        MailFromAttributes=mail_from("bounce.elsewhere.example"),
        Tags=[{"Key": "team", "Value": "other"}],
    )
    assert "is not subdomain" in deploy_failing(aws, "Refused", refused, "UPDATE")
    made = identity(aws, "refused.example")
    assert made["MailFromAttributes"]["MailFromDomain"] == "bounce.refused.example"
    assert tags(aws, "refused.example") == {"team": "mail"}
