"""``AWS::SES::EmailIdentity``, which moto's CloudFormation skips: an identity of moto's SES
backend with each of the resource's properties as SESv2's ``GetEmailIdentity`` shows it, on
create and on update, and SES's default for a property the template leaves out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.ses.exceptions import AlreadyExists, SesError
from moto.ses.models import EmailIdentity, SESBackend, ses_backends
from moto.ses.utils import get_arn
from moto.sesv2.models import SESV2Backend, sesv2_backends

from constructs_ses.local.aws.cloudformation.model_base import Model
from constructs_ses.local.aws.ids import random_token

__all__ = ["SesEmailIdentity"]

EASY_DKIM_KEY_LENGTH = "RSA_2048_BIT"
"""The key length of a new identity's Easy DKIM unless it asks for 1024 bits ("DKIM signing key
length", "Authenticating Email with DKIM in Amazon SES", Amazon SES Developer Guide)."""
SELECTOR = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
PRIVATE_KEY = re.compile(r"[a-zA-Z0-9+/]{1,20480}={0,2}")
"""A BYODKIM selector and private key as SES takes them ("DkimSigningAttributes", SESv2 API
Reference)."""
MX_FAILURE_V1 = MappingProxyType(
    {"USE_DEFAULT_VALUE": "UseDefaultValue", "REJECT_MESSAGE": "RejectMessage"}
)
"""SESv2's ``BehaviorOnMxFailure`` values as SES v1 (and moto, which keeps the MAIL FROM domain
where SES v1's ``SetIdentityMailFromDomain`` puts it) spells them."""


class BadRequestError(SesError):
    code = "BadRequestException"


class SesIdentity(EmailIdentity):
    """moto's identity, which also answers ``MailFromAttributes`` in ``GetEmailIdentity``
    (moto's leaves it out), from what moto's SES keeps of the identity's MAIL FROM domain."""

    def __init__(self, name: str, account_id: str, region: str) -> None:
        super().__init__(name, None, None, None)
        self.account_id = account_id
        self.region_name = region

    @property
    def get_response_object(self) -> dict[str, Any]:
        backend = ses_backends[self.account_id][self.region_name]
        kept = backend.identity_mail_from_domains.get(self.email_identity, {})
        behavior = kept.get("behavior_on_mx_failure") or "UseDefaultValue"
        attributes = {
            "BehaviorOnMxFailure": next(v2 for v2, v1 in MX_FAILURE_V1.items() if v1 == behavior)
        }
        if kept.get("mail_from_domain"):
            attributes["MailFromDomain"] = kept["mail_from_domain"]
            attributes["MailFromDomainStatus"] = "SUCCESS"  # verified at once, as the identity
        response: dict[str, Any] = super().get_response_object
        return {**response, "MailFromAttributes": attributes}


class SesEmailIdentity(Model, CloudFormationModel):
    """``AWS::SES::EmailIdentity``, which moto has no model for: an identity of moto's SES
    backend (SESv2's ``GetEmailIdentity`` shows it, verified at once), ``Ref`` its name. A
    domain gets Easy DKIM's three tokens, which ``Fn::GetAtt`` reads as ``DkimDNSTokenName1``..3
    (``<token>._domainkey.<domain>``) and ``DkimDNSTokenValue1``..3
    (``<token>.dkim.amazonses.com``) ("AWS::SES::EmailIdentity", CloudFormation User Guide;
    "Easy DKIM in Amazon SES", Amazon SES Developer Guide).

    Its properties reach the identity on create and on update, each as ``GetEmailIdentity``
    answers it ("GetEmailIdentity", "CreateEmailIdentity", "PutEmailIdentityDkimAttributes",
    "PutEmailIdentityDkimSigningAttributes", "PutEmailIdentityMailFromAttributes",
    "PutEmailIdentityFeedbackAttributes", "PutEmailIdentityConfigurationSetAttributes",
    "TagResource", SESv2 API Reference); one left out, or removed by an update, is SES's default:

    - ``DkimAttributes.SigningEnabled``: ``DkimAttributes.SigningEnabled`` (default true for a
      domain, moto's false for an address);
    - ``DkimSigningAttributes`` (a domain's only, as SES refuses them for an address):
      ``DomainSigningSelector`` with ``DomainSigningPrivateKey`` is BYODKIM
      (``SigningAttributesOrigin`` ``EXTERNAL``, the selector as the only token); otherwise Easy
      DKIM (``AWS_SES``, the three tokens) with ``NextSigningKeyLength`` (default
      ``RSA_2048_BIT``); ``CurrentSigningKeyLength`` and ``LastKeyGenerationTimestamp`` are
      those of the key pair in use, which a new ``NextSigningKeyLength`` does not change at once;
    - ``MailFromAttributes``: ``MailFromAttributes`` (``MailFromDomain``, a subdomain of the
      identity's domain, ``SUCCESS`` at once; ``BehaviorOnMxFailure``, default
      ``USE_DEFAULT_VALUE``), kept by moto's SES v1 ``SetIdentityMailFromDomain``;
    - ``FeedbackAttributes.EmailForwardingEnabled``: ``FeedbackForwardingStatus`` (default
      true), also through moto's ``SetIdentityFeedbackForwardingEnabled``;
    - ``ConfigurationSetAttributes.ConfigurationSetName``: ``ConfigurationSetName`` (default
      none; not checked against the configuration sets, as ``AWS::SES::ConfigurationSet`` has
      no model here);
    - ``Tags``: ``Tags``, and ``ListTagsForResource`` of the identity's ARN
      (``arn:aws:ses:<region>:<account>:identity/<name>``).

    A property SES would refuse (a MAIL FROM domain outside the identity's, a BYODKIM selector
    without its key or not as SES takes it, DKIM signing attributes for an address) fails the
    operation before anything changes."""

    TYPE = "AWS::SES::EmailIdentity"
    NAME_PROPERTY = "EmailIdentity"
    DKIM_TOKENS = 3

    def __init__(self, name: str, tokens: list[str], account_id: str, region: str) -> None:
        self.name = name
        self.physical_id = name
        self.tokens = tokens
        self.account_id = account_id
        self.region_name = region

    def attributes(self) -> dict[str, str]:
        """Easy DKIM's records: ``DkimDNSTokenName1``..3 and ``DkimDNSTokenValue1``..3."""
        values = {}
        for number, token in enumerate(self.tokens, start=1):
            values[f"DkimDNSTokenName{number}"] = f"{token}._domainkey.{self.name}"
            values[f"DkimDNSTokenValue{number}"] = f"{token}.dkim.amazonses.com"
        return values

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SesEmailIdentity:
        properties = cloudformation_json["Properties"]
        name = str(properties.get("EmailIdentity", resource_name))
        backend = ses_backends[account_id][region_name]
        if name in backend.email_identities:
            raise AlreadyExists(f"Email identity {name} already exists.")  # as SES refuses it
        _check(name, properties)
        identity = SesIdentity(name, account_id, region_name)
        backend.email_identities[name] = identity
        tokens = [] if "@" in name else [random_token(32) for _ in range(cls.DKIM_TOKENS)]
        created = cls(name, tokens, account_id, region_name)
        created._apply(identity, properties)
        return created

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SesEmailIdentity,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SesEmailIdentity:
        """Changes other than ``EmailIdentity`` (create-only in its schema: a new one replaces
        the identity) update it in place."""
        properties = cloudformation_json["Properties"]
        name = original_resource.name
        _check(name, properties)
        identity = original_resource._sesv2().get_email_identity(name)  # NotFound when gone
        original_resource._apply(identity, properties)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        """``DeleteEmailIdentity``: the identity, its MAIL FROM and feedback settings, its tags."""
        backend = ses_backends[account_id][region_name]
        backend.email_identities.pop(self.name, None)
        backend.identity_mail_from_domains.pop(self.name, None)
        backend.sns_topics.pop(self.name, None)
        backend.tagger.delete_all_tags_for_resource(self.arn)

    @property
    def arn(self) -> str:
        """The identity's ARN ("Resource types defined by Amazon SES", Service Authorization
        Reference; moto's own tagging of identities uses ``email-identity/``)."""
        return get_arn(self._sesv2(), "ses", f"identity/{self.name}")

    def _ses(self) -> SESBackend:
        return ses_backends[self.account_id][self.region_name]

    def _sesv2(self) -> SESV2Backend:
        return sesv2_backends[self.account_id][self.region_name]

    def _apply(self, identity: EmailIdentity, properties: Mapping[str, Any]) -> None:
        """Set each property (``_check``ed) on ``identity``, SES's default where it is absent."""
        signing_enabled = properties.get("DkimAttributes", {}).get("SigningEnabled")
        if self.tokens:
            identity.dkim_attributes = _domain_dkim(
                identity.dkim_attributes,
                properties.get("DkimSigningAttributes"),
                self.tokens,
                signing_enabled=_flag(signing_enabled, default=True),
            )
        else:
            identity.dkim_attributes["SigningEnabled"] = _flag(signing_enabled, default=False)

        self._apply_mail_from(properties.get("MailFromAttributes", {}))

        forwarding = _flag(
            properties.get("FeedbackAttributes", {}).get("EmailForwardingEnabled"), default=True
        )
        identity.feedback_forwarding_status = forwarding
        self._ses().set_identity_feedback_forwarding_enabled(self.name, forwarding)

        configuration_set = properties.get("ConfigurationSetAttributes", {})
        identity.configuration_set_name = configuration_set.get("ConfigurationSetName")

        tags = [
            {"Key": str(t["Key"]), "Value": str(t["Value"])} for t in properties.get("Tags", [])
        ]
        identity.tags = tags
        sesv2 = self._sesv2()
        sesv2.untag_resource(self.arn, [t["Key"] for t in sesv2.list_tags_for_resource(self.arn)])
        sesv2.tag_resource(self.arn, {t["Key"]: t["Value"] for t in tags})

    def _apply_mail_from(self, attributes: Mapping[str, Any]) -> None:
        """The MAIL FROM domain and its MX failure behaviour, where moto's SES keeps them."""
        backend = self._ses()
        domain = attributes.get("MailFromDomain")
        behavior = MX_FAILURE_V1[attributes.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE")]
        if domain:
            backend.set_identity_mail_from_domain(self.name, str(domain), behavior)
        else:  # no custom MAIL FROM domain, the behaviour kept (moto's setter would drop it)
            backend.identity_mail_from_domains[self.name] = {
                "mail_from_domain": None,
                "behavior_on_mx_failure": behavior,
            }


def _flag(value: Any, *, default: bool) -> bool:
    """A boolean property: a template's ``true``, or the text ``"true"`` a parameter gives."""
    if value is None:
        return default
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def _domain_dkim(
    previous: Mapping[str, Any],
    signing: Mapping[str, Any] | None,
    tokens: list[str],
    *,
    signing_enabled: bool,
) -> dict[str, Any]:
    """A domain's ``DkimAttributes`` after ``DkimSigningAttributes`` ``signing`` (``previous``
    being those it had): BYODKIM with a selector, otherwise Easy DKIM with ``tokens``."""
    signing = signing or {}
    selector = signing.get("DomainSigningSelector")
    common = {"SigningEnabled": signing_enabled, "Status": "SUCCESS"}
    if selector:
        return {**common, "Tokens": [str(selector)], "SigningAttributesOrigin": "EXTERNAL"}
    length = str(signing.get("NextSigningKeyLength", EASY_DKIM_KEY_LENGTH))
    in_use = previous.get("SigningAttributesOrigin") == "AWS_SES" and previous.get(
        "CurrentSigningKeyLength"
    )
    return {
        **common,
        "Tokens": tokens,
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": length,
        "CurrentSigningKeyLength": previous["CurrentSigningKeyLength"] if in_use else length,
        "LastKeyGenerationTimestamp": (
            previous["LastKeyGenerationTimestamp"]
            if in_use
            else iso_8601_datetime_with_milliseconds()
        ),
    }


def _check(name: str, properties: Mapping[str, Any]) -> None:
    """Refuse, as SES does, properties it would not take for the identity ``name``."""
    signing = properties.get("DkimSigningAttributes")
    if signing is not None and "@" in name:
        raise BadRequestError(
            "DkimSigningAttributes can only be specified for a domain identity, not for an "
            f"email address ({name})."
        )
    signing = signing or {}
    selector = signing.get("DomainSigningSelector")
    key = signing.get("DomainSigningPrivateKey")
    if (selector is None) != (key is None):
        raise BadRequestError(
            "Bring Your Own DKIM needs both DomainSigningSelector and DomainSigningPrivateKey."
        )
    if selector is not None and not SELECTOR.fullmatch(str(selector)):
        raise BadRequestError(f"Invalid DomainSigningSelector: {selector}.")
    if key is not None and not PRIVATE_KEY.fullmatch(str(key)):
        raise BadRequestError("DomainSigningPrivateKey is not a base64-encoded private key.")
    mail_from = properties.get("MailFromAttributes", {})
    behavior = mail_from.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE")
    if behavior not in MX_FAILURE_V1:
        raise BadRequestError(f"Invalid BehaviorOnMxFailure: {behavior}.")
    domain = mail_from.get("MailFromDomain")
    identity_domain = name.rsplit("@", maxsplit=1)[-1]
    if domain and not str(domain).lower().endswith("." + identity_domain.lower()):
        raise BadRequestError(
            f"Provided MAIL-FROM domain '{domain}' is not subdomain of the domain of the "
            f"identity '{identity_domain}'."
        )
