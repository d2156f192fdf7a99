"""Plans of the generated 3-stage repo of each target, planned once per session (the real
offline plan), and helpers to run `bootstrap cost` against them without planning again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bootstrap import offline
from bootstrap.cost import prices as prices_mod
from bootstrap.repo import load_spec

TARGETS = ("ecs", "eks", "lambda")


@pytest.fixture(scope="session")
def target_plans(generated_repos: dict[str, Path]) -> dict[str, list[Any]]:
    """Every stack (shared, dev, test, prod) of each target's repo, in lifecycle order."""
    plans = {}
    for target, repo in generated_repos.items():
        spec = load_spec(repo)
        plans[target] = offline.plan_project(repo, spec.name, spec.stacks)
    return plans


@pytest.fixture(scope="session")
def book() -> prices_mod.PriceBook:
    """The committed snapshot alone (no user cache)."""
    return prices_mod.PriceBook([prices_mod._read(prices_mod.SNAPSHOT)])


@pytest.fixture
def cached_plans(
    generated_repos: dict[str, Path],
    target_plans: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """`offline.plan_project` answered from the session's plans (the CLI runs the real rest)."""
    by_repo = {
        Path(repo).resolve(): plans
        for repo, plans in ((generated_repos[t], target_plans[t]) for t in TARGETS)
    }

    def plan_project(repo: Path, project: str, stacks: list[str]) -> list[Any]:
        plans = {p.stack: p for p in by_repo[Path(repo).resolve()]}
        return [plans[s] for s in stacks]

    monkeypatch.setattr(offline, "plan_project", plan_project)
    yield
