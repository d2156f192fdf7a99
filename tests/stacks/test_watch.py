"""The post-deploy alarm watch (stacks/watch.py): the decision with a fixed clock, the polling
loop, the CloudWatch reader against moto, and the deploy job's command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stacks import watch as w

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the deploy's start
NAMES = ("shop-dev.5xx-rate", "shop-dev.latency")


def state(name: str, value: str, minutes: float, reason: str = "") -> w.AlarmState:
    return w.AlarmState(name, value, STARTED + timedelta(minutes=minutes), reason)


def quiet(minutes: float = -60) -> dict[str, w.AlarmState | None]:
    return {name: state(name, "OK", minutes) for name in NAMES}


def decide(states: dict[str, w.AlarmState | None], now_minutes: float) -> w.Decision:
    return w.decide(
        states,
        started=STARTED,
        until=STARTED + timedelta(minutes=10),
        now=STARTED + timedelta(minutes=now_minutes),
    )


def test_an_alarm_raised_since_the_deploy_rolls_back() -> None:
    states = quiet() | {"shop-dev.5xx-rate": state("shop-dev.5xx-rate", "ALARM", 4, "3 of 3 > 1")}
    decision = decide(states, 5)
    assert decision.verdict == w.ROLL_BACK
    assert decision.alarms == ("shop-dev.5xx-rate",)
    assert "shop-dev.5xx-rate: 3 of 3 > 1" in decision.summary
    # At the deploy's very start counts too (the rollout itself may raise it).
    assert (
        decide(quiet() | {"shop-dev.latency": state("shop-dev.latency", "ALARM", 0)}, 1).verdict
        == w.ROLL_BACK
    )


def test_quiet_alarms_keep_the_release_once_the_watch_ends() -> None:
    assert decide(quiet(), 9.99).verdict == w.WATCHING
    kept = decide(quiet(), 10)
    assert (kept.verdict, kept.alarms, kept.earlier) == (w.KEEP, (), ())
    # Data missing is not an alarm; an alarm back to OK since the deploy is not one either.
    recovered = {"shop-dev.5xx-rate": state("shop-dev.5xx-rate", "INSUFFICIENT_DATA", 2),
                 "shop-dev.latency": state("shop-dev.latency", "OK", 3)}  # fmt: skip
    assert decide(recovered, 10).verdict == w.KEEP


def test_an_alarm_from_before_the_deploy_is_reported_not_rolled_back() -> None:
    states = quiet() | {"shop-dev.latency": state("shop-dev.latency", "ALARM", -30)}
    decision = decide(states, 10)
    assert decision.verdict == w.KEEP
    assert decision.earlier == ("shop-dev.latency",)
    assert "since before the deploy: shop-dev.latency" in decision.summary


def test_a_missing_alarm_leaves_the_watch_blind() -> None:
    decision = decide(quiet() | {"shop-dev.latency": None}, 10)
    assert (decision.verdict, decision.alarms) == (w.BLIND, ("shop-dev.latency",))


class Clock:
    """A fixed clock that only `sleep` moves."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def scripted(fire_at: datetime | None, clock: Clock) -> w.Reader:
    def read(names: Sequence[str]) -> dict[str, w.AlarmState | None]:
        found: dict[str, w.AlarmState | None] = {n: w.AlarmState(n, "OK", STARTED) for n in names}
        if fire_at is not None and clock() >= fire_at:
            found[names[0]] = w.AlarmState(names[0], "ALARM", fire_at, "threshold crossed")
        return found

    return read


def test_the_watch_polls_for_its_minutes_from_its_own_start() -> None:
    clock = Clock(STARTED + timedelta(minutes=4))  # the release serves 4 minutes after the start
    lines: list[str] = []
    decision = w.watch(
        scripted(None, clock), NAMES, started=STARTED, minutes=5, clock=clock,
        sleep=clock.sleep, interval=30, report=lines.append,
    )  # fmt: skip
    assert decision.verdict == w.KEEP
    assert clock.now == STARTED + timedelta(minutes=9)
    assert clock.slept == [30.0] * 10 and len(lines) == 11


def test_the_watch_rolls_back_at_the_first_poll_that_sees_an_alarm() -> None:
    clock = Clock(STARTED + timedelta(minutes=2))
    fire = STARTED + timedelta(minutes=3, seconds=10)
    decision = w.watch(
        scripted(fire, clock), NAMES, started=STARTED, minutes=10, clock=clock,
        sleep=clock.sleep, interval=30, report=lambda _: None,
    )  # fmt: skip
    assert decision.verdict == w.ROLL_BACK and decision.alarms == (NAMES[0],)
    assert clock.now == STARTED + timedelta(minutes=3, seconds=30)


# --- CloudWatch, as botocore's model has it (moto) ----------------------------------------------


@pytest.fixture
def cloudwatch():  # type: ignore[no-untyped-def]
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        for name in [*NAMES, *(f"shop-dev.extra-{i:03}" for i in range(101))]:
            client.put_metric_alarm(
                AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=5,
                ComparisonOperator="GreaterThanThreshold",
            )  # fmt: skip
        yield client


def test_the_reader_reads_each_alarm_in_batches_of_100(cloudwatch) -> None:  # type: ignore[no-untyped-def]
    cloudwatch.set_alarm_state(AlarmName=NAMES[1], StateValue="ALARM", StateReason="p95 > 500 ms")
    names = [*NAMES, *(f"shop-dev.extra-{i:03}" for i in range(101)), "shop-dev.gone"]
    calls: list[int] = []
    original = cloudwatch.describe_alarms

    def recording(**request):  # type: ignore[no-untyped-def]
        calls.append(len(request["AlarmNames"]))
        return original(**request)

    cloudwatch.describe_alarms = recording
    states = w.CloudWatchReader(cloudwatch)(names)
    assert calls == [100, 4]
    assert states["shop-dev.gone"] is None
    alarm = states[NAMES[1]]
    assert alarm is not None and alarm.state == "ALARM" and alarm.reason == "p95 > 500 ms"
    assert alarm.since.tzinfo is not None
    assert {s.state for n, s in states.items() if s and n != NAMES[1]} <= {
        "INSUFFICIENT_DATA",
        "OK",
    }


# --- the deploy job's command line --------------------------------------------------------------


def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: w.Reader, clock: Clock, *args: str
) -> tuple[int, str]:
    output = tmp_path / "github_output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code = w.main(
        ["--stage", "dev", "--alarms", ",".join(NAMES), "--started", "2026-12-01T09:00:00Z",
         "--infra", str(tmp_path), "--interval", "60", *args],
        read=read, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    return code, output.read_text()


def test_the_command_writes_the_verdict_for_the_next_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  shop:target: ecs\n  shop:watchMinutes: 3\n"
    )
    clock = Clock(STARTED + timedelta(minutes=4))
    code, output = run(tmp_path, monkeypatch, scripted(None, clock), clock)
    assert code == 0 and output.startswith("verdict=keep\nalarms=\n")
    assert clock.now == STARTED + timedelta(minutes=7)  # the stack file's 3 minutes

    clock = Clock(STARTED + timedelta(minutes=4))
    code, output = run(tmp_path, monkeypatch, scripted(STARTED, clock), clock, "--minutes", "10")
    assert code == 0 and output.startswith(
        f"verdict=roll-back\nalarms={NAMES[0]}\nsummary=in alarm"
    )


def test_the_command_without_a_watch_and_with_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(STARTED)
    assert run(tmp_path, monkeypatch, scripted(STARTED, clock), clock, "--minutes", "0") == (
        0, "verdict=keep\nalarms=\n",
    )  # fmt: skip
    # No stack file: the schema's default (5 minutes).
    assert w.watch_minutes(tmp_path / "Pulumi.dev.yaml") == 5
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  shop:watchMinutes: 500\n")
    assert run(tmp_path, monkeypatch, scripted(None, clock), clock)[0] == 2
    assert "shop:watchMinutes: 500 is out of range; use 0 to 30" in capsys.readouterr().err
    assert run(tmp_path, monkeypatch, scripted(None, clock), clock, "--started", "09:00")[0] == 2

    def blind(names: Sequence[str]) -> dict[str, w.AlarmState | None]:
        return dict.fromkeys(names)

    assert run(tmp_path, monkeypatch, blind, clock, "--minutes", "1")[0] == 1
    assert "::error title=watch::no such alarm" in capsys.readouterr().out
