"""`bootstrap new`/`provision` with stages in their own AWS accounts, against moto with several
account IDs: moto answers a request in the account its access key belongs to, and
`sts.assume_role` into another account's role gives keys of that account. The profiles live in an
AWS credentials file written for the test (docs/accounts.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from bootstrap.errors import CredentialsError
from tests.conftest import REPO_ROOT
from tests.fakes import moto_accounts

from .conftest import (
    ACCOUNT,
    BUCKET,
    REGION,
    S3_WRITES,
    AwsCalls,
    CloudOps,
    World,
    new,
    provision,
    summary_of,
)

TOOLING = ACCOUNT  # moto's default account: the ambient keys' (the aws fixture)
assert TOOLING == moto_accounts.DEFAULT_ACCOUNT
PROD = "222222222222"
OTHER = "333333333333"
PROD_REGION = "eu-central-1"


@pytest.fixture
def profiles(aws: AwsCalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Profiles `prod-admin` (keys of PROD) and `wrong` (keys of OTHER); profile -> its key ID."""
    monkeypatch.delenv("BOOTSTRAP_AWS_PROFILES", raising=False)
    keys = moto_accounts.profiles(tmp_path, monkeypatch, {"prod-admin": PROD, "wrong": OTHER})
    aws.calls.clear()  # the setup's own calls
    return keys


def as_account(profile: str, service: str) -> Any:
    """A client of the account a profile signs in to."""
    return boto3.Session(profile_name=profile, region_name=REGION).client(service)


def bucket_policy() -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    return dict(json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]))


@pytest.mark.usefixtures("fast_scaffold")
def test_a_profile_of_another_account_is_refused_before_any_write(
    world: World, aws: AwsCalls, cloud: CloudOps, profiles: dict[str, str]
) -> None:
    result = new(world, "--account", f"prod={PROD}", "--profile", "prod=wrong", "--json")

    assert result.exit_code == CredentialsError.exit_code, result.output
    document = json.loads(result.stdout)  # one document, on failure too
    assert document["ok"] is False
    assert f"lives in AWS account {PROD}, but profile 'wrong' signs in to {OTHER}" in result.output
    # nothing written: no folder, no AWS write (in any account), no GitHub write, no Pulumi run
    assert not world.repo.exists()
    assert aws.writes == [] and document["writes"]["aws"] == 0
    assert document["accounts"][PROD] == {
        "stacks": ["prod"], "profiles": ["wrong"], "aws_writes": 0, "pulumi_updates": 0
    }
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []
    assert world.api_writes == [] and cloud.ups == []
    assert profiles["wrong"] not in result.output  # no key in the output


def test_a_stage_naming_the_tooling_account_is_refused_before_any_write(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    """The tooling account's GitHub provider is the shared stack's: a stage naming that account
    would make a second one, which AWS refuses, after the shared stack was written."""
    result = new(world, "--account", f"prod={TOOLING}")

    assert result.exit_code == 2, result.output
    assert f"prod's account {TOOLING} is the tooling account" in result.output
    assert "name no account for a stage of the tooling account" in result.output
    assert aws.writes == [] and world.api_writes == [] and cloud.ups == []
    assert not world.repo.exists()


def test_an_unknown_profile_key_is_refused_before_any_call(
    world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    result = new(world, "--profile", "staging=admin")

    assert result.exit_code == 2, result.output
    assert "--profile names 'staging'" in result.output
    assert aws.calls == [] and world.api_writes == [] and not world.repo.exists()


@pytest.mark.usefixtures("fast_scaffold")
def test_a_stage_in_its_own_account_end_to_end_then_a_no_op_run(
    world: World,
    aws: AwsCalls,
    cloud: CloudOps,
    profiles: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PROD already has GitHub's OIDC provider: the stage's foundation reuses it
    existing = as_account("prod-admin", "iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["1" * 40],
    )["OpenIDConnectProviderArn"]
    place = ("--account", f"prod={PROD}", "--stage-region", f"prod={PROD_REGION}")

    result = new(world, *place, "--profile", "prod=prod-admin", "--json")

    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    # what lives where, and what the run wrote in each account (docs/accounts.md)
    print(f"\naccounts: {summary['accounts']}")  # noqa: T201
    assert summary["accounts"] == {
        TOOLING: {
            "stacks": ["shared", "dev", "test"],
            "profiles": [],
            "aws_writes": S3_WRITES + 1,  # the bucket, and its policy's statements for PROD
            "pulumi_updates": 3,
        },
        PROD: {
            "stacks": ["prod"], "profiles": ["prod-admin"], "aws_writes": 0, "pulumi_updates": 1
        },
    }
    # docs/accounts.md quotes these figures
    doc = (REPO_ROOT / "docs/accounts.md").read_text()
    assert f"| tooling | shared, dev, test | {S3_WRITES + 1} | 3 |" in doc
    assert "| stage (prod) | prod | 0 | 1 |" in doc
    checks = next(s for s in summary["steps"] if s["name"] == "checks")
    assert checks["data"]["accounts"] == {"shared": TOOLING, "dev": TOOLING, "test": TOOLING,
                                          "prod": PROD}  # fmt: skip
    # the stack file has the account and region; the reused provider is in its settings
    settings = yaml.safe_load((world.repo / "infra/Pulumi.prod.yaml").read_text())["config"]
    assert settings["shop:account"] == PROD and settings["aws:region"] == PROD_REGION
    assert settings["shop:oidcProviderArn"] == existing
    # each Pulumi run had its own account's credentials: prod the profile's, the others ambient
    envs = {stack: env for op, stack, env in cloud.envs if op == "up"}
    assert envs["prod"]["AWS_ACCESS_KEY_ID"] == profiles["prod-admin"]
    assert envs["prod"]["AWS_PROFILE"] == "" and envs["prod"]["AWS_REGION"] == PROD_REGION
    assert envs["shared"] == {} and envs["dev"] == {}
    assert profiles["prod-admin"] not in result.output
    # the deploy role is in PROD, trusting PROD's provider; none of prod's is in the tooling one
    prod_role = as_account("prod-admin", "iam").get_role(RoleName="shop-prod-deploy")
    assert prod_role["Role"]["Arn"].startswith(f"arn:aws:iam::{PROD}:role/")
    trust = prod_role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"]["Federated"] == existing
    tooling_roles = {r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]}
    assert "shop-prod-deploy" not in tooling_roles and "shop-dev-deploy" in tooling_roles
    # the state stays in the tooling account; its policy lets PROD reach prod's state only
    policy = bucket_policy()
    ours = [s for s in policy["Statement"] if s["Sid"].startswith("BootstrapState")]
    assert {s["Principal"]["AWS"] for s in ours} == {f"arn:aws:iam::{PROD}:root"}
    stack_grant = next(s for s in ours if s["Sid"] == "BootstrapStateStack222222222222Prod")
    assert f"arn:aws:s3:::{BUCKET}/.pulumi/stacks/shop/prod.json*" in stack_grant["Resource"]
    assert not any("/dev" in r for s in ours for r in json.dumps(s["Resource"]).split(","))
    assert any(s["Sid"] == "DenyInsecureTransport" for s in policy["Statement"])
    # GitHub: prod's environment has PROD's role and prod's own region
    gh = world.server.repo("acme/shop")
    prod_vars = {k: v["value"] for k, v in gh.environments["prod"].variables.items()}
    dev_vars = {k: v["value"] for k, v in gh.environments["dev"].variables.items()}
    assert prod_vars["AWS_DEPLOY_ROLE_ARN"] == prod_role["Role"]["Arn"]
    assert prod_vars["AWS_REGION"] == PROD_REGION and dev_vars["AWS_REGION"] == REGION

    # without a profile for prod, the run stops at the checks: the ambient keys are the tooling's
    world.server.clear_log()
    aws.calls.clear()
    ups = len(cloud.ups)
    refused = provision(world, "--json")
    assert refused.exit_code == CredentialsError.exit_code, refused.output
    assert f"stack 'prod' lives in AWS account {PROD}" in refused.output
    # with it (from the environment this time), a second run writes nothing anywhere
    monkeypatch.setenv("BOOTSTRAP_AWS_PROFILES", "prod=prod-admin")
    again = provision(world, "--json")
    assert again.exit_code == 0, again.output
    resumed = summary_of(again)
    assert resumed["writes"] == {"github": 0, "aws": 0, "pulumi": 0, "total": 0}
    assert [a["aws_writes"] + a["pulumi_updates"] for a in resumed["accounts"].values()] == [0, 0]
    assert world.api_writes == [] and aws.writes == [] and len(cloud.ups) == ups


@pytest.mark.usefixtures("fast_scaffold")
def test_an_account_that_fails_does_not_stop_the_others_and_the_run_resumes(
    world: World, aws: AwsCalls, cloud: CloudOps, profiles: dict[str, str]
) -> None:
    # the first stage lives in PROD (its profile named by the account ID) and its credentials
    # have expired; the stages of the tooling account are still deployed
    cloud.fail("up", "dev", CredentialsError(
        "your AWS credentials have expired", "refresh them (`aws sso login`) and run again"
    ))  # fmt: skip

    result = new(world, "--account", f"dev={PROD}", "--profile", f"{PROD}=prod-admin", "--json")

    assert result.exit_code == CredentialsError.exit_code, result.output
    assert f"dev (account {PROD}): your AWS credentials have expired" in result.output
    assert f"bootstrap provision --profile {PROD}=prod-admin" in result.output
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "test", "prod"]
    roles = next(s for s in summary_of(result)["steps"] if s["name"] == "roles")
    assert roles["status"] == "failed" and roles["data"]["failed"] == ["dev"]
    assert set(roles["data"]["roles"]) == {"test", "prod"}

    again = provision(world, "--profile", f"{PROD}=prod-admin")

    assert again.exit_code == 0, again.output
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "test", "prod", "dev"]
    assert "deploy roles made or updated for dev (in place: test, prod)" in again.stderr
    # the text summary: one line per account, what lives there and what this run wrote there
    text = again.stdout
    assert f"account {PROD} (profile prod-admin): dev; AWS writes 0, Pulumi updates 1" in text
    assert f"account {TOOLING}: shared, test, prod; AWS writes 0, Pulumi updates 0" in text
    # dev's role is in PROD, with PROD's own (new) OIDC provider
    iam = as_account("prod-admin", "iam")
    assert iam.get_role(RoleName="shop-dev-deploy")["Role"]["Arn"].startswith(
        f"arn:aws:iam::{PROD}:"
    )
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
