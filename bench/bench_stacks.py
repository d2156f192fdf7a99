"""Every stack of a 3-stage project (shared, dev, test, prod) under Pulumi's mocks, per target.

Baseline, measured in this same run: importing pulumi_aws and running an empty program (one
export, no resources) under the same mocks (`bootstrap.offline.run_program`). It is the floor of
any offline plan; the ratio says what the four real stacks cost on top of it.

- cold: a fresh interpreter per sample (imports included), as `bootstrap preview --offline` pays;
- warm: in this process after a first run, as the tests pay for every further plan.
Goal: a whole project cold in well under 3 s on the 2-core machines here.

Run: python bench/bench_stacks.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_seconds, render_project, report, run_quiet

TARGETS = ("ecs", "eks", "lambda")
STACKS = ["shared", "dev", "test", "prod"]
GOAL = 3.0
EMPTY_PROGRAM = """\
import pulumi
import pulumi_aws

pulumi.export("region", pulumi_aws.config.region)
"""
COLD_EMPTY = "from pathlib import Path; from bootstrap import offline; offline.run_program(Path({infra!r}), 'empty', 'dev', {{'aws:region': 'eu-west-1'}})"
COLD_PROJECT = "from pathlib import Path; from bootstrap import offline; offline.plan_project(Path({repo!r}), 'shop', {stacks!r})"


def empty_program(parent: Path) -> Path:
    infra = parent / "empty" / "infra"
    (infra / "stacks").mkdir(parents=True)
    (infra / "stacks" / "__init__.py").write_text("")
    (infra / "__main__.py").write_text(EMPTY_PROGRAM)
    return infra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench-stacks-"))
    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(work / "cache"))
    repos = {target: render_project(work, target) for target in TARGETS}
    empty = empty_program(work)

    def cold(code: str) -> float:
        return median_seconds(lambda: run_quiet([python, "-c", code]), args.repeat)

    cold_baseline = cold(COLD_EMPTY.format(infra=str(empty)))
    from bootstrap import offline

    offline.run_program(empty, "empty", "dev", {"aws:region": "eu-west-1"})  # imports
    warm_baseline = median_seconds(
        lambda: offline.run_program(empty, "empty", "dev", {"aws:region": "eu-west-1"}),
        args.repeat,
    )
    print(f"baseline (import pulumi_aws + empty program under mocks), cold: {cold_baseline:.3f}s")
    print(f"baseline (empty program under mocks), warm: {warm_baseline:.3f}s")

    slowest = 0.0
    for target, repo in repos.items():
        seconds = cold(COLD_PROJECT.format(repo=str(repo), stacks=STACKS))
        slowest = max(slowest, seconds)
        report(
            f"{target}: 4 stacks cold",
            seconds,
            "import pulumi_aws + empty program",
            cold_baseline,
            f"under {GOAL:.0f} s absolute",
        )
        offline.plan_project(repo, "shop", STACKS)  # the target's SDK modules
        plans = offline.plan_project(repo, "shop", STACKS)
        resources = sum(len(plan.resources) for plan in plans)
        warm = median_seconds(lambda repo=repo: offline.plan_project(repo, "shop", STACKS), args.repeat)
        report(
            f"{target}: 4 stacks warm ({resources} resources)",
            warm,
            "empty program",
            warm_baseline,
            "tests stay fast",
        )
    verdict = "met" if slowest < GOAL else "NOT met"
    print(f"goal: a whole project cold under {GOAL:.0f} s: {verdict} (slowest {slowest:.2f}s)")


if __name__ == "__main__":
    main()
