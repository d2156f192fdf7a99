"""The preview deploy role allows what a `pr-<n>` stack and the preview workflows call, and no
more than the previews' names: a plan of `pr-7` (and the shared stack that holds the role) with an
S3 state backend, checked call by call with Resource and Condition evaluated (coverage.py), for
Lambda previews and for ECS previews (in the first stage's cluster, on its load balancer)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from bootstrap.offline import load_stack_config, run_program
from bootstrap.stackconfig.files import merge, read_project
from stacks import contract
from tests.conftest import REPO_ROOT

from . import coverage
from .calls import PHASES, invoke_calls, resource_calls, state_calls
from .evaluator import Request, evaluate
from .projects import _COPIED, PROJECT, Project, recorded_invokes

STACK = contract.preview_stack(7)
BACKEND = "s3://acme-pulumi-state/infra"
KNOWN = {f"{PROJECT}:githubSubjectPrefix": "repo:acme@1010/shop@2020", f"{PROJECT}:stateBackend": BACKEND}


def plan_previews(repo: Path, target: str = "lambda") -> Project:
    """`shared` and `pr-7` of a generated repo (and, for ECS previews, the first stage `dev`), as
    the pr-env workflow makes the stack: no stack file of its own, the image, the region and the
    target set by the workflow."""
    infra = repo / contract.INFRA_DIR
    known = {**KNOWN, f"{PROJECT}:previewTarget": target}
    plans = {}
    with recorded_invokes() as invokes:
        shared = run_program(infra, PROJECT, contract.SHARED, {**load_stack_config(infra, PROJECT, contract.SHARED), **known})
        plans[contract.SHARED] = shared
        if target == "ecs":
            dev = {**load_stack_config(infra, PROJECT, "dev"), **KNOWN}
            plans["dev"] = run_program(infra, PROJECT, "dev", dev, stack_outputs={"shared": shared.outputs})
        config, _ = merge(PROJECT, STACK, read_project(infra, PROJECT).declarations, {"aws:region": "eu-west-1"})
        outputs = {stack: plan.outputs for stack, plan in plans.items()}
        plans[STACK] = run_program(infra, PROJECT, STACK, {**config, **known}, stack_outputs=outputs)
        recorded = {stack: list(tokens) for stack, tokens in invokes.items()}
    files = {
        str(path.relative_to(repo)): path.read_text()
        for pattern in _COPIED
        for path in sorted(repo.glob(pattern))
    }
    files[f"infra/Pulumi.{STACK}.yaml"] = "config:\n  aws:region: eu-west-1\n"
    return Project(f"previews-{target}", plans, recorded, files, BACKEND)


def previews_repository(project: Project) -> str:
    """The ARN of the previews' image repository (the workflow pushes there)."""
    releases = str(project.plans[contract.SHARED].outputs["repositoryArn"])
    return releases.rsplit("/", 1)[0] + "/" + contract.preview_repository_name(PROJECT)


def pr_role(project: Project, documents: list[dict[str, Any]] | None = None) -> coverage.RoleReport:
    """Every call of the `pr-7` stack (create, read, update, delete: the role deploys and destroys
    all of it), its invokes, its state (and the shared stack's, read), and the workflows' calls
    made as the preview deploy role."""
    stack = coverage.model(project, STACK)
    report = coverage.RoleReport(project.label, "pr")
    for resource in stack.resources:
        calls, gaps = resource_calls(stack, resource, PHASES)
        report.required += calls
        report.gaps += gaps
    calls, gaps = invoke_calls(project.invokes.get(STACK, []), STACK)
    report.required += calls
    report.gaps += gaps
    report.required += state_calls(BACKEND, PROJECT, STACK, write=True, origin=f"{STACK}: pulumi up/destroy")
    for read in (s for s in project.plans if s != STACK):  # shared; the first stage for ECS
        report.required += state_calls(BACKEND, PROJECT, read, write=False, origin=f"{STACK}: StackReference")
    repository = previews_repository(project)
    for step in coverage.workflow_calls(project.files):
        if step.role == "pr" and step.state is None:
            coverage._step_call(report, step, repository)
    if documents is None:
        shared = coverage.model(project, contract.SHARED)
        documents = coverage.role_documents(shared, contract.pr_role_name(PROJECT))
    return coverage._check(report, documents)


@pytest.fixture(scope="module")
def project(generated_repos: dict[str, Path]) -> Project:
    return plan_previews(generated_repos["ecs"])  # previews run on Lambda whatever the stages' target


@pytest.fixture(scope="module")
def documents(project: Project) -> list[dict[str, Any]]:
    shared = coverage.model(project, contract.SHARED)
    return coverage.role_documents(shared, contract.pr_role_name(PROJECT))


def test_the_preview_role_allows_what_a_preview_runs(project: Project) -> None:
    report = pr_role(project)
    print(report.summary())
    assert report.required and not report.failures(), "\n".join(report.failures())
    quoted = re.search(r"(\d+) calls\s+allowed", (REPO_ROOT / "docs/previews.md").read_text())
    assert quoted and int(quoted.group(1)) == len(report.required), "docs/previews.md quotes another count"
    origins = {call.origin for call in report.required}
    assert any("pr-env.yml" in origin for origin in origins), "the workflow's own calls are checked"


def test_the_preview_role_reaches_no_stage(project: Project, documents: list[dict[str, Any]]) -> None:
    """The same calls on a stage's names (function, log group, workload role, state) and a push
    to the release repository are denied."""
    stage_calls = [
        Request("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev", {}),
        Request("logs:DeleteLogGroup", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/shop-dev", {}),
        Request("iam:DeleteRole", "arn:aws:iam::123456789012:role/bootstrap/shop/dev/shop-dev-function", {}),
        Request("s3:PutObject", "arn:aws:s3:::acme-pulumi-state/infra/.pulumi/stacks/shop/dev.json", {}),
        # releases: a pull request's push never reaches the release repository
        Request("ecr:PutImage", str(project.plans[contract.SHARED].outputs["repositoryArn"]), {}),
    ]
    allowed = [r for r in stage_calls if evaluate(r, documents, set()).allowed]
    assert not allowed


def test_a_role_without_the_boundary_is_refused(project: Project, documents: list[dict[str, Any]]) -> None:
    role = "arn:aws:iam::123456789012:role/bootstrap/shop/pr-7/shop-pr-7-function"
    boundary = f"arn:aws:iam::123456789012:policy/bootstrap-deploy/shop/{contract.pr_boundary_name(PROJECT)}"
    keys = {"iam:PermissionsBoundary"}
    assert evaluate(Request("iam:CreateRole", role, {"iam:permissionsboundary": boundary}), documents, keys).allowed
    assert not evaluate(Request("iam:CreateRole", role, {}), documents, keys).allowed


def test_a_planted_gap_is_reported(project: Project, documents: list[dict[str, Any]]) -> None:
    """Drop lambda:CreateFunctionUrlConfig from the role: the checker names the missing call."""
    edited = copy.deepcopy(documents)
    for document in edited:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "lambda:CreateFunctionUrlConfig"]
    report = pr_role(project, edited)
    assert {call.action for call, _ in report.missing} == {"lambda:CreateFunctionUrlConfig"}


# ------------------------------------------------------------------------- ECS previews


@pytest.fixture(scope="module")
def ecs_project(generated_repos: dict[str, Path]) -> Project:
    return plan_previews(generated_repos["ecs"], "ecs")


@pytest.fixture(scope="module")
def ecs_documents(ecs_project: Project) -> list[dict[str, Any]]:
    shared = coverage.model(ecs_project, contract.SHARED)
    return coverage.role_documents(shared, contract.pr_role_name(PROJECT))


def test_the_preview_role_allows_what_an_ecs_preview_runs(ecs_project: Project) -> None:
    report = pr_role(ecs_project)
    print(report.summary())
    assert report.required and not report.failures(), "\n".join(report.failures())
    actions = {call.action for call in report.required}
    assert {"ecs:CreateService", "elasticloadbalancing:CreateListener", "elasticloadbalancing:AddTags"} <= actions
    quoted = re.search(r"(\d+) calls\s+allowed\s+for\s+an\s+ECS\s+preview", (REPO_ROOT / "docs/previews.md").read_text())
    assert quoted and int(quoted.group(1)) == len(report.required), "docs/previews.md quotes another count"


def test_the_ecs_preview_role_leaves_the_first_stage_alone(ecs_documents: list[dict[str, Any]]) -> None:
    """The stage's own service, task definitions, target groups and listeners (tagged with its
    stage), and another stage's cluster, are out of reach."""
    arn = "arn:aws:{}:eu-west-1:123456789012:{}".format
    listener = arn("elasticloadbalancing", "listener/app/shop-dev-a1b2c3d/0123456789abcdef/fedcba9876543210")
    own = {"aws:resourcetag/bootstrap:stage": "dev", "aws:resourcetag/bootstrap:project": PROJECT}
    stage_calls = [
        Request("ecs:UpdateService", arn("ecs", "service/shop-dev/shop-dev"), {}),
        Request("ecs:CreateService", arn("ecs", "service/shop-test/shop-pr-7"), {}),
        Request("ecs:RegisterTaskDefinition", arn("ecs", "task-definition/shop-dev:3"), {}),
        Request("elasticloadbalancing:DeleteTargetGroup", arn("elasticloadbalancing", "targetgroup/shop-dev-a1b2c3d/0123456789abcdef"), {}),
        Request("elasticloadbalancing:DeleteListener", listener, own),
        Request("elasticloadbalancing:ModifyListener", listener, own),
        # re-tagging the stage's listener as a preview's, to delete it next
        Request("elasticloadbalancing:AddTags", listener, {**own, "aws:requesttag/bootstrap:stage": "pr-7"}),
        Request("elasticloadbalancing:CreateListener", arn("elasticloadbalancing", "loadbalancer/app/shop-test-a1b2c3d/0123456789abcdef"), {}),
        Request("logs:DeleteLogGroup", arn("logs", "log-group:/aws/ecs/shop-dev"), {}),
    ]
    allowed = [r for r in stage_calls if evaluate(r, ecs_documents, set()).allowed]
    assert not allowed, allowed
    # A new preview listener, tagged as CreateListener tags it, is allowed.
    new = Request("elasticloadbalancing:AddTags", listener, {"aws:requesttag/bootstrap:stage": "pr-7"})
    assert evaluate(new, ecs_documents, set()).allowed


def test_a_planted_ecs_gap_is_reported(ecs_project: Project, ecs_documents: list[dict[str, Any]]) -> None:
    """Drop elasticloadbalancing:CreateListener from the role: the checker names the missing call."""
    edited = copy.deepcopy(ecs_documents)
    for document in edited:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "elasticloadbalancing:CreateListener"]
    report = pr_role(ecs_project, edited)
    assert {call.action for call, _ in report.missing} == {"elasticloadbalancing:CreateListener"}


def test_an_ecs_preview_s_inputs_are_what_the_provider_and_aws_accept(ecs_project: Project) -> None:
    """The preview's resources against the provider schema, botocore's API shapes and AWS's value
    tables (test_inputs.py's checkers), as the stages' are."""
    from . import api_shapes, sdk_schema, value_tables

    problems, checked = [], 0
    for resource in ecs_project.plans[STACK].resources:
        if not (resource.type.startswith("aws:") and resource.custom):
            continue
        problems += [f"{resource.name}: {p}" for p in sdk_schema.check(resource.type, resource.inputs)]
        problems += [f"{resource.name}: {p}" for p in value_tables.check(resource.type, resource.inputs)]
        found = api_shapes.check(resource.type, resource.inputs)
        if found is not None:
            checked += 1
            problems += [f"{resource.name}: {p}" for p in found]
    assert checked >= 7 and not problems, "\n".join(problems)
