"""Plans of real generated repos, run once per test session under Pulumi's mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bootstrap.offline import StackPlan, load_stack_config, plan_project, run_program
from bootstrap.scaffold import Scaffolder
from tests.conftest import mixed_spec

from .helpers import (
    GHES_ISSUER,
    GHES_PREFIX,
    PREFIX,
    PROJECT,
    REAL_DIGEST,
    REPOSITORY_URL,
    stage_config,
)

STACKS = ["shared", "dev", "test", "prod"]


def plan_known(repo: Path) -> dict[str, StackPlan]:
    """Every stack of a generated repo, planned from its own files once GitHub is known (the
    subject prefix `bootstrap github sync` records)."""
    infra = repo / "infra"
    known = {f"{PROJECT}:githubSubjectPrefix": PREFIX}
    plans: dict[str, StackPlan] = {}
    for stack in STACKS:
        config = {**load_stack_config(infra, PROJECT, stack), **known}
        references = {"shared": plans["shared"].outputs} if plans else None
        plans[stack] = run_program(infra, PROJECT, stack, config, stack_outputs=references)
    return plans


@pytest.fixture(scope="session")
def project_plans(generated_repos: dict[str, Path]) -> dict[str, dict[str, StackPlan]]:
    """Every stack of the generated 3-stage repo of each target."""
    return {target: plan_known(repo) for target, repo in generated_repos.items()}


@pytest.fixture(scope="session")
def unknown_subject_plans(generated_repos: dict[str, Path]) -> dict[str, StackPlan]:
    """The ECS repo as `bootstrap new` leaves it offline: GitHub not asked yet."""
    return {plan.stack: plan for plan in plan_project(generated_repos["ecs"], PROJECT, ["shared", "dev"])}


@pytest.fixture(scope="session")
def shared_outputs(project_plans: dict[str, dict[str, StackPlan]]) -> dict[str, dict]:
    return {"shared": project_plans["ecs"]["shared"].outputs}


@pytest.fixture(scope="session")
def infra(generated_repos: dict[str, Path]) -> Path:
    """The infra program of a generated repo, for runs with config given in the test."""
    return generated_repos["ecs"] / "infra"


@pytest.fixture(scope="session")
def plan_stage(infra: Path, shared_outputs: dict[str, dict]):  # type: ignore[no-untyped-def]
    """Plan one stage with the given config (cached per config: plans are read-only)."""
    cache: dict[str, StackPlan] = {}

    def plan(stage: str, config: dict) -> StackPlan:
        key = f"{stage}:{sorted(config.items())!r}"
        if key not in cache:
            cache[key] = run_program(infra, PROJECT, stage, config, stack_outputs=shared_outputs)
        return cache[key]

    return plan


@pytest.fixture(scope="session")
def released(plan_stage):  # type: ignore[no-untyped-def]
    """The dev stage of each target with a real image deployed (set by the deploy workflow)."""
    image = f"{REPOSITORY_URL}@{REAL_DIGEST}"
    return {
        target: plan_stage("dev", stage_config(target, image=image))
        for target in ("ecs", "eks", "lambda")
    }


@pytest.fixture(scope="session")
def mixed_repo(tmp_path_factory: pytest.TempPathFactory, template_cache: Path) -> Path:
    """A generated repo on GitHub Enterprise Server (its issuer, name-based subjects, `branch`
    trust) whose stages run on different targets: dev lambda, test eks, prod ecs; S3 state."""
    spec = mixed_spec(
        name=PROJECT,
        trust_subject="branch",
        github_subject_prefix=GHES_PREFIX,
        github_oidc_issuer=GHES_ISSUER,
    )
    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(template_cache))
    parent = tmp_path_factory.mktemp("generated-mixed")
    return Scaffolder(spec, parent / PROJECT).run().path


@pytest.fixture(scope="session")
def mixed_plans(mixed_repo: Path) -> dict[str, StackPlan]:
    return {plan.stack: plan for plan in plan_project(mixed_repo, PROJECT, STACKS)}

