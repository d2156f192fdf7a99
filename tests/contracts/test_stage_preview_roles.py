"""A stage in its own account is previewed on pull requests (preview.yml) as its own preview role:
the multi-account sample's test and prod stacks each have one, dev (in the tooling account) none.
Each such role allows what `pulumi preview` of its stage calls in its account (the program's
invokes, and the resources' reads when the workflow refreshes), and its state reads in the
tooling account's bucket are allowed by both sides: its own policy and the bucket policy
`bootstrap` writes (bootstrap.backend.state_access_statements). Planted defects are reported."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stacks import contract

from . import accounts_project, coverage, cross_account
from .calls import input_keys, state_calls
from .evaluator import Principal, Request, Target, authorize, evaluate
from .projects import PROJECT, Project
from .workflows import calls as workflow_calls

TOOLING = accounts_project.TOOLING
FOREIGN = [s for s in accounts_project.PLACES if accounts_project.account_of(s) != TOOLING]


@pytest.fixture(scope="module")
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, template_cache: Path
) -> Project:
    return accounts_project.shared_plan(request, tmp_path_factory, template_cache)


def preview_role(project: Project, stage: str) -> Any | None:
    name = contract.stage_preview_role_name(PROJECT, stage)
    stack = coverage.model(project, stage)
    found = [r for r in stack.resources if r.type == coverage.ROLE and r.inputs.get("name") == name]
    return found[0] if found else None


def principal(project: Project, stage: str) -> Principal:
    role = preview_role(project, stage)
    assert role is not None and role.arns, f"{stage} has no preview role"
    return cross_account.role_principal(coverage.model(project, stage), role)


def required(project: Project, stage: str) -> coverage.RoleReport:
    """What preview.yml runs as the stage's own role: `pulumi stack output` and `pulumi preview`
    of that stack only (its state, and the shared stack's through the StackReference), the
    program's invokes, and every resource's read when the workflow refreshes."""
    report = coverage.RoleReport(project.label, f"preview {stage}")
    coverage.preview_calls(report, project, stage)
    steps = [s for s in workflow_calls(project.files) if s.workflow == contract.PREVIEW_WORKFLOW]
    assert any(s.state == "read" for s in steps), "preview.yml runs no pulumi command"
    for step in steps:
        if step.action is not None:  # an AWS CLI call would need its own grant: none today
            report.gaps.append(coverage.Gap(step.origin, f"{step.action} is not judged here"))
    backend = project.state_backend
    report.required += state_calls(backend, PROJECT, stage, write=False, origin=f"{stage}: preview")
    report.required += state_calls(
        backend, PROJECT, contract.SHARED, write=False, origin=f"{stage}: StackReference to shared"
    )
    return report


def check(project: Project, stage: str, documents: list[dict[str, Any]]) -> coverage.RoleReport:
    report = required(project, stage)
    for call in report.required:
        decision = evaluate(
            Request(call.action, call.resource, call.context_dict()), documents, input_keys()
        )
        if not decision.allowed:
            report.missing.append((call, decision))
    return report


def test_only_the_stages_in_other_accounts_have_their_own_preview_role(project: Project) -> None:
    assert FOREIGN == ["test", "prod"]
    for stage in accounts_project.PLACES:
        role = preview_role(project, stage)
        output = project.plans[stage].outputs.get(contract.STAGE_PREVIEW_ROLE_OUTPUT)
        if stage in FOREIGN:
            assert role is not None and output == role.arns[0]
            assert output.split(":")[4] == accounts_project.account_of(stage)
        else:
            assert role is None and output is None


@pytest.mark.parametrize("stage", FOREIGN)
def test_the_stages_preview_role_allows_what_its_preview_runs(project: Project, stage: str) -> None:
    role = preview_role(project, stage)
    assert role is not None
    report = check(project, stage, cross_account.documents_of(coverage.model(project, stage), role))
    print(report.summary())
    assert report.required and not report.failures(), "\n".join(report.failures())
    assert any(c.resource.endswith(f"/stacks/{PROJECT}/{stage}.json") for c in report.required)


@pytest.mark.parametrize("stage", FOREIGN)
def test_its_state_reads_are_allowed_by_both_sides(project: Project, stage: str) -> None:
    """Its state reads land in the tooling account's bucket: its own policy and the bucket policy
    must both allow them; another stage's state stays closed to it."""
    side = cross_account.tooling(project)
    assert side.state is not None
    role = principal(project, stage)
    reads = [c for c in required(project, stage).required if c.action.startswith("s3:")]
    assert {c.action for c in reads} == {"s3:ListBucket", "s3:GetObject"}
    for call in reads:
        verdict = authorize(_request(side, call.action, call.resource), role, side.state)
        assert verdict.allowed and not verdict.unknown, (call, verdict)
    other = next(s for s in accounts_project.PLACES if s != stage)
    closed = f"arn:aws:s3:::{side.bucket}/{side.prefix}.pulumi/stacks/{PROJECT}/{other}.json"
    assert not authorize(_request(side, "s3:GetObject", closed), role, side.state).allowed


def _request(side: cross_account.Tooling, action: str, resource: str) -> Request:
    # The listing of a preview stays under the state's prefix (the bucket policy's condition).
    context = (
        {"s3:prefix": f"{side.prefix}.pulumi/stacks/{PROJECT}/"}
        if action == "s3:ListBucket"
        else {}
    )
    return Request(action, resource, context)


# ----------------------------------------------------------------------------- planted defects


def test_a_preview_role_without_its_state_read_is_reported(project: Project) -> None:
    role = preview_role(project, "prod")
    assert role is not None
    documents = copy.deepcopy(cross_account.documents_of(coverage.model(project, "prod"), role))
    for document in documents:
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "StateRead"]
    failures = check(project, "prod", documents).failures()
    assert failures and all("s3:GetObject" in line for line in failures), failures
    assert any("/stacks/shop/prod.json" in line for line in failures)


def test_a_bucket_policy_without_the_shared_read_is_reported(project: Project) -> None:
    """Without the stage account's read of the metadata and the shared checkpoint, its preview
    role's reads are refused by the bucket, whatever its own policy says."""
    side = cross_account.tooling(project)
    assert side.state is not None
    (document,) = side.state.policies
    account = accounts_project.account_of("prod")
    broken = copy.deepcopy(dict(document))
    broken["Statement"] = [
        s for s in broken["Statement"] if s.get("Sid") != f"BootstrapStateRead{account}"
    ]
    state = Target(TOOLING, (broken,))
    role = principal(project, "prod")
    refused = {
        call.resource.rpartition("/")[2]
        for call in required(project, "prod").required
        if call.action == "s3:GetObject"
        and not authorize(_request(side, call.action, call.resource), role, state).allowed
    }
    assert refused == {"meta.yaml", "shared.json"}


def test_the_deploy_roles_refresh_of_the_preview_role_is_covered(project: Project) -> None:
    """The preview role is foundation: the stage's deploy role only reads it (a refresh), and
    without its `ReadOwnPreviewRole` statement those reads are reported."""
    deploy = cross_account.deploy_principal(project, "prod")
    assert deploy is not None
    documents = copy.deepcopy([dict(d) for d in deploy.identity])
    for document in documents:
        document["Statement"] = [
            s for s in document["Statement"] if s.get("Sid") != "ReadOwnPreviewRole"
        ]
    failures = coverage.deploy_role(project, "prod", documents).failures()
    name = contract.stage_preview_role_name(PROJECT, "prod")
    assert failures and all(f"role/bootstrap-deploy/{PROJECT}/{name}" in f for f in failures)
    assert {f.split(" missing ")[1].split(" ")[0] for f in failures} >= {"iam:GetRole"}
