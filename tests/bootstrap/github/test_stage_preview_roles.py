"""A stage in its own account has its own preview role (its stack's output): provisioning publishes
it as the repository variable preview.yml previews that stage with, and nothing else changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bootstrap.github.provision import Values
from stacks import contract
from tests.bootstrap.github import rest_contract
from tests.bootstrap.github.conftest import OUTPUTS, VALUES, World
from tests.bootstrap.github.test_rest_contract import problems_of

PROD_ROLE = "arn:aws:iam::222222222222:role/bootstrap-deploy/shop/shop-prod-preview"


def test_a_stages_own_preview_role_is_published_as_its_repository_variable(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project()
    world.sync(repo)
    before = dict(world.server.repo("acme/shop").variables)
    assert not [name for name in before if name.startswith(f"{contract.VAR_PREVIEW_ROLE}_")]

    outputs = {
        **OUTPUTS,
        "prod": {**OUTPUTS["prod"], contract.STAGE_PREVIEW_ROLE_OUTPUT: PROD_ROLE},
    }
    result = world.sync(repo, values=Values(outputs=outputs, backend_url=VALUES.backend_url))
    variables = world.server.repo("acme/shop").variables
    assert variables["AWS_PREVIEW_ROLE_ARN_PROD"]["value"] == PROD_ROLE
    # dev and test live in the tooling account: the shared preview role previews them.
    assert set(variables) - set(before) == {"AWS_PREVIEW_ROLE_ARN_PROD"}
    assert variables[contract.VAR_PREVIEW_ROLE] == before[contract.VAR_PREVIEW_ROLE]
    assert not any(contract.STAGE_PREVIEW_ROLE_OUTPUT in line for line in result.skipped)

    # A second run writes nothing.
    again = world.sync(repo, values=Values(outputs=outputs, backend_url=VALUES.backend_url))
    assert not [c for c in again.changes if c.kind == "variable" and c.action != "unchanged"]


def test_a_stage_moved_back_to_the_tooling_account_loses_its_variable(
    world: World, project: Callable[..., Path]
) -> None:
    """Its stack no longer has its own preview role: a variable left behind would make preview.yml
    assume a role that is gone, so provisioning removes it (and only it)."""
    repo = project()
    own = {**OUTPUTS, "prod": {**OUTPUTS["prod"], contract.STAGE_PREVIEW_ROLE_OUTPUT: PROD_ROLE}}
    world.sync(repo, values=Values(outputs=own, backend_url=VALUES.backend_url))
    before = dict(world.server.repo("acme/shop").variables)
    assert "AWS_PREVIEW_ROLE_ARN_PROD" in before

    result = world.sync(repo)  # prod's stack, deployed in the tooling account, exports none
    variables = world.server.repo("acme/shop").variables
    assert set(before) - set(variables) == {"AWS_PREVIEW_ROLE_ARN_PROD"}
    removed = [c for c in result.changes if c.action == "deleted"]
    assert [(c.kind, c.name) for c in removed] == [("variable", "repository:AWS_PREVIEW_ROLE_ARN_PROD")]
    assert result.to_dict()["summary"]["updated"] == len(result.updated) >= 1
    # GitHub's REST API description documents the removal and its answer.
    deletes = [r for r in world.server.requests if r.method == "DELETE"]
    assert [rest_contract.match(r.method, r.path).key for r in deletes] == [  # type: ignore[union-attr]
        "DELETE /repos/{owner}/{repo}/actions/variables/{name}"
    ]
    assert problems_of(deletes) == []

    # A stage not deployed yet (no outputs) keeps what it has: nothing is known about it.
    world.sync(repo, values=Values(outputs=own, backend_url=VALUES.backend_url))
    unknown = {name: out for name, out in own.items() if name != "prod"}
    again = world.sync(repo, values=Values(outputs=unknown, backend_url=VALUES.backend_url))
    assert "AWS_PREVIEW_ROLE_ARN_PROD" in world.server.repo("acme/shop").variables
    assert not [c for c in again.changes if c.action == "deleted"]
