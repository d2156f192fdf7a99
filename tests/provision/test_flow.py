"""`bootstrap new` end to end against moto, the local GitHub and the recording seam; then a resumed
`bootstrap provision` that finds everything in place and writes nothing. The first test renders
with Copier for real; the others reuse a render (`fast_scaffold`)."""

from __future__ import annotations

import boto3
import pytest

from bootstrap.cli import app

from .conftest import (
    BUCKET,
    GITHUB_WRITES,
    PULUMI_UPS,
    REGION,
    S3_WRITES,
    AwsCalls,
    CloudOps,
    World,
    assert_converged,
    new,
    provision,
    runner,
    summary_of,
)


def test_full_run_then_a_no_op_run(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    result = new(world, "--json")

    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("checks", "done"),
        ("scaffold", "done"),
        ("backend", "done"),
        ("shared", "done"),
        ("roles", "done"),
        ("commit", "done"),
        ("github", "done"),
        ("wait", "skipped"),
    ]
    assert_converged(world, cloud)
    # the writes of a full run, each counted independently of the tool's own count
    github, s3 = len(world.api_writes), len(aws.writes)
    assert summary["writes"] == {
        "github": github, "aws": s3, "pulumi": len(cloud.ups), "total": github + s3 + len(cloud.ups)
    }  # fmt: skip
    assert (github, s3, len(cloud.ups)) == (GITHUB_WRITES, S3_WRITES, PULUMI_UPS)
    print(f"\nfull run: {summary['writes']}")  # noqa: T201 - recorded in docs/provision.md
    # the shared stack made a new OIDC provider; each stage got a targeted up of its role only
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "dev", "test", "prod"]
    assert cloud.ups[0][1] == {} and cloud.ups[0][2] == []
    for _, _, targets in cloud.ups[1:]:
        assert any("bootstrap:index:DeployRole" in t for t in targets)
        assert not any("EcsService" in t for t in targets)
    assert summary["backend"] == f"s3://{BUCKET}"
    assert summary["repository"] == "acme/shop" and summary["next_command"] == "bootstrap status"
    assert summary["spec"]["backend"] == f"s3://{BUCKET}"
    assert world.token not in result.output and "correct horse" not in result.output

    # a second run finds everything in place: no write anywhere
    world.server.clear_log()
    aws.calls.clear()
    ups = len(cloud.ups)
    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    resumed = summary_of(again)
    assert resumed["writes"] == {"github": 0, "aws": 0, "pulumi": 0, "total": 0}
    assert world.api_writes == [] and aws.writes == [] and len(cloud.ups) == ups
    assert [s["status"] for s in resumed["steps"]] == ["done"] + ["skipped"] * 7
    assert_converged(world, cloud)
    print(f"resumed no-op run: {resumed['writes']}")  # noqa: T201


@pytest.mark.usefixtures("fast_scaffold")
def test_text_output_and_an_existing_oidc_provider_is_reused(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    existing = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["1" * 40],
    )["OpenIDConnectProviderArn"]

    result = new(world)

    assert result.exit_code == 0, result.output
    # the account's provider was passed to the shared stack, which made no second one
    assert cloud.ups[0][1] == {"shop:oidcProviderArn": existing}
    assert cloud.outputs("shared")["oidcProviderArn"] == existing
    assert_converged(world, cloud)
    # the choice is in the committed (and pushed) settings of the shared stack
    assert "oidcProviderArn" in (world.repo / "infra/Pulumi.shared.yaml").read_text()
    # text: each step on stderr as it ends, the result on stdout
    assert "Created" in result.stdout and f"s3://{BUCKET}" in result.stdout
    assert "API writes" in result.stdout and "next command: bootstrap status" in result.stdout
    for step in ("checks:", "backend:", "shared:", "roles:", "github:"):
        assert step in result.stderr
    assert f"reused {existing}" in result.stderr


@pytest.mark.usefixtures("fast_scaffold")
def test_a_plan_without_environments_moves_the_roles_to_the_branch(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    """GitHub Free, private: no environments, so provisioning switches the OIDC trust subject
    to the branch (docs/github.md) and the deploy roles are updated to trust it, in the same
    run; the next run finds them right."""
    from bootstrap.provision import read_deploy_role

    world.server.add_org("freeco", members=("octo",), plan="free")
    result = runner.invoke(
        app, ["new", "shop", "--owner", "freeco", "--region", REGION, "--dir", str(world.tmp),
              "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    github = next(s for s in summary["steps"] if s["name"] == "github")
    assert "deploy roles now trust the branch" in github["detail"]
    session = boto3.Session(region_name=REGION)
    for stage in ("dev", "test", "prod"):
        role = read_deploy_role(session, "shop", stage)
        assert role.subjects == ("repo:freeco/shop:ref:refs/heads/main",)
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "dev", "test", "prod"] * 1 + [
        "dev", "test", "prod"
    ]  # fmt: skip
    gh = world.server.repo("freeco/shop")
    assert gh.environments == {} and "AWS_DEPLOY_ROLE_ARN_DEV" in gh.variables

    world.server.clear_log()
    again = provision(world, "--json")
    assert again.exit_code == 0, again.output
    assert summary_of(again)["writes"]["total"] == 0
