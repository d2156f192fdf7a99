"""Pulumi state backends: where each stack's state lives, and making that place safe.

- No backend in the spec: a local file backend in `<repo>/.pulumi-state/`, git-ignored twice
  (the generated `.gitignore` lists it, and the directory carries its own `*` ignore file), with
  secrets encrypted by the passphrase provider (`bootstrap.passphrase`).
- `file://PATH`: the same, at PATH (relative paths are taken from the repository root).
- `s3://BUCKET`: the bucket is created with boto3 when missing and made safe (versioning, default
  encryption, every public access block, a policy denying non-TLS requests), idempotently: a run
  that finds everything in place writes nothing. A bucket that belongs to another account is
  reported; one of ours that lacks a setting is reported too, and changed only when it is the
  tool's own (tagged `managed-by=bootstrap`) or when the user asks (`harden=True`).
- `https://api.pulumi.com` (or a self-hosted Pulumi Cloud): the token from `PULUMI_ACCESS_TOKEN`.

The state backend is deleted only by `bootstrap destroy --all --delete-backend`, once every stack is empty.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.aws import aws_errors, aws_session, caller_identity
from bootstrap.errors import CredentialsError, RemoteError, TargetExistsError, UserError
from bootstrap.passphrase import Passphrase, get_passphrase
from stacks.contract import MANAGED_BUCKET_TAG, SECRET_CLOUD_TOKEN, SHARED

if TYPE_CHECKING:
    import boto3

LOCAL_STATE_DIR = ".pulumi-state"
CLOUD_URL = "https://api.pulumi.com"
TOKEN_ENV = SECRET_CLOUD_TOKEN  # Pulumi's variable; CI's secret has its name
MANAGED_TAG = MANAGED_BUCKET_TAG  # a bucket this tool made: only such a bucket is ever deleted
TLS_SID = "DenyInsecureTransport"
# The statements that let stages in other accounts reach their state (`state_access_statements`):
# this tool owns every statement whose Sid starts so, and leaves the others as they are.
ACCESS_SID = "BootstrapState"
SETTINGS = ("versioning", "encryption", "public-access-block", "tls-only-policy")
_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

Kind = Literal["file", "s3", "cloud"]


class BucketConflictError(TargetExistsError):
    """A state bucket that exists but is not ours, or not safe, and was left as it is."""


@dataclass(frozen=True)
class Backend:
    """Where a project's stacks keep their state."""

    kind: Kind
    url: str
    path: Path | None = None  # file backends
    bucket: str | None = None  # s3 backends

    @property
    def uses_passphrase(self) -> bool:
        return self.kind in ("file", "s3")

    def describe(self) -> str:
        if self.kind == "file":
            return f"local state in {self.path}"
        if self.kind == "s3":
            return f"S3 bucket {self.bucket}"
        return f"Pulumi Cloud ({self.url})"


def resolve_backend(backend_url: str | None, repo: Path) -> Backend:
    """The backend of a generated repo from its spec's `backend` value (None: local files)."""
    if not backend_url:
        return Backend("file", _file_url(repo / LOCAL_STATE_DIR), path=repo / LOCAL_STATE_DIR)
    if backend_url.startswith("file://"):
        raw = Path(backend_url.removeprefix("file://")).expanduser()
        path = raw if raw.is_absolute() else repo / raw
        return Backend("file", _file_url(path), path=path)
    if backend_url.startswith("s3://"):
        bucket = backend_url.removeprefix("s3://").split("/", 1)[0].split("?", 1)[0]
        return Backend("s3", backend_url, bucket=bucket)
    if backend_url.startswith("https://"):
        return Backend("cloud", backend_url.rstrip("/"))
    raise UserError(
        f"unsupported state backend '{backend_url}'",
        "use s3://BUCKET, https://api.pulumi.com or file://PATH in .copier-answers.yml",
    )


def _file_url(path: Path) -> str:
    return "file://" + str(path.resolve())


def backend_env(
    backend: Backend, project: str, *, passphrase: Passphrase | None = None
) -> dict[str, str]:
    """Environment variables for the Pulumi CLI: backend URL and the secrets' key or token."""
    env = {"PULUMI_BACKEND_URL": backend.url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if backend.uses_passphrase:
        env.update((passphrase or get_passphrase(project)).env())
    else:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise CredentialsError(
                f"{TOKEN_ENV} is not set, and the state backend is {backend.url}",
                f"create a token at https://app.pulumi.com/account/tokens and export {TOKEN_ENV}",
            )
        env[TOKEN_ENV] = token
    return env


# --- the local file backend -------------------------------------------------------------------


def ensure_file_backend(path: Path) -> bool:
    """Make the state directory (ignored by git on its own); True when it was created."""
    created = not path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Pulumi state: never committed.\n*\n")
    return created


def state_bucket_name(project: str, account: str) -> str:
    """The default state bucket: one per project and account (bucket names are global)."""
    return f"{project}-pulumi-state-{account}"


def default_backend_url(project: str, account: str) -> str:
    return f"s3://{state_bucket_name(project, account)}"


# --- the S3 backend -----------------------------------------------------------------------------


@dataclass
class BucketReport:
    bucket: str
    region: str
    created: bool = False
    applied: list[str] = field(default_factory=list)  # settings written by this run
    granted: list[str] = field(default_factory=list)  # accounts whose stages reach their state
    access_written: bool = False  # the policy's statements for them were (re)written

    @property
    def changed(self) -> bool:
        return self.created or bool(self.applied) or self.access_written

    def summary(self) -> str:
        if self.created:
            text = f"created the state bucket {self.bucket} ({', '.join(SETTINGS)})"
        elif self.applied:
            text = f"state bucket {self.bucket}: applied {', '.join(self.applied)}"
        else:
            text = f"state bucket {self.bucket} is in place and safe"
        if self.granted:
            verb = "now reach" if self.access_written else "reach"
            text += f"; the stages of account {', '.join(self.granted)} {verb} their own state"
        return text


def _code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: Exception) -> int:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _foreign(bucket: str) -> BucketConflictError:
    return BucketConflictError(
        f"the S3 bucket '{bucket}' already exists and belongs to another AWS account "
        "(or your credentials may not use it); it was left unchanged",
        "choose another name: --backend s3://ANOTHER-NAME (bucket names are global)",
    )


def bucket_location(
    s3: Any, bucket: str, account: str
) -> tuple[Literal["missing", "ours", "foreign"], str | None]:
    """Whether the bucket exists and is this account's, and its region (read-only calls)."""
    import botocore.exceptions as bx

    try:
        head = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except bx.ClientError as exc:
        if _status(exc) == 404 or _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return "missing", None
        if _status(exc) == 403 or _code(exc) in ("403", "AccessDenied", "Forbidden"):
            return "foreign", None
        raise
    region = head.get("BucketRegion") or head["ResponseMetadata"]["HTTPHeaders"].get(
        "x-amz-bucket-region"
    )
    # HeadBucket answers 200 for another account's bucket that lets us in; ListBuckets lists
    # only our own. When listing is not allowed, trust HeadBucket's ExpectedBucketOwner check.
    try:
        listed = s3.list_buckets(Prefix=bucket)
    except bx.ClientError as exc:
        if _code(exc) in ("AccessDenied", "403"):
            return "ours", region
        raise
    names = {b["Name"] for b in listed.get("Buckets", [])}
    return ("ours" if bucket in names else "foreign"), region


def audit_bucket(s3: Any, bucket: str) -> list[str]:
    """The safety settings the bucket lacks (read-only calls), in `SETTINGS` order."""
    import botocore.exceptions as bx

    missing: list[str] = []
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        missing.append("versioning")
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        algorithms = {
            r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            for r in rules.get("Rules", [])
        }
        if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            missing.append("encryption")
    except bx.ClientError as exc:
        if "ServerSideEncryptionConfigurationNotFound" not in _code(exc):
            raise
        missing.append("encryption")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        if not all(block.get(key) for key in _PUBLIC_ACCESS_BLOCK):
            missing.append("public-access-block")
    except bx.ClientError as exc:
        if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        missing.append("public-access-block")
    if not _denies_insecure_transport(_policy(s3, bucket)):
        missing.append("tls-only-policy")
    return missing


def _policy(s3: Any, bucket: str) -> dict[str, Any] | None:
    import botocore.exceptions as bx

    try:
        return dict(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]))
    except bx.ClientError as exc:
        if _code(exc) != "NoSuchBucketPolicy":
            raise
        return None


def _denies_insecure_transport(policy: dict[str, Any] | None) -> bool:
    if not policy:
        return False
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        condition = statement.get("Condition", {}).get("Bool", {})
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if (
            statement.get("Effect") == "Deny"
            and str(condition.get("aws:SecureTransport", "")).lower() == "false"
            and ({"s3:*", "*"} & set(actions))
        ):
            return True
    return False


def tls_statement(bucket: str) -> dict[str, Any]:
    return {
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _is_managed(s3: Any, bucket: str) -> bool:
    import botocore.exceptions as bx

    try:
        tags = s3.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    except bx.ClientError as exc:
        if _code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
            return False
        raise
    return any((t.get("Key"), t.get("Value")) == MANAGED_TAG for t in tags)


def _apply(s3: Any, bucket: str, setting: str) -> None:
    if setting == "versioning":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    elif setting == "encryption":
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
    elif setting == "public-access-block":
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=dict(_PUBLIC_ACCESS_BLOCK)
        )
    elif setting == "tls-only-policy":
        policy = _policy(s3, bucket) or {"Version": "2012-10-17", "Statement": []}
        statements = policy.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        statements = [s for s in statements if s.get("Sid") != TLS_SID]
        policy["Statement"] = [*statements, tls_statement(bucket)]
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    else:  # pragma: no cover - SETTINGS is closed
        raise ValueError(setting)


def ensure_state_bucket(
    bucket: str,
    region: str,
    *,
    session: boto3.Session | None = None,
    harden: bool = False,
    access: StateAccess | None = None,
    url: str | None = None,
) -> BucketReport:
    """Create the state bucket when missing and make it safe; a safe bucket costs reads only.
    `access`: the stages of other accounts, given their state in the policy (`url` the backend's,
    for its prefix)."""
    import botocore.exceptions as bx

    session = session or aws_session(region)
    account = caller_identity(session, region).account
    with aws_errors(f"checking the state bucket {bucket}"):
        s3 = session.client("s3", region_name=region)
        where, bucket_region = bucket_location(s3, bucket, account)
    if where == "foreign":
        raise _foreign(bucket)
    report = BucketReport(bucket, bucket_region or region)
    with aws_errors(f"making the state bucket {bucket}"):
        if where == "missing":
            config = {} if region == "us-east-1" else {"LocationConstraint": region}
            try:
                kwargs: dict[str, Any] = {"Bucket": bucket}
                if config:
                    kwargs["CreateBucketConfiguration"] = config
                s3.create_bucket(**kwargs)
            except bx.ClientError as exc:
                if _code(exc) == "BucketAlreadyExists":
                    raise _foreign(bucket) from exc
                if _code(exc) != "BucketAlreadyOwnedByYou":
                    raise
            report.created = True
            s3.put_bucket_tagging(
                Bucket=bucket,
                Tagging={"TagSet": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}]},
            )
            s3.put_bucket_ownership_controls(
                Bucket=bucket,
                OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            )
            missing = list(SETTINGS)
        else:
            if report.region != region:
                s3 = session.client("s3", region_name=report.region)
            missing = audit_bucket(s3, bucket)
            if missing and not harden and not _is_managed(s3, bucket):
                raise BucketConflictError(
                    f"the state bucket '{bucket}' exists but lacks: {', '.join(missing)}; "
                    "it was left unchanged",
                    "run again with --harden-backend to apply them, or choose another bucket",
                )
        for setting in missing:
            _apply(s3, bucket, setting)
            if not report.created:
                report.applied.append(setting)
        if access is not None:
            report.access_written = ensure_state_access(
                s3, bucket, url or f"s3://{bucket}", access
            )
            report.granted = sorted(set(access.stages.values()))
    return report


# --- stages in other accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class StateAccess:
    """The stages that keep their state in the tooling account's bucket from another account."""

    project: str
    stages: Mapping[str, str]  # stage -> its account (only those outside the bucket's account)
    partition: str = "aws"


def _sid(*parts: str) -> str:
    """Sids of a bucket policy: letters and digits (as IAM's grammar gives them)."""
    return ACCESS_SID + "".join(re.sub(r"[^A-Za-z0-9]", "", p.title()) for p in parts)


def state_access_statements(backend_url: str, access: StateAccess) -> list[dict[str, Any]]:
    """The bucket policy statements for stages in other accounts: per account, listing under
    the state's prefix, reading the backend's `meta.yaml` and the shared stack's checkpoint (the
    stages' StackReference); per stage, its own stack's objects (the layout of
    `stacks.permissions.own_stack_objects`, the deploy role's side of the same grant). The
    principal is the account: its own IAM policies say who there may use them."""
    from stacks.common import AwsContext
    from stacks.permissions import StateBucket, own_stack_objects

    state = StateBucket.parse(backend_url)
    if state is None or not access.stages:
        return []
    ctx = AwsContext(partition=access.partition, region="", account_id="")
    bucket, root = state.bucket_arn(ctx), state.root_arn(ctx)
    statements: list[dict[str, Any]] = []
    for account in sorted(set(access.stages.values())):
        principal = {"AWS": f"arn:{access.partition}:iam::{account}:root"}
        stages = sorted(s for s, a in access.stages.items() if a == account)
        statements += [
            {
                "Sid": _sid("List", account),
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:ListBucket",
                "Resource": bucket,
                "Condition": {"StringLike": {"s3:prefix": [f"{state.prefix}.pulumi/*"]}},
            },
            {
                "Sid": _sid("Location", account),
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetBucketLocation",
                "Resource": bucket,
            },
            {
                "Sid": _sid("Read", account),
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": [
                    f"{root}/meta.yaml",
                    own_stack_objects(root, access.project, SHARED)[0],
                ],
            },
        ]
        statements += [
            {
                "Sid": _sid("Stack", account, stage),
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": own_stack_objects(root, access.project, stage),
            }
            for stage in stages
        ]
    return statements


def _canonical(value: Any) -> Any:
    """A policy value as AWS may give it back: one-element lists as the element, lists sorted."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def merge_access(
    policy: dict[str, Any] | None, wanted: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """`policy` with this tool's access statements replaced by `wanted` (others kept, in their
    order); None when it already says exactly that (a re-run writes nothing)."""
    policy = dict(policy or {"Version": "2012-10-17", "Statement": []})
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    ours = [s for s in statements if str(s.get("Sid", "")).startswith(ACCESS_SID)]
    if _canonical(ours) == _canonical(wanted) and len(ours) == len(wanted):
        return None
    others = [s for s in statements if not str(s.get("Sid", "")).startswith(ACCESS_SID)]
    policy["Statement"] = [*others, *wanted]
    return policy


def _check_shared_encryption(s3: Any, bucket: str, accounts: list[str]) -> None:
    """Objects encrypted with the AWS managed key `aws/s3` cannot be read from another account
    (its key policy cannot grant them); SSE-S3 (AES256) and customer managed keys can."""
    import botocore.exceptions as bx

    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    except bx.ClientError as exc:
        if "ServerSideEncryptionConfigurationNotFound" in _code(exc):
            return
        raise
    for rule in rules.get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        key = str(default.get("KMSMasterKeyID") or "")
        if default.get("SSEAlgorithm", "").startswith("aws:kms") and (
            not key or key.endswith("alias/aws/s3")
        ):
            raise BucketConflictError(
                f"the state bucket '{bucket}' encrypts with the AWS managed key aws/s3, which the "
                f"accounts {', '.join(accounts)} cannot use; nothing was changed",
                "set its default encryption to SSE-S3 (AES256) or to a customer managed KMS key "
                "whose key policy lets those accounts use it, then run again",
            )


def ensure_state_access(s3: Any, bucket: str, backend_url: str, access: StateAccess) -> bool:
    """The bucket policy lets each stage in another account reach its own state; True when
    the policy was written."""
    accounts = sorted(set(access.stages.values()))
    if accounts:
        _check_shared_encryption(s3, bucket, accounts)
    merged = merge_access(_policy(s3, bucket), state_access_statements(backend_url, access))
    if merged is None:
        return False
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(merged))
    return True


def state_bucket_exists(bucket: str, region: str, *, session: boto3.Session | None = None) -> bool:
    """Read-only: is there a bucket of ours to read state from (used before a destroy)?"""
    session = session or aws_session(region)
    account = caller_identity(session, region).account
    with aws_errors(f"checking the state bucket {bucket}"):
        where, _ = bucket_location(session.client("s3", region_name=region), bucket, account)
    if where == "foreign":
        raise _foreign(bucket)
    return where == "ours"


# --- one entry point for the commands ----------------------------------------------------------


@dataclass(frozen=True)
class BackendReport:
    backend: Backend
    message: str
    changed: bool


def ensure_backend(
    backend: Backend,
    *,
    region: str,
    harden: bool = False,
    session: boto3.Session | None = None,
    access: StateAccess | None = None,
) -> BackendReport:
    """Make sure the backend can hold state: the directory, the safe bucket, or the token.
    `access`: stages in other accounts (an S3 bucket's policy lets them reach their state)."""
    if backend.kind == "file":
        assert backend.path is not None
        created = ensure_file_backend(backend.path)
        verb = "created" if created else "using"
        return BackendReport(backend, f"{verb} local state in {backend.path}", created)
    if backend.kind == "s3":
        assert backend.bucket is not None
        report = ensure_state_bucket(
            backend.bucket, region, session=session, harden=harden, access=access, url=backend.url
        )
        return BackendReport(backend, report.summary(), report.changed)
    if not os.environ.get(TOKEN_ENV):
        raise CredentialsError(
            f"{TOKEN_ENV} is not set, and the state backend is {backend.url}",
            f"create a token at https://app.pulumi.com/account/tokens and export {TOKEN_ENV}",
        )
    return BackendReport(backend, f"using {backend.describe()}", False)


def backend_has_state(
    backend: Backend, *, region: str, session: boto3.Session | None = None
) -> bool:
    """False when there is certainly no state to act on (no directory, no bucket)."""
    if backend.kind == "file":
        return backend.path is not None and backend.path.is_dir()
    if backend.kind == "s3":
        assert backend.bucket is not None
        return state_bucket_exists(backend.bucket, region, session=session)
    return True


def delete_state_bucket(bucket: str, region: str, *, session: boto3.Session | None = None) -> int:
    """Delete a state bucket this tool made (tagged managed-by=bootstrap): every object version
    and delete marker, then the bucket. Returns the number of write calls."""
    import botocore.exceptions as bx

    session = session or aws_session(region)
    account = caller_identity(session, region).account
    writes = 0
    with aws_errors(f"deleting the state bucket {bucket}"):
        s3 = session.client("s3", region_name=region)
        where, bucket_region = bucket_location(s3, bucket, account)
        if where == "missing":
            return 0
        if where == "foreign":
            raise BucketConflictError(
                f"the S3 bucket '{bucket}' is not this account's; it was left unchanged",
                "check your AWS credentials",
            )
        if bucket_region and bucket_region != region:
            s3 = session.client("s3", region_name=bucket_region)
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in (
                "NoSuchTagSet",
                "NoSuchTagSetError",
            ):
                raise
            tags = []
        if not any((t.get("Key"), t.get("Value")) == MANAGED_BUCKET_TAG for t in tags):
            raise BucketConflictError(
                f"the state bucket '{bucket}' was not made by bootstrap (no tag "
                f"{MANAGED_BUCKET_TAG[0]}={MANAGED_BUCKET_TAG[1]}); it was kept",
                "delete it yourself if nothing else keeps state in it",
            )
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            keys = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for kind in ("Versions", "DeleteMarkers")
                for item in page.get(kind, [])
            ]
            for start in range(0, len(keys), 1000):
                done = s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
                writes += 1
                errors = done.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise RemoteError(
                        f"{len(errors)} object version(s) of the state bucket {bucket} could not "
                        f"be deleted ({first.get('Code')}: {first.get('Key')}); the bucket was kept",
                        "check your permissions and the bucket policy, then run again",
                    )
        s3.delete_bucket(Bucket=bucket)
        writes += 1
    return writes
