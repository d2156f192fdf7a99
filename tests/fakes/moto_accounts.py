"""AWS profiles of several accounts under moto, for the tests of stages in their own accounts.

moto decides the account of a request from its credentials: keys that `sts.assume_role`
returned for a role of account A act in A (the role need not exist), other keys act in the
default account 123456789012 (moto's docs, "Multi-Account support"). `profiles` writes a shared
credentials file whose profiles hold such keys, and points botocore at it; the caller must be
inside `mock_aws()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

DEFAULT_ACCOUNT = "123456789012"  # moto's default account (keys not from assume_role)


def assumed_keys(account: str) -> dict[str, str]:
    """Credentials acting in `account` (moto: keys of an assumed role of that account)."""
    import boto3

    sts = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip
    found = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="bootstrap-test"
    )["Credentials"]
    return {
        "aws_access_key_id": found["AccessKeyId"],
        "aws_secret_access_key": found["SecretAccessKey"],
        "aws_session_token": found["SessionToken"],
    }


def profiles(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, accounts: Mapping[str, str]
) -> dict[str, str]:
    """A credentials file with one profile per `name -> account`, used by botocore from now on
    (the ambient keys, if any, stay in the environment); each profile's access key ID."""
    lines, key_ids = [], {}
    for name, account in accounts.items():
        keys = assumed_keys(account)
        key_ids[name] = keys["aws_access_key_id"]
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
    path = tmp / "aws-credentials"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    return key_ids
