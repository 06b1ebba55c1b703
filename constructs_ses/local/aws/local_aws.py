"""A local AWS for this machine: moto's server, in a process of its own, on 127.0.0.1.

The local mail flow keeps the stack's buckets and topics in it, and the functions it runs reach
it through ``AWS_ENDPOINT_URL``; the CDK CLI deploys to it with ``env``. It answers for one
account (``account``) whatever credentials a client signs with, in every region, and its
CloudFormation knows the SES resources and runs custom resources (see ``server``). Once its
process has ended (killed, say), ``restart_if_ended`` starts another, empty one. Its clients read
none of the host's AWS settings (``constructs_ses.local.aws.clients``). It needs the ``local`` extra
(moto's server, boto3).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_ses.local.aws.clients import isolated_client, isolated_session
from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS

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
PROFILE = "constructs-ses-local"
"""The profile ``env`` names, defined in the config and credentials files it writes."""
_LOOPBACK = ("127.0.0.1", "localhost")


def without_host_aws_settings() -> dict[str, str]:
    """This process's environment without the host's AWS settings (``AWS_*``, credentials and
    profile included) and CDK account or region (``CDK_DEFAULT_*``): what a program that must
    reach only the local AWS starts from."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_DEFAULT_"))
    }


def loopback_without_proxy() -> dict[str, str]:
    """``NO_PROXY`` and ``no_proxy``: the host's entries and 127.0.0.1 and localhost, so that a
    host's ``HTTP_PROXY`` / ``HTTPS_PROXY`` leaves requests to the local AWS alone."""
    host = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    entries = [entry for entry in host.split(",") if entry.strip()]
    value = ",".join([*entries, *(name for name in _LOOPBACK if name not in entries)])
    return {"NO_PROXY": value, "no_proxy": value}


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
        self._scratch: Path | None = None
        """The server's directory (its functions' code and workers), made and removed here."""
        self._port: int | None = None
        self._starts = 0
        self._env_dir: Path | None = None
        self._session: Any = None
        """The boto3 session of ``client()`` (``isolated_session()``), made when first needed."""
        self._session_lock = threading.Lock()
        self._lock = threading.Lock()

    def start(self) -> LocalAws:
        """Start the server's process; ``endpoint_url`` waits until it listens."""
        with self._lock:
            if self._process is None:
                environment = {**without_host_aws_settings(), **loopback_without_proxy()}
                self._scratch = Path(tempfile.mkdtemp(prefix="constructs-ses-aws-"))
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "constructs_ses.local.aws.server", str(self._scratch)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env={**environment, "MOTO_ACCOUNT_ID": self.account},
                )
                self._starts += 1
        return self

    @property
    def generation(self) -> int:
        """How many times the server was started: another number is another server, which
        holds nothing of what the one before held."""
        return self._starts

    @property
    def running(self) -> bool:
        """Whether the server's process was started and has not ended."""
        process = self._process
        return process is not None and process.poll() is None

    def restart_if_ended(self, *, waiting: float = 0.0) -> str | None:
        """Start a new server if this one's process ended (killed, say), waiting up to
        ``waiting`` seconds for it to end; what ended, for the caller to report, or None when
        nothing had."""
        with self._lock:
            process, port = self._process, self._port
            if process is None:
                return None
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(waiting)
            if process.returncode is None:
                return None
            self._process, self._port = None, None
            scratch, self._scratch = self._scratch, None
        _end(process, scratch)
        self.start()
        where = f"at http://127.0.0.1:{port}" if port is not None else f"(pid {process.pid})"
        return f"the local AWS {where} ended ({_exit_status(process.returncode)})"

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
        AWS, winning over the host's AWS settings when merged after them (``{**os.environ,
        **aws.env}``): ``AWS_ENDPOINT_URL``, and every ``AWS_ENDPOINT_URL_<SERVICE>`` the host
        sets, this AWS's too; the credentials, ``AWS_REGION`` and ``AWS_DEFAULT_REGION``;
        ``AWS_PROFILE`` and ``AWS_DEFAULT_PROFILE`` naming ``PROFILE``, which the config and
        credentials files ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` (written in a
        private directory) define with the same region and credentials; FIPS and dual-stack
        endpoints off, configured endpoints not ignored, and ``NO_PROXY`` for 127.0.0.1 and
        localhost (``loopback_without_proxy``); ``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION``
        (host ``localhost``: moto reads a template URL's bucket from the host name otherwise),
        ``CDK_DEFAULT_ACCOUNT`` and ``CDK_DEFAULT_REGION``, and ``CDK_HOME``, the private
        directory (removed by ``stop()``), so that the CLI's cache of accounts by access key is
        this AWS's own."""
        url = self.endpoint_url
        private = self._private_files(url)
        host_endpoints = {name: url for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")}
        return {
            **host_endpoints,
            "AWS_ENDPOINT_URL": url,
            **self.credentials,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_PROFILE": PROFILE,
            "AWS_DEFAULT_PROFILE": PROFILE,
            "AWS_CONFIG_FILE": str(private / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(private / "aws-credentials"),
            "AWS_USE_FIPS_ENDPOINT": "false",
            "AWS_USE_DUALSTACK_ENDPOINT": "false",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
            **loopback_without_proxy(),
            "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": url.replace("127.0.0.1", "localhost"),
            "CDK_DEFAULT_ACCOUNT": self.account,
            "CDK_DEFAULT_REGION": self.region,
            "CDK_HOME": str(private),
        }

    def client(self, service: str, *, region: str | None = None) -> Any:
        """A boto3 client of ``service`` against this AWS (in ``region``, default ``region``),
        which reads none of the host's AWS settings (``constructs_ses.local.aws.clients``)."""
        url = self.endpoint_url
        with self._session_lock:  # a botocore session is not thread-safe; its clients are
            if self._session is None:
                self._session = isolated_session()
            return isolated_client(
                self._session,
                service,
                endpoint_url=url,
                region=region or self.region,
                credentials=self.credentials,
            )

    def stop(self) -> None:
        """Stop the server: closing its input ends it; killed if it lingers."""
        with self._lock:
            process, self._process, self._port = self._process, None, None
            scratch, self._scratch = self._scratch, None
            env_dir, self._env_dir = self._env_dir, None
        if env_dir is not None:
            shutil.rmtree(env_dir, ignore_errors=True)
        if process is not None:
            _end(process, scratch)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _private_files(self, url: str) -> Path:
        """The private directory of ``env``, its config and credentials files written for
        ``url``."""
        with self._lock:
            if self._env_dir is None:
                self._env_dir = Path(tempfile.mkdtemp(prefix="constructs-ses-aws-env-"))
            private = self._env_dir
            keys = self.credentials
            (private / "aws-config").write_text(
                f"[profile {PROFILE}]\nregion = {self.region}\nendpoint_url = {url}\n"
            )
            (private / "aws-credentials").write_text(
                f"[{PROFILE}]\naws_access_key_id = {keys['AWS_ACCESS_KEY_ID']}\n"
                f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}\n"
                f"aws_session_token = {keys['AWS_SESSION_TOKEN']}\n"
            )
        return private

    def _listening_port(self) -> int:
        self.start()
        with self._lock:
            if self._port is None:
                self._port = _read_port(self._process)
            return self._port


def _end(process: subprocess.Popen[bytes], scratch: Path | None) -> None:
    """End the server's process (closing its input), killed if it lingers, its pipes and its
    directory ``scratch``."""
    assert process.stdin is not None and process.stdout is not None
    with contextlib.suppress(BrokenPipeError):  # it ended before reading what was buffered
        process.stdin.close()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def _exit_status(code: int | None) -> str:
    """``exit status 1``, or ``killed by SIGKILL`` for a negative return code."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


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
