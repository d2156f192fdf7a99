"""`bootstrap new` end to end against moto, the local GitHub and the recording seam; then a resumed
`bootstrap provision` that finds everything in place and writes nothing. The first test renders
with Copier for real; the others reuse a render (`fast_scaffold`)."""

from __future__ import annotations

import boto3
import pytest

from bootstrap.cli import app
from bootstrap.repo import run_in

from .conftest import (
    BUCKET,
    GITHUB_WRITES,
    PULUMI_UPS,
    REGION,
    RENAME_UPS,
    S3_WRITES,
    AwsCalls,
    CloudOps,
    World,
    assert_converged,
    git,
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
        ("repository", "done"),
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
    assert summary["repository"] == "acme/shop"
    assert summary["next_command"] == run_in(world.repo, "bootstrap status")
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
    assert [s["status"] for s in resumed["steps"]] == ["done"] + ["skipped"] * 8
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
    assert "API writes" in result.stdout
    assert f"next command: {run_in(world.repo, 'bootstrap status')}" in result.stdout
    for step in ("checks:", "backend:", "shared:", "roles:", "github:"):
        assert step in result.stderr
    assert f"reused {existing}" in result.stderr


@pytest.mark.usefixtures("fast_scaffold")
def test_a_plan_without_environments_moves_the_roles_to_the_branch(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    """GitHub Free, private: no environments, so the OIDC trust subject is the branch
    (docs/github.md). GitHub is asked first, so the deploy roles are made once, trusting it:
    nothing runs twice; the next run finds them right."""
    from bootstrap.trust import read_role
    from tests.fakes.github_server import issued_prefix

    world.server.add_org("freeco", members=("octo",), plan="free")
    result = runner.invoke(
        app, ["new", "shop", "--owner", "freeco", "--region", REGION, "--dir", str(world.tmp),
              "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    repository = next(s for s in summary["steps"] if s["name"] == "repository")
    assert "environments no (the roles trust the branch)" in repository["detail"]
    assert summary["spec"]["trust_subject"] == "branch"
    session = boto3.Session(region_name=REGION)
    main = f"{issued_prefix('freeco', 'shop')}:ref:refs/heads/main"
    for stage in ("dev", "test", "prod"):
        role = read_role(session, f"shop-{stage}-deploy", "token.actions.githubusercontent.com")
        assert role.subjects == (main,)
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "dev", "test", "prod"]
    gh = world.server.repo("freeco/shop")
    assert gh.environments == {} and "AWS_DEPLOY_ROLE_ARN_DEV" in gh.variables

    world.server.clear_log()
    again = provision(world, "--json")
    assert again.exit_code == 0, again.output
    assert summary_of(again)["writes"]["total"] == 0


@pytest.mark.usefixtures("fast_scaffold")
def test_a_rename_after_provisioning_moves_every_role_s_trust(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    """GitHub issues another subject after a rename: `provision` learns it first, records it,
    and updates the shared stack (CI and preview roles) and each stage's deploy role, once."""
    from bootstrap.trust import read_role

    assert new(world, "--json").exit_code == 0
    before = len(cloud.ups)
    world.server.rename("acme/shop", name="store")
    world.server.clear_log()

    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    summary = summary_of(again)
    prefix = world.server.subject_prefix("acme/store")
    assert summary["subject_prefix"] == prefix and summary["repository"] == "acme/store"
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["scaffold"]["status"] == "done" and prefix in steps["scaffold"]["detail"]
    assert "trust of shop-ci, shop-preview updated" in steps["shared"]["detail"]
    assert [stack for stack, _, _ in cloud.ups[before:]] == ["shared", "dev", "test", "prod"]
    session = boto3.Session(region_name=REGION)
    issuer = "token.actions.githubusercontent.com"
    assert read_role(session, "shop-ci", issuer).subjects == (f"{prefix}:ref:refs/heads/main",)
    assert read_role(session, "shop-preview", issuer).subjects == (f"{prefix}:pull_request",)
    for stage in ("dev", "test", "prod"):
        role = read_role(session, f"shop-{stage}-deploy", issuer)
        assert role.subjects == (f"{prefix}:environment:{stage}",)
    # GitHub: the record commit pushed to the renamed repository; nothing else changed there
    assert world.server.head("acme/store") == git(world.repo, "rev-parse", "HEAD")
    assert summary["writes"]["github"] == 0 and summary["writes"]["pulumi"] == RENAME_UPS
    print(f"\nrename, then provision: {summary['writes']}; roles trust {prefix}:...")  # noqa: T201

    world.server.clear_log()
    third = provision(world, "--json")
    assert summary_of(third)["writes"]["total"] == 0


@pytest.mark.usefixtures("fast_scaffold")
def test_github_enterprise_server_end_to_end(
    world: World, aws: AwsCalls, cloud: CloudOps, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`--github-api-url https://HOST/api/v3`: the issuer HOST/_services/token is recorded, the
    account's provider for it is found or made, and every role trusts that issuer's names."""
    from bootstrap.trust import read_role
    from tests.fakes.github_server import FakeGitHub

    with FakeGitHub(
        tmp_path_factory.mktemp("ghes"), api_prefix="/api/v3", enterprise_version="3.19.0"
    ) as ghes:
        token = ghes.add_user("octo")
        ghes.add_org("acme", members=("octo",), plan="enterprise")
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.delenv("GITHUB_API_URL")
        result = new(world, "--github-api-url", ghes.api_url, "--json")

        assert result.exit_code == 0, result.output
        summary = summary_of(result)
        issuer = "127.0.0.1/_services/token"
        assert summary["spec"]["github_oidc_issuer"] == issuer
        assert summary["subject_prefix"] == "repo:acme/shop"  # GHES keeps names
        iam = boto3.client("iam", region_name=REGION)
        providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        assert [p["Arn"].split(":oidc-provider/")[1] for p in providers] == [issuer]
        role = read_role(boto3.Session(region_name=REGION), "shop-dev-deploy", issuer)
        assert role.subjects == ("repo:acme/shop:environment:dev",)
        assert ghes.head("acme/shop") == git(world.repo, "rev-parse", "HEAD")
        again = provision(world, "--json")  # the record's API URL: no option needed
        assert summary_of(again)["writes"]["total"] == 0
