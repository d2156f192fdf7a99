"""ECS previews (`previewTarget: ecs`) under Pulumi's mocks: a `pr-<n>` service of its own in the
first stage's cluster, behind the first stage's load balancer on its own port; the first stage
opens the previews' ports and exports what they reuse; the shared stack refuses a first stage
that cannot host them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap.offline import PlanError, StackPlan, load_stack_config, run_program
from stacks import contract

from .helpers import (
    LOG_GROUP,
    PREFIX,
    PROJECT,
    REAL_DIGEST,
    REPOSITORY_URL,
    ROLE,
    ROLE_POLICY,
    one,
    parliament_findings,
    policy_documents,
)
from .test_previews_stack import preview_config

PREVIEWS_URL = f"{REPOSITORY_URL}-previews"
STACK = contract.preview_stack(7)
PORT = contract.preview_port(7)
SERVICE = "aws:ecs/service:Service"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
KNOWN = {f"{PROJECT}:githubSubjectPrefix": PREFIX}
ECS_PREVIEWS = {f"{PROJECT}:previewTarget": "ecs"}


def plan(infra: Path, stack: str, outputs: dict[str, dict] | None = None, **config: object) -> StackPlan:
    values = {**load_stack_config(infra, PROJECT, stack), **KNOWN, **config}
    return run_program(infra, PROJECT, stack, values, stack_outputs=outputs)


@pytest.fixture(scope="module")
def plans(infra: Path) -> dict[str, StackPlan]:
    """shared (previews on ECS), dev (the first stage), test, and the preview pr-7."""
    shared = plan(infra, "shared", **ECS_PREVIEWS)
    dev = plan(infra, "dev", {"shared": shared.outputs})
    test = plan(infra, "test", {"shared": shared.outputs})
    config = preview_config(infra, image=f"{PREVIEWS_URL}@{REAL_DIGEST}", previewTarget="ecs")
    preview = run_program(
        infra, PROJECT, STACK, config, stack_outputs={"shared": shared.outputs, "dev": dev.outputs}
    )
    return {"shared": shared, "dev": dev, "test": test, STACK: preview}


def test_a_preview_is_a_service_of_its_own_in_the_first_stage_s_cluster(plans: dict[str, StackPlan]) -> None:
    preview, dev = plans[STACK], plans["dev"]
    platform = dev.outputs[contract.PREVIEW_PLATFORM_OUTPUT]
    service = one(preview, SERVICE).inputs
    assert service["name"] == f"{PROJECT}-pr-7" and service["cluster"] == platform["clusterArn"]
    assert platform["clusterArn"].endswith(f":cluster/{PROJECT}-dev")  # the first stage's own
    assert service["desiredCount"] == 1 and service["waitForSteadyState"] is True
    network = service["networkConfiguration"]
    assert network["subnets"] == platform["privateSubnetIds"] and network["assignPublicIp"] is False
    assert network["securityGroups"] == [platform["serviceSecurityGroupId"]]
    task = one(preview, "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["family"], task["cpu"], task["memory"]) == (f"{PROJECT}-pr-7", "256", "512")
    (container,) = json.loads(task["containerDefinitions"])
    assert container["image"] == f"{PREVIEWS_URL}@{REAL_DIGEST}"
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["STAGE"] == STACK and env["RELEASE"] == REAL_DIGEST
    listener = one(preview, "aws:lb/listener:Listener").inputs
    assert listener["loadBalancerArn"] == platform["loadBalancerArn"]
    assert (listener["port"], listener["protocol"]) == (PORT, "HTTP") and PORT == 8008
    assert listener["tags"][contract.TAG_STAGE] == STACK  # the deploy role acts on tagged listeners only
    assert preview.outputs["url"] == f"http://{platform['loadBalancerDnsName']}:{PORT}/"
    assert set(preview.outputs) == set(contract.PREVIEW_OUTPUTS) and preview.outputs["target"] == "ecs"


def test_a_preview_makes_only_its_own_parts(plans: dict[str, StackPlan]) -> None:
    """No cluster, load balancer, security group, network, autoscaling or alarm of its own."""
    preview = plans[STACK]
    made = sorted({r.type for r in preview.resources if r.custom and r.type.startswith("aws:")})
    assert made == sorted([
        "aws:cloudwatch/logGroup:LogGroup", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:lb/listener:Listener", "aws:lb/targetGroup:TargetGroup",
    ])  # fmt: skip
    logs = one(preview, LOG_GROUP).inputs
    assert (logs["name"], logs["retentionInDays"]) == (f"/aws/ecs/{PROJECT}-pr-7", 3)
    roles = preview.of_type(ROLE)
    assert len(roles) == 2 and {r.inputs["path"] for r in roles} == {f"/bootstrap/{PROJECT}/{STACK}/"}
    boundary = f":policy/bootstrap-deploy/{PROJECT}/{PROJECT}-pr-boundary"
    assert all(r.inputs["permissionsBoundary"].endswith(boundary) for r in roles)
    (execution,) = [json.loads(p.inputs["policy"]) for p in preview.of_type(ROLE_POLICY)]
    pull = next(s for s in execution["Statement"] if s["Sid"] == "PullImage")
    assert pull["Resource"].endswith(f":repository/{PROJECT}-previews")  # never the releases'
    for resource in (r for r in preview.resources if r.custom and "tags" in r.inputs):
        assert resource.inputs["tags"][contract.TAG_PREVIEW] == "7"


def test_the_first_stage_opens_the_previews_ports_and_exports_what_they_reuse(
    plans: dict[str, StackPlan], project_plans: dict[str, dict[str, StackPlan]]
) -> None:
    def preview_rules(stage: StackPlan) -> list[dict]:
        return [
            rule for group in stage.of_type(SECURITY_GROUP) for rule in group.inputs.get("ingress") or []
            if rule["fromPort"] != rule["toPort"]
        ]  # fmt: skip

    (rule,) = preview_rules(plans["dev"])
    assert (rule["fromPort"], rule["toPort"]) == contract.preview_port_range() == (8001, 8999)
    assert rule["cidrBlocks"] == ["0.0.0.0/0"]
    platform = plans["dev"].outputs[contract.PREVIEW_PLATFORM_OUTPUT]
    assert set(platform) == {
        "clusterArn", "clusterName", "vpcId", "privateSubnetIds", "serviceSecurityGroupId",
        "loadBalancerArn", "loadBalancerDnsName", "loadBalancerSecurityGroupId",
    }  # fmt: skip
    assert platform["clusterName"] == f"{PROJECT}-dev"
    # Only the first stage hosts previews; with Lambda previews no stage opens anything.
    assert not preview_rules(plans["test"]) and contract.PREVIEW_PLATFORM_OUTPUT not in plans["test"].outputs
    lambda_dev = project_plans["ecs"]["dev"]
    assert not preview_rules(lambda_dev) and not lambda_dev.outputs.get(contract.PREVIEW_PLATFORM_OUTPUT)


def test_the_shared_stack_grants_ecs_previews_and_says_where_they_run(plans: dict[str, StackPlan]) -> None:
    shared = plans["shared"]
    assert shared.outputs[contract.PREVIEW_TARGET_OUTPUT] == "ecs"
    platform = next(p for p in shared.of_type(ROLE_POLICY) if p.name == f"{PROJECT}-pr-deploy-platform")
    sids = {s["Sid"] for s in json.loads(platform.inputs["policy"])["Statement"]}
    assert {"PreviewServices", "PreviewListeners", "TagNewPreviewListeners", "PassPreviewTaskRoles"} <= sids
    assert not any("lambda:" in json.dumps(s) for s in json.loads(platform.inputs["policy"])["Statement"])
    # ECS tasks pull with their execution role: the previews' repository needs no Lambda policy.
    assert not [p for p in shared.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy") if p.name.endswith("-images-policy")]


def test_ecs_previews_need_an_ecs_first_stage(generated_repos: dict[str, Path]) -> None:
    infra = generated_repos["lambda"] / "infra"
    with pytest.raises(PlanError, match=r"previewTarget: ecs previews run in the first stage's cluster, but stage dev runs on lambda"):
        plan(infra, "shared", **ECS_PREVIEWS)


def test_ecs_previews_fit_the_load_balancer_s_listeners(infra: Path) -> None:
    with pytest.raises(PlanError, match=r"previewMaxActive: 49 ecs previews .* use at most 48"):
        plan(infra, "shared", **ECS_PREVIEWS, **{f"{PROJECT}:previewMaxActive": 49})


def test_a_preview_refuses_a_first_stage_that_exports_nothing(
    infra: Path, plans: dict[str, StackPlan], project_plans: dict[str, dict[str, StackPlan]]
) -> None:
    """The shared stack says ecs, the first stage was not updated since: one line, what to do."""
    config = preview_config(infra, image=f"{PREVIEWS_URL}@{REAL_DIGEST}", previewTarget="ecs")
    stale = {"shared": plans["shared"].outputs, "dev": project_plans["ecs"]["dev"].outputs}
    with pytest.raises(PlanError, match="stage dev exports no previewPlatform .* then stage dev"):
        run_program(infra, PROJECT, STACK, config, stack_outputs=stale)


def test_a_preview_refuses_a_target_the_shared_stack_does_not_run(
    infra: Path, plans: dict[str, StackPlan], shared_outputs: dict[str, dict]
) -> None:
    config = preview_config(infra, image=f"{PREVIEWS_URL}@{REAL_DIGEST}", previewTarget="ecs")
    outputs = {**shared_outputs, "dev": plans["dev"].outputs}  # shared: previews on lambda
    with pytest.raises(PlanError, match="previewTarget is ecs here, but the shared stack was updated with lambda"):
        run_program(infra, PROJECT, STACK, config, stack_outputs=outputs)


def test_every_policy_of_ecs_previews_passes_parliament(plans: dict[str, StackPlan]) -> None:
    """The shared stack's preview role and boundary, the first stage's and the preview's roles."""
    documents = [doc for plan in plans.values() for doc in policy_documents(plan)]
    assert any(doc.label.endswith("-pr-deploy-platform") for doc in documents)
    failures = {doc.label: parliament_findings(doc) for doc in documents}
    assert {label: found for label, found in failures.items() if found} == {}


def test_an_ecs_preview_s_monthly_cost_is_its_fargate_task_and_logs(
    generated_repos: dict[str, Path], tmp_path: Path
) -> None:
    """`bootstrap status` prices an ECS preview from its own plan: 0.25 vCPU and 0.5 GB of Fargate
    for 730 hours, and its logs (the first stage's load balancer is the stage's cost)."""
    import re
    import shutil
    from decimal import Decimal

    from bootstrap.previews import monthly_cost
    from tests.conftest import REPO_ROOT

    repo = tmp_path / PROJECT
    shutil.copytree(generated_repos["ecs"], repo, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    shared = repo / "infra/Pulumi.shared.yaml"
    lambda_cost = monthly_cost(repo, PROJECT, "eu-west-1", ("dev", "test", "prod"))
    shared.write_text(shared.read_text() + f"  {PROJECT}:previewTarget: ecs\n")
    monthly_cost.cache_clear()
    cost = monthly_cost(repo, PROJECT, "eu-west-1", ("dev", "test", "prod"))
    assert lambda_cost is not None and cost is not None and cost > lambda_cost
    assert Decimal("5") < cost < Decimal("20")  # Fargate's smallest task, all month
    quoted = re.search(r"An ECS preview's is \$(\d+\.\d\d) a month", (REPO_ROOT / "docs/previews.md").read_text())
    assert quoted and Decimal(quoted.group(1)) == round(cost, 2), f"docs/previews.md quotes another figure than {cost:.2f}"


def test_a_preview_refuses_another_region_than_the_first_stage_s(infra: Path, plans: dict[str, StackPlan]) -> None:
    config = {**preview_config(infra, image=f"{PREVIEWS_URL}@{REAL_DIGEST}", previewTarget="ecs"), "aws:region": "us-east-1"}
    outputs = {"shared": plans["shared"].outputs, "dev": plans["dev"].outputs}
    with pytest.raises(PlanError, match="this preview runs in us-east-1, but stage dev's cluster is in eu-west-1"):
        run_program(infra, PROJECT, STACK, config, stack_outputs=outputs)


def test_the_first_stage_checks_name_the_key_and_the_fix() -> None:
    """config_checks.check_preview_target: the cases the plans above do not reach."""
    import pulumi

    from stacks.config_checks import check_preview_target
    from stacks.pr_ecs import check_name

    assert check_preview_target("lambda", 100, "dev", "eks") == []  # only ECS previews need it
    assert check_preview_target("ecs", 48, "dev", "ecs") == []
    (foreign,) = check_preview_target("ecs", 5, "dev", "ecs", "210987654321")
    assert foreign.key == "previewTarget" and "lives in account 210987654321" in foreign.problem
    (none,) = check_preview_target("ecs", 5, None, None)
    assert none.key == "previewTarget" and "lambda or none" in none.fix
    check_name("shop-pr-7")
    with pytest.raises(pulumi.RunError, match="longer than the 32 characters AWS allows"):
        check_name("a-twenty-char-projec-pr-12345")
