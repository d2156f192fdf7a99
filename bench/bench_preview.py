"""`bootstrap preview --offline --all` on a 3-stage project per target, against named baselines.

Baselines, measured in this same process run:
- `python -c "import pulumi_aws"`: the import an offline plan cannot avoid (a fresh interpreter);
- `mock run of shared (in-process)`: `offline.run_program` of the shared stack once the SDKs are
  imported, i.e. the bare cost of one mocked program run.
Goal: under 3 s per target (absolute, on the 2-core machines here).

Run: python bench/bench_preview.py [--repeat N]
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
GOAL = 3.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(work / "cache"))
    for target in TARGETS:
        (work / target).mkdir()
    repos = {target: render_project(work, target) for target in TARGETS}

    import_aws = median_seconds(lambda: run_quiet([python, "-c", "import pulumi_aws"]), args.repeat)
    from bootstrap import offline

    infra = repos["ecs"] / "infra"
    offline.run_program(infra, "shop", "shared")  # warm: imports and first run
    bare = median_seconds(lambda: offline.run_program(infra, "shop", "shared"), args.repeat)

    print(f"baseline python -c 'import pulumi_aws': {import_aws:.3f}s")
    print(f"baseline mock run of shared (in-process): {bare:.3f}s")
    slowest = 0.0
    for target, repo in repos.items():
        command = [python, "-m", "bootstrap", "preview", "--offline", "--all", "--json"]
        seconds = median_seconds(
            lambda command=command, repo=repo: run_quiet([*command, "--repo", str(repo)]),
            args.repeat,
        )
        slowest = max(slowest, seconds)
        report(
            f"preview --offline --all ({target}, 4 stacks)",
            seconds,
            "import pulumi_aws",
            import_aws,
            f"under {GOAL:.0f} s absolute",
        )
        print(f"  ratio to one bare mock run: {seconds / bare:.1f}")
    verdict = "met" if slowest < GOAL else "NOT met"
    print(f"goal under {GOAL:.0f} s: {verdict} (slowest {slowest:.2f}s)")


if __name__ == "__main__":
    main()
