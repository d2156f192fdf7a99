"""`bootstrap promote` through the promotion gates (stacks/gates.py) and with the change list
(stacks/changes.py): the deployment records on the local GitHub, the stage files' soakMinutes,
the alarms in moto's CloudWatch, the commits in the local GitHub's repository."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.bootstrap.status.conftest import Cli, GitHub, digest, error_line
from tests.bootstrap.status.test_cli import dispatches, live, on_github
from tests.conftest import git
from tests.stacks.records_world import make_commits

__all__ = ["live", "on_github"]


def soak(repo: Path, stage: str, minutes: int) -> None:
    path = repo / f"infra/Pulumi.{stage}.yaml"
    path.write_text(path.read_text() + f"  shop:soakMinutes: {minutes}\n")


def test_soak_refuses_with_when_it_will_be_ready_and_force_needs_a_reason(
    live: Cli, on_github: GitHub
) -> None:
    on_github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    on_github.server.clock = lambda: time.time() - 10 * 60  # deployed ten minutes ago
    on_github.recorded("dev", 3)
    on_github.server.clock = time.time
    soak(live.repo, "dev", 60)
    result = live("promote", "--to", "test")
    assert result.exit_code == 1, result.output
    line = error_line(result)
    assert line.startswith(f"error: sha256:{digest(3)[7:19]} may not be promoted to 'test': ran "
                           "10 of the 60 min dev's soakMinutes asks (ready at 20")  # fmt: skip
    assert "or pass --force --reason TEXT to promote it anyway" in line
    assert dispatches(on_github) == []
    unexplained = live("promote", "--to", "test", "--force")
    assert unexplained.exit_code == 2
    assert "--force needs --reason" in error_line(unexplained)
    forced = live("promote", "--to", "test", "--force", "--reason", "INC-7", "--json")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["reason"] == "INC-7"
    assert any(f.startswith("soak: ran 10 of the 60 min") for f in json.loads(forced.stdout)["forced"])
    assert dispatches(on_github)[0]["inputs"] == {
        "stage": "test", "digest": digest(3), "reason": "INC-7", "force": "true"}  # fmt: skip


def test_a_failed_suite_a_hold_and_a_firing_alarm_refuse(live: Cli, on_github: GitHub) -> None:
    import boto3

    on_github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    record = on_github.recorded("dev", 3, "deployed", "smoke-passed")
    on_github.records().add(record, "acceptance-failed", "5 tests, 1 failed; p95 812 ms > 500")
    assert "failed verification in dev (5 tests, 1 failed; p95 812 ms > 500)" in error_line(
        live("promote", "--to", "test"))  # fmt: skip
    on_github.recorded("dev", 3)
    on_github.records().hold("dev", digest(3), "alarm shop-dev.5xx-rate after the deploy")
    assert "is held in dev (alarm shop-dev.5xx-rate after the deploy)" in error_line(
        live("promote", "--to", "test"))  # fmt: skip
    on_github.records().release("dev", digest(3), "a load test set it off")
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    cloudwatch.put_metric_alarm(
        AlarmName="shop-dev.5xx-rate", MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="shop-dev.5xx-rate", StateValue="ALARM",
                               StateReason="test")  # fmt: skip
    assert "dev's alarms in ALARM: shop-dev.5xx-rate" in error_line(live("promote", "--to", "test"))
    cloudwatch.set_alarm_state(AlarmName="shop-dev.5xx-rate", StateValue="OK", StateReason="test")
    result = live("promote", "--to", "test")
    assert result.exit_code == 0, result.output
    assert "alarms: ok: no alarm of dev is firing" in result.stderr
    assert dispatches(on_github)[0]["inputs"] == {"stage": "test", "digest": digest(3)}


def test_promote_lists_the_commits_and_pull_requests_it_brings(
    live: Cli, on_github: GitHub, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    first, second, third, _ = make_commits(work, 4)
    git(work, "push", "--quiet", str(on_github.server.bare_path("acme/shop")), "main:main")
    on_github.server.add_pull("acme/shop", title="Faster item lookups", commits=(second,))
    on_github.recorded("test", 2, git_sha=first)  # what test runs
    on_github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    on_github.recorded("dev", 3, git_sha=third)
    result = live("promote", "--to", "test", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["commits"] == [
        f"2 commit(s) from {first[:12]} to {third[:12]}",
        f"  {third[:12]} change 2",
        f"  {second[:12]} change 1 (#1 Faster item lookups)",
    ]
    assert data["git_sha"] == third
    plain = live("promote", "--to", "test")
    assert f"{second[:12]} change 1 (#1 Faster item lookups)" in plain.stderr


@pytest.mark.parametrize("stage_file", ["dev"])
def test_a_bad_soak_setting_is_one_line(live: Cli, on_github: GitHub, stage_file: str) -> None:
    on_github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    on_github.recorded("dev", 3)
    path = live.repo / f"infra/Pulumi.{stage_file}.yaml"
    path.write_text(path.read_text() + "  shop:soakMinutes: an hour\n")
    result = live("promote", "--to", "test")
    assert result.exit_code == 2
    assert "soakMinutes" in error_line(result)


def test_status_counts_the_commits_a_stage_is_behind(on_github: GitHub, tmp_path: Path) -> None:
    from bootstrap.status.collect import _count_behind
    from bootstrap.status.model import Release, StageStatus

    work = tmp_path / "work"
    work.mkdir()
    first, _, third, fourth = make_commits(work, 4)
    git(work, "push", "--quiet", str(on_github.server.bare_path("acme/shop")), "main:main")
    stages = [
        StageStatus("dev", False, True, current=Release(digest(3), git_sha=fourth)),
        StageStatus("test", False, True, current=Release(digest(2), git_sha=first), behind="dev"),
        StageStatus("prod", True, True, current=Release(digest(1), git_sha="f" * 40),
                    behind="test"),  # a commit GitHub does not have: no count, no note
    ]  # fmt: skip
    notes: list[str] = []
    _count_behind(on_github.view(), stages, notes)
    assert [s.behind_commits for s in stages] == [None, 3, None] and notes == []
    assert stages[1].to_dict()["behind_commits"] == 3
    stages[1].current = Release(digest(2), git_sha=third)
    _count_behind(on_github.view(), stages, notes)
    assert stages[1].behind_commits == 1


def test_status_shows_the_freeze_now_and_the_next_one(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bootstrap.status.collect import _freezes
    from bootstrap.status.model import StageStatus

    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "Pulumi.prod.yaml").write_text(
        "config:\n  shop:freezeWindows: |\n    holidays: 2024-12-20T00:00/2025-01-04T00:00 UTC\n"
        "    weekend: Fri 16:00-Mon 08:00 UTC\n"
    )  # fmt: skip
    (infra / "Pulumi.test.yaml").write_text("config:\n  shop:freezeWindows: 'Fri 25:00-Mon 08:00'\n")
    stages = [StageStatus("test", False, True), StageStatus("prod", True, True)]
    notes: list[str] = []
    _freezes(stages, infra, datetime(2024, 12, 18, 12, tzinfo=UTC), notes)  # a Wednesday
    prod = stages[1]
    assert prod.freeze is None
    assert [w.split(" (")[0] for w in prod.freezes_ahead] == ["holidays", "weekend"]
    assert prod.notes == [f"next freeze: {prod.freezes_ahead[0]}"]
    assert len(notes) == 1 and notes[0].startswith("infra/Pulumi.test.yaml: freezeWindows")
    _freezes(stages, infra, datetime(2024, 12, 21, 12, tzinfo=UTC), notes)
    assert prod.freeze is not None and prod.freeze.startswith("holidays (")


def test_up_refuses_a_frozen_stage_unless_a_reason_overrides(cli: Cli, aws: None) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    window = f"{now - timedelta(hours=1):%Y-%m-%dT%H:%M}/{now + timedelta(hours=1):%Y-%m-%dT%H:%M}"
    path = cli.repo / "infra/Pulumi.dev.yaml"
    path.write_text(path.read_text() + f"  shop:freezeWindows: 'release: {window} UTC'\n")
    refused = cli("up", "--stage", "dev", "--image", digest(3), "--yes")
    assert refused.exit_code == 1
    line = error_line(refused)
    assert line.startswith("error: 'dev' is frozen: release (") and "--reason TEXT" in line
    assert cli.ops.ups == []  # type: ignore[attr-defined]
    done = cli("up", "--stage", "dev", "--image", digest(3), "--yes", "--reason", "INC-9 fix")
    assert done.exit_code == 0, done.output
    assert "'dev' is frozen (release (" in done.stderr and "INC-9 fix" in done.stderr
    assert [stack for stack, _ in cli.ops.ups] == ["dev"]  # type: ignore[attr-defined]


def test_a_local_promotion_is_recorded_with_its_reason(live: Cli, on_github: GitHub) -> None:
    on_github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    on_github.recorded("dev", 3)
    soak(live.repo, "dev", 60)
    result = live("promote", "--to", "test", "--local", "--force", "--reason", "INC-8", "--json")
    assert result.exit_code == 0, result.output
    (record,) = on_github.records().history("test")
    assert json.loads(result.stdout)["record"] == record.id
    assert (record.digest, record.reason) == (digest(3), "INC-8")
    assert record.verdicts == ["smoke-passed", "deployed", "deploying"]
    assert on_github.records().running("test") is not None
