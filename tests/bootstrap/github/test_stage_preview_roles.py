"""A stage in its own account has its own preview role (its stack's output): provisioning publishes
it as the repository variable preview.yml previews that stage with, and nothing else changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bootstrap.github.provision import Values
from stacks import contract
from tests.bootstrap.github.conftest import OUTPUTS, VALUES, World

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
