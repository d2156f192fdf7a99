"""A preview environment (`pr-<n>`) under Pulumi's mocks, and the shared stack's preview deploy
role: the pull request's image by digest on Lambda, names under `<project>-pr-<n>`, a short log
retention, every resource tagged; the role trusted for pull requests (and main, for the sweep)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap.offline import PlanError, StackPlan, run_program
from bootstrap.stackconfig.files import merge, read_project
from stacks import contract

from .helpers import LOG_GROUP, PREFIX, PROJECT, REAL_DIGEST, REPOSITORY_URL, ROLE, ROLE_POLICY, one

PREVIEWS_URL = f"{REPOSITORY_URL}-previews"  # the previews' own image repository

FUNCTION = "aws:lambda/function:Function"
STACK = contract.preview_stack(7)


def preview_config(infra: Path, **values: object) -> dict:
    """What the pr-env workflow gives the stack: Pulumi.yaml's defaults, the region, the image."""
    written = {"aws:region": "eu-west-1", **{f"{PROJECT}:{k}": v for k, v in values.items()}}
    config, _ = merge(PROJECT, STACK, read_project(infra, PROJECT).declarations, written)
    return config


@pytest.fixture(scope="module")
def preview(infra: Path, shared_outputs: dict[str, dict]) -> StackPlan:
    config = preview_config(infra, image=f"{PREVIEWS_URL}@{REAL_DIGEST}")
    return run_program(infra, PROJECT, STACK, config, stack_outputs=shared_outputs)


def test_a_preview_is_the_pull_request_s_image_on_lambda(preview: StackPlan) -> None:
    function = one(preview, FUNCTION).inputs
    assert function["name"] == f"{PROJECT}-pr-7"
    assert function["imageUri"] == f"{PREVIEWS_URL}@{REAL_DIGEST}"  # the previews' repository
    assert function["reservedConcurrentExecutions"] == -1  # takes nothing from the stages
    assert function["environment"]["variables"]["STAGE"] == STACK
    assert one(preview, LOG_GROUP).inputs["retentionInDays"] == 3
    assert one(preview, LOG_GROUP).inputs["name"] == f"/aws/lambda/{PROJECT}-pr-7"
    role = one(preview, ROLE).inputs
    assert role["path"] == f"/bootstrap/{PROJECT}/{STACK}/"
    assert role["permissionsBoundary"].endswith(f":policy/bootstrap-deploy/{PROJECT}/{PROJECT}-pr-boundary")
    assert preview.outputs["pullRequest"] == 7 and preview.outputs["stage"] == STACK
    assert preview.outputs["url"].startswith("https://")
    assert set(preview.outputs) == set(contract.PREVIEW_OUTPUTS)


def test_a_preview_makes_nothing_else(preview: StackPlan) -> None:
    """Reused, not made: no registry, no network, no alarms, no dashboard."""
    made = sorted({r.type for r in preview.resources if r.custom and r.type.startswith("aws:")})
    assert made == sorted([
        "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/alias:Alias", "aws:lambda/function:Function", "aws:lambda/functionUrl:FunctionUrl",
        "aws:lambda/permission:Permission",
    ])  # fmt: skip


def test_every_tagged_resource_names_the_pull_request(preview: StackPlan) -> None:
    tagged = [r for r in preview.resources if r.custom and "tags" in r.inputs]
    assert len(tagged) == 3  # log group, role, function: what AWS lets carry tags here
    for resource in tagged:
        assert resource.inputs["tags"][contract.TAG_PREVIEW] == "7"
        assert resource.inputs["tags"][contract.TAG_STAGE] == STACK
        assert resource.inputs["tags"][contract.TAG_PROJECT] == PROJECT


def test_an_image_of_another_repository_is_refused(infra: Path, shared_outputs: dict[str, dict]) -> None:
    """A release image (or anything outside the previews' repository) is never a preview's."""
    config = preview_config(infra, image=f"{REPOSITORY_URL}@{REAL_DIGEST}")
    with pytest.raises(PlanError, match="not in this project's repository"):
        run_program(infra, PROJECT, STACK, config, stack_outputs=shared_outputs)


def test_previews_can_be_turned_off(infra: Path, shared_outputs: dict[str, dict]) -> None:
    with pytest.raises(PlanError, match="previewTarget is none"):
        run_program(infra, PROJECT, STACK, preview_config(infra, previewTarget="none"), stack_outputs=shared_outputs)


def test_the_preview_deploy_role_trusts_pull_requests_and_main_only(project_plans) -> None:
    shared = project_plans["ecs"]["shared"]
    role = next(r for r in shared.of_type(ROLE) if r.inputs.get("name") == contract.pr_role_name(PROJECT))
    assert role.inputs["path"] == contract.deploy_role_path(PROJECT)
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    condition = statement["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == sorted(
        [f"{PREFIX}:pull_request", f"{PREFIX}:ref:refs/heads/main"]
    )
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    policies = {p.inputs["name"] for p in shared.of_type(ROLE_POLICY) if p.inputs.get("name")}
    assert {"iam", "platform", "logs", "image"} <= policies
    assert shared.outputs[contract.PR_ROLE_OUTPUT].endswith(
        f":role{contract.deploy_role_path(PROJECT)}{contract.pr_role_name(PROJECT)}"
    )


def test_the_previews_images_live_apart_and_expire(project_plans) -> None:
    shared = project_plans["ecs"]["shared"]
    assert shared.outputs[contract.PREVIEW_REPOSITORY_OUTPUT] == PREVIEWS_URL
    repository = next(r for r in shared.of_type("aws:ecr/repository:Repository") if r.inputs["name"].endswith("-previews"))
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE" and repository.inputs["forceDelete"] is True
    rules = [json.loads(p.inputs["policy"])["rules"] for p in shared.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
             if p.name.endswith("-images-lifecycle")][0]  # fmt: skip
    assert rules[-1]["selection"] == {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 4}
    (pull,) = [json.loads(p.inputs["policy"])["Statement"] for p in shared.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
               if p.name.endswith("-images-policy")]  # fmt: skip
    assert pull[0]["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":function:{PROJECT}-pr-*")


def test_moto_accepts_the_previews_lifecycle_policy_and_refuses_a_broken_one() -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from stacks.pr_env import image_expiry

    with mock_aws():
        ecr = boto3.client("ecr", region_name="eu-west-1")
        ecr.create_repository(repositoryName=f"{PROJECT}-previews")
        ecr.put_lifecycle_policy(repositoryName=f"{PROJECT}-previews", lifecyclePolicyText=json.dumps({"rules": image_expiry(72)}))
        broken = image_expiry(72)
        broken[1]["selection"]["countUnit"] = "weeks"
        with pytest.raises(ClientError, match="InvalidParameterException"):
            ecr.put_lifecycle_policy(repositoryName=f"{PROJECT}-previews", lifecyclePolicyText=json.dumps({"rules": broken}))
