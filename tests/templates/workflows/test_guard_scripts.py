"""The deploy job's freeze check, alarm watch, rollback and verdict, each run as the runner runs
its step (the step's own `run:` and env:, GITHUB_OUTPUT) in a copy of a generated repo whose
infra venv is this Python: the freeze windows of a stage file, CloudWatch's alarms on moto's
server, the Pulumi stand-in of test_scripts for `pulumi up`, and the local GitHub for the
records (rolled back, held)."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stacks import records as rec
from tests.stacks.records_world import RecordsWorld, digest, records_world  # noqa: F401
from tests.templates.workflows.test_scripts import (  # noqa: F401 - fixtures
    DIGEST,
    OTHER,
    REPOSITORY_URL,
    Runner,
    calls,
    ecr_server,
)


@pytest.fixture
def runner(rendered: dict[str, Path], tmp_path: Path) -> Runner:
    return Runner(rendered["ecs3e"], tmp_path)


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "eu-west-1"}  # fmt: skip


def with_venv(rendered: dict[str, Path], runner: Runner, stack_files: dict[str, str]) -> Path:
    """A copy of the repo's .github and infra/stacks, stage files, and an infra venv whose python
    is this one."""
    copy = runner.tmp / "repo"
    shutil.copytree(rendered["ecs3e"] / ".github", copy / ".github")
    shutil.copytree(rendered["ecs3e"] / "infra/stacks", copy / "infra/stacks")
    for stack, text in stack_files.items():
        (copy / f"infra/Pulumi.{stack}.yaml").write_text(text)
    python = copy / "infra/venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    runner.repo = copy
    return copy


def around_now() -> str:
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=1)
    return f"{start:%Y-%m-%dT%H:%M}/{end:%Y-%m-%dT%H:%M} UTC"


# ----------------------------------------------------------------------------------- freezes


def test_a_frozen_stage_refuses_the_deploy_unless_a_reason_overrides(
    rendered: dict[str, Path], runner: Runner
) -> None:
    frozen = f"config:\n  shop:target: ecs\n  shop:freezeWindows: 'release week: {around_now()}'\n"
    with_venv(rendered, runner, {"prod": frozen, "dev": "config:\n  shop:target: ecs\n"})
    step = runner.step("deploy-stage.yml", "deploy", "freeze")
    code, log, out = runner.run(step, STAGE="prod", STACK="prod", OVERRIDE_REASON="")
    assert code == 1
    assert "::error title=freeze::prod is frozen: release week (" in log
    code, log, out = runner.run(step, STAGE="prod", STACK="prod", OVERRIDE_REASON="INC-7 hotfix")
    assert code == 0, log
    assert out == {"frozen": "release week", "override": "INC-7 hotfix"}
    assert runner.run(step, STAGE="dev", STACK="dev", OVERRIDE_REASON="")[0] == 0


def test_a_bad_freeze_window_stops_the_deploy_naming_the_key(
    rendered: dict[str, Path], runner: Runner
) -> None:
    with_venv(rendered, runner, {"dev": "config:\n  shop:freezeWindows: Fri 16:00-Mon\n"})
    step = runner.step("deploy-stage.yml", "deploy", "freeze")
    code, log, _ = runner.run(step, STAGE="dev", STACK="dev", OVERRIDE_REASON="")
    assert code == 2
    assert "shop:freezeWindows: entry 1 'Fri 16:00-Mon': names no time zone" in log


# -------------------------------------------------------------------------- the alarm watch


@pytest.fixture
def cloudwatch(ecr_server: str):  # type: ignore[no-untyped-def]  # noqa: F811
    import boto3

    client = boto3.client("cloudwatch", endpoint_url=ecr_server, **{
        "region_name": "eu-west-1", "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing"})  # fmt: skip
    for name in ("shop-dev.5xx-rate", "shop-dev.latency"):
        client.put_metric_alarm(
            AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
            Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    return client, {"AWS_ENDPOINT_URL": ecr_server, **AWS}


def test_an_alarm_after_the_deploy_asks_for_a_rollback(
    rendered: dict[str, Path], runner: Runner, cloudwatch
) -> None:  # type: ignore[no-untyped-def]
    client, aws = cloudwatch
    with_venv(rendered, runner, {"dev": "config:\n  shop:target: ecs\n  shop:watchMinutes: 5\n"})
    client.set_alarm_state(AlarmName="shop-dev.latency", StateValue="ALARM", StateReason="p95 high")
    runner.pulumi(alarmNames=json.dumps(["shop-dev.5xx-rate", "shop-dev.latency"]))
    started = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    step = runner.step("deploy-stage.yml", "deploy", "watch")
    code, log, out = runner.run(step, STAGE="dev", STACK="dev", STARTED=started, **aws)
    assert code == 0, log
    assert out["verdict"] == "roll-back" and out["alarms"] == "shop-dev.latency"
    assert "p95 high" in out["summary"]


def test_no_watch_when_the_stage_sets_none_and_none_without_alarm_names(
    rendered: dict[str, Path], runner: Runner
) -> None:
    with_venv(rendered, runner, {"dev": "config:\n  shop:watchMinutes: 0\n"})
    runner.pulumi(alarmNames=json.dumps(["shop-dev.latency"]))
    step = runner.step("deploy-stage.yml", "deploy", "watch")
    code, log, out = runner.run(step, STAGE="dev", STACK="dev", STARTED="2026-12-01T09:00:00Z")
    assert (code, out) == (0, {"verdict": "keep", "alarms": ""}), log
    runner.pulumi()  # a stack that exports no alarmNames
    runner.env["PULUMI_OUTPUT_alarmNames"] = ""
    (runner.bin / "pulumi").write_text((runner.bin / "pulumi").read_text().replace(
        '"stack output") output', '"stack output") [ -n "${PULUMI_OUTPUT_alarmNames}" ] || exit 1; output'))  # fmt: skip
    code, log, _ = runner.run(step, STAGE="dev", STACK="dev", STARTED="2026-12-01T09:00:00Z")
    assert code == 1 and "exports no alarmNames" in log


# ------------------------------------------------------------------------------- the rollback


def test_the_rollback_deploys_the_previous_image_through_deploy_up(runner: Runner) -> None:
    previous = f"{REPOSITORY_URL}@{OTHER}"
    log_file = runner.pulumi(image=previous, url="https://dev.example.com")
    step = runner.step("deploy-stage.yml", "deploy", "rollback")
    code, log, out = runner.run(step, STACK="dev", PREVIOUS=previous)
    assert code == 0, log
    assert out["image"] == previous
    made = calls(log_file)
    assert ["config", "set", "image", previous, "--stack", "dev"] in made
    assert any(call[0] == "up" for call in made)


@pytest.mark.parametrize("previous", ["", f"{REPOSITORY_URL}@sha256:{'0' * 64}", "runner:latest"])
def test_no_rollback_without_an_earlier_release(runner: Runner, previous: str) -> None:
    log_file = runner.pulumi(image=f"{REPOSITORY_URL}@{DIGEST}")
    code, log, _ = runner.run(runner.step("deploy-stage.yml", "deploy", "rollback"), STACK="dev",
                            PREVIOUS=previous)  # fmt: skip
    assert code == 1 and "no earlier release of this stage to roll back to" in log
    assert calls(log_file) == []


# ------------------------------------------------------------------------- the verdict recorded


def verdict(runner: Runner, world: RecordsWorld, **env: str) -> tuple[int, str]:
    server = world.server
    step = runner.step("deploy-stage.yml", "deploy", "deploy-verdict.sh")
    code, log, _ = runner.run(
        step, GITHUB_API_URL=server.api_url, GITHUB_REPOSITORY="acme/shop",
        GITHUB_TOKEN=world.records.transport._token,  # type: ignore[attr-defined]
        STAGE="dev", SHA=world.commits[-1], **env,
    )  # fmt: skip
    return code, log


def test_a_rollback_marks_the_deployment_and_holds_the_digest(
    rendered: dict[str, Path],
    runner: Runner,
    records_world: RecordsWorld,  # noqa: F811
) -> None:
    with_venv(rendered, runner, {})
    bad, good = digest(2), digest(1)
    record = records_world.records.start("dev", bad, records_world.commits[-1])
    records_world.records.add(record.id, rec.DEPLOYED)
    code, log = verdict(
        runner, records_world, VERDICT="roll-back", SUMMARY="in alarm since the deploy: latency",
        ALARMS="shop-dev.latency", ROLLBACK="success", PREVIOUS=f"{REPOSITORY_URL}@{good}",
        DIGEST=bad, RECORD_ID=str(record.id),
    )  # fmt: skip
    assert code == 1
    assert f"rolled back to {good}; {bad} is held in dev until it is promoted by hand" in log
    [found] = records_world.records.find("dev", bad)
    assert found.verdicts[:2] == [rec.HELD, rec.ROLLED_BACK]
    assert not found.running
    assert records_world.records.held("dev", bad) is not None
    assert records_world.problems() == []


def test_a_quiet_watch_is_recorded_as_watched(
    rendered: dict[str, Path],
    runner: Runner,
    records_world: RecordsWorld,  # noqa: F811
) -> None:
    with_venv(rendered, runner, {})
    record = records_world.records.start("dev", digest(3), records_world.commits[-1])
    code, log = verdict(runner, records_world, VERDICT="keep", SUMMARY="no alarm since 09:00:00Z",
                        DIGEST=digest(3), RECORD_ID=str(record.id), ROLLBACK="", ALARMS="",
                        PREVIOUS="")  # fmt: skip
    assert code == 0, log
    [found] = records_world.records.find("dev", digest(3))
    assert found.verdicts[0] == rec.WATCHED
    assert records_world.records.held("dev", digest(3)) is None


# ------------------------------------------------------------------ Lambda traffic shifting

LINEAR = ("config:\n  shop:target: lambda\n  shop:deployStrategy: linear\n"
          "  shop:linearPercent: 40\n  shop:linearMinutes: {minutes}\n")  # fmt: skip


def test_the_shift_starts_on_the_live_version_only_for_a_shifting_lambda_stage(
    rendered: dict[str, Path], runner: Runner
) -> None:
    with_venv(rendered, runner, {"dev": LINEAR.format(minutes=0),
                                 "prod": "config:\n  shop:target: ecs\n"})  # fmt: skip
    log_file = runner.pulumi(liveVersion="7")
    step = runner.step("deploy-stage.yml", "deploy", "shift-start")
    code, log, out = runner.run(step, STACK="dev")
    assert (code, out) == (0, {"stable": "7"}), log
    assert calls(log_file)[-2:] == [
        ["config", "set", "lambdaStableVersion", "7", "--stack", "dev"],
        ["config", "set", "lambdaNewVersionWeight", "0.4", "--stack", "dev"],
    ]
    log_file.unlink()
    assert runner.run(step, STACK="prod")[2] == {"stable": ""}
    assert calls(log_file) == []  # ECS: nothing to shift
    runner.pulumi(liveVersion="")  # a first deploy: no version to keep
    assert runner.run(step, STACK="dev")[2] == {"stable": ""}


def test_the_shift_raises_the_share_step_by_step_then_moves_everything(
    rendered: dict[str, Path], runner: Runner
) -> None:
    with_venv(rendered, runner, {"dev": LINEAR.format(minutes=0)})
    log_file = runner.pulumi(alarmNames=json.dumps(["shop-dev.5xx-rate"]))
    step = runner.step("deploy-stage.yml", "deploy", "shift")
    code, log, _ = runner.run(step, STAGE="dev", STACK="dev", STARTED="2026-12-01T09:00:00Z",
                              PREVIOUS=f"{REPOSITORY_URL}@{OTHER}", DIGEST=DIGEST)  # fmt: skip
    assert code == 0, log
    made = [c for c in calls(log_file) if c[0] in ("config", "up")]
    assert [c[:3] for c in made] == [
        ["config", "set", "lambdaNewVersionWeight"],  # 0.4 was set before the deploy's up
        ["up", "--yes", "--non-interactive"],
        ["config", "rm", "lambdaStableVersion"],
        ["config", "rm", "lambdaNewVersionWeight"],
        ["up", "--yes", "--non-interactive"],
    ]
    assert made[0][3] == "0.8"


def test_an_alarm_during_the_shift_rolls_back_and_holds(
    rendered: dict[str, Path],
    runner: Runner,
    cloudwatch,
    records_world: RecordsWorld,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    client, aws = cloudwatch
    with_venv(rendered, runner, {"dev": LINEAR.format(minutes=5)})
    client.set_alarm_state(AlarmName="shop-dev.5xx-rate", StateValue="ALARM", StateReason="5xx")
    previous = f"{REPOSITORY_URL}@{digest(1)}"
    log_file = runner.pulumi(alarmNames=json.dumps(["shop-dev.5xx-rate", "shop-dev.latency"]),
                             image=previous, url="https://dev.example.com")  # fmt: skip
    record = records_world.records.start("dev", digest(2), records_world.commits[-1])
    started = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    step = runner.step("deploy-stage.yml", "deploy", "shift")
    code, log, _ = runner.run(
        step, STAGE="dev", STACK="dev", STARTED=started, PREVIOUS=previous, DIGEST=digest(2),
        SHA=records_world.commits[-1], RECORD_ID=str(record.id),
        GITHUB_API_URL=records_world.server.api_url, GITHUB_REPOSITORY="acme/shop",
        GITHUB_TOKEN=records_world.records.transport._token,  # type: ignore[attr-defined]
        **aws,
    )  # fmt: skip
    assert code == 1
    assert f"{digest(2)} is held in dev until it is promoted by hand" in log
    made = [c for c in calls(log_file) if c[0] in ("config", "up")]
    assert made[:2] == [["config", "rm", "lambdaStableVersion", "--stack", "dev"],
                        ["config", "rm", "lambdaNewVersionWeight", "--stack", "dev"]]  # fmt: skip
    assert ["config", "set", "image", previous, "--stack", "dev"] in made
    [found] = records_world.records.find("dev", digest(2))
    assert found.verdicts[:2] == [rec.HELD, rec.ROLLED_BACK]
