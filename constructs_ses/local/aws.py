"""A local AWS for this machine: moto's server, in a process of its own, on 127.0.0.1.

The local mail flow keeps the stack's buckets and topics in it, and the functions it runs reach
it through ``AWS_ENDPOINT_URL``; the CDK CLI deploys to it with ``env``. It answers for one
account (``account``) whatever credentials a client signs with, in every region, and its
CloudFormation knows the SES resources and runs custom resources (see ``aws_server``). It needs the
``local`` extra (moto's server, boto3).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_ACCOUNT",
    "LOCAL_CREDENTIALS",
    "LocalAws",
    "LocalAwsError",
    "without_host_aws_settings",
]

DEFAULT_ACCOUNT = "123456789012"
"""The account moto answers for unless told otherwise."""
START_TIMEOUT_SECONDS = 60.0
LOCAL_CREDENTIALS: Mapping[str, str] = MappingProxyType(
    {
        "AWS_ACCESS_KEY_ID": "ASIALOCALAWSKEY00000",
        "AWS_SECRET_ACCESS_KEY": "local/aws/secret/not/a/real/key/00000000",
        "AWS_SESSION_TOKEN": "local-aws-session",
    }
)
"""Credentials for the local AWS: stand-ins, never anyone's real keys."""


def without_host_aws_settings() -> dict[str, str]:
    """This process's environment without the host's AWS settings (``AWS_*``, credentials and
    profile included) and CDK account or region (``CDK_DEFAULT_*``): what a program that must
    reach only the local AWS starts from."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_DEFAULT_"))
    }


class LocalAwsError(RuntimeError):
    """The local AWS could not start."""


class LocalAws:
    """moto's server for ``account``, started by ``start()`` (or ``with``) and stopped by
    ``stop()``.

    :param account: the account every request is answered for. Default: ``DEFAULT_ACCOUNT``.
    :param region: the region of ``client()`` and ``env`` unless told otherwise. Default:
        us-east-1.
    """

    def __init__(self, *, account: str = DEFAULT_ACCOUNT, region: str = "us-east-1") -> None:
        if not (account.isdigit() and len(account) == 12):
            raise ValueError(f"account={account!r} is not an AWS account id (12 digits)")
        self.account = account
        self.region = region
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._cdk_home: str | None = None
        self._lock = threading.Lock()

    def start(self) -> LocalAws:
        """Start the server's process; ``endpoint_url`` waits until it listens."""
        with self._lock:
            if self._process is None:
                environment = without_host_aws_settings()
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "constructs_ses.local.aws_server"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env={**environment, "MOTO_ACCOUNT_ID": self.account},
                )
        return self

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``, once the server listens (started if it was not)."""
        return f"http://127.0.0.1:{self._listening_port()}"

    @property
    def credentials(self) -> Mapping[str, str]:
        """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``."""
        return LOCAL_CREDENTIALS

    @property
    def env(self) -> dict[str, str]:
        """The environment variables with which boto3, the AWS CLI and the CDK CLI talk to this
        AWS: ``AWS_ENDPOINT_URL``, the credentials, ``AWS_REGION`` and ``AWS_DEFAULT_REGION``;
        ``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION`` (host ``localhost``: moto reads a template
        URL's bucket from the host name otherwise), ``CDK_DEFAULT_ACCOUNT`` and
        ``CDK_DEFAULT_REGION``, and ``CDK_HOME``, a private directory (removed by ``stop()``)
        so that the CLI's cache of accounts by access key is this AWS's own."""
        url = self.endpoint_url
        with self._lock:
            if self._cdk_home is None:
                self._cdk_home = tempfile.mkdtemp(prefix="constructs-ses-cdk-home-")
            cdk_home = self._cdk_home
        return {
            "AWS_ENDPOINT_URL": url,
            **self.credentials,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": url.replace("127.0.0.1", "localhost"),
            "CDK_DEFAULT_ACCOUNT": self.account,
            "CDK_DEFAULT_REGION": self.region,
            "CDK_HOME": cdk_home,
        }

    def client(self, service: str, *, region: str | None = None) -> Any:
        """A boto3 client of ``service`` against this AWS (in ``region``, default ``region``)."""
        import boto3  # noqa: PLC0415 (the local extra)

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.credentials["AWS_SESSION_TOKEN"],
        )

    def stop(self) -> None:
        """Stop the server: closing its input ends it; killed if it lingers."""
        with self._lock:
            process, self._process, self._port = self._process, None, None
            cdk_home, self._cdk_home = self._cdk_home, None
        if cdk_home is not None:
            shutil.rmtree(cdk_home, ignore_errors=True)
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _listening_port(self) -> int:
        self.start()
        with self._lock:
            if self._port is None:
                self._port = _read_port(self._process)
            return self._port


def _read_port(process: subprocess.Popen[bytes] | None) -> int:
    """The port the server process announces on its first line."""
    assert process is not None and process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("LISTENING "):
        process.kill()
        code = process.wait()
        hint = "install the local extra: pip install 'constructs-ses[local]'"
        problem = "did not answer" if not ready else f"ended with exit status {code}"
        raise LocalAwsError(f"the local AWS (moto's server) {problem}; {hint}")
    return int(line.split()[1])
