"""Lambda traffic shifting, the deploy workflow's side: the steps by which the `live` alias moves
from the version it serves to the newly published one.

The stack owns the alias (lambda_fn.py): while `lambdaStableVersion` is set, the alias keeps that
version and sends `lambdaNewVersionWeight` (0 to 1) of the requests to the newest version. The
deploy job (`.github/scripts/deploy-shift.sh`) sets both before its `pulumi up`, then for each
step watches the stage's alarms for the step's minutes (stacks/watch.py) and raises the weight
with another `pulumi up` (the image is unchanged, so no version is published); at the end it
removes both keys and the alias serves the new version alone. An alarm during a step rolls the
stage back the way every target rolls back (deploy-rollback.sh), and holds the digest.

- `steps(strategy, canary_percent, canary_minutes, linear_percent, linear_minutes)`: the
  (weight, minutes) of each step before the alias moves entirely: canary one step, linear one per
  share below 100 %, all-at-once none.
- `plan(stack_file)`: the steps of a stage from its stack settings (`target` lambda only; the
  schema's defaults for what the file does not set).

Command line (from `infra/`, the infra venv): `python -m stacks.shift plan --stack STACK` prints
one `WEIGHT MINUTES` line per step (nothing: no shifting). No AWS call, no Pulumi import.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {"plan": ()}  # no AWS call (the IAM check reads it)
STABLE_KEY = "lambdaStableVersion"
WEIGHT_KEY = "lambdaNewVersionWeight"
_READ = ("target", "deployStrategy", "canaryPercent", "canaryMinutes", "linearPercent",
         "linearMinutes")  # fmt: skip


@dataclass(frozen=True)
class Step:
    weight: float  # the share of the live alias's requests the new version takes (0 to 1)
    minutes: int  # how long the alarms are watched at that share


def steps(
    strategy: str,
    canary_percent: float,
    canary_minutes: int,
    linear_percent: float,
    linear_minutes: int,
) -> list[Step]:
    """The shares the new version takes, in order, before it takes every request."""
    if strategy == "canary" and canary_percent < 100:
        return [Step(round(canary_percent / 100, 3), canary_minutes)]
    if strategy == "linear":
        count = int(-(-100 // linear_percent))  # shares k * percent below 100
        return [
            Step(round(k * linear_percent / 100, 3), linear_minutes)
            for k in range(1, count)
            if k * linear_percent < 100
        ]
    return []


def plan(stack_file: Path) -> list[Step]:
    """A stage's steps from its stack settings (none unless its target is lambda)."""
    from .config_schema import BY_KEY, parse
    from .freeze import configured

    values = {
        key: parse(BY_KEY[key], configured(stack_file, key)[1] if stack_file.is_file() else None)
        for key in _READ
    }
    if values["target"] != "lambda":
        return []
    return steps(
        str(values["deployStrategy"]),
        float(values["canaryPercent"]),
        int(values["canaryMinutes"]),
        float(values["linearPercent"]),
        int(values["linearMinutes"]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.shift")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("plan", help="the traffic steps of a Lambda stage")
    show.add_argument("--stack", required=True)
    show.add_argument("--infra", default=".", help="the Pulumi project folder (default: .)")
    args = parser.parse_args(argv)
    try:
        found = plan(Path(args.infra) / f"Pulumi.{args.stack}.yaml")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for step in found:
        print(f"{step.weight:g} {step.minutes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
