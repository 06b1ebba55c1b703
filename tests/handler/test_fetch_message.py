"""fetch_message reads the body an S3 action stored, against moto's S3 API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from constructs_ses.lambda_src.handler import SesEvent, SesMail, fetch_message

from events import ses_event

RAW = (
    b"From: Jane Doe <janedoe@example.com>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9_order?=\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=b1\r\n"
    b"\r\n"
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOne espresso, please.\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>One espresso</p>\r\n"
    b"--b1--\r\n"
)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="archive")
        yield client


def mail(message_id: str = "msg-1") -> SesMail:
    record = SesEvent(ses_event(message_id=message_id)).record
    assert record is not None
    return record.mail


def test_reads_prefix_plus_message_id_from_the_environment(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket="archive", Key="inbound/msg-1", Body=RAW)
    monkeypatch.setenv("SES_MESSAGE_BUCKET", "archive")
    monkeypatch.setenv("SES_MESSAGE_PREFIX", "inbound/")
    message = fetch_message(mail(), s3_client=s3)
    assert message["Subject"] == "Café order"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "One espresso, please."


def test_arguments_override_the_environment_and_default_client_is_boto3(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("SES_MESSAGE_BUCKET", "elsewhere")
    s3.put_object(Bucket="archive", Key="msg-2", Body=RAW)
    message = fetch_message(mail("msg-2"), bucket="archive", prefix="")
    assert message["To"] == "support@example.com"


def test_fails_without_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SES_MESSAGE_BUCKET", raising=False)
    with pytest.raises(LookupError, match=r"no bucket: pass bucket= or set SES_MESSAGE_BUCKET"):
        fetch_message(mail(), s3_client=object())


def test_fails_without_message_id() -> None:
    with pytest.raises(LookupError, match=r"has no messageId"):
        fetch_message(SesMail({}), bucket="archive", s3_client=object())


def test_missing_object_raises_the_s3_error(s3: Any) -> None:
    with pytest.raises(s3.exceptions.NoSuchKey):
        fetch_message(mail("absent"), bucket="archive", s3_client=s3)
