"""The multi-account sample project: the registry and the Pulumi state in the tooling account,
stages in their own accounts, planned from a generated repo's own program under Pulumi's mocks.

- `shared` (registry, state bucket) and `dev` (Lambda) in the tooling account 111111111111,
  us-east-1;
- `test` (Lambda) in 333333333333, us-east-1 (a Lambda function pulls from a registry in its own
  region);
- `prod` (ECS) in 222222222222, eu-west-1.

Each stack is planned as if run with its own account's credentials (the mocks answer in that
account: `model.in_account`), as `bootstrap` and the deploy workflow run it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bootstrap import spec as spec_mod
from bootstrap.offline import StackPlan, load_stack_config, run_program
from bootstrap.scaffold import Scaffolder
from stacks import contract
from tests.conftest import isolated_git

from .conftest import _cache_dir
from .model import in_account
from .projects import _COPIED, PROJECT, Project, recorded_invokes, shared_projects

LABEL = "accounts"
TOOLING = "111111111111"
HOME_REGION = "us-east-1"
BACKEND = "s3://acme-pulumi-state/infra"
# stage -> (target, account or None for the tooling account, region or None for the home region)
PLACES: dict[str, tuple[spec_mod.Target, str | None, str | None]] = {
    "dev": (spec_mod.Target.LAMBDA, None, None),
    "test": (spec_mod.Target.LAMBDA, "333333333333", None),
    "prod": (spec_mod.Target.ECS, "222222222222", "eu-west-1"),
}


def account_of(stack: str) -> str:
    place = PLACES.get(stack)
    return (place[1] if place else None) or TOOLING


def region_of(stack: str) -> str:
    place = PLACES.get(stack)
    return (place[2] if place else None) or HOME_REGION


def render(parent: Path) -> Path:
    """The sample's generated repo under `parent` (its stack files name the placements)."""
    stages = tuple(
        spec_mod.Stage(
            name=name, manual=name == "prod", target=target, account=account, region=region
        )
        for name, (target, account, region) in PLACES.items()
    )
    spec = spec_mod.build(
        name=PROJECT,
        owner="acme",
        target="ecs",
        stages=stages,
        region=HOME_REGION,
        backend=BACKEND,
        trust_subject="environment",
    )
    repo = Scaffolder(spec, parent / PROJECT).run().path
    _check_placed(repo / "infra")
    return repo


def _check_placed(infra: Path) -> None:
    """The rendered stack files name each stage's account and region (the sample's premise)."""
    for stage in PLACES:
        config = load_stack_config(infra, PROJECT, stage)
        found = (config.get(f"{PROJECT}:{contract.ACCOUNT_KEY}"), config.get("aws:region"))
        wanted = (PLACES[stage][1], region_of(stage))
        if found[0] in (None, "") and wanted[0] is None:
            found = (None, found[1])
        assert found == wanted, f"Pulumi.{stage}.yaml places {stage} in {found}, not {wanted}"


def plan(repo: Path, overrides: dict[str, dict[str, Any]] | None = None) -> Project:
    """Plan `shared` and every stage, each in its own account (as projects.plan_repo does in one)."""
    infra = repo / "infra"
    stacks = [contract.SHARED, *PLACES]
    plans: dict[str, StackPlan] = {}
    with recorded_invokes() as invokes:
        for stack in stacks:
            config = load_stack_config(infra, PROJECT, stack)
            config.update((overrides or {}).get(stack, {}))
            references = {"shared": plans["shared"].outputs} if "shared" in plans else {}
            with in_account(account_of(stack)):
                plans[stack] = run_program(infra, PROJECT, stack, config, stack_outputs=references)
        recorded = {stack: list(tokens) for stack, tokens in invokes.items()}
    files = {
        str(path.relative_to(repo)): path.read_text()
        for pattern in _COPIED
        for path in sorted(repo.glob(pattern))
    }
    accounts = {stack: account_of(stack) for stack in stacks}
    return Project(LABEL, plans, recorded, files, BACKEND, accounts)


def shared_plan(
    request: pytest.FixtureRequest, factory: pytest.TempPathFactory, template_cache: Path
) -> Project:
    """The sample rendered and planned once per test run, shared by the modules (and the xdist
    workers) that check it."""

    def make() -> Project:
        with pytest.MonkeyPatch.context() as patch:
            isolated_git(patch, factory.mktemp("accounts-home"), template_cache)
            return plan(render(factory.mktemp("contracts-accounts")))

    return shared_projects(_cache_dir(request, factory), {LABEL: make})[LABEL]
