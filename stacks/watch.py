"""The post-deploy alarm watch: after a deploy, watch the stage's alarms for a while and decide
whether the release stays or the stage rolls back to the image it ran before.

- `decide(states, started=, until=, now=)` is the whole policy, pure: an alarm that went into
  ALARM at or after the deploy started -> `ROLL_BACK`; an alarm the stack names that CloudWatch
  does not have -> `BLIND` (nothing can be decided: the job fails, the release stays); `until`
  reached with no such alarm -> `KEEP`; otherwise `WATCHING`. An alarm already in ALARM before
  the deploy started is not the new release's doing (and the previous release set it off): it is
  reported, never a reason to roll back. INSUFFICIENT_DATA is no alarm (the stage's alarms treat
  missing data as not breaching).
- `watch(read, names, started=, minutes=, clock=, sleep=)` polls `read` every `interval` seconds
  for `minutes` from its own start, until the decision is not `WATCHING`; the clock and sleep are
  injected (tests use a fixed one).
- `CloudWatchReader`: `cloudwatch:DescribeAlarms` (boto3, in batches of 100 names: botocore's
  cloudwatch model, `AlarmNames` max 100), metric alarms: a grant narrower than `*` returns no
  composite alarm (CloudWatch's permissions reference), and the stages have none. The promotion
  gates read the stage before's alarms through it too (stacks/gates.py). `WATCH_ACTIONS` is every
  IAM action it calls: the stage's deploy role runs it, and its policy grants them on the stage's
  own alarms (observability.py, `OwnAlarms`); the IAM coverage check reads `COMMAND_ACTIONS`.

Command line, from `infra/` with the infra venv (the deploy job, after its smoke test and
acceptance suite, and at each step of a Lambda traffic shift, stacks/shift.py):

    python -m stacks.watch --stage STAGE --alarms NAME[,NAME...] --started ISO-TIME \\
        [--minutes N | --stack STACK] [--interval SECONDS]

`--minutes` defaults to the stage's `watchMinutes` (its `Pulumi.<stack>.yaml`, else the schema's
default). Writes `verdict=keep|roll-back`, `alarms=NAME,...` and `summary` to GITHUB_OUTPUT, a line per
poll; exit 0 when it decided (keep or roll back: the workflow acts on the verdict), 1 when it
cannot watch (an alarm is missing, CloudWatch refused), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from .github_api import step_outputs

WATCH_ACTIONS = ("cloudwatch:DescribeAlarms",)
# The command line (no subcommand) and the IAM actions it calls, on the stage's own alarms: the
# IAM coverage check reads both.
COMMAND_ACTIONS = {"watch": WATCH_ACTIONS}
ACTS_ON = "alarms"
MINUTES_KEY = "watchMinutes"
ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")  # botocore cloudwatch StateValue
NAMES_PER_CALL = 100  # DescribeAlarms AlarmNames: at most 100 (botocore's cloudwatch model)
INTERVAL_SECONDS = 30  # alarms evaluate once a period (60 s); twice a period sees each change

KEEP = "keep"
ROLL_BACK = "roll-back"
WATCHING = "watching"
BLIND = "blind"


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    since: datetime  # when it went into that state (StateTransitionedTimestamp)
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    verdict: str  # KEEP | ROLL_BACK | WATCHING | BLIND
    summary: str
    alarms: tuple[str, ...] = ()  # the alarms behind a roll-back, or missing (BLIND)
    earlier: tuple[str, ...] = ()  # in ALARM since before the deploy: reported only


def decide(
    states: Mapping[str, AlarmState | None],
    *,
    started: datetime,
    until: datetime,
    now: datetime,
) -> Decision:
    """What to do with the release, given each watched alarm's state (None: CloudWatch has no
    such alarm) at `now`; the deploy started at `started`, the watch ends at `until`."""
    missing = tuple(sorted(name for name, state in states.items() if state is None))
    if missing:
        return Decision(
            BLIND, f"no such alarm: {', '.join(missing)}; the stage's alarms were not created "
            "or were renamed: run the deploy again", missing,
        )  # fmt: skip
    alarming = [s for s in states.values() if s is not None and s.state == "ALARM"]
    fired = tuple(sorted(s.name for s in alarming if s.since >= started))
    earlier = tuple(sorted(s.name for s in alarming if s.since < started))
    if fired:
        reasons = "; ".join(
            f"{s.name}: {s.reason}" if s.reason else s.name
            for s in alarming if s.name in fired
        )  # fmt: skip
        return Decision(ROLL_BACK, f"in alarm since the deploy: {reasons}", fired, earlier)
    if now >= until:
        quiet = f"no alarm since the deploy started ({started:%H:%M:%S}Z)"
        if earlier:
            quiet += f" (in alarm since before the deploy: {', '.join(earlier)})"
        return Decision(KEEP, quiet, (), earlier)
    return Decision(WATCHING, f"watching until {until:%H:%M:%S}Z", (), earlier)


class Reader(Protocol):
    def __call__(self, names: Sequence[str]) -> dict[str, AlarmState | None]: ...


def watch(
    read: Reader,
    names: Sequence[str],
    *,
    started: datetime,
    minutes: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    interval: float = INTERVAL_SECONDS,
    report: Callable[[str], None] = print,
) -> Decision:
    """Poll the alarms until the release is kept or rolled back (or the watch is blind): for
    `minutes` from now (the release serves by now), counting every alarm raised since `started`
    (the deploy's start, so an alarm the rollout itself raised counts too)."""
    until = clock() + timedelta(minutes=minutes)
    while True:
        now = clock()
        decision = decide(read(names), started=started, until=until, now=now)
        report(f"{now:%H:%M:%S}Z {decision.verdict}: {decision.summary}")
        if decision.verdict != WATCHING:
            return decision
        sleep(max(0.0, min(interval, (until - now).total_seconds())))


class CloudWatchReader:
    """The alarms' states from CloudWatch (`cloudwatch:DescribeAlarms`)."""

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch", region_name=region)
        self.client = client

    def __call__(self, names: Sequence[str]) -> dict[str, AlarmState | None]:
        found: dict[str, AlarmState | None] = dict.fromkeys(names)
        for batch in _batches(list(names), NAMES_PER_CALL):
            token: str | None = None
            while True:
                request: dict[str, Any] = {
                    "AlarmNames": batch,
                    "AlarmTypes": ["MetricAlarm"],
                }
                if token:
                    request["NextToken"] = token
                answer = self.client.describe_alarms(**request)
                for alarm in answer.get("MetricAlarms", []):
                    found[alarm["AlarmName"]] = _state(alarm)
                token = answer.get("NextToken")
                if not token:
                    break
        return found


def _state(alarm: Mapping[str, Any]) -> AlarmState:
    since = alarm.get("StateTransitionedTimestamp") or alarm["StateUpdatedTimestamp"]
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return AlarmState(alarm["AlarmName"], alarm["StateValue"], since, alarm.get("StateReason", ""))


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- command line -------------------------------------------------------------------------------


def watch_minutes(stack_file: Path) -> int:
    """The stage's `watchMinutes`: its stack file's value, else the schema's default."""
    from .config_schema import BY_KEY, Invalid, parse
    from .freeze import configured

    key, value = configured(stack_file, MINUTES_KEY) if stack_file.is_file() else ("", None)
    try:
        return int(parse(BY_KEY[MINUTES_KEY], value))
    except Invalid as invalid:
        raise ValueError(f"{stack_file} {key}: {invalid.problem}; {invalid.fix}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.watch")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--alarms", required=True, help="the alarm names, comma-separated")
    parser.add_argument("--started", required=True, help="when the deploy started (ISO 8601)")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--stack", default="", help="the stage's stack (default: the stage)")
    parser.add_argument("--infra", default=".", help="the Pulumi project folder (default: .)")
    parser.add_argument("--interval", type=float, default=INTERVAL_SECONDS)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    read: Reader | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.alarms.split(",") if n.strip()]
    try:
        started = datetime.fromisoformat(args.started.replace("Z", "+00:00"))
        if started.tzinfo is None:
            raise ValueError("it names no time zone")
        if args.minutes is not None:
            minutes = args.minutes
        else:
            minutes = watch_minutes(Path(args.infra) / f"Pulumi.{args.stack or args.stage}.yaml")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not names:
        print(
            f"error: {args.stage} names no alarms to watch (stack output alarmNames)",
            file=sys.stderr,
        )
        return 2
    if minutes <= 0:
        print(f"{args.stage}: {MINUTES_KEY} is 0, no watch")
        step_outputs(verdict=KEEP, alarms="")
        return 0
    try:
        decision = watch(
            read or CloudWatchReader(), names, started=started, minutes=minutes,
            clock=clock or (lambda: datetime.now(UTC)), sleep=sleep, interval=args.interval,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - botocore's errors: the watch cannot decide
        print(f"::error title=watch::reading the alarms failed: {exc}")
        return 1
    if decision.earlier:
        print(
            f"::warning title=watch::in alarm since before the deploy: {', '.join(decision.earlier)}"
        )
    if decision.verdict == BLIND:
        print(f"::error title=watch::{decision.summary}")
        return 1
    step_outputs(verdict=decision.verdict, alarms=",".join(decision.alarms), summary=decision.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
