"""The program: stack selection, outputs, the image before and after the first build, mixed
targets per stage, config validation."""

from __future__ import annotations

import pytest

from bootstrap.offline import PlanError, run_program
from stacks import contract

from .helpers import (
    ACCOUNT,
    DIGEST_REF,
    PLACEHOLDER,
    PROJECT,
    REAL_DIGEST,
    REGION,
    REPOSITORY_URL,
    count,
    stage_config,
)


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_stage_outputs_are_the_contract(project_plans, target):
    for stage in ("dev", "test", "prod"):
        outputs = project_plans[target][stage].outputs
        # what provisioning and status read, and what the deploy workflow's watch and traffic
        # shifting read (docs/stacks.md, "Progressive delivery")
        delivery = {contract.ALARM_NAMES_OUTPUT, contract.ACCOUNT_OUTPUT}
        if target == "lambda":
            delivery |= {contract.LIVE_VERSION_OUTPUT, contract.NEW_VERSION_OUTPUT}
        if stage != "prod":  # the next stage's deploy job reads its alarms (stacks/alarm_reader.py)
            delivery |= {contract.ALARM_READER_OUTPUT}
        if target == "ecs" and stage == "dev":  # what ECS previews would reuse (stacks/pr_ecs.py)
            delivery |= {contract.PREVIEW_PLATFORM_OUTPUT}
        assert set(outputs) == set(contract.STAGE_OUTPUTS) | delivery
        assert outputs["stage"] == stage
        assert outputs["target"] == target
        assert outputs["region"] == REGION
        assert outputs[contract.ACCOUNT_OUTPUT] == ACCOUNT
        assert outputs["url"].startswith(("http://", "https://"))
        assert DIGEST_REF.match(outputs["image"])
        assert outputs["deployRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/bootstrap-deploy/")


def test_placeholder_image_is_marked(project_plans):
    outputs = project_plans["ecs"]["dev"].outputs
    assert outputs["image"] == f"{REPOSITORY_URL}@{PLACEHOLDER}"


def test_image_output_is_the_deployed_digest(released):
    for plan in released.values():
        assert plan.outputs["image"] == f"{REPOSITORY_URL}@{REAL_DIGEST}"


def test_a_real_update_without_an_image_is_refused(infra, shared_outputs):
    config = stage_config("ecs", **{"bootstrap:offlinePlan": False})
    with pytest.raises(PlanError, match="has no image yet") as raised:
        run_program(infra, PROJECT, "dev", config, stack_outputs=shared_outputs)
    assert f"pulumi config set {PROJECT}:image" in str(raised.value)


def test_a_foundation_only_update_without_an_image_plans_the_deploy_role(
    infra, shared_outputs, monkeypatch
):
    # bootstrap provision creates each stage's deploy role (a targeted update) before any build
    monkeypatch.setenv(contract.FOUNDATION_ONLY_ENV, "1")
    config = stage_config("ecs", **{"bootstrap:offlinePlan": False})
    plan = run_program(infra, PROJECT, "dev", config, stack_outputs=shared_outputs)
    assert plan.outputs["deployRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert plan.outputs["image"] == f"{REPOSITORY_URL}@{PLACEHOLDER}"


def test_a_real_update_with_an_image_runs(infra, shared_outputs):
    config = stage_config(
        "lambda", image=f"{REPOSITORY_URL}@{REAL_DIGEST}", **{"bootstrap:offlinePlan": False}
    )
    plan = run_program(infra, PROJECT, "dev", config, stack_outputs=shared_outputs)
    assert plan.outputs["image"].endswith(REAL_DIGEST)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (f"{REPOSITORY_URL}:v1.2.3", "not REPOSITORY@sha256:DIGEST"),
        (f"{REPOSITORY_URL}@sha256:abc", "not REPOSITORY@sha256:DIGEST"),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/other@{REAL_DIGEST}", "not in this project's repository"),
    ],
)
def test_images_must_be_digests_of_this_repository(plan_stage, image, message):
    with pytest.raises(PlanError, match=message):
        plan_stage("dev", stage_config("ecs", image=image))


def test_the_program_composes_the_components_readably(generated_repos):
    """infra/__main__.py is what a reader opens first: it builds each stack from the components,
    with the SDK imported by name and its types, and passes ruff."""
    import subprocess
    import sys

    program = generated_repos["ecs"] / "infra" / "__main__.py"
    text = program.read_text()
    assert "import pulumi_aws as aws" in text
    for component in (
        "Registry(", "GithubOidc(", "CiRole(", "PreviewRole(", "Stage(", "EcsService(",
        "EksCluster(", "EksWorkload(", "LambdaService(", "Observability(",
    ):
        assert component in text, component
    stacks = generated_repos["ecs"] / "infra" / "stacks"
    assert not (stacks / "sdk.py").exists() and not (stacks / "program.py").exists()
    for module in stacks.glob("*.py"):
        assert "importlib" not in module.read_text(), module.name  # no SDK hidden behind Any
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "E,F,W,B,UP",
         "--line-length", "100", str(program)],
        capture_output=True, text=True, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("target", "k8s", "target: 'k8s' is not valid"),
        ("trustSubject", "tag", "trustSubject: 'tag' is not valid"),
        ("logRetentionDays", 10, "not a CloudWatch Logs retention"),
        ("minCapacity", "two", "not a whole number"),
        ("natPerAz", "yes", "not true or false"),
    ],
)
def test_bad_config_is_refused_with_the_key(plan_stage, key, value, message):
    with pytest.raises(PlanError, match=message):
        plan_stage("dev", stage_config("ecs", **{f"{PROJECT}:{key}": value}))


def test_mixed_targets_per_stage(mixed_plans, mixed_repo):
    text = (mixed_repo / "infra" / "Pulumi.test.yaml").read_text()
    assert f"{PROJECT}:target: eks" in text
    targets = {stage: mixed_plans[stage].outputs["target"] for stage in ("dev", "test", "prod")}
    assert targets == {"dev": "lambda", "test": "eks", "prod": "ecs"}
    assert count(mixed_plans["dev"], "aws:lambda/function:Function") == 1
    assert count(mixed_plans["dev"], "aws:ec2/vpc:Vpc") == 0
    assert count(mixed_plans["test"], "aws:eks/cluster:Cluster") == 1
    assert count(mixed_plans["test"], "aws:ecs/service:Service") == 0
    assert count(mixed_plans["prod"], "aws:ecs/service:Service") == 1
    assert count(mixed_plans["prod"], "aws:eks/cluster:Cluster") == 0
    # All three deploy from the one registry of the shared stack.
    repository = mixed_plans["shared"].outputs["repositoryUrl"]
    assert all(mixed_plans[s].outputs["image"].startswith(f"{repository}@") for s in targets)


def test_changing_one_stage_target_changes_only_that_stage(plan_stage, project_plans):
    plan = plan_stage("test", stage_config("lambda", "test"))
    assert plan.outputs["target"] == "lambda"
    assert project_plans["ecs"]["test"].outputs["target"] == "ecs"


def test_every_component_child_is_parented_and_named_after_it(project_plans):
    for target, plans in project_plans.items():
        for plan in plans.values():
            urns = {r.urn: r for r in plan.resources}
            for resource in plan.resources:
                if resource.type == "pulumi:pulumi:Stack":
                    assert resource.parent is None
                    continue
                assert resource.parent in urns, (target, resource.name)
                parent = urns[resource.parent]
                if parent.type.startswith("bootstrap:index:"):
                    assert resource.name.startswith(parent.name), (target, resource.name, parent.name)


def test_every_resource_lives_in_a_component(project_plans, mixed_plans):
    """Only components, the StackReference and the Kubernetes provider sit at the top."""
    top_level_ok = ("bootstrap:index:", "pulumi:providers:", "pulumi:pulumi:StackReference")
    for plans in (*project_plans.values(), mixed_plans):
        for plan in plans.values():
            (stack,) = plan.of_type("pulumi:pulumi:Stack")
            for resource in plan.resources:
                if resource.parent == stack.urn:
                    assert resource.type.startswith(top_level_ok), (plan.stack, resource.type)
