"""A Lambda function as the local runtime runs it, and the credentials every function gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = ["DEFAULT_EPHEMERAL_STORAGE_MB", "DEFAULT_MEMORY_MB", "LOCAL_CREDENTIALS", "FunctionSpec"]

LOCAL_CREDENTIALS: Mapping[str, str] = MappingProxyType(
    {
        "AWS_ACCESS_KEY_ID": "ASIALOCALAWSKEY00000",
        "AWS_SECRET_ACCESS_KEY": "local/aws/secret/not/a/real/key/00000000",
        "AWS_SESSION_TOKEN": "local-aws-session",
    }
)
"""Credentials for the local AWS: stand-ins, never anyone's real keys."""
DEFAULT_MEMORY_MB = 128
"""Lambda's default memory size."""
DEFAULT_EPHEMERAL_STORAGE_MB = 512
"""Lambda's default ``/tmp`` size (``EphemeralStorage``)."""


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function of the assembly, as the local flow runs it."""

    name: str
    """The function's name: its FunctionName, or the name CloudFormation would give it
    (``physical_name``)."""
    arn: str
    """``arn:aws:lambda:<region>:<account>:function:<name>``."""
    code_dir: Path | None
    """The unpacked code asset; None for code the assembly does not hold."""
    inline_code: str | None
    """Inline code (``Code.ZipFile``), run as ``index.py``."""
    handler: str
    timeout: float
    environment: Mapping[str, str]
    memory_size: int = DEFAULT_MEMORY_MB
    runtime: str | None = None
    """Its ``Runtime``, such as ``python3.14``; None when the template states none."""
    reserved_concurrency: int | None = None
    """Its ``ReservedConcurrentExecutions``, when set."""
    layers: tuple[Path, ...] = ()
    """Its layers' unpacked contents, in the order of its ``Layers`` (later ones win)."""
    missing_layers: tuple[str, ...] = ()
    """Its layers the assembly does not hold (ARNs from outside its template)."""
    ephemeral_storage: int = DEFAULT_EPHEMERAL_STORAGE_MB
    """Its ``EphemeralStorage.Size``: the MB of its ``/tmp``."""
    log_format: str = "Text"
    """Its ``LoggingConfig.LogFormat``: ``Text`` or ``JSON``."""
    application_log_level: str | None = None
    """Its ``LoggingConfig.ApplicationLogLevel`` (JSON format only), such as ``INFO``."""

    @property
    def region(self) -> str:
        """The region of its ARN."""
        return self.arn.split(":")[3]

    @property
    def log_variables(self) -> dict[str, str]:
        """What Lambda sets for its advanced logging controls ("Configuring advanced logging
        controls for Lambda functions"): with the JSON format, ``AWS_LAMBDA_LOG_FORMAT`` and
        ``AWS_LAMBDA_LOG_LEVEL`` (its application log level, INFO by default)."""
        if self.log_format.upper() != "JSON":
            return {}
        return {
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": (self.application_log_level or "INFO").upper(),
        }

    @property
    def log_group_name(self) -> str:
        """``/aws/lambda/<name>``, the log group Lambda writes to."""
        return f"/aws/lambda/{self.name}"
