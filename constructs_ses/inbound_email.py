"""InboundEmail: a receipt rule set whose rules hand incoming email to Lambda functions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import MappingProxyType

from aws_cdk import Names, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_ses.activation import RuleSetActivation
from constructs_ses.checks.runner import (
    RuleChecks,
    SubjectsValidation,
    check_rule_set_itself,
)
from constructs_ses.enums import InvocationType, TlsPolicy
from constructs_ses.errors import at_construct, child_path
from constructs_ses.grants import RuleSetNames, RulesScope
from constructs_ses.lambda_rule import LambdaRule, SharedActions
from constructs_ses.lambda_src.handler import Policy as HandlerPolicy
from constructs_ses.lambda_src.handler import StopVerdict
from constructs_ses.receiving_domain import ReceivingDomain, check_mx_priority, check_zone_holds
from constructs_ses.records import record_of
from constructs_ses.rule_options import LambdaRuleOptions
from constructs_ses.ses.domains import DeclaredDomains
from constructs_ses.ses.limits import (
    MAX_NAME_LENGTH,
    MAX_RULES_PER_RULE_SET,
    check_domain,
    check_flag,
    check_rule_name,
    check_rule_set_name,
    sanitize_name,
)
from constructs_ses.ses.regions import resolve_receiving_regions

__all__ = ["InboundEmail"]

RULE_SET_ID = "RuleSet"
RULES_ID = "Rules"
ACTIVATION_ID = "Activation"
DOMAINS_ID = "Domains"
"""The id of the scope of the receiving domains, made by the first ``add_domain``."""
OWN_IDS = MappingProxyType(
    {RULE_SET_ID: "rule set", RULES_ID: "rules scope", ACTIVATION_ID: "activation resource"}
)
"""The ids of the InboundEmail's own children, which rules cannot take."""


class InboundEmail(Construct):
    """An SES receipt rule set for inbound email, with rules that invoke Lambda functions.

    Rules run in the order they are added. Synthesis fails when the stack's region does not
    receive email, when a rule uses a function, topic or key of another region, or when the rule
    set breaks SES's limits: the checks of ``SameRegionCheck`` and ``ReceiptRuleLimitsCheck``,
    run by this construct on its rule set and every rule of its stack added to it. Declare the
    domains it receives with ``add_domain``: their identities and DNS records, and a check that
    the app's MX records for them point at this region.

    :param scope: the parent construct.
    :param construct_id: the construct id.
    :param rule_set_name: the rule set's name: ASCII letters, digits, ``_`` and ``-``, at most 64.
        Default: a deterministic name derived from the construct path, such as
        ``MyStack-Inbound-1A2B3C4D``.
    :param receiving_regions: the regions where SES receives email. Default: the package's list
        (``default_receiving_regions()``).
    :param activate: True to make this the active rule set when the stack deploys (a custom
        resource; CloudFormation cannot do it), and to deactivate it when the stack is deleted
        while it is still the active one. Default: False (activate it yourself, e.g.
        ``aws ses set-active-receipt-rule-set --rule-set-name NAME``).
    :param replace_active_rule_set: with ``activate``, replace another rule set that is active in
        the account and region. Default: False: the deployment fails and names the active rule set.
    :param drop_spam: True to add, as the first rule, one for every recipient that runs the
        handler template (RequestResponse) and stops the rule set when SES's spam or virus
        verdict is FAIL. Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str | None = None,
        receiving_regions: Sequence[str] | None = None,
        drop_spam: bool = False,
        activate: bool = False,
        replace_active_rule_set: bool = False,
    ) -> None:
        path = child_path(scope.node.path, construct_id)
        with at_construct(path):
            if rule_set_name is not None:
                check_rule_set_name(rule_set_name)
            regions = resolve_receiving_regions(receiving_regions)
            for flag, value in (
                ("drop_spam", drop_spam),
                ("activate", activate),
                ("replace_active_rule_set", replace_active_rule_set),
            ):
                check_flag(value, flag)
            if replace_active_rule_set and not activate:
                raise ValueError(
                    "replace_active_rule_set=True only applies with activate=True, which "
                    "activates the rule set at deploy time"
                )
        super().__init__(scope, construct_id)
        self._path = path
        self.rule_set_name = rule_set_name or _default_rule_set_name(self)
        """The rule set's name in SES."""
        self.rule_set = ses.ReceiptRuleSet(
            self, RULE_SET_ID, receipt_rule_set_name=self.rule_set_name
        )
        """The ``aws_ses.ReceiptRuleSet``."""
        self.rules: list[LambdaRule] = []
        """The rules, in the order SES runs them."""
        self.receiving_regions = regions
        """The regions this rule set may be deployed to."""
        names = RuleSetNames(self.rule_set.receipt_rule_set_name, self.rule_set_name)
        self._rules = RulesScope(self, RULES_ID, names)
        self._actions: SharedActions = {}
        self.domains: list[ReceivingDomain] = []
        """The receiving domains (``add_domain``), in the order added."""
        self._domains: Construct | None = None
        """The rules' Lambda actions, one for each function, invocation type and topic."""
        own_checks = RuleChecks(receiving_regions=self.receiving_regions, limits=True)
        self.node.add_validation(
            SubjectsValidation(
                check_rule_set_itself(self._rules.names.reference, Stack.of(self), own_checks)
            )
        )
        self.activation: RuleSetActivation | None = None
        """The custom resource that activates the rule set, when ``activate``."""
        if activate:
            self.activation = RuleSetActivation(
                self,
                ACTIVATION_ID,
                rule_set_name=self.rule_set_name,
                replace_active=replace_active_rule_set,
            )
            # the rule set and every rule in it or in the rules scope, added before or after
            self.activation.node.add_dependency(self.rule_set, self._rules.construct)
        self.drop_spam_rule: LambdaRule | None = (
            self.add_lambda_rule(
                "DropSpam",
                invocation_type=InvocationType.REQUEST_RESPONSE,
                policy=HandlerPolicy(stop_on=(StopVerdict.SPAM, StopVerdict.VIRUS)),
            )
            if drop_spam
            else None
        )
        """The first rule, which stops the rule set for spam and viruses, when ``drop_spam``."""

    def add_lambda_rule(
        self,
        construct_id: str,
        *,
        recipients: Sequence[str] | None = None,
        function: lambda_.IFunction | None = None,
        handler_directory: str | os.PathLike[str] | None = None,
        policy: HandlerPolicy | None = None,
        invocation_type: InvocationType | str = InvocationType.EVENT,
        topic: sns.ITopic | None = None,
        notify: bool = False,
        bucket: s3.IBucket | None = None,
        object_key_prefix: str = "",
        scan_enabled: bool = True,
        tls_policy: TlsPolicy | str = TlsPolicy.OPTIONAL,
        enabled: bool = True,
        rule_name: str | None = None,
    ) -> LambdaRule:
        """Add a rule, run after the rules added before it, that invokes a Lambda function.

        :param construct_id: the rule's construct id.
        :param recipients: addresses (``support@example.com``, also matching
            ``support+tag@example.com``), domains (``example.com``) or ``.example.com`` for all of
            its subdomains; 1 to 500. Default: every recipient of every verified domain.
        :param function: the function to invoke. Default: a new function running the packaged
            handler template (Python, 10-second timeout), which by default stops the rule set for
            spam, viruses and DMARC failures of senders whose policy is reject.
        :param handler_directory: a directory with your copy of the handler template (a
            ``handler.py``, see ``python -m constructs_ses new-handler``) to run instead of the
            packaged one. Not together with ``function``. Default: the packaged template.
        :param policy: what the template stops (``HandlerPolicy``), passed to the new function
            as environment variables. Not together with ``function``. Default: the template's
            own default, ``HandlerPolicy()``.
        :param invocation_type: ``InvocationType.EVENT`` (default: asynchronous, the answer is
            ignored) or ``InvocationType.REQUEST_RESPONSE`` (the function's disposition controls
            the mail flow; its timeout must be 30 seconds or less).
        :param topic: an SNS topic to notify when the function is triggered. Default: none.
        :param notify: True to create a topic for this rule (not together with ``topic``), whose
            policy refuses publishing without TLS. Default: False.
        :param bucket: a bucket to store each message in (an S3 action before the Lambda
            action), so that the function can read the body: it gets read access to exactly
            ``object_key_prefix*`` and the environment variables ``SES_MESSAGE_BUCKET`` and
            ``SES_MESSAGE_PREFIX`` (the template's ``fetch_message`` reads them). With
            ``function``, that must be an ``aws_lambda.Function`` of this app. Default: none.
        :param object_key_prefix: the key prefix of stored messages; each is stored as
            ``object_key_prefix + messageId``. Default: "" (only with ``bucket``).
        :param scan_enabled: have SES scan for spam and viruses; without it the event carries no
            spam or virus verdicts. Default: True.
        :param tls_policy: ``TlsPolicy.REQUIRE`` to bounce messages not sent over TLS.
            Default: ``TlsPolicy.OPTIONAL``.
        :param enabled: whether the rule is active. Default: True.
        :param rule_name: the rule's name in SES: ASCII letters, digits, ``_``, ``-`` and ``.``,
            at most 64, unique in the rule set. Default: the construct id, stripped of other
            characters.
        :returns: the rule, with its ``function``, ``topic`` and ``rule``.
        """
        with at_construct(child_path(self._path, construct_id)):
            if len(self.rules) >= MAX_RULES_PER_RULE_SET:
                raise ValueError(
                    f"this rule would be number {len(self.rules) + 1}; SES allows at most "
                    f"{MAX_RULES_PER_RULE_SET} rules in a rule set: use a second InboundEmail"
                )
            taken = OWN_IDS.get(construct_id) or (
                "receiving domains" if construct_id == DOMAINS_ID and self._domains else None
            )
            if taken:
                raise ValueError(
                    f"construct id {construct_id!r} is taken by the InboundEmail's own "
                    f"{taken}: pick another id (rule_name= can still be {construct_id!r})"
                )
            name = self._rule_name(construct_id, rule_name)
            options = LambdaRuleOptions(
                recipients=recipients,
                function=function,
                handler_directory=handler_directory,
                policy=policy,
                invocation_type=invocation_type,
                topic=topic,
                notify=notify,
                bucket=bucket,
                object_key_prefix=object_key_prefix,
                scan_enabled=scan_enabled,
                tls_policy=tls_policy,
                enabled=enabled,
                rule_name=rule_name,
            )
            rule = LambdaRule(
                self,
                construct_id,
                rules=self._rules,
                rule_set=self.rule_set,
                rule_name=name,
                after=self.rules[-1].rule if self.rules else None,
                shared_actions=self._actions,
                options=options,
            )
        self.rules.append(rule)
        return rule

    def add_domain(
        self,
        domain: str,
        *,
        hosted_zone: route53.IHostedZone | None = None,
        mx_priority: int = 10,
    ) -> ReceivingDomain:
        """Receive mail for ``domain``: its SES identity and, in ``hosted_zone``, its records.

        Makes an ``aws_ses.EmailIdentity`` for the domain with Easy DKIM, which verifies it for
        receiving once its three DKIM CNAME records are published. Synthesis then fails when an
        MX record of the app for a domain this rule set receives points at another region's
        endpoint, and warns about rules whose recipients are in none of the declared domains.

        :param domain: the domain, such as ``example.com`` or ``mail.example.com``.
        :param hosted_zone: the Route 53 hosted zone of the domain, or of a parent domain: its
            three DKIM CNAME records and an MX record ``<mx_priority>
            inbound-smtp.<region>.amazonaws.com`` for the domain are made in it. Default: none;
            the records to publish at your DNS provider are stack outputs (``MxRecord``,
            ``DkimName1``..``3``, ``DkimValue1``..``3``).
        :param mx_priority: the MX record's priority, 0 to 65535. Default: 10.
        :returns: the domain, with its ``identity``, ``mx_record`` (None without a zone) and
            ``hosted_zone``.
        """
        with at_construct(child_path(self._path, DOMAINS_ID)):
            name = check_domain(domain)
            priority = check_mx_priority(mx_priority)
            if hosted_zone is not None:
                check_zone_holds(hosted_zone, name)
            declared = record_of(Stack.of(self), DeclaredDomains)
            declared_by = declared.declared_by(name)
            if declared_by is not None:
                raise ValueError(
                    f"domain {name!r} is already declared by {declared_by}: SES "
                    "keeps one identity for a domain in a region"
                )
            if self._domains is None:
                if self.node.try_find_child(DOMAINS_ID) is not None:
                    raise ValueError(
                        f"construct id {DOMAINS_ID!r} is taken by a rule: rename that rule's "
                        "construct id (its rule_name= can stay) to add domains"
                    )
                self._domains = Construct(self, DOMAINS_ID)
        receiving = ReceivingDomain(
            self._domains, name, domain=name, hosted_zone=hosted_zone, mx_priority=priority
        )
        declared.by_rule_set.setdefault(self._rules.names.reference, {})[name] = receiving.node.path
        self.domains.append(receiving)
        return receiving

    def _rule_name(self, construct_id: str, rule_name: str | None) -> str:
        name = rule_name if rule_name is not None else sanitize_name(construct_id, "_-.")
        if rule_name is None and not name:
            raise ValueError(
                f"construct id {construct_id!r} has no letters or digits to name the rule: "
                "pass rule_name"
            )
        check_rule_name(name)
        if name in {rule.rule_name for rule in self.rules}:
            raise ValueError(
                f"rule_name={name!r} is already used by another rule of this rule set; "
                "rule names must be unique within a rule set"
            )
        return name


def _default_rule_set_name(construct: Construct) -> str:
    unique = Names.unique_resource_name(
        construct, max_length=MAX_NAME_LENGTH, separator="-", allowed_special_characters="_-"
    )
    return sanitize_name(unique, "_-")
