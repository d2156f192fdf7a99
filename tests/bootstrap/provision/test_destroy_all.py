"""`bootstrap destroy --all --github [--delete-backend]`: the GitHub environments are deleted and
the repository archived, behind its typed name; the state bucket goes only when asked, named,
and every stack is empty."""

from __future__ import annotations

import boto3
import pytest

from bootstrap import backend, destroy_all
from bootstrap.errors import SpecError, UserError
from bootstrap.lifecycle import open_project

from .conftest import (
    ARCHIVE_WRITES,
    BUCKET,
    REGION,
    STAGES,
    AwsCalls,
    CloudOps,
    World,
    new,
    runner,
    summary_of,
)

pytestmark = pytest.mark.usefixtures("fast_scaffold")


def destroy(world: World, *args: str):  # type: ignore[no-untyped-def]
    from bootstrap.cli import app

    return runner.invoke(app, ["destroy", "--repo", str(world.repo), *args])


def test_destroy_all_with_github_then_the_backend(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    assert new(world).exit_code == 0
    s3 = boto3.client("s3", region_name=REGION)
    # moto applies a bucket policy's Deny without its condition, so the TLS-only statement
    # would refuse every object call here (AWS lets HTTPS calls through): leave it out
    s3.delete_bucket_policy(Bucket=BUCKET)
    for body in (b"v1", b"v2"):  # state files, with versions
        s3.put_object(Bucket=BUCKET, Key=".pulumi/stacks/shop/dev.json", Body=body)
    world.server.clear_log()

    # the repository's name must be confirmed: without it nothing is destroyed
    refused = destroy(world, "--all", "--github", "--yes", "--confirm", "prod")
    assert refused.exit_code == 2, refused.output
    assert "add --confirm acme/shop" in refused.stderr
    assert all(op == "up" for op, _ in cloud.writes)  # no destroy yet
    assert world.server.writes == []

    result = destroy(world, "--all", "--github", "--yes", "--confirm", "prod,acme/shop", "--json")

    assert result.exit_code == 0, result.output
    data = summary_of(result)
    assert [s["status"] for s in data["stacks"]] == ["destroyed"] * 4
    assert data["teardown"]["environments_deleted"] == list(STAGES)
    assert data["teardown"]["repository"] == "archived"
    assert data["teardown"]["writes"]["github"] == ARCHIVE_WRITES  # 3 environments, the archive
    gh = world.server.repo("acme/shop")
    assert gh.environments == {} and gh.archived
    assert s3.head_bucket(Bucket=BUCKET)  # kept without --delete-backend

    # again, with the backend: GitHub is done already; the bucket goes, versions and all
    world.server.clear_log()
    again = destroy(world, "--all", "--github", "--delete-backend", "--yes",
                    "--confirm", f"prod,acme/shop,{BUCKET}")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert world.server.writes == []
    assert "is archived already" in again.stderr and "deleted the state bucket" in again.stderr
    assert "The state backend (S3 bucket " in again.stdout and "is deleted." in again.stdout
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_the_backend_is_kept_while_a_stack_holds_resources(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    assert new(world).exit_code == 0
    project = open_project(world.repo)
    plan = destroy_all.plan_teardown(project, github=False, delete_backend=True, all_stacks=True)
    assert plan is not None and plan.confirmations()[0][1] == BUCKET

    with pytest.raises(UserError, match=r"was kept: stacks still hold resources: shared \(9"):
        destroy_all.run_teardown(plan, project, cloud)
    assert BUCKET in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]


def test_a_bucket_not_made_by_bootstrap_is_kept(aws: AwsCalls) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="theirs", CreateBucketConfiguration={"LocationConstraint": REGION})

    with pytest.raises(UserError, match="was not made by bootstrap"):
        backend.delete_state_bucket("theirs", REGION)
    assert backend.delete_state_bucket("missing-bucket", REGION) == 0


def test_github_and_backend_need_all(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    assert new(world, "--no-provision").exit_code == 0
    result = destroy(world, "--stage", "dev", "--github", "--yes")
    assert result.exit_code == SpecError.exit_code
    assert "--github and --delete-backend apply only with --all" in result.stderr
