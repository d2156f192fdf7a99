"""State backends: the local file backend, the passphrase, the hardened S3 bucket under moto."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bootstrap import backend as be
from bootstrap import passphrase as pp
from bootstrap.errors import CredentialsError, UserError

REGION = "eu-west-1"


# --- resolving the backend ---------------------------------------------------------------------


def test_default_backend_is_local_state_ignored_by_git(repo_copy) -> None:  # type: ignore[no-untyped-def]
    repo = repo_copy()
    backend = be.resolve_backend(None, repo)
    assert backend.kind == "file" and backend.path == repo / ".pulumi-state"
    assert backend.url == f"file://{(repo / '.pulumi-state').resolve()}"
    report = be.ensure_backend(backend, region=REGION)
    assert report.changed and (repo / ".pulumi-state").is_dir()
    (repo / ".pulumi-state" / "shop.json").write_text("{}")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "?? .pulumi-state" not in status  # never offered for commit
    assert not be.ensure_backend(backend, region=REGION).changed  # idempotent


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("s3://my-state", "s3"),
        ("s3://my-state/prefix?region=eu-west-1", "s3"),
        ("https://api.pulumi.com", "cloud"),
        ("file://state", "file"),
        ("file:///abs/state", "file"),
    ],
)
def test_backend_kinds(url: str, kind: str, tmp_path: Path) -> None:
    backend = be.resolve_backend(url, tmp_path)
    assert backend.kind == kind
    if kind == "s3":
        assert backend.bucket == "my-state"
    if url == "file://state":
        assert backend.path == tmp_path / "state"


def test_unknown_backend_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unsupported state backend"):
        be.resolve_backend("gs://bucket", tmp_path)


def test_cloud_backend_needs_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = be.resolve_backend("https://api.pulumi.com", tmp_path)
    with pytest.raises(CredentialsError, match="PULUMI_ACCESS_TOKEN is not set"):
        be.backend_env(backend, "shop")
    with pytest.raises(CredentialsError):
        be.ensure_backend(backend, region=REGION)
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", "pul-123")
    env = be.backend_env(backend, "shop")
    assert env["PULUMI_ACCESS_TOKEN"] == "pul-123"
    assert "PULUMI_CONFIG_PASSPHRASE" not in env
    assert env["PULUMI_BACKEND_URL"] == "https://api.pulumi.com"


# --- the passphrase ------------------------------------------------------------------------------


def test_passphrase_generated_once_in_a_private_file() -> None:
    first = pp.get_passphrase("shop")
    assert first.source == "generated" and first.path is not None
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.path.parent.stat().st_mode) == 0o700
    assert ".config/bootstrap/passphrases" in str(first.path)
    again = pp.get_passphrase("shop")
    assert again.source == "file" and again.value == first.value
    assert pp.get_passphrase("other").value != first.value
    # never printed
    assert first.value not in repr(first) and first.value not in str(first)
    assert first.value not in f"{first}"


def test_passphrase_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    pp.get_passphrase("shop")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-ci")
    got = pp.get_passphrase("shop")
    assert (got.value, got.source) == ("from-ci", "env")
    assert got.env() == {"PULUMI_CONFIG_PASSPHRASE": "from-ci"}


def test_passphrase_file_permissions_tightened_and_empty_file_refused() -> None:
    path = pp.passphrase_path("shop")
    path.parent.mkdir(parents=True)
    path.write_text("open-secret\n")
    path.chmod(0o644)
    assert pp.get_passphrase("shop").value == "open-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("\n")
    with pytest.raises(CredentialsError, match="is empty"):
        pp.get_passphrase("shop")


def test_missing_passphrase_for_existing_stacks_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="no passphrase for project 'shop'") as info:
        pp.get_passphrase("shop", create=False)
    assert "PULUMI_CONFIG_PASSPHRASE" in str(info.value)


# --- the S3 bucket -------------------------------------------------------------------------------


def _recording_session() -> tuple[boto3.Session, list[str]]:
    session = boto3.Session(region_name=REGION)
    calls: list[str] = []
    session.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return session, calls


def _writes(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith(("Put", "Create", "Delete"))]


def test_bucket_created_hardened_and_second_run_writes_nothing(aws) -> None:  # type: ignore[no-untyped-def]
    session, calls = _recording_session()
    report = be.ensure_state_bucket("shop-state", REGION, session=session)
    assert report.created and report.changed
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.get_bucket_location(Bucket="shop-state")["LocationConstraint"] == REGION
    assert s3.get_bucket_versioning(Bucket="shop-state")["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket="shop-state")["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket="shop-state")["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket="shop-state")["Policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {"arn:aws:s3:::shop-state", "arn:aws:s3:::shop-state/*"}
    tags = s3.get_bucket_tagging(Bucket="shop-state")["TagSet"]
    assert {"Key": "managed-by", "Value": "bootstrap"} in tags
    owner = s3.get_bucket_ownership_controls(Bucket="shop-state")["OwnershipControls"]
    assert owner["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert _writes(calls)

    calls.clear()
    again = be.ensure_state_bucket("shop-state", REGION, session=session)
    assert not again.changed and "in place and safe" in again.summary()
    assert _writes(calls) == [], calls
    assert "HeadBucket" in calls


def test_us_east_1_bucket_has_no_location_constraint(aws) -> None:  # type: ignore[no-untyped-def]
    report = be.ensure_state_bucket("shop-state-use1", "us-east-1")
    assert report.created
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_bucket_location(Bucket="shop-state-use1")["LocationConstraint"] is None


def test_bucket_of_another_account_is_reported_not_changed(aws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "222222222222")
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="taken", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    session, calls = _recording_session()
    with pytest.raises(be.BucketConflictError, match="belongs to another AWS account"):
        be.ensure_state_bucket("taken", REGION, session=session)
    assert _writes(calls) == []
    with pytest.raises(be.BucketConflictError):
        be.state_bucket_exists("taken", REGION)


def test_forbidden_head_bucket_means_foreign() -> None:
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
        assert be.bucket_location(s3, "theirs", "123456789012") == ("foreign", None)
        stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
        assert be.bucket_location(s3, "nobody", "123456789012") == ("missing", None)


def test_our_unsafe_bucket_is_reported_then_hardened_on_request(aws) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="legacy", CreateBucketConfiguration={"LocationConstraint": REGION})
    other = {
        "Sid": "ReadForAuditors",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::legacy/*",
    }
    s3.put_bucket_policy(
        Bucket="legacy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    session, calls = _recording_session()
    with pytest.raises(be.BucketConflictError) as info:
        be.ensure_state_bucket("legacy", REGION, session=session)
    message = str(info.value)
    for setting in be.SETTINGS:
        assert setting in message
    assert "--harden-backend" in message and "\n" not in message
    assert _writes(calls) == []

    report = be.ensure_state_bucket("legacy", REGION, session=session, harden=True)
    assert report.applied == list(be.SETTINGS) and not report.created
    statements = json.loads(s3.get_bucket_policy(Bucket="legacy")["Policy"])["Statement"]
    assert [s.get("Sid") for s in statements] == ["ReadForAuditors", be.TLS_SID]  # kept theirs
    calls.clear()
    assert not be.ensure_state_bucket("legacy", REGION, session=session).changed
    assert _writes(calls) == []


def test_interrupted_creation_is_finished_on_the_next_run(aws) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="half", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(
        Bucket="half", Tagging={"TagSet": [{"Key": "managed-by", "Value": "bootstrap"}]}
    )
    s3.put_bucket_versioning(Bucket="half", VersioningConfiguration={"Status": "Enabled"})
    report = be.ensure_state_bucket("half", REGION)
    assert report.applied == ["encryption", "public-access-block", "tls-only-policy"]
    assert be.audit_bucket(s3, "half") == []


def test_suspended_versioning_counts_as_missing(aws) -> None:  # type: ignore[no-untyped-def]
    be.ensure_state_bucket("shop-state", REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(Bucket="shop-state", VersioningConfiguration={"Status": "Suspended"})
    assert be.audit_bucket(s3, "shop-state") == ["versioning"]
    assert be.ensure_state_bucket("shop-state", REGION).applied == ["versioning"]  # ours: tagged


def test_state_bucket_existence_is_read_only(aws) -> None:  # type: ignore[no-untyped-def]
    assert not be.backend_has_state(
        be.resolve_backend("s3://nothing-here", Path("/")), region=REGION
    )
    be.ensure_state_bucket("shop-state", REGION)
    assert be.backend_has_state(be.resolve_backend("s3://shop-state", Path("/")), region=REGION)


# --- stages in other accounts ------------------------------------------------------------------

PROD, OTHER = "222222222222", "333333333333"


def test_state_access_grants_each_account_its_own_stages_and_the_shared_checkpoint() -> None:
    from stacks.permissions import own_stack_objects

    access = be.StateAccess("shop", {"prod": PROD, "qa": PROD, "test": OTHER}, "aws-cn")
    statements = be.state_access_statements("s3://state/team?region=cn-north-1", access)
    by_sid = {s["Sid"]: s for s in statements}
    assert list(by_sid) == [
        f"BootstrapStateList{PROD}", f"BootstrapStateLocation{PROD}", f"BootstrapStateRead{PROD}",
        f"BootstrapStateStack{PROD}Prod", f"BootstrapStateStack{PROD}Qa",
        f"BootstrapStateList{OTHER}", f"BootstrapStateLocation{OTHER}",
        f"BootstrapStateRead{OTHER}", f"BootstrapStateStack{OTHER}Test",
    ]  # fmt: skip
    root = "arn:aws-cn:s3:::state/team/.pulumi"
    assert all(s["Principal"] == {"AWS": f"arn:aws-cn:iam::{s['Sid'][-12:]}:root"}
               for s in statements if s["Sid"][-12:].isdigit())  # fmt: skip
    listing = by_sid[f"BootstrapStateList{PROD}"]
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == "arn:aws-cn:s3:::state"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["team/.pulumi/*"]}}
    assert by_sid[f"BootstrapStateRead{OTHER}"]["Resource"] == [
        f"{root}/meta.yaml", f"{root}/stacks/shop/shared.json*"
    ]  # fmt: skip
    # a stage's own objects: the same layout as its deploy role's grant (one definition)
    prod = by_sid[f"BootstrapStateStack{PROD}Prod"]
    assert prod["Resource"] == own_stack_objects(root, "shop", "prod")
    assert prod["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert not any("/test" in r for r in prod["Resource"])  # not another stage's state
    # nothing to grant: no stage elsewhere, or a backend that is not a bucket
    assert be.state_access_statements("s3://state", be.StateAccess("shop", {})) == []
    assert be.state_access_statements("https://api.pulumi.com", access) == []


def test_state_access_merged_into_the_policy_once_and_kept_current(aws) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION)
    session, calls = _recording_session()
    access = be.StateAccess("shop", {"prod": PROD})
    report = be.ensure_state_bucket("shop-state", REGION, session=session, access=access)
    assert report.created and report.granted == [PROD] and report.access_written
    assert f"the stages of account {PROD} now reach their own state" in report.summary()
    sids = _sids(s3)
    assert sids[0] == be.TLS_SID and f"BootstrapStateStack{PROD}Prod" in sids
    # someone else's statement stays; a re-run writes nothing
    policy = json.loads(s3.get_bucket_policy(Bucket="shop-state")["Policy"])
    policy["Statement"].append({"Sid": "Auditors", "Effect": "Allow", "Action": "s3:GetObject",
                                "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                "Resource": "arn:aws:s3:::shop-state/*"})  # fmt: skip
    s3.put_bucket_policy(Bucket="shop-state", Policy=json.dumps(policy))
    calls.clear()
    again = be.ensure_state_bucket("shop-state", REGION, session=session, access=access)
    assert not again.changed and _writes(calls) == []
    # prod moved back to the tooling account: its statements go, the others stay
    moved = be.ensure_state_bucket(
        "shop-state", REGION, session=session, access=be.StateAccess("shop", {})
    )
    assert moved.access_written and _writes(calls) == ["PutBucketPolicy"]
    sids = _sids(s3)
    assert sids == [be.TLS_SID, "Auditors"]


def _sids(s3: Any) -> list[str]:
    policy = json.loads(s3.get_bucket_policy(Bucket="shop-state")["Policy"])
    return [s["Sid"] for s in policy["Statement"]]


def test_the_aws_managed_key_is_refused_for_other_accounts(aws) -> None:  # type: ignore[no-untyped-def]
    be.ensure_state_bucket("shop-state", REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_encryption(
        Bucket="shop-state",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    session, calls = _recording_session()
    with pytest.raises(be.BucketConflictError) as info:
        be.ensure_state_bucket(
            "shop-state", REGION, session=session, access=be.StateAccess("shop", {"prod": PROD})
        )
    assert f"AWS managed key aws/s3, which the accounts {PROD} cannot use" in info.value.problem
    assert "SSE-S3 (AES256)" in str(info.value.fix) and _writes(calls) == []
    # a customer managed key (by ARN) is the user's to share: accepted
    key = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    s3.put_bucket_encryption(
        Bucket="shop-state",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]},
    )  # fmt: skip
    access = be.StateAccess("shop", {"prod": PROD})
    assert be.ensure_state_bucket("shop-state", REGION, session=session, access=access).granted
