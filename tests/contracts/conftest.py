"""Session fixtures of the contract checks: the generated repos, planned once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bootstrap.scaffold import Scaffolder
from tests.conftest import mixed_spec

from .projects import PROJECT, Project, plan_repo, shared_projects

TARGETS = ("ecs", "eks", "lambda")
MIXED_BACKEND = "s3://acme-pulumi-state/infra"
ALERTS_TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"


def _mixed_repo(parent: Path) -> Path:
    """Stages on different targets (dev lambda, test eks, prod ecs) and an S3 state backend."""
    spec = mixed_spec(name=PROJECT, backend=MIXED_BACKEND)
    return Scaffolder(spec, parent / PROJECT).run().path


@pytest.fixture(scope="session")
def projects(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    template_cache: Path,
) -> dict[str, Project]:
    """ecs, eks and lambda (3 stages each), mixed (one stage per target, S3 backend) and
    lambda-vpc (the lambda repo with `lambdaVpc: true` in dev)."""

    def generated(target: str) -> Path:
        repos: dict[str, Path] = request.getfixturevalue("generated_repos")
        return repos[target]

    def mixed() -> Project:
        os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(template_cache))
        # prod sets a budget (stacks/budget.py), which needs an alarm topic
        budget = {f"{PROJECT}:monthlyBudget": 500, f"{PROJECT}:alarmTopicArn": ALERTS_TOPIC}
        return plan_repo(
            "mixed", _mixed_repo(tmp_path_factory.mktemp("contracts-mixed")), {"prod": budget}
        )

    makers = {target: (lambda t=target: plan_repo(t, generated(t))) for target in TARGETS}
    makers["mixed"] = mixed
    makers["lambda-vpc"] = lambda: plan_repo(
        "lambda-vpc",
        generated("lambda"),
        {"dev": {f"{PROJECT}:lambdaVpc": True}},
        only=("shared", "dev"),
    )
    return shared_projects(_cache_dir(request, tmp_path_factory), makers)


def _cache_dir(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> Path:
    """One directory per test run, shared by its xdist workers (never reused by a later run)."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None:
        return factory.getbasetemp() / "contract-plans"
    return factory.getbasetemp().parent / f"contract-plans-{workerinput['testrunuid']}"
