"""The host's AWS configuration changes nothing of what the local side does: its profile,
region, config and credentials files, endpoints, credentials, client settings and proxies."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_local_aws_recovery import (
    RECIPIENT,
    read_back,
    reader_stack,
    serving_the_example_app,
    wait_for_lines,
)
from test_local_smtp import message

from constructs_ses.local import MailFlow
from constructs_ses.local.aws.local_aws import PROFILE, LocalAws
from constructs_ses.local.flow.smtp import free_port
from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS

from conftest import ACCOUNT, REGION

NOWHERE = f"http://127.0.0.1:{free_port()}"
"""An endpoint where nothing listens."""
HOST_KEY = "AKIAHOSTKEY000000000"
SERVICES = ("S3", "SNS", "SQS", "DYNAMODB", "SES", "SESV2", "LAMBDA", "STS", "CLOUDFORMATION")


def files(directory: Path) -> dict[str, str]:
    """Config and credentials files whose default profile names a region, an endpoint, keys and
    client settings of the host's."""
    config = directory / "config"
    config.write_text(
        "[default]\nregion = eu-west-3\n"
        f"endpoint_url = {NOWHERE}\n"
        "max_attempts = many\nretry_mode = nonsense\nca_bundle = /nonexistent/ca.pem\n"
        "use_fips_endpoint = true\ns3 =\n  addressing_style = virtual\n"
        f"[profile {PROFILE}]\nregion = eu-west-3\n"
    )
    credentials = directory / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {HOST_KEY}\naws_secret_access_key = host\n"
        f"[{PROFILE}]\naws_access_key_id = {HOST_KEY}\naws_secret_access_key = host\n"
    )
    return {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}


HOST_SETTINGS: dict[str, Callable[[Path], dict[str, str]]] = {
    "profile": lambda _: {"AWS_PROFILE": "no-such-profile", "AWS_DEFAULT_PROFILE": "no-such"},
    "region": lambda _: {"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "ap-south-1"},
    "files": files,
    "endpoints": lambda _: {
        "AWS_ENDPOINT_URL": NOWHERE,
        **{f"AWS_ENDPOINT_URL_{service}": NOWHERE for service in SERVICES},
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
    },
    "credentials": lambda _: {
        "AWS_ACCESS_KEY_ID": HOST_KEY,
        "AWS_SECRET_ACCESS_KEY": "host",
        "AWS_SESSION_TOKEN": "host-token",
    },
    "endpoint variants": lambda _: {
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_USE_DUALSTACK_ENDPOINT": "true",
    },
    "client settings": lambda directory: {
        "AWS_CA_BUNDLE": "/nonexistent/ca.pem",
        "AWS_MAX_ATTEMPTS": "many",
        "AWS_RETRY_MODE": "nonsense",
        "AWS_DEFAULTS_MODE": "nonsense",
        "AWS_DATA_PATH": str(directory / "no-models"),
        "AWS_STS_REGIONAL_ENDPOINTS": "nonsense",
        "AWS_REQUEST_CHECKSUM_CALCULATION": "nonsense",
    },
    "proxies": lambda _: {
        name: NOWHERE
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
    },
}
"""Each kind of host setting, as it would break a client that read it."""
KINDS = sorted(HOST_SETTINGS)
ENV_WINS_OVER = sorted(set(KINDS) - {"client settings"})
"""What ``LocalAws.env`` overrides when merged after the host's environment (it cannot unset
what only tunes a client: retries, CA bundle...)."""


def set_host(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    """Make ``settings`` the host's (and no proxy exception)."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def signatures(client: Any) -> list[str]:
    """The Authorization headers of the requests ``client`` (a boto3 client) sends from now."""
    headers: list[str] = []

    def sent(request: Any, **_: Any) -> None:
        headers.append(str(request.headers["Authorization"]))

    client.meta.events.register("before-send", sent)
    return headers


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(account=ACCOUNT, region=REGION) as local:
        yield local


@pytest.fixture(scope="module")
def reader_assembly() -> str:
    return str(reader_stack().node.root.synth().directory)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_a_flow_stores_and_its_function_reads_whatever_the_host_s_aws_settings(
    kind: str, aws: LocalAws, reader_assembly: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_host(monkeypatch, HOST_SETTINGS[kind](tmp_path))
    with MailFlow.from_assembly(reader_assembly, aws=aws, store_dir=tmp_path / "store") as flow:
        delivery = flow.deliver(message(RECIPIENT).as_bytes(), recipients=[RECIPIENT])
        assert read_back(delivery)["endpoint"] == aws.endpoint_url
        assert len(delivery.notifications) == 1
        s3 = flow.client("s3")
        headers = signatures(s3)
        s3.list_buckets()
    (authorization,) = headers
    key = LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    assert f"Credential={key}/" in authorization and f"/{REGION}/s3/" in authorization


def test_serve_answers_whatever_the_host_s_aws_settings(tmp_path: Path) -> None:
    """Every kind of host setting at once, for ``serve`` as a program of its own."""
    host = {key: value for key, value in os.environ.items() if key.lower() != "no_proxy"}
    for kind in KINDS:
        host.update(HOST_SETTINGS[kind](tmp_path))
    with serving_the_example_app(host) as (server, port, lines):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.sendmail("jane@sender.example", [RECIPIENT], message(RECIPIENT).as_bytes())
        # the filter (RequestResponse) answered, the tickets function (Event) read and published
        wait_for_lines(lines, r"  \S+ \(Event\): answered null$", 1)
    output = "".join(lines)
    assert server.returncode == 0, output
    assert '(RequestResponse): answered {"disposition": "CONTINUE"}' in output
    assert "  stored: " in output and "Traceback" not in output, output


MERGED_CLIENT = """
import json, boto3
s3 = boto3.client("s3")
print(json.dumps([bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]))
"""
"""A program that uses boto3 as it finds it in its environment."""


@pytest.mark.parametrize("kind", ENV_WINS_OVER)
def test_local_aws_env_wins_over_the_host_s_aws_settings_merged_before_it(
    kind: str, aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{**os.environ, **aws.env}`` reaches the local AWS, as the README merges it."""
    aws.client("s3").create_bucket(Bucket="merged-env")
    set_host(monkeypatch, HOST_SETTINGS[kind](tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", MERGED_CLIENT],
        env={**os.environ, **aws.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "merged-env" in json.loads(done.stdout)
