"""The promotion gates: what must hold before a digest moves from one stage to the next.

No Pulumi, the stdlib alone (every generated repository carries it as `infra/stacks/gates.py`;
deploy-stage.yml runs `python -m stacks.gates check ...`, for promote.yml and build.yml's chain
alike; `bootstrap promote` imports it; boto3 only to read alarms). Promoting
digest D to stage T, whose stage before is S (the first stage has no S and no gates but its
freeze and holds):

| gate | passes when | ready |
|---|---|---|
| `verification` | D passed verification in S (records: `acceptance-passed`, or the suite not run there and `smoke-passed`) | after the suite passes in S |
| `soak` | D has run in S for S's `soakMinutes` since its `deployed` record | `deployed + soakMinutes` |
| `alarms` | none of S's alarms (`contract.stage_alarm_names`) is in ALARM, and at least one exists (INSUFFICIENT_DATA is not an alarm) | when they clear |
| `hold` | D is held neither in S nor in T (records: `held` not followed by `released`) | when someone releases it |
| `freeze` | T is in no freeze window (`stacks.freeze.active`) | when the window ends |

`check(...)` returns a `Decision`: every gate with what is missing and when it will be ready.
`--force` promotes past failing gates and needs a reason, which the deploy records with the
deployment (`records.start(reason=...)`).

The alarms are read by name through `cloudwatch:DescribeAlarms` (`watch.CloudWatchReader`, in S's
region): `bootstrap promote` with the user's credentials; the deploy workflow with S's alarm
reader (stacks/alarm_reader.py), a role in S's account that trusts exactly T's deploy job. The
deploy job assumes it just for this step when the variable `contract.VAR_PREVIOUS_ALARMS_ROLE`
names it, and its deploy role again afterwards; without it (not provisioned yet) the gate reports
the alarms as not checked and leaves them to the deploy's watch, which rolls back and holds a
release whose alarms fire after its deploy (the `hold` gate sees that).

Command line (deploy-stage.yml's gates step, from `infra/` with the infra venv; `GITHUB_TOKEN`,
`GITHUB_REPOSITORY`; with `--read-alarms`, AWS credentials that may read S's alarms):

    python -m stacks.gates check --stage T --previous S --digest D [--read-alarms] \\
        [--force --reason TEXT] [--no-freeze]

One line per gate on stdout (`::error` lines for the failing ones) and a table in the job's
summary; exit 0 when the promotion may go ahead, 1 when a gate refuses it (or the alarms cannot be
read), 2 for bad arguments or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .contract import DIGEST, VAR_PREVIOUS_ALARMS_ROLE, stage_alarm_names
from .records import Records, short

SOAK_KEY = "soakMinutes"
FREEZE_KEY = "freezeWindows"
ALARM = "ALARM"  # CloudWatch's StateValue for a firing alarm (botocore's cloudwatch model)
# What reading a stage's alarms calls (`cloudwatch_alarms`), on the stage's own alarms: the alarm
# reader's policy grants exactly this (stacks/alarm_reader.py); the IAM coverage check reads
# COMMAND_ACTIONS and ACTS_ON (the alarms of the stage whose reader runs the command).
ALARM_ACTIONS = ("cloudwatch:DescribeAlarms",)
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {"check": ALARM_ACTIONS}
ACTS_ON = "alarms"

# (alarm name, state) of a stage's alarms; the state None: CloudWatch has no such alarm
AlarmReader = Callable[[str], Sequence[tuple[str, str | None]]]


class ForceWithoutReason(ValueError):
    def __init__(self) -> None:
        super().__init__("forcing a promotion needs a reason (it is recorded with the deployment)")


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str  # what holds, or what is missing
    fix: str = ""
    ready_at: datetime | None = None  # when it will pass, when that is known
    checked: bool = True  # False: the gate could not be evaluated here (it does not refuse)

    @property
    def missing(self) -> str:
        """What is missing, and when it will be ready if that is known."""
        when = f" (ready at {self.ready_at:%Y-%m-%d %H:%M} UTC)" if self.ready_at else ""
        return f"{self.detail}{when}"

    def line(self) -> str:
        if not self.checked:
            return f"{self.name}: not checked: {self.detail}"
        if self.passed:
            return f"{self.name}: ok: {self.detail}"
        return f"{self.name}: {self.missing}" + (f"; {self.fix}" if self.fix else "")


@dataclass
class Decision:
    target: str
    source: str | None
    digest: str
    gates: list[Gate] = field(default_factory=list)
    forced: bool = False
    reason: str = ""

    @property
    def failing(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]

    @property
    def allowed(self) -> bool:
        return not self.failing or self.forced

    @property
    def ready_at(self) -> datetime | None:
        """When every failing gate will pass, if each one says when."""
        times = [g.ready_at for g in self.failing]
        return max(times) if times and all(times) else None  # type: ignore[type-var]

    def refusal(self) -> str:
        """One line: which gates refuse the promotion, and how to go ahead anyway."""
        missing = "; ".join(g.line().removeprefix(f"{g.name}: ") for g in self.failing)  # + fix
        return (f"promoting {short(self.digest)} to {self.target} is refused: {missing}; "
                "force it with a reason if it must go now")  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "source": self.source, "digest": self.digest,
            "allowed": self.allowed, "forced": self.forced, "reason": self.reason or None,
            "ready_at": self.ready_at.isoformat() if self.ready_at else None,
            "gates": [{"name": g.name, "passed": g.passed, "detail": g.detail, "fix": g.fix or None,
                       "ready_at": g.ready_at.isoformat() if g.ready_at else None,
                       "checked": g.checked}
                      for g in self.gates],
        }  # fmt: skip


def check(
    records: Records,
    *,
    target: str,
    source: str | None,
    digest: str,
    now: datetime,
    soak_minutes: int = 0,
    alarms: AlarmReader | None = None,
    freeze: Iterable[Any] = (),
    force: bool = False,
    reason: str = "",
    unread_alarms: str = "",
) -> Decision:
    """Every gate of promoting `digest` from `source` (None: `target` is the first stage) to
    `target`. `freeze`: the target's windows (`stacks.freeze.parse_windows`). Without `alarms`,
    `unread_alarms` says why they are not read (the gate is then reported as not checked)."""
    if not DIGEST.match(digest):
        raise ValueError(f"'{digest}' is not an image digest (sha256:<64 hex digits>)")
    if force and not reason.strip():
        raise ForceWithoutReason()
    decision = Decision(target, source, digest, forced=force, reason=reason.strip())
    if source is not None:
        history = [r for r in records.history(source) if r.digest == digest]
        decision.gates.append(_verification(history, source, digest))
        decision.gates.append(_soak(history, source, digest, soak_minutes, now))
        if alarms is not None:
            decision.gates.append(_alarms(alarms, source))
        elif unread_alarms:
            decision.gates.append(Gate("alarms", True, unread_alarms, checked=False))
    decision.gates.append(_hold(records, [s for s in (source, target) if s], digest))
    decision.gates.append(_freeze(freeze, target, now))
    return decision


def _verification(history: list[Any], source: str, digest: str) -> Gate:
    passed = next((r for r in history if r.verified), None)
    if passed is not None:
        return Gate("verification", True, f"{short(digest)} passed verification in {source}")
    tried = history[0].latest("acceptance-failed", "smoke-failed") if history else None
    detail = (f"{short(digest)} failed verification in {source} ({tried.summary})" if tried
              else f"{short(digest)} has no passed verification in {source}")  # fmt: skip
    return Gate("verification", False, detail,
                f"deploy it to {source} and let its acceptance suite pass")  # fmt: skip


def _soak(history: list[Any], source: str, digest: str, minutes: int, now: datetime) -> Gate:
    deployed = next((r.deployed_at for r in history if r.deployed_at), None)
    if deployed is None:
        return Gate("soak", False, f"{short(digest)} was never deployed to {source}",
                    f"deploy it to {source} first")  # fmt: skip
    ready = deployed + timedelta(minutes=minutes)
    ran = max(0, int((now - deployed).total_seconds() // 60))
    if now >= ready:
        return Gate("soak", True, f"ran {ran} min in {source} (soakMinutes {minutes})")
    return Gate("soak", False, f"ran {ran} of the {minutes} min {source}'s soakMinutes asks",
                f"wait until it has soaked in {source}", ready.astimezone(UTC))  # fmt: skip


def _alarms(read: AlarmReader, source: str) -> Gate:
    states = list(read(source))
    firing = sorted(name for name, state in states if state == ALARM)
    missing = sorted(name for name, state in states if state is None)
    if firing:
        return Gate("alarms", False, f"{source}'s alarms in ALARM: {', '.join(firing)}",
                    f"find out why and wait until they clear in {source}")  # fmt: skip
    if missing and len(missing) == len(states):  # nothing was checked
        return Gate("alarms", False, f"none of {source}'s alarms exists ({', '.join(missing)})",
                    f"deploy {source} again (its alarms come with its stack), or read them with "
                    f"credentials of {source}'s account and region")  # fmt: skip
    detail = f"no alarm of {source} is firing"
    return Gate("alarms", True, detail + (f" (no such alarm: {', '.join(missing)})" if missing
                                          else ""))  # fmt: skip


def _hold(records: Records, stages: list[str], digest: str) -> Gate:
    for stage in stages:
        hold = records.held(stage, digest)
        if hold is not None:
            return Gate("hold", False, f"{short(digest)} is held in {stage} ({hold.summary})",
                        f"release it (`python -m stacks.records release --stage {stage} "
                        f"--digest {digest} --reason TEXT`)")  # fmt: skip
    return Gate("hold", True, f"{short(digest)} is not held")


def _freeze(windows: Iterable[Any], target: str, now: datetime) -> Gate:
    from .freeze import active

    window = active(list(windows), now)
    if window is None:
        return Gate("freeze", True, f"{target} is not frozen")
    return Gate("freeze", False, f"{target} is frozen: {window.describe()}",
                "promote after it ends", window.end.astimezone(UTC))  # fmt: skip


# --- what the command line reads ----------------------------------------------------------------


def stack_setting(infra: Path, stack: str, key: str) -> Any:
    """A key's value in `Pulumi.<stack>.yaml` (None when unset), whatever its namespace."""
    import yaml  # the infra venv has it (pulumi requires PyYAML)

    path = infra / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ValueError(f"{path} does not exist: is '{stack}' a stage of this project?")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for name, value in (document.get("config") or {}).items():
        if str(name).split(":", 1)[-1] == key:
            return value
    return None


def soak_minutes(infra: Path, stack: str) -> int:
    """The stage's `soakMinutes`, checked as the program checks it (config_schema.parse)."""
    from .config_schema import BY_KEY, parse

    value = stack_setting(infra, stack, SOAK_KEY)
    if value is None:
        return int(BY_KEY[SOAK_KEY].default or 0)
    return int(parse(BY_KEY[SOAK_KEY], value))


def cloudwatch_alarms(client: Any, project: str) -> AlarmReader:
    """A reader of a stage's alarms through a boto3 CloudWatch client in the stage's region: by
    name (`contract.stage_alarm_names`), never by prefix, so that a grant on the stage's alarms
    alone authorises the call (DescribeAlarms takes resource-level permissions)."""
    from .watch import CloudWatchReader

    reader = CloudWatchReader(client)

    def read(stage: str) -> list[tuple[str, str | None]]:
        found = reader(stage_alarm_names(project, stage))
        return [(name, state.state if state else None) for name, state in found.items()]

    return read


def project_name(infra: Path) -> str:
    """The Pulumi project's name (`Pulumi.yaml`), which prefixes every stage's names."""
    import yaml

    path = infra / "Pulumi.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    name = (document or {}).get("name")
    if not name:
        raise ValueError(f"{path} names no project (`name:`): run from the infra folder")
    return str(name)


def workflow_alarms(infra: Path, source: str) -> AlarmReader:
    """The reader the deploy workflow uses: the credentials of its environment (the alarm reader
    of `source`, which it assumed) in `source`'s region (its stack file's `aws:region`)."""
    import boto3

    from .accounts import stack_region

    region = stack_region(infra, source) or os.environ.get("AWS_REGION")
    return cloudwatch_alarms(boto3.client("cloudwatch", region_name=region), project_name(infra))


def unread_reason(target: str, source: str) -> str:
    return (f"{target}'s deploy job has no reader of {source}'s alarms ({VAR_PREVIOUS_ALARMS_ROLE} "
            f"is not set: `bootstrap provision` sets it once {source}'s foundation has its alarm "
            "reader); the deploy's alarm watch still rolls back and holds a release whose alarms "
            "fire")  # fmt: skip


def summary(decision: Decision) -> str:
    """The gates as a Markdown table for the job's summary."""
    source = f" from {decision.source}" if decision.source else ""
    rows = [f"### Promotion gates: {short(decision.digest)} to {decision.target}{source}", "",
            "| gate | result |", "|---|---|"]  # fmt: skip
    for gate in decision.gates:
        mark = "not checked" if not gate.checked else "ok" if gate.passed else "refused"
        text = gate.line().removeprefix(f"{gate.name}: ").removeprefix(f"{mark}: ")
        rows.append(f"| {gate.name} | {mark}: {text.replace('|', '/')} |")
    if decision.failing and decision.forced:
        rows += ["", f"Forced past {len(decision.failing)} gate(s): {decision.reason}"]
    return "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.gates",
                                     description="The promotion gates.")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="may this digest be promoted to this stage?")
    run.add_argument("--stage", required=True, help="the stage to promote to")
    run.add_argument("--previous", default="", help="the stage before it (empty: the first)")
    run.add_argument("--digest", required=True)
    run.add_argument("--force", action="store_true", help="promote past failing gates")
    run.add_argument("--reason", default="", help="why (needed with --force; recorded)")
    run.add_argument("--infra", default=".", type=Path, help="the Pulumi project folder")
    run.add_argument("--read-alarms", action="store_true",
                     help="read the stage before's alarms with the AWS credentials of the "
                          "environment (its alarm reader), in its region")  # fmt: skip
    run.add_argument("--no-freeze", action="store_true",
                     help="leave the freeze windows out (the deploy job's freeze step checks them)")  # fmt: skip
    run.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", ""))
    return parser


def main(
    argv: Sequence[str] | None = None, *, transport: Any = None, now: datetime | None = None,
    alarms: AlarmReader | None = None,
) -> int:  # fmt: skip
    from .config_schema import Invalid
    from .freeze import parse_windows
    from .github_api import GitHubError, UrllibTransport, append_to

    args = _parser().parse_args(argv)
    try:
        source = args.previous.strip() or None
        soak = soak_minutes(args.infra, source) if source else 0
        windows = [] if args.no_freeze else parse_windows(
            stack_setting(args.infra, args.stage, FREEZE_KEY))  # fmt: skip
        if source and alarms is None and args.read_alarms:
            alarms = workflow_alarms(args.infra, source)
        unread = unread_reason(args.stage, source) if source and alarms is None else ""
        records = Records(transport or UrllibTransport.from_env(), args.repository)
        decision = check(records, target=args.stage, source=source, digest=args.digest,
                         now=now or datetime.now(UTC), soak_minutes=soak, alarms=alarms,
                         freeze=windows, force=args.force, reason=args.reason,
                         unread_alarms=unread)  # fmt: skip
    except (ValueError, Invalid) as exc:
        print(f"::error title=promotion gates::{exc}")
        return 2
    except GitHubError as exc:
        print(f"::error title=promotion gates::reading the deployment records failed: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - botocore's errors: the alarms could not be read
        print(f"::error title=gate alarms::reading {args.previous}'s alarms failed: {exc}; check "
              f"its alarm reader ({VAR_PREVIOUS_ALARMS_ROLE}) and that it trusts this job")  # fmt: skip
        return 1
    append_to("GITHUB_STEP_SUMMARY", summary(decision))
    for gate in decision.gates:
        if not gate.checked:
            print(f"::notice title=gate {gate.name}::{gate.line()}")
            continue
        print(f"::error title=gate {gate.name}::{gate.line()}" if not gate.passed and not
              decision.forced else gate.line())  # fmt: skip
    if decision.failing and decision.forced:
        print(f"::warning title=promotion gates::forced past {len(decision.failing)} gate(s): "
              f"{decision.reason}")  # fmt: skip
    elif decision.failing:
        print(f"::error title=promotion gates::{decision.refusal()}")
    return 0 if decision.allowed else 1


if __name__ == "__main__":
    sys.exit(main())
