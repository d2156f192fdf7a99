"""`bootstrap cost --all` against `bootstrap preview --offline --all`, on a 3-stage project per
target, as a ratio measured in this same process run (both plan every stack offline, and the
preview prices its plans too for its monthly figures, so the ratio is what the full breakdown's
rendering adds); then, in process, what pricing itself costs next to planning.

Run: python bench/bench_cost.py [--repeat N]
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
GOAL = 1.2  # at most 20 % more than the offline preview it prices


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(work / "cache"))
    repos = {target: render_project(work, target) for target in TARGETS}
    worst = 0.0
    for target, repo in repos.items():
        preview = [python, "-m", "bootstrap", "preview", "--offline", "--all", "--json"]
        cost = [python, "-m", "bootstrap", "cost", "--offline", "--all", "--json"]
        baseline = median_seconds(
            lambda command=preview, repo=repo: run_quiet([*command, "--repo", str(repo)]),
            args.repeat,
        )
        measured = median_seconds(
            lambda command=cost, repo=repo: run_quiet([*command, "--repo", str(repo)]),
            args.repeat,
        )
        worst = max(worst, measured / baseline)
        report(
            f"cost --all ({target}, 4 stacks)",
            measured,
            "preview --offline --all",
            baseline,
            f"ratio at most {GOAL}",
        )
    # In process, what pricing itself costs next to planning (robust on a loaded machine).
    from bootstrap import offline
    from bootstrap.cost import estimate, to_json
    from bootstrap.cost import prices as prices_mod

    repo = repos["eks"]
    stacks = ["shared", "dev", "test", "prod"]
    plans = offline.plan_project(repo, "shop", stacks)
    planning = median_seconds(lambda: offline.plan_project(repo, "shop", stacks), args.repeat)
    pricing = median_seconds(
        lambda: to_json(estimate(plans, region="eu-west-1", prices=prices_mod.load())),
        args.repeat,
    )
    report("in-process pricing (eks)", pricing, "in-process planning", planning, "a few %")
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"goal ratio at most {GOAL}: {verdict} (worst {worst:.2f})")


if __name__ == "__main__":
    main()
