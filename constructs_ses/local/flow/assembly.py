"""Reads receipt rule sets, their rules and their Lambda functions from a cloud assembly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from constructs_ses.local.aws.cloud_assembly import (
    NAME_PROPERTIES,
    NAMING,
    AssemblyError,
    physical_name,
    stack_artifacts,
    stack_environment,
)
from constructs_ses.local.lambda_runtime.function import (
    DEFAULT_EPHEMERAL_STORAGE_MB,
    DEFAULT_MEMORY_MB,
    FunctionSpec,
)

__all__ = [
    "EMULATED_KINDS",
    "Action",
    "AssemblyError",
    "FunctionSpec",
    "Rule",
    "RuleSet",
    "StackResource",
    "load_assembly",
    "physical_name",
    "rule_sets_of_template",
]

LOCAL_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_TIMEOUT_SECONDS = 3.0
"""Lambda's default timeout, for functions whose template states none."""


EMULATED_KINDS = ("AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::DynamoDB::Table")
"""The resource types the local flow creates in its local AWS."""
FUNCTION_KIND = "AWS::Lambda::Function"
_ARN_ATTRIBUTES = MappingProxyType({"AWS::SNS::Topic": "TopicArn"})
"""The ``Fn::GetAtt`` attribute of a resource type's ARN, where it is not ``Arn``."""


@dataclass(frozen=True)
class StackResource:
    """A resource of the stack that the local flow creates in its local AWS, or a function."""

    kind: str
    """Its CloudFormation type, one of ``EMULATED_KINDS`` or ``FUNCTION_KIND``."""
    logical_id: str
    name: str
    """Its physical name: the one it states, or the one CloudFormation would give it."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """Its properties, with intrinsic functions resolved."""
    path: str | None = None
    """Its construct path (``Stack/Construct/Resource``), when the assembly records it."""
    arn: str = ""
    """Its ARN in the stack's account and region."""


@dataclass(frozen=True)
class Action:
    """One action of a rule: its kind (``Lambda``, ``S3``, ``SNS``, ...) and settings."""

    kind: str
    config: Mapping[str, Any]
    function: FunctionSpec | None = None


@dataclass(frozen=True)
class Rule:
    """One receipt rule."""

    name: str
    enabled: bool
    recipients: tuple[str, ...]
    tls_required: bool
    scan_enabled: bool
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class RuleSet:
    """A receipt rule set with its rules in the order SES runs them."""

    name: str
    stack: str
    region: str
    account: str
    rules: tuple[Rule, ...] = field(default=())
    resources: tuple[StackResource, ...] = field(default=())
    """The stack's buckets, topics, queues and tables (``EMULATED_KINDS``)."""
    domains: tuple[str, ...] = field(default=())
    """The domains its stack verifies (``AWS::SES::EmailIdentity`` of a domain, such as
    ``InboundEmail.add_domain`` makes), in lower case."""
    functions: tuple[StackResource, ...] = field(default=())
    """The stack's Lambda functions, under the names the flow runs them with."""
    stack_path: str = ""
    """The stack's construct path, with which its resources' paths begin."""


class _Resolver:
    """Gives intrinsic functions of one template local values."""

    def __init__(
        self,
        resources: Mapping[str, Any],
        region: str,
        account: str,
        stack: str,
        paths: Mapping[str, str],
    ) -> None:
        self.resources = resources
        self.region = region
        self.account = account
        self.stack = stack
        self.paths = paths

    def name_of(self, logical_id: str) -> str:
        """The physical name of a resource: the one it states, or CloudFormation's form."""
        resource = self.resources.get(logical_id, {})
        kind = resource.get("Type", "")
        stated = resource.get("Properties", {}).get(NAME_PROPERTIES.get(kind, ""))
        if isinstance(stated, str):
            return stated
        if kind in NAMING:
            return physical_name(self.stack, logical_id, kind)
        return logical_id

    def ref(self, logical_id: str) -> str:
        """What ``Ref`` returns for a resource (for a topic its ARN, for a queue its URL)."""
        kind = self.resources.get(logical_id, {}).get("Type", "")
        if kind == "AWS::SNS::Topic":
            return self.attribute(logical_id, "TopicArn")
        if kind == "AWS::SQS::Queue":
            return self.attribute(logical_id, "QueueUrl")
        return self.name_of(logical_id)

    def attribute(self, logical_id: str, attribute: str = "Arn") -> str:
        """What ``Fn::GetAtt`` returns for ``attribute`` of a resource."""
        kind = self.resources.get(logical_id, {}).get("Type", "")
        name = self.name_of(logical_id)
        where = f"{self.region}:{self.account}"
        values = {
            "AWS::Lambda::Function": {"Arn": f"arn:aws:lambda:{where}:function:{name}"},
            "AWS::S3::Bucket": {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            },
            "AWS::SNS::Topic": {"TopicArn": f"arn:aws:sns:{where}:{name}", "TopicName": name},
            "AWS::SQS::Queue": {
                "Arn": f"arn:aws:sqs:{where}:{name}",
                "QueueName": name,
                "QueueUrl": f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}",
            },
            "AWS::DynamoDB::Table": {"Arn": f"arn:aws:dynamodb:{where}:table/{name}"},
        }.get(kind, {})
        return values.get(attribute) or values.get("Arn") or name

    def resources_of(self, kinds: tuple[str, ...]) -> tuple[StackResource, ...]:
        """The template's resources of ``kinds``, named and resolved, with their paths."""
        return tuple(
            StackResource(
                kind,
                logical_id,
                self.name_of(logical_id),
                self.value(resource.get("Properties", {})),
                self.paths.get(logical_id) or resource.get("Metadata", {}).get("aws:cdk:path"),
                self.attribute(logical_id, _ARN_ATTRIBUTES.get(kind, "Arn")),
            )
            for logical_id, resource in self.resources.items()
            if (kind := str(resource.get("Type"))) in kinds
        )

    def value(self, value: Any) -> Any:
        """``value`` with Ref, Fn::GetAtt and Fn::Join replaced by local strings."""
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "Ref":
                pseudo = {
                    "AWS::Region": self.region,
                    "AWS::AccountId": self.account,
                    "AWS::Partition": "aws",
                    "AWS::URLSuffix": "amazonaws.com",
                }
                return pseudo.get(inner) or self.ref(str(inner))
            if key == "Fn::GetAtt":
                logical_id, attribute = inner if isinstance(inner, list) else inner.split(".", 1)
                return self.attribute(str(logical_id), str(attribute))
            if key == "Fn::Join":
                separator, parts = inner
                return separator.join(str(self.value(p)) for p in parts)
        return {k: self.value(v) for k, v in value.items()}


def _function(resolver: _Resolver, value: Any, assembly_dir: Path | None) -> FunctionSpec | None:
    """The function a Lambda action's FunctionArn refers to, when the template defines it."""
    if not (isinstance(value, dict) and "Fn::GetAtt" in value):
        return None
    logical_id = str(value["Fn::GetAtt"][0])
    resource = resolver.resources.get(logical_id, {})
    if resource.get("Type") != "AWS::Lambda::Function":
        return None
    properties = resource.get("Properties", {})
    code = properties.get("Code", {})
    code_dir = _asset_dir(code.get("S3Key"), assembly_dir)
    layers, missing = _layers(resolver, properties.get("Layers"), assembly_dir)
    logging_config = properties.get("LoggingConfig") or {}
    storage = _number((properties.get("EphemeralStorage") or {}).get("Size"))
    variables = resolver.value(properties.get("Environment", {}).get("Variables", {}))
    return FunctionSpec(
        name=resolver.name_of(logical_id),
        arn=resolver.attribute(logical_id),
        code_dir=code_dir,
        inline_code=code.get("ZipFile") if isinstance(code.get("ZipFile"), str) else None,
        handler=str(properties.get("Handler", "index.handler")),
        timeout=_number(properties.get("Timeout")) or DEFAULT_TIMEOUT_SECONDS,
        environment={str(k): str(v) for k, v in variables.items()},
        memory_size=int(_number(properties.get("MemorySize")) or DEFAULT_MEMORY_MB),
        runtime=str(properties["Runtime"]) if isinstance(properties.get("Runtime"), str) else None,
        reserved_concurrency=_reserved(properties.get("ReservedConcurrentExecutions")),
        layers=layers,
        missing_layers=missing,
        ephemeral_storage=int(storage or DEFAULT_EPHEMERAL_STORAGE_MB),
        log_format=str(logging_config.get("LogFormat") or "Text"),
        application_log_level=(
            str(logging_config["ApplicationLogLevel"])
            if isinstance(logging_config.get("ApplicationLogLevel"), str)
            else None
        ),
    )


def _asset_dir(key: Any, assembly_dir: Path | None) -> Path | None:
    """The unpacked asset of an S3 key of the assembly's assets (``<hash>.zip``)."""
    if not isinstance(key, str) or assembly_dir is None:
        return None
    candidate = assembly_dir / f"asset.{key.removesuffix('.zip')}"
    return candidate if candidate.is_dir() else None


def _layers(
    resolver: _Resolver, value: Any, assembly_dir: Path | None
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """A function's ``Layers``: the unpacked assets of the template's own LayerVersions, and
    the ones that are not in the assembly (a layer ARN of another account, say)."""
    found: list[Path] = []
    missing: list[str] = []
    for layer in value if isinstance(value, list) else []:
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        resource = resolver.resources.get(str(logical_id), {}) if logical_id else {}
        content = resource.get("Properties", {}).get("Content", {})
        directory = (
            _asset_dir(content.get("S3Key"), assembly_dir)
            if resource.get("Type") == "AWS::Lambda::LayerVersion"
            else None
        )
        if directory is None:
            missing.append(str(logical_id or resolver.value(layer)))
        else:
            found.append(directory)
    return tuple(found), tuple(missing)


def _number(value: Any) -> float | None:
    """A number property; None when unset or known only at deploy time (a parameter...)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _reserved(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


_ACTION_KINDS = MappingProxyType(
    {
        "LambdaAction": "Lambda",
        "S3Action": "S3",
        "SNSAction": "SNS",
        "StopAction": "Stop",
        "BounceAction": "Bounce",
        "AddHeaderAction": "AddHeader",
        "WorkmailAction": "WorkMail",
    }
)


def _rule(
    resolver: _Resolver, logical_id: str, properties: Mapping[str, Any], assembly_dir: Path | None
) -> Rule:
    """One rule; unnamed rules (CloudFormation names them at deploy time) go by logical id."""
    rule = properties.get("Rule", {})
    actions = []
    for action in rule.get("Actions", []):
        for key, config in action.items():
            function = None
            if key == "LambdaAction":
                function = _function(resolver, config.get("FunctionArn"), assembly_dir)
            actions.append(Action(_ACTION_KINDS.get(key, key), resolver.value(config), function))
    return Rule(
        name=str(resolver.value(rule.get("Name") or logical_id)),
        enabled=bool(rule.get("Enabled", False)),
        recipients=tuple(str(r) for r in resolver.value(rule.get("Recipients", []))),
        tls_required=rule.get("TlsPolicy") == "Require",
        scan_enabled=bool(rule.get("ScanEnabled", False)),
        actions=tuple(actions),
    )


def _in_order(rules: Mapping[str, tuple[Rule, str | None]]) -> tuple[Rule, ...]:
    """Rules in SES's order: a rule without ``After`` comes first, then each after its ``After``."""
    followers: dict[str | None, list[str]] = {}
    for logical_id, (_, after) in rules.items():
        followers.setdefault(after, []).append(logical_id)
    ordered: list[Rule] = []
    placed: set[str] = set()
    queue = list(reversed(followers.get(None, [])))
    while queue:
        logical_id = queue.pop()
        if logical_id in placed:  # named after a rule by both its Ref and its name
            continue
        placed.add(logical_id)
        rule = rules[logical_id][0]
        ordered.append(rule)
        after_it = dict.fromkeys(followers.get(logical_id, []) + followers.get(rule.name, []))
        queue.extend(reversed(after_it))
    missing = [rules[k][0].name for k in rules if rules[k][0] not in ordered]
    if missing:
        raise AssemblyError(f"rules {missing} come after rules that are not in the rule set")
    return tuple(ordered)


def rule_sets_of_template(
    template: Mapping[str, Any],
    *,
    stack: str = "Stack",
    region: str = DEFAULT_REGION,
    account: str = LOCAL_ACCOUNT,
    assembly_dir: Path | None = None,
    stack_path: str | None = None,
    paths: Mapping[str, str] | None = None,
) -> list[RuleSet]:
    """The receipt rule sets a CloudFormation template defines, with their rules.

    :param stack_path: the stack's construct path. Default: ``stack``.
    :param paths: the construct path of each logical id, as the assembly's metadata holds them.
        Default: the resources' ``aws:cdk:path`` metadata, where the template has it.
    """
    resources = template.get("Resources", {})
    resolver = _Resolver(resources, region, account, stack, paths or {})
    by_set: dict[str, dict[str, tuple[Rule, str | None]]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::SES::ReceiptRule":
            continue
        properties = resource.get("Properties", {})
        set_name = str(resolver.value(properties.get("RuleSetName")))
        after = properties.get("After")
        after_key = after["Ref"] if isinstance(after, dict) and "Ref" in after else after
        by_set.setdefault(set_name, {})[logical_id] = (
            _rule(resolver, logical_id, properties, assembly_dir),
            after_key,
        )
    emulated = resolver.resources_of(EMULATED_KINDS)
    functions = resolver.resources_of((FUNCTION_KIND,))
    names = [
        resolver.name_of(logical_id)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::SES::ReceiptRuleSet"
    ]
    identities = [
        resolver.value(resource.get("Properties", {}).get("EmailIdentity"))
        for resource in resources.values()
        if resource.get("Type") == "AWS::SES::EmailIdentity"
    ]
    domains = tuple(dict.fromkeys(str(each).lower() for each in identities if "@" not in str(each)))
    return [
        RuleSet(
            name,
            stack,
            region,
            account,
            _in_order(by_set.get(name, {})),
            emulated,
            domains,
            functions,
            stack_path or stack,
        )
        for name in dict.fromkeys([*names, *by_set])
    ]


def load_assembly(directory: str | Path, *, stack: str | None = None) -> list[RuleSet]:
    """The rule sets of every stack of the assembly in ``directory`` (or of one ``stack``)."""
    root = Path(directory).resolve()
    found: list[RuleSet] = []
    for name, artifact, where in stack_artifacts(root):
        if stack is not None and stack not in (name, artifact.get("displayName")):
            continue
        template = json.loads((where / artifact["properties"]["templateFile"]).read_text())
        account, region = stack_environment(artifact)
        found.extend(
            rule_sets_of_template(
                template,
                stack=name,
                region=region or DEFAULT_REGION,
                account=account or LOCAL_ACCOUNT,
                assembly_dir=where,
                stack_path=str(artifact.get("displayName") or name),
                paths=_construct_paths(artifact, where),
            )
        )
    return found


def _construct_paths(artifact: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """The construct path of each logical id of a stack artifact, from its metadata (in the
    manifest, or the file it names as ``additionalMetadataFile``)."""
    metadata = dict(artifact.get("metadata", {}))
    extra = artifact.get("additionalMetadataFile")
    if isinstance(extra, str) and (directory / extra).is_file():
        metadata.update(json.loads((directory / extra).read_text()))
    return {
        str(entry["data"]): path.strip("/")
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == "aws:cdk:logicalId"
    }
