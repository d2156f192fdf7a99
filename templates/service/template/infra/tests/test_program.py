"""What this program promises, checked under Pulumi's mocks from the repository's own stack files."""

from __future__ import annotations

import json
import re

import pulumi
import pytest
from conftest import ACCOUNT, Plan, project_name, run, stack_config, stack_names

from stacks import contract

STAGES = [stack for stack in stack_names() if stack != contract.SHARED]
IMAGE = re.compile(rf"^\d{{12}}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+@{contract.DIGEST_PATTERN}$")


def statements(document: str) -> list[dict]:
    found = json.loads(document)["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_every_stack_plans(plans: dict[str, Plan]) -> None:
    assert contract.SHARED in plans and STAGES
    for stack, plan in plans.items():
        assert plan.resources, stack


@pytest.mark.parametrize("stage", STAGES)
def test_the_workload_runs_the_project_image_by_digest(plans: dict[str, Plan], stage: str) -> None:
    plan = plans[stage]
    images = [
        container["image"]
        for task in plan.of_type("aws:ecs/taskDefinition:TaskDefinition")
        for container in json.loads(task.inputs["containerDefinitions"])
    ]
    images += [
        container["image"]
        for deployment in plan.of_type("kubernetes:apps/v1:Deployment")
        for container in deployment.inputs["spec"]["template"]["spec"]["containers"]
    ]
    images += [f.inputs["imageUri"] for f in plan.of_type("aws:lambda/function:Function")]
    assert len(images) == 1, images
    assert IMAGE.match(images[0]), images[0]


def test_github_roles_trust_exactly_this_repository(plans: dict[str, Plan]) -> None:
    """Every role GitHub Actions assumes pins the issuer's `aud` and one exact `sub` built from the
    subject prefix GitHub gave (or, until then, the marked placeholder: never a guessed name)."""
    config = stack_config(contract.SHARED)
    issuer = config[f"{project_name()}:githubOidcIssuer"]
    prefix = config[f"{project_name()}:githubSubjectPrefix"] or contract.UNKNOWN_SUBJECT_PREFIX
    subjects = set()
    for plan in plans.values():
        for role in plan.of_type("aws:iam/role:Role"):
            (statement,) = statements(role.inputs["assumeRolePolicy"])
            if "Federated" not in statement["Principal"]:
                continue
            assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{issuer}")
            condition = statement["Condition"]["StringEquals"]
            assert condition[f"{issuer}:aud"] == contract.GITHUB_OIDC_AUDIENCE
            sub = condition[f"{issuer}:sub"]
            subjects.update(sub if isinstance(sub, list) else [sub])  # previews' role: two
    kinds = {contract.subject(prefix, "branch"), contract.subject(prefix, "pull_request")}
    kinds |= {contract.subject(prefix, "environment", stage) for stage in STAGES}
    assert subjects <= kinds and subjects, subjects


@pytest.mark.parametrize("stage", STAGES)
def test_roles_are_made_only_within_the_stage_boundary(plans: dict[str, Plan], stage: str) -> None:
    """The deploy role may create a role, or give one a policy, only with the stage's permissions
    boundary; every role of the stage's workload carries it."""
    plan = plans[stage]
    project = project_name()
    (boundary,) = plan.of_type("aws:iam/policy:Policy")
    account = stack_config(stage).get(f"{project}:{contract.ACCOUNT_KEY}") or ACCOUNT
    boundary_arn = f"arn:aws:iam::{account}:policy{boundary.inputs['path']}{boundary.inputs['name']}"
    keyed = {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}
    deploy = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if "-deploy-" in p.name]
    granted = set()
    for policy in deploy:
        for statement in statements(policy.inputs["policy"]):
            actions = set(as_list(statement["Action"]))
            granted |= actions
            if actions & keyed:
                assert statement["Condition"] == {
                    "ArnEquals": {"iam:PermissionsBoundary": boundary_arn}
                }, statement
    assert "iam:CreateRole" in granted
    assert not {"iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary"} & granted
    for role in plan.of_type("aws:iam/role:Role"):
        if role.inputs.get("path") == contract.workload_role_path(project, stage):
            assert role.inputs.get("permissionsBoundary") == boundary_arn, role.name


@pytest.mark.parametrize("stage", STAGES)
def test_a_bad_release_is_caught_and_rolled_back(plans: dict[str, Plan], stage: str) -> None:
    """ECS shifts traffic step by step and rolls back on the stage's own alarms (made by this same
    stack); EKS fails the update when a rollout stops progressing; every stage's tasks or pods
    finish their requests in flight before they are killed."""
    plan = plans[stage]
    alarms = {alarm.inputs["name"] for alarm in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms
    for service in plan.of_type("aws:ecs/service:Service"):
        assert service.inputs["deploymentConfiguration"]["strategy"] in ("CANARY", "LINEAR", "ROLLING")
        watched = service.inputs["alarms"]
        assert watched["enable"] and watched["alarmNames"] and set(watched["alarmNames"]) <= alarms
    for task in plan.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs["containerDefinitions"]):
            assert container["stopTimeout"] > contract.APP_SHUTDOWN_SECONDS
    for deployment in plan.of_type("kubernetes:apps/v1:Deployment"):
        spec = deployment.inputs["spec"]
        assert spec["progressDeadlineSeconds"] > 0
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert spec["template"]["spec"]["terminationGracePeriodSeconds"] > contract.APP_SHUTDOWN_SECONDS


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_trusts_github_through_its_own_accounts_provider(
    plans: dict[str, Plan], stage: str
) -> None:
    """A role trusts an OIDC provider of its own account only: a stage in its own account (its
    file's `account`) has its own provider (or reuses its account's `oidcProviderArn`)."""
    config = stack_config(stage)
    project = project_name()
    account = config.get(f"{project}:{contract.ACCOUNT_KEY}") or ACCOUNT
    own = account != ACCOUNT and not config.get(f"{project}:oidcProviderArn")
    providers = plans[stage].of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert len(providers) == (1 if own else 0)
    roles = plans[stage].of_type("aws:iam/role:Role")
    (role,) = [r for r in roles if r.name == f"{project}-{stage}-deploy-role"]
    (statement,) = statements(role.inputs["assumeRolePolicy"])
    assert statement["Principal"]["Federated"].startswith(f"arn:aws:iam::{account}:oidc-provider/")


def test_a_run_with_another_accounts_credentials_is_refused() -> None:
    """A stage that names its account refuses credentials of any other (a preview too)."""
    stage = STAGES[-1]
    with pytest.raises(pulumi.RunError, match=f"lives in account 999999999999.*{ACCOUNT}"):
        account = {f"{project_name()}:{contract.ACCOUNT_KEY}": "999999999999"}
        run(stage, account, credentials=ACCOUNT)


def test_a_real_update_needs_the_subject_prefix_and_an_image() -> None:
    stage = STAGES[0]
    project = project_name()
    with pytest.raises(pulumi.RunError, match="has no image yet"):
        run(stage, {f"{project}:image": None, f"{project}:githubSubjectPrefix": "repo:o/r"}, preview=False)
    with pytest.raises(pulumi.RunError, match="githubSubjectPrefix is not set"):
        run(contract.SHARED, {f"{project}:githubSubjectPrefix": ""}, preview=False)


def test_a_preview_without_the_subject_prefix_warns() -> None:
    plan = run(contract.SHARED, {f"{project_name()}:githubSubjectPrefix": ""})
    assert any("githubSubjectPrefix is not set" in warning for warning in plan.warnings), plan.warnings
