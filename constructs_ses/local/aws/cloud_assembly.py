"""A cloud assembly (``cdk.out``) as the CDK CLI deploys it: its stacks (nested assemblies
included), each stack's environment, and the names CloudFormation gives the resources it names
itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from constructs_ses.local.aws.ids import alphabet_digits

__all__ = [
    "NAME_PROPERTIES",
    "NAMING",
    "AssemblyError",
    "physical_name",
    "stack_artifacts",
    "stack_environment",
    "stack_environments",
]


class AssemblyError(ValueError):
    """The assembly cannot be read, or does not hold what was asked for."""


_NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class _Naming:
    """How CloudFormation names one kind of resource it names itself."""

    max_length: int
    lower_case: bool = False


NAMING = MappingProxyType(
    {
        "AWS::Lambda::Function": _Naming(64),
        "AWS::S3::Bucket": _Naming(63, lower_case=True),
        "AWS::SNS::Topic": _Naming(256),
        "AWS::SQS::Queue": _Naming(80),
        "AWS::DynamoDB::Table": _Naming(255),
    }
)
"""How CloudFormation names each resource type it names itself (when a template states none)."""
NAME_PROPERTIES = MappingProxyType(
    {
        "AWS::Lambda::Function": "FunctionName",
        "AWS::S3::Bucket": "BucketName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SES::ReceiptRuleSet": "RuleSetName",
    }
)
"""The property in which a resource of each type states its own name."""


def physical_name(stack: str, logical_id: str, kind: str = "AWS::Lambda::Function") -> str:
    """A name of the form CloudFormation gives a resource of type ``kind`` it names itself,
    ``<stack>-<logical id>-<12 letters and digits>`` cut to the type's longest name (lower case
    for buckets), the same on every run (CloudFormation's suffix is random; here it is derived
    from the stack and logical id)."""
    naming = NAMING.get(kind, _Naming(64))
    digest = hashlib.sha256(f"{stack}/{logical_id}".encode()).digest()
    head = f"{stack}-{logical_id}"[: naming.max_length - 13]
    name = f"{head}-{alphabet_digits(digest, _NAME_ALPHABET, 12)}"
    return name.lower() if naming.lower_case else name


def stack_artifacts(directory: Path) -> Iterator[tuple[str, Mapping[str, Any], Path]]:
    """Each stack artifact of the assembly and nested assemblies: name, properties, directory."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise AssemblyError(f"{directory} is not a cloud assembly: it has no manifest.json")
    artifacts = json.loads(manifest_file.read_text()).get("artifacts", {})
    for name, artifact in artifacts.items():
        kind = artifact.get("type")
        properties = artifact.get("properties", {})
        if kind == "aws:cloudformation:stack":
            yield name, artifact, directory
        elif kind == "cdk:cloud-assembly":
            yield from stack_artifacts(directory / properties["directoryName"])


def stack_environments(directory: str | Path) -> set[tuple[str | None, str | None]]:
    """The (account, region) of each stack of the assembly; None where a stack leaves it to the
    deployment (environment-agnostic)."""
    return {
        stack_environment(artifact) for _, artifact, _ in stack_artifacts(Path(directory).resolve())
    }


def stack_environment(artifact: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A stack artifact's account and region; None for ``unknown-account`` / ``-region``."""
    environment = str(artifact.get("environment", "aws://unknown-account/unknown-region"))
    account, region = environment.removeprefix("aws://").split("/", 1)
    return (account if account.isdigit() else None), (
        None if region.startswith("unknown") else region
    )
