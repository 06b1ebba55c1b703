"""``AWS::SES::EmailIdentity``, which moto's CloudFormation skips: made in moto's SES backend, a
domain's with its three Easy DKIM tokens."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ses.exceptions import AlreadyExists
from moto.ses.models import ses_backends

from constructs_ses.local.aws.cloudformation.model_base import Model
from constructs_ses.local.aws.ids import random_token

__all__ = ["SesEmailIdentity"]


class SesEmailIdentity(Model, CloudFormationModel):
    """``AWS::SES::EmailIdentity``, which moto has no model for: an identity of moto's SES
    backend (SESv2's ``GetEmailIdentity`` shows it, verified at once), ``Ref`` its name. A
    domain gets Easy DKIM's three tokens, which ``Fn::GetAtt`` reads as ``DkimDNSTokenName1``..3
    (``<token>._domainkey.<domain>``) and ``DkimDNSTokenValue1``..3
    (``<token>.dkim.amazonses.com``) ("AWS::SES::EmailIdentity", CloudFormation User Guide;
    "Easy DKIM in Amazon SES", Amazon SES Developer Guide)."""

    TYPE = "AWS::SES::EmailIdentity"
    NAME_PROPERTY = "EmailIdentity"
    DKIM_TOKENS = 3

    def __init__(self, name: str, tokens: list[str], account_id: str, region: str) -> None:
        self.name = name
        self.physical_id = name
        self.tokens = tokens
        self.account_id = account_id
        self.region_name = region

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr.rstrip("123") in ("DkimDNSTokenName", "DkimDNSTokenValue")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        token = self.tokens[int(attribute_name[-1]) - 1]
        if attribute_name.startswith("DkimDNSTokenName"):
            return f"{token}._domainkey.{self.name}"
        return f"{token}.dkim.amazonses.com"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesEmailIdentity:
        name = str(cloudformation_json["Properties"].get("EmailIdentity", resource_name))
        backend = ses_backends[account_id][region_name]
        if name in backend.email_identities:
            raise AlreadyExists(f"Email identity {name} already exists.")  # as SES refuses it
        identity = backend.create_email_identity_v2(name, None, {}, None)
        tokens = [] if "@" in name else [random_token(32) for _ in range(cls.DKIM_TOKENS)]
        if tokens:
            identity.dkim_attributes.update(
                {"SigningEnabled": True, "Status": "SUCCESS", "Tokens": tokens}
            )
        return cls(name, tokens, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesEmailIdentity,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesEmailIdentity:
        name = cloudformation_json["Properties"].get("EmailIdentity", new_resource_name)
        if name == original_resource.name:
            return original_resource
        return cls.replacement(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        ses_backends[account_id][region_name].email_identities.pop(self.name, None)
