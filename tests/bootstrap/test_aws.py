"""The user's AWS credentials: who they belong to, and AWS's refusals as one-line errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from bootstrap.aws import caller_identity
from bootstrap.errors import CredentialsError

REGION = "eu-west-1"


def test_no_aws_credentials_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError, match="no AWS credentials found"):
        caller_identity(region=REGION)


class _Session:
    """Hands out one prepared client (a botocore Stubber's), as a boto3 Session would."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.region_name = REGION

    def client(self, *_: object, **__: object) -> object:
        return self._client


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ExpiredToken", "your AWS credentials have expired"),
        ("InvalidClientTokenId", "AWS rejected your credentials"),
    ],
)
def test_expired_or_invalid_credentials(code: str, message: str, aws) -> None:  # type: ignore[no-untyped-def]
    sts = boto3.client("sts", region_name=REGION)
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", service_error_code=code, http_status_code=403)
        with pytest.raises(CredentialsError, match=message):
            caller_identity(_Session(sts))  # type: ignore[arg-type]
