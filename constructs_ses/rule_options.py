"""LambdaRuleOptions: what one rule of ``InboundEmail.add_lambda_rule`` does, checked once."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from constructs_ses.enums import InvocationType, TlsPolicy, enum_member
from constructs_ses.lambda_src.handler import Policy as HandlerPolicy
from constructs_ses.package_files import HANDLER_MODULE_FILE
from constructs_ses.ses.limits import (
    check_flag,
    check_interface,
    check_object_key_prefix,
    check_recipients,
)

__all__ = ["LambdaRuleOptions", "option_names"]


@dataclass(frozen=True, kw_only=True)
class LambdaRuleOptions:
    """The options of a rule that invokes a Lambda function: the keyword arguments of
    ``InboundEmail.add_lambda_rule``, with the same names and defaults, documented there.

    Made, it has checked itself (ValueError naming the option and its value): ``invocation_type``
    and ``tls_policy`` are enum members (their CloudFormation strings are accepted too) and
    ``handler_directory`` is resolved. The rule's final name, which depends on the other rules of
    the rule set, is ``InboundEmail``'s to choose.
    """

    recipients: Sequence[str] | None = None
    function: lambda_.IFunction | None = None
    handler_directory: str | os.PathLike[str] | None = None
    policy: HandlerPolicy | None = None
    invocation_type: InvocationType | str = InvocationType.EVENT
    topic: sns.ITopic | None = None
    notify: bool = False
    bucket: s3.IBucket | None = None
    object_key_prefix: str = ""
    scan_enabled: bool = True
    tls_policy: TlsPolicy | str = TlsPolicy.OPTIONAL
    enabled: bool = True
    rule_name: str | None = None

    def __post_init__(self) -> None:
        check_recipients(self.recipients)
        check_interface(
            self.function,
            "function",
            "function_arn",
            "an aws_lambda.IFunction",
            "import an existing function with Function.from_function_arn(...)",
        )
        check_interface(
            self.topic,
            "topic",
            "topic_arn",
            "an aws_sns.ITopic",
            "import an existing topic with Topic.from_topic_arn(...)",
        )
        for flag in ("notify", "scan_enabled", "enabled"):
            check_flag(getattr(self, flag), flag)
        if self.topic is not None and self.notify:
            raise ValueError(
                f"topic={self.topic.node.path} and notify=True were both given: notify=True "
                "creates a topic for the rule; pass one or the other"
            )
        directory = self._checked_function_options()
        invocation = enum_member(InvocationType, self.invocation_type, "invocation_type")
        tls = enum_member(TlsPolicy, self.tls_policy, "tls_policy")
        object.__setattr__(self, "handler_directory", directory)
        object.__setattr__(self, "invocation_type", invocation)
        object.__setattr__(self, "tls_policy", tls)

    @property
    def invocation(self) -> InvocationType:
        """``invocation_type``, as the enum member it holds once checked."""
        return InvocationType(self.invocation_type)

    @property
    def tls(self) -> TlsPolicy:
        """``tls_policy``, as the enum member it holds once checked."""
        return TlsPolicy(self.tls_policy)

    @property
    def template_directory(self) -> Path | None:
        """``handler_directory``, resolved; None for the packaged template."""
        return Path(self.handler_directory) if self.handler_directory is not None else None

    def _checked_function_options(self) -> Path | None:
        """Check the options that shape the rule's function; the handler directory, resolved."""
        function, handler_directory, policy = self.function, self.handler_directory, self.policy
        if function is not None:
            for name, value in (("handler_directory", handler_directory), ("policy", policy)):
                if value is not None:
                    raise ValueError(
                        f"{name}={value!r} configures the function the rule creates, but "
                        f"function={function.node.path} was given: pass one or the other"
                    )
            if self.bucket is not None and not isinstance(function, lambda_.Function):
                raise ValueError(
                    "bucket= needs a function whose role and environment the rule can extend, "
                    f"but function={function.node.path} is imported: grant it read access and "
                    "pass the bucket in its environment yourself, or create it in this app"
                )
        if policy is not None and not isinstance(policy, HandlerPolicy):
            raise ValueError(f"policy={policy!r} is not a HandlerPolicy")
        check_interface(
            self.bucket,
            "bucket",
            "bucket_name",
            "an aws_s3.IBucket",
            "import it with Bucket.from_bucket_name(...)",
        )
        check_object_key_prefix(self.object_key_prefix, self.bucket is not None)
        if handler_directory is None:
            return None
        directory = Path(handler_directory).resolve()
        if not (directory / HANDLER_MODULE_FILE).is_file():
            raise ValueError(
                f"handler_directory={str(handler_directory)!r} has no {HANDLER_MODULE_FILE} "
                f"(looked in {directory}): create one with "
                f"'python -m constructs_ses new-handler {handler_directory}'"
            )
        return directory


def option_names() -> tuple[str, ...]:
    """The options' names, in order."""
    return tuple(field.name for field in fields(LambdaRuleOptions))
