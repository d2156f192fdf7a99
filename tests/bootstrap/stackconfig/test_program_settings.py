"""The program's own checks (a user may run `pulumi up` without bootstrap): the same schema and
checks as bootstrap's, under Pulumi's mocks with the real SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bootstrap.offline import PlanError, load_stack_config, run_program

ACCOUNT = "123456789012"
SHARED_OUTPUTS = {
    "shared": {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/shop",
        "repositoryName": "shop",
        "repositoryArn": f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/shop",
        "ciRoleArn": f"arn:aws:iam::{ACCOUNT}:role/bootstrap-ci/shop-ci",
        "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/bootstrap-ci/shop-preview",
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
    }
}


def plan_dev(repo: Path, **changes: Any):  # type: ignore[no-untyped-def]
    infra = repo / "infra"
    config = {**load_stack_config(infra, "shop", "dev"), **changes}
    return run_program(infra, "shop", "dev", config, stack_outputs=SHARED_OUTPUTS)


def test_a_typo_is_a_warning_naming_the_key_it_meant(generated_repos) -> None:  # type: ignore[no-untyped-def]
    plan = plan_dev(generated_repos["ecs"], **{"shop:cpus": "512"})
    assert (
        "warning: config shop:cpus: this program reads no such setting (did you mean shop:cpu?)"
        in plan.messages
    )
    assert not any("shop:cpu:" in m for m in plan.messages)  # declared keys are not reported


def test_a_fargate_size_aws_refuses_stops_the_program(generated_repos) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlanError) as caught:
        plan_dev(generated_repos["ecs"], **{"shop:cpu": "1024", "shop:memory": "3000"})
    assert (
        "config shop:memory: cpu 1024 with memory 3000 is not a Fargate task size; with cpu 1024 use memory 2048-8192 MiB in steps of 1024"
        in str(caught.value)
    )


def test_a_certificate_of_another_region_stops_the_program(generated_repos) -> None:  # type: ignore[no-untyped-def]
    cert = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
    with pytest.raises(PlanError, match="is in us-east-1, but the stage runs in eu-west-1"):
        plan_dev(generated_repos["ecs"], **{"shop:certificateArn": cert})
