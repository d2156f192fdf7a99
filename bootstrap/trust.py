"""What AWS trusts of GitHub, read with the user's credentials: the account's GitHub OIDC
provider (one per issuer URL) and the subjects a role's trust policy accepts. Read-only: the
stacks make and change the provider and the roles; provisioning and `doctor` compare them with
the subject GitHub issues."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from bootstrap.errors import RemoteError

if TYPE_CHECKING:
    import boto3


def find_github_oidc_provider(session: boto3.Session, issuer: str) -> str | None:
    """The ARN of the account's OIDC provider for `issuer` (host and path), if it has one."""
    from bootstrap.aws import aws_errors

    with aws_errors("listing the account's OIDC providers"):
        iam = session.client("iam")
        providers = iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])
    for provider in providers:
        arn = str(provider.get("Arn", ""))
        if arn.endswith(f":oidc-provider/{issuer}"):
            return arn
    return None


@dataclass(frozen=True)
class RoleState:
    readable: bool  # False: IAM may not be read with these credentials
    arn: str | None = None
    subjects: tuple[str, ...] = ()  # the GitHub OIDC subjects its trust policy names
    patterns: tuple[str, ...] = ()  # the same as shell patterns (StringLike's `*` and `?`)

    @property
    def exists(self) -> bool:
        return self.arn is not None

    def trusts(self, subject: str) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(subject, pattern) for pattern in self.patterns)


def read_role(session: boto3.Session, name: str, issuer: str) -> RoleState:
    """A role as IAM has it (read-only): its ARN and the `<issuer>:sub` values it trusts."""
    import botocore.exceptions as bx

    from bootstrap.aws import aws_errors

    try:
        with aws_errors(f"reading the role {name}"):
            try:
                role = session.client("iam").get_role(RoleName=name)
            except bx.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "NoSuchEntity":
                    return RoleState(True)
                if code in ("AccessDenied", "AccessDeniedException"):
                    return RoleState(False)
                raise
    except RemoteError:
        return RoleState(False)
    data = role.get("Role", {})
    found = _conditions(data.get("AssumeRolePolicyDocument"), issuer)
    return RoleState(
        True,
        str(data.get("Arn")),
        tuple(value for _, value in found),
        tuple(_pattern(operator, value) for operator, value in found),
    )


def trusted_subjects(document: Any, issuer: str) -> tuple[str, ...]:
    """The `<issuer>:sub` values (StringEquals, StringLike) an allowing trust policy names."""
    return tuple(value for _, value in _conditions(document, issuer))


def _conditions(document: Any, issuer: str) -> list[tuple[str, str]]:
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return []
    found: list[tuple[str, str]] = []
    statements = (document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect", "Allow") != "Allow":
            continue
        conditions: Mapping[str, Any] = statement.get("Condition") or {}
        for operator, condition in conditions.items():
            if operator not in ("StringEquals", "StringLike"):
                continue
            for key, value in (condition or {}).items():
                if key == f"{issuer}:sub":
                    values = [value] if isinstance(value, str) else [str(v) for v in value]
                    found += [(operator, v) for v in values]
    return found


def _pattern(operator: str, value: str) -> str:
    """A shell pattern: IAM's StringLike knows `*` and `?`; StringEquals is exact."""
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in value)
    if operator == "StringEquals":
        return escaped
    return escaped.replace("[*]", "*").replace("[?]", "?")
