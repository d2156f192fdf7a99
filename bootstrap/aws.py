"""boto3 on the user's own AWS credentials: the session, who the credentials belong to, AWS's
failures as one-line errors with their exit codes, and the registry adapter (`stacks/ecr.py`,
shared with the deploy workflow) opened on them for `status`, `promote`/`rollback --local` and
`destroy`.

boto3 and botocore are imported inside the functions: the CLI does not pay for them at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from bootstrap.errors import CredentialsError, RemoteError

if TYPE_CHECKING:
    import boto3

    from stacks.ecr import Repository


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidAccessKeyId",
}
LOGIN_FIX = (
    "sign in (`aws sso login`, or `aws configure`) or export AWS_PROFILE, "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore's credential and connection failures into one-line errors."""
    import botocore.exceptions as bx

    try:
        yield
    except bx.NoCredentialsError as exc:
        raise CredentialsError("no AWS credentials found", LOGIN_FIX) from exc
    except bx.ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS profile '{exc.kwargs.get('profile')}' is not configured",
            "list profiles with `aws configure list-profiles`, or unset AWS_PROFILE",
        ) from exc
    except (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError) as exc:
        raise CredentialsError(
            "your AWS SSO session has expired", "run `aws sso login` and try again"
        ) from exc
    except bx.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _EXPIRED:
            raise CredentialsError(
                "your AWS credentials have expired",
                "refresh them (`aws sso login`, or new session credentials) and run again",
            ) from exc
        if code in _INVALID:
            raise CredentialsError(
                f"AWS rejected your credentials ({code})",
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your profile",
            ) from exc
        message = exc.response.get("Error", {}).get("Message", "") or code
        raise RemoteError(
            f"{action} failed: {message}", "check your permissions and retry"
        ) from exc
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        raise RemoteError(
            f"{action} failed: AWS is not reachable ({exc})", "check your network and retry"
        ) from exc


def aws_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    """A boto3 session on the ambient credentials, or on `profile`'s."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    # One loader for every session of the process: each new client otherwise parses its
    # service's model files again (about 0.1 s a client).
    core.register_component("data_loader", _data_loader())
    action = f"opening AWS profile '{profile}'" if profile else "reading the AWS configuration"
    with aws_errors(action):
        return boto3.Session(botocore_session=core, profile_name=profile, region_name=region)


@cache
def _data_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


def caller_identity(session: boto3.Session | None = None, region: str | None = None) -> Identity:
    """Who the AWS credentials belong to (STS GetCallerIdentity), or a CredentialsError."""
    session = session or aws_session(region)
    with aws_errors("checking your AWS identity"):
        sts = session.client("sts", region_name=region or session.region_name or "us-east-1")
        ident = sts.get_caller_identity()
    return Identity(account=ident["Account"], arn=ident["Arn"])


# --- the registry ---------------------------------------------------------------------------------


def repository(client: Any, name: str) -> Repository:
    """The registry adapter on a boto3 ECR client, its failures one-line errors (`aws_errors`)."""
    from stacks.ecr import Repository

    return Repository(client, name, guard=aws_errors)


def opener(region: str, session: Any = None) -> Callable[[str], Repository]:
    """Repository name -> adapter. The AWS session is made at the first call, so a missing or
    broken AWS configuration is that call's error, not the caller's."""

    def open_repository(name: str) -> Repository:
        client = (session or aws_session(region)).client("ecr", region_name=region)
        return repository(client, name)

    return open_repository
