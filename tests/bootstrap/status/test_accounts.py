"""`status`, `promote` and `rollback` when a stage lives in its own AWS account: each stage's
live reads (alarms) and writes (the `--local` deploy) with that stage's credentials, the state and
the registry with the tooling account's. moto tells the accounts apart by the credentials
(tests/fakes/moto_accounts.py): `test` lives in 222222222222, everything else in moto's default
account."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.bootstrap.status.conftest import (
    ACCOUNT,
    Cli,
    Ecr,
    GitHub,
    digest,
    error_line,
    image,
    sha,
    stage_alarms,
)
from tests.bootstrap.status.test_cli import dispatches, live, on_github
from tests.fakes.moto_accounts import profiles

__all__ = ["live", "on_github"]  # fixtures

STAGE = "222222222222"  # test's account
WRONG = "333333333333"


@pytest.fixture
def apart(live: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`test` placed in its own account (its stack file, its state's outputs), with profiles
    `test-admin` (that account) and `wrong` (another); their access key IDs."""
    keys = profiles(tmp_path, monkeypatch, {"test-admin": STAGE, "wrong": WRONG})
    path = live.repo / "infra" / "Pulumi.test.yaml"
    path.write_text(
        path.read_text().replace("config:\n", f'config:\n  shop:account: "{STAGE}"\n', 1)
    )
    recorded_in_stage_account(live)
    return keys


def recorded_in_stage_account(live: Cli) -> None:
    """test's state names its account (RecordingOps makes every stack's outputs in one)."""
    outputs = live.ops.stacks["test"].outputs
    outputs.update(account=STAGE, deployRoleArn=f"arn:aws:iam::{STAGE}:role/shop-test-deploy")


def in_stage_account() -> boto3.Session:
    return boto3.Session(profile_name="test-admin", region_name="eu-west-1")


def by_stage(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["stage"]: s for s in data["stages"]}  # type: ignore[attr-defined,index]


def test_status_reads_each_stage_in_its_own_account(live: Cli, apart: dict[str, str]) -> None:
    stage_alarms("test", "ALARM")  # in the tooling account: not test's, never read for it
    stage_alarms("test", "OK", session=in_stage_account())
    in_stage_account().client("cloudwatch").set_alarm_state(
        AlarmName="shop-test.latency", StateValue="ALARM", StateReason="test"
    )
    result = live("status", "--json", "--profile", "test=test-admin")
    assert result.exit_code == 0, result.output
    stages = by_stage(json.loads(result.stdout))
    assert {name: s["account"] for name, s in stages.items()} == {
        "dev": ACCOUNT, "test": STAGE, "prod": ACCOUNT,
    }  # fmt: skip
    assert stages["test"]["credentials"] is None
    assert {a["name"]: a["state"] for a in stages["test"]["alarms"]} == {  # type: ignore[union-attr]
        "shop-test.5xx-rate": "OK", "shop-test.latency": "ALARM", "shop-test.errors": "OK",
    }  # fmt: skip
    assert "alarm firing: shop-test.latency" in stages["test"]["notes"]  # type: ignore[operator]
    assert stages["prod"]["alarms"] is None  # never deployed: nothing to read

    human = live("status", "--profile", "test=test-admin")
    assert human.exit_code == 0, human.output
    header = next(line for line in human.stdout.splitlines() if "STAGE" in line)
    assert header.split()[:2] == ["STAGE", "ACCOUNT"]
    assert any(line.split()[:2] == ["test", STAGE] for line in human.stdout.splitlines())


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ((), f"the default credentials signs in to {ACCOUNT}, not {STAGE}: --profile test=PROFILE"),
        (
            ("--profile", "test=nowhere"),
            f"no credentials for account {STAGE}: --profile test=PROFILE",
        ),
    ],
)
def test_a_stage_without_credentials_says_so_in_its_row(
    live: Cli, apart: dict[str, str], given: tuple[str, ...], problem: str
) -> None:
    result = live("status", "--json", *given)
    assert result.exit_code == 0, result.output  # the grid is drawn: one row is not the grid
    stages = by_stage(json.loads(result.stdout))
    assert stages["test"]["credentials"] == problem and problem in stages["test"]["notes"]  # type: ignore[operator]
    assert stages["test"]["alarms"] is None and stages["test"]["account"] == STAGE
    assert stages["dev"]["credentials"] is None and stages["dev"]["alarms"] is not None
    assert stages["test"]["release"]["digest"] == digest(2)  # type: ignore[index]  # the state


def test_promote_locally_deploys_with_the_target_account_credentials(
    live: Cli, ecr: Ecr, apart: dict[str, str]
) -> None:
    refused = live("promote", "--to", "test", "--local", "--profile", "test=wrong")
    assert refused.exit_code == 5, refused.output
    assert f"profile 'wrong' signs in to {WRONG}" in error_line(refused)
    assert live.ops.ups == [] and live.ops.envs == []  # type: ignore[attr-defined]

    result = live("promote", "--to", "test", "--local", "--json", "--profile", "test=test-admin")
    assert result.exit_code == 0, result.output
    assert live.ops.ups == [("test", {"shop:image": image(3)})]  # type: ignore[attr-defined]
    [(_, stack, env)] = live.ops.envs  # type: ignore[attr-defined]
    assert (stack, env["AWS_ACCESS_KEY_ID"]) == ("test", apart["test-admin"])
    # the release is marked in the registry, which stays in the tooling account
    assert json.loads(result.stdout)["tag"] == f"deployed.test.{sha(3)}"
    assert f"deployed.test.{sha(3)}" in ecr.tags(3)
    assert apart["test-admin"] not in result.output

    recorded_in_stage_account(live)
    back = live("rollback", "--stage", "test", "--local", "--yes", "--profile", "test=test-admin")
    assert back.exit_code == 0, back.output
    assert live.ops.ups[-1] == ("test", {"shop:image": image(2)})  # type: ignore[attr-defined]
    assert live.ops.envs[-1][2]["AWS_ACCESS_KEY_ID"] == apart["test-admin"]  # type: ignore[attr-defined]


def test_the_gates_read_the_source_stage_alarms_in_its_account(
    live: Cli, on_github: GitHub, apart: dict[str, str]
) -> None:
    stage_alarms("test", "ALARM")  # the tooling account's alarms of that name: not test's
    stage_alarms("test", "OK", session=in_stage_account())
    on_github.deployed("test", 2, at="2024-05-01T10:00:00Z")
    on_github.recorded("test", 2)

    unread = live("promote", "--to", "prod", "--json")
    assert unread.exit_code == 0, unread.output
    assert (f"the alarms of 'test' were not read (the default credentials signs in to {ACCOUNT}, "
            f"not {STAGE}: --profile test=PROFILE)") in json.loads(unread.stdout)["warnings"]  # fmt: skip

    read = live("promote", "--to", "prod", "--profile", "test=test-admin")
    assert read.exit_code == 0, read.output
    assert "alarms: ok: no alarm of test is firing" in read.stderr
    in_stage_account().client("cloudwatch").set_alarm_state(
        AlarmName="shop-test.errors", StateValue="ALARM", StateReason="test"
    )
    firing = live("promote", "--to", "prod", "--profile", "test=test-admin")
    assert firing.exit_code == 1
    assert "test's alarms in ALARM: shop-test.errors" in error_line(firing)
    assert len(dispatches(on_github)) == 2


def test_one_account_without_credentials_is_one_note(cli: Cli) -> None:
    cli.ops.run("dev", 3).run("test", 2)  # type: ignore[attr-defined]
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "alarms not read (no AWS credentials found)" in data["notes"]
    assert all(s["credentials"] is None and s["alarms"] is None for s in data["stages"])
    human = cli("status")
    assert "ACCOUNT" not in human.stdout  # one account: no column
