"""The promotion gates (stacks/gates.py) against the local GitHub's records, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stacks import gates
from stacks import records as rec
from stacks.freeze import parse_windows
from tests.stacks.records_world import RecordsWorld, digest, records_world

__all__ = ["records_world"]
D = digest(1)


def at(world: RecordsWorld) -> datetime:
    return datetime.fromtimestamp(world.now, UTC)


def deploy(world: RecordsWorld, stage: str, *verdicts: str, n: int = 1) -> rec.Record:
    record = world.records.start(stage, digest(n), world.commits[0])
    for verdict in verdicts:
        world.records.add(record.id, verdict, "summary")
    return record


def decide(world: RecordsWorld, **options: object) -> gates.Decision:
    arguments: dict[str, object] = {"target": "test", "source": "dev", "digest": D,
                                    "now": at(world), **options}  # fmt: skip
    return gates.check(world.records, **arguments)  # type: ignore[arg-type]


def lines(decision: gates.Decision) -> dict[str, str]:
    return {g.name: g.line() for g in decision.gates}


def test_a_verified_soaked_release_passes_every_gate(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    world.tick(31)
    decision = decide(world, soak_minutes=30, alarms=lambda stage: [("shop-dev.5xx-rate", "OK")])
    assert decision.allowed and not decision.failing
    assert lines(decision) == {
        "verification": f"verification: ok: {rec.short(D)} passed verification in dev",
        "soak": "soak: ok: ran 31 min in dev (soakMinutes 30)",
        "alarms": "alarms: ok: no alarm of dev is firing",
        "hold": f"hold: ok: {rec.short(D)} is not held",
        "freeze": "freeze: ok: test is not frozen",
    }
    assert world.problems() == []


def test_no_verification_refuses_and_names_the_stage(records_world: RecordsWorld) -> None:
    world = records_world
    decision = decide(world)
    assert not decision.allowed
    assert lines(decision)["verification"] == (
        f"verification: {rec.short(D)} has no passed verification in dev; "
        "deploy it to dev and let its acceptance suite pass")  # fmt: skip
    assert lines(decision)["soak"] == (
        f"soak: {rec.short(D)} was never deployed to dev; deploy it to dev first")  # fmt: skip
    record = deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED)
    world.records.add(record.id, rec.ACCEPTANCE_FAILED, "5 tests, 1 failed; test_not_found: 200")
    assert lines(decide(world))["verification"].startswith(
        f"verification: {rec.short(D)} failed verification in dev (5 tests, 1 failed; "
        "test_not_found: 200)")  # fmt: skip


def test_soak_says_when_it_will_be_ready(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    world.tick(10)
    decision = decide(world, soak_minutes=30)
    (soak,) = decision.failing
    assert soak.ready_at == datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
    assert soak.line() == ("soak: ran 10 of the 30 min dev's soakMinutes asks (ready at "
                           "2027-01-15 08:30 UTC); wait until it has soaked in dev")  # fmt: skip
    assert decision.ready_at == soak.ready_at
    assert decision.refusal() == (
        f"promoting {rec.short(D)} to test is refused: ran 10 of the 30 min dev's soakMinutes "
        "asks (ready at 2027-01-15 08:30 UTC); wait until it has soaked in dev; force it with a "
        "reason if it must go now")  # fmt: skip
    world.tick(20)
    assert decide(world, soak_minutes=30).allowed


def test_firing_alarms_refuse(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    states = [("shop-dev.latency", "ALARM"), ("shop-dev.errors", "INSUFFICIENT_DATA")]
    decision = decide(world, alarms=lambda stage: states if stage == "dev" else [])
    assert [g.line() for g in decision.failing] == [
        "alarms: dev's alarms in ALARM: shop-dev.latency; find out why and wait until they clear "
        "in dev"]  # fmt: skip
    assert decision.ready_at is None  # nobody knows when an alarm clears


def test_a_hold_in_the_stage_before_or_the_target_refuses(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    world.records.hold("dev", D, "rolled back: 5xx alarm")
    assert lines(decide(world))["hold"].startswith(
        f"hold: {rec.short(D)} is held in dev (rolled back: 5xx alarm); release it")
    world.tick(1)
    world.records.release("dev", D, "alarm was a load test")
    assert decide(world).allowed
    world.records.hold("test", D, "bad in test", git_sha=world.commits[0])
    assert [g.name for g in decide(world).failing] == ["hold"]


def test_a_freeze_of_the_target_refuses_until_it_ends(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    windows = parse_windows("release: 2027-01-15T00:00/2027-01-16T00:00 UTC")
    (freeze,) = decide(world, freeze=windows).failing
    assert freeze.ready_at == datetime(2027, 1, 16, tzinfo=UTC)
    assert freeze.line().startswith("freeze: test is frozen: release (")


def test_force_needs_a_reason_and_then_passes_the_gates(records_world: RecordsWorld) -> None:
    world = records_world
    with pytest.raises(gates.ForceWithoutReason, match="needs a reason"):
        decide(world, force=True, reason="  ")
    decision = decide(world, force=True, reason="hotfix for INC-42")
    assert decision.allowed and decision.forced and len(decision.failing) == 2
    assert decision.as_dict()["reason"] == "hotfix for INC-42"


def test_the_first_stage_has_no_verification_or_soak(records_world: RecordsWorld) -> None:
    decision = decide(records_world, target="dev", source=None)
    assert [g.name for g in decision.gates] == ["hold", "freeze"] and decision.allowed


def stage_files(infra: Path, **stacks: str) -> Path:
    infra.mkdir(exist_ok=True)
    (infra / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    for stack, body in stacks.items():
        (infra / f"Pulumi.{stack}.yaml").write_text(f"config:\n{body}")
    return infra


def test_the_command_line_reads_the_stage_files(
    records_world: RecordsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = records_world
    infra = stage_files(tmp_path / "infra", dev="  shop:soakMinutes: 30\n",
                        test="  shop:freezeWindows: ''\n")  # fmt: skip
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    world.tick(5)

    def run(*extra: str) -> tuple[int, str]:
        code = gates.main(["check", "--stage", "test", "--previous", "dev", "--digest", D,
                           "--infra", str(infra), "--repository", "acme/shop", *extra],
                          transport=world.records.transport, now=at(world),
                          alarms=lambda stage: [])  # fmt: skip
        return code, capsys.readouterr().out

    code, out = run()
    assert code == 1
    assert "::error title=gate soak::soak: ran 5 of the 30 min dev's soakMinutes asks" in out
    assert "::error title=promotion gates::promoting" in out
    code, out = run("--force", "--reason", "customer outage")
    assert code == 0 and "::warning title=promotion gates::forced past 1 gate(s): customer outage" in out
    code, out = run("--force")
    assert code == 2 and "forcing a promotion needs a reason" in out
    stage_files(infra, dev="  shop:soakMinutes: forever\n")
    code, out = run()
    assert code == 2 and out.startswith("::error title=promotion gates::soakMinutes:")
    code, out = run("--previous", "qa")
    assert code == 2 and "Pulumi.qa.yaml does not exist" in out


# --- the alarms gate: by name, missing alarms, and the workflow's alarm reader ------------------


def test_a_missing_alarm_is_said_and_no_alarm_at_all_refuses(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    some = [("shop-dev.5xx-rate", "OK"), ("shop-dev.latency", None), ("shop-dev.errors", "OK")]
    decision = decide(world, alarms=lambda stage: some)
    assert decision.allowed
    assert lines(decision)["alarms"] == (
        "alarms: ok: no alarm of dev is firing (no such alarm: shop-dev.latency)")  # fmt: skip
    gone = [(name, None) for name, _ in some]
    (gate,) = decide(world, alarms=lambda stage: gone).failing
    assert gate.line() == (
        "alarms: none of dev's alarms exists (shop-dev.5xx-rate, shop-dev.errors, "
        "shop-dev.latency); deploy dev again (its alarms come with its stack), or read them with "
        "credentials of dev's account and region")  # fmt: skip


def test_alarms_not_read_are_reported_as_not_checked_and_refuse_nothing(
    records_world: RecordsWorld,
) -> None:
    world = records_world
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    decision = decide(world, unread_alarms="no reader")
    assert decision.allowed and not decision.failing
    assert lines(decision)["alarms"] == "alarms: not checked: no reader"
    assert {g["name"]: g["checked"] for g in decision.as_dict()["gates"]}["alarms"] is False
    assert "| alarms | not checked: no reader |" in gates.summary(decision)
    # a reader, when there is one, wins; the first stage has no alarms gate at all
    assert lines(decide(world, alarms=lambda s: [], unread_alarms="x"))["alarms"].startswith(
        "alarms: ok")  # fmt: skip
    first = decide(world, target="dev", source=None, unread_alarms="x")
    assert "alarms" not in lines(first)


@pytest.fixture
def cloudwatch_in(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """moto's CloudWatch, with the credentials a job has after assuming the alarm reader."""
    from moto import mock_aws

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_SESSION_TOKEN", "testing"), ("AWS_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        import boto3

        def make(region: str, *states: tuple[str, str]):  # type: ignore[no-untyped-def]
            client = boto3.client("cloudwatch", region_name=region)
            for name, state in states:
                client.put_metric_alarm(
                    AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                    Period=60, EvaluationPeriods=3, Threshold=5,
                    ComparisonOperator="GreaterThanThreshold",
                )  # fmt: skip
                client.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
            return client

        yield make


def test_the_reader_asks_for_the_stages_alarms_by_name(cloudwatch_in) -> None:  # type: ignore[no-untyped-def]
    """By name (a resource-level grant authorises exactly those), metric alarms only; another
    stage's alarm with the same prefix is never read."""
    client = cloudwatch_in("eu-west-1", ("shop-dev.latency", "ALARM"), ("shop-dev-2.errors", "ALARM"))
    requests: list[dict] = []
    client.meta.events.register("provide-client-params.cloudwatch.DescribeAlarms",
                                lambda params, **_: requests.append(dict(params)))  # fmt: skip
    states = dict(gates.cloudwatch_alarms(client, "shop")("dev"))
    assert states == {"shop-dev.5xx-rate": None, "shop-dev.latency": "ALARM", "shop-dev.errors": None}
    assert requests == [{"AlarmNames": ["shop-dev.5xx-rate", "shop-dev.latency", "shop-dev.errors"],
                         "AlarmTypes": ["MetricAlarm"]}]  # fmt: skip


def test_the_command_line_reads_the_stage_befores_alarms_in_its_region(
    records_world: RecordsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, cloudwatch_in,  # type: ignore[no-untyped-def]
) -> None:  # fmt: skip
    """The deploy job's gates step: `--read-alarms` reads dev's alarms where dev lives (its stack
    file's region, not the job's); without it the gate says why it did not, in the job's summary
    too; a firing alarm refuses with one line naming it and the fix."""
    world = records_world
    infra = stage_files(tmp_path / "infra", dev="  aws:region: eu-central-1\n", test="  {}\n")
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)
    client = cloudwatch_in("eu-central-1", ("shop-dev.5xx-rate", "OK"), ("shop-dev.latency", "OK"),
                           ("shop-dev.errors", "OK"))  # fmt: skip
    cloudwatch_in("us-east-1", ("shop-dev.latency", "ALARM"))  # the job's region: never read
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    def run(*extra: str) -> tuple[int, str]:
        code = gates.main(["check", "--stage", "test", "--previous", "dev", "--digest", D,
                           "--infra", str(infra), "--repository", "acme/shop", *extra],
                          transport=world.records.transport, now=at(world))  # fmt: skip
        return code, capsys.readouterr().out

    code, out = run("--read-alarms")
    assert code == 0, out
    assert "alarms: ok: no alarm of dev is firing" in out
    assert f"### Promotion gates: {rec.short(D)} to test from dev" in summary.read_text()
    assert "| alarms | ok: no alarm of dev is firing |" in summary.read_text()
    client.set_alarm_state(AlarmName="shop-dev.errors", StateValue="ALARM", StateReason="test")
    code, out = run("--read-alarms")
    assert code == 1
    assert ("::error title=gate alarms::alarms: dev's alarms in ALARM: shop-dev.errors; find out "
            "why and wait until they clear in dev") in out  # fmt: skip
    assert "| alarms | refused: dev's alarms in ALARM: shop-dev.errors;" in summary.read_text()
    code, out = run()  # no reader: not checked, said, and nothing refused for it
    assert code == 0, out
    assert ("::notice title=gate alarms::alarms: not checked: test's deploy job has no reader of "
            "dev's alarms (AWS_PREVIOUS_ALARMS_ROLE_ARN is not set") in out  # fmt: skip


def test_alarms_that_cannot_be_read_fail_the_step_with_the_fix(
    records_world: RecordsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from botocore.exceptions import ClientError

    world = records_world
    infra = stage_files(tmp_path / "infra", dev="  {}\n", test="  {}\n")
    deploy(world, "dev", rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED)

    def refused(stage: str) -> list[tuple[str, str | None]]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}},
                          "DescribeAlarms")  # fmt: skip

    code = gates.main(["check", "--stage", "test", "--previous", "dev", "--digest", D,
                       "--infra", str(infra), "--repository", "acme/shop"],
                      transport=world.records.transport, now=at(world), alarms=refused)  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("::error title=gate alarms::reading dev's alarms failed: An error "
                          "occurred (AccessDenied)")  # fmt: skip
    assert "check its alarm reader (AWS_PREVIOUS_ALARMS_ROLE_ARN) and that it trusts this job" in out
