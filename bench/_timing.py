"""Shared timing helpers: medians of repeated runs, reported as ratios to a named baseline run
in the same process (these machines are noisy; absolute seconds are printed for context only)."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run_quiet(args: list[str], **kwargs: object) -> None:
    subprocess.run(args, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def report(name: str, measured: float, baseline_name: str, baseline: float, goal: str) -> None:
    print(
        f"{name}: {measured:.3f}s | baseline {baseline_name}: {baseline:.3f}s | "
        f"ratio {measured / baseline:.2f} | goal: {goal}"
    )


def render_project(parent: Path, target: str, name: str = "shop") -> Path:
    """A real 3-stage generated repo (the same spec for every benchmark) under parent/target."""
    from bootstrap import spec as spec_mod
    from bootstrap.scaffold import Scaffolder

    spec = spec_mod.from_options(
        name=name, owner="acme", target=target, stages="dev,test,prod", manual=None,
        region="eu-west-1", backend=None,
    )
    (parent / target).mkdir(parents=True, exist_ok=True)
    return Scaffolder(spec, parent / target / spec.name).run().path
