"""Every credential and tool is checked before anything is written: a missing one stops `new`
(and `provision`) with each fix named, and leaves no directory, no bucket and no repository."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest

from bootstrap.cli import app
from bootstrap.errors import CredentialsError, ToolMissingError
from bootstrap.repo import run_in

from .conftest import REGION, AwsCalls, CloudOps, World, new, provision, runner, summary_of

pytestmark = pytest.mark.usefixtures("fast_scaffold")


def no_token(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    mp.delenv("GITHUB_TOKEN")


def bad_token(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    mp.setenv("GITHUB_TOKEN", "ghp_revoked")


def token_without_workflow_scope(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    mp.setenv("GITHUB_TOKEN", world.server.add_token("octo", "ghp_narrow", scopes="repo"))


def no_aws(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    mp.delenv("AWS_ACCESS_KEY_ID")
    mp.delenv("AWS_SECRET_ACCESS_KEY")


def no_pulumi(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    cloud.missing_cli = True


def no_aws_and_no_pulumi(world: World, mp: pytest.MonkeyPatch, cloud: CloudOps) -> None:
    no_aws(world, mp, cloud)
    no_pulumi(world, mp, cloud)


@pytest.mark.parametrize(
    ("breakage", "missing", "fixes", "exit_code"),
    [
        (no_token, ["github"], ["export GITHUB_TOKEN"], CredentialsError.exit_code),
        (bad_token, ["github"], ["scopes repo and workflow"], CredentialsError.exit_code),
        (token_without_workflow_scope, ["github"], ["scopes repo and workflow"], 5),
        (no_aws, ["aws"], ["aws sso login"], CredentialsError.exit_code),
        (no_pulumi, ["pulumi"], ["get.pulumi.com"], ToolMissingError.exit_code),
        (no_aws_and_no_pulumi, ["aws", "pulumi"], ["aws sso login", "get.pulumi.com"], 5),
    ],
)
def test_a_missing_credential_stops_new_before_any_write(
    breakage: Callable[[World, pytest.MonkeyPatch, CloudOps], None],
    missing: list[str],
    fixes: list[str],
    exit_code: int,
    world: World,
    aws: AwsCalls,
    cloud: CloudOps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    breakage(world, monkeypatch, cloud)

    result = new(world, "--json")

    assert result.exit_code == exit_code, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Traceback" not in result.output
    assert f"missing or broken: {', '.join(missing)}" in error[0]
    for fix in [*fixes, "--no-provision"]:
        assert fix in error[0]
    checks = summary_of(result)["steps"][0]
    assert checks["name"] == "checks" and checks["status"] == "failed"
    assert (
        sorted(c["name"] for c in checks["data"]["checks"] if c["status"] in ("missing", "error"))
        == missing
    )
    assert_nothing_written(world, aws, cloud)


def test_no_owner_and_an_unknown_owner(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    without = runner.invoke(app, ["new", "shop", "--dir", str(world.tmp), "--yes"])
    assert without.exit_code == CredentialsError.exit_code, without.output
    assert "owner: this repository has no GitHub owner yet" in without.stderr
    assert "pass --owner" in without.stderr

    unknown = runner.invoke(app, ["new", "shop", "--owner", "nobody", "--dir", str(world.tmp)])
    assert unknown.exit_code == CredentialsError.exit_code, unknown.output
    assert "GitHub has no user or organisation 'nobody'" in unknown.stderr
    # in text, each problem and its fix is listed before the one-line error
    assert "fix: check --owner" in unknown.stderr
    assert_nothing_written(world, aws, cloud)


def test_no_credentials_at_all_keeps_new_local(
    world: World, aws: AwsCalls, cloud: CloudOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_token(world, monkeypatch, cloud)
    no_aws(world, monkeypatch, cloud)

    result = new(world, "--json")

    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert summary["mode"] == "local"
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("checks", "skipped"),
        ("scaffold", "done"),
    ]
    assert summary["next_command"] == run_in(world.repo, "bootstrap provision")
    assert summary["spec"]["backend"] == ""  # local state until provisioned
    assert (world.repo / ".git").is_dir()
    assert world.server.requests == [] and aws.writes == [] and cloud.ups == []

    # later, with the credentials: provision picks the default bucket and re-renders for it
    monkeypatch.setenv("GITHUB_TOKEN", world.token)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    later = provision(world, "--json")
    assert later.exit_code == 0, later.output
    scaffold = next(s for s in summary_of(later)["steps"] if s["name"] == "scaffold")
    assert scaffold["status"] == "done" and "backend: s3://shop-pulumi-state-" in scaffold["detail"]


def test_no_provision_skips_the_checks(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    result = new(world, "--no-provision")

    assert result.exit_code == 0, result.output
    assert "Created" in result.stdout and "bootstrap provision" in result.stdout
    assert world.server.requests == [] and aws.calls == []


def test_provision_names_every_problem(
    world: World, aws: AwsCalls, cloud: CloudOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert new(world, "--no-provision").exit_code == 0
    no_token(world, monkeypatch, cloud)
    no_aws_and_no_pulumi(world, monkeypatch, cloud)

    result = provision(world)

    assert result.exit_code == CredentialsError.exit_code
    error = result.stderr.strip().splitlines()[-1]
    assert "missing or broken: github, aws, pulumi" in error
    assert "--no-provision" not in error  # provision has no such option
    assert_nothing_written(world, aws, cloud, repo_made=True)


def assert_nothing_written(
    world: World, aws: AwsCalls, cloud: CloudOps, *, repo_made: bool = False
) -> None:
    assert world.repo.exists() is repo_made
    assert [p.name for p in world.tmp.iterdir() if p.name.startswith(".shop")] == []
    s3 = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    assert s3.list_buckets()["Buckets"] == []
    assert aws.writes == [] and cloud.ups == []
    assert world.server.repos == {} and world.server.writes == []
