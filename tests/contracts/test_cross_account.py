"""Stages in other accounts reach the tooling account's registry and state, and nothing more:
every call they make there is allowed by both sides (their identity policies and the resource's
policy), every call they must not make is refused (cross_account.py), and planted defects in the
resource policies are reported."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacks import contract

from . import accounts_project, cross_account
from .evaluator import Target
from .projects import PROJECT, Project

TOOLING = accounts_project.TOOLING
TEST_ACCOUNT = str(accounts_project.PLACES["test"][1])
PROD_ACCOUNT = str(accounts_project.PLACES["prod"][1])


@pytest.fixture(scope="module")
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, template_cache: Path
) -> Project:
    return accounts_project.shared_plan(request, tmp_path_factory, template_cache)


@pytest.fixture(scope="module")
def side(project: Project) -> cross_account.Tooling:
    return cross_account.tooling(project)


@pytest.fixture(scope="module")
def report(project: Project, side: cross_account.Tooling) -> cross_account.Report:
    return cross_account.run(project, side)


def test_each_stack_runs_in_its_own_account(project: Project) -> None:
    from . import coverage

    for stack in project.plans:
        model = coverage.model(project, stack)
        assert model.account == accounts_project.account_of(stack)
        assert model.region == accounts_project.region_of(stack)
    outputs = {stack: plan.outputs for stack, plan in project.plans.items()}
    assert outputs["shared"]["repositoryArn"].split(":")[4] == TOOLING
    assert outputs["prod"]["deployRoleArn"].split(":")[4] == PROD_ACCOUNT
    assert outputs["test"]["deployRoleArn"].split(":")[4] == TEST_ACCOUNT
    assert outputs["dev"]["deployRoleArn"].split(":")[4] == TOOLING


def test_each_deploy_role_allows_what_it_runs_in_its_own_account(project: Project) -> None:
    """The identity side everywhere: a stage's grants name its own account's ARNs."""
    from . import coverage

    reports = [coverage.deploy_role(project, stage) for stage in project.stages]
    print("\n".join(report.summary() for report in reports))
    assert not [line for report in reports for line in report.failures()]
    assert all(report.required for report in reports)


def test_every_cross_account_call_is_allowed_by_both_sides(
    report: cross_account.Report,
) -> None:
    figures = report.figures()
    print(figures)
    assert not report.failures(), f"{figures}\n" + "\n".join(report.failures())
    assert figures["must allow"] == figures["allowed"] >= 50
    assert figures["must refuse"] == figures["refused"] >= 100


def _checked(report: cross_account.Report, principal: str, action: str) -> list[str]:
    return [
        check.request.resource
        for check, _ in report.checks
        if check.allowed
        and principal in check.principal.label().rpartition("/")[2]
        and check.request.action == action
    ]


@pytest.mark.parametrize(
    ("principal", "action", "resource"),
    [
        # the deploy jobs: scan gate, release tags, own state, the shared stack's checkpoint
        ("shop-prod-deploy", "ecr:DescribeImageScanFindings", "repository/shop"),
        ("shop-prod-deploy", "ecr:PutImage", "repository/shop"),
        ("shop-prod-deploy", "s3:PutObject", "/.pulumi/stacks/shop/prod.json"),
        ("shop-prod-deploy", "s3:DeleteObject", "/.pulumi/locks/organization/shop/prod/"),
        ("shop-prod-deploy", "s3:GetObject", "/.pulumi/stacks/shop/shared.json"),
        ("shop-prod-deploy", "s3:ListBucket", "acme-pulumi-state"),
        ("shop-test-deploy", "ecr:GetDownloadUrlForLayer", "repository/shop"),
        ("shop-test-deploy", "s3:PutObject", "/.pulumi/history/shop/test/"),
        # the workloads' pulls
        ("lambda.amazonaws.com", "ecr:BatchGetImage", "repository/shop"),
        ("shop-prod-execution", "ecr:BatchCheckLayerAvailability", "repository/shop"),
    ],
)
def test_the_calls_that_matter_are_among_the_checked(
    report: cross_account.Report, principal: str, action: str, resource: str
) -> None:
    assert any(resource in arn for arn in _checked(report, principal, action))


def test_lambda_pulls_for_the_functions_of_each_lambda_account(
    report: cross_account.Report,
) -> None:
    sources = {
        check.request.context["aws:sourcearn"].split(":")[4]
        for check, verdict in report.checks
        if check.principal.service == "lambda.amazonaws.com" and verdict.allowed
    }
    assert sources == {TOOLING, TEST_ACCOUNT}  # dev and test run on Lambda, prod on ECS


def test_the_registry_key_needs_no_grant_to_pulling_accounts(
    project: Project, side: cross_account.Tooling, report: cross_account.Report
) -> None:
    """With ECR's AWS managed key, ECR decrypts for the pull through its own grant (Amazon ECR
    User Guide, "Encryption at rest"): there is no key policy to check. A customer managed key
    would be checked: its policy must let each puller decrypt through ECR."""
    shared = project.plans[contract.SHARED]
    repository = next(
        r
        for r in shared.resources
        if r.type == "aws:ecr/repository:Repository" and r.inputs.get("name") == PROJECT
    )
    (encryption,) = repository.inputs["encryptionConfigurations"]
    assert encryption["encryptionType"] == "KMS"
    assert bool(encryption.get("kmsKey")) == bool(side.key_named) == bool(side.keys)
    if not side.keys:
        assert not any(c.request.action.startswith("kms:") for c, _ in report.checks)


KEY = f"arn:aws:kms:us-east-1:{TOOLING}:key/0a1b2c3d-0000-4000-8000-000000000000"


def _key_policy(*accounts: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Admin",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "PullThroughEcr",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com"}},
            },
        ],
    }


def _kms_user(principal: Any) -> Any:
    """The principal as a stage built for a customer managed key would make it: its policies
    and its boundary let it decrypt with the key (so the key policy alone decides)."""
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}],
    }
    boundary = None if principal.boundary is None else (*principal.boundary, grant)
    return dataclasses.replace(principal, identity=(*principal.identity, grant), boundary=boundary)


@pytest.mark.parametrize(
    ("accounts", "refused"),
    [((PROD_ACCOUNT, TEST_ACCOUNT), set()), ((TEST_ACCOUNT,), {"shop-prod-execution"})],
)
def test_a_customer_managed_key_must_let_each_puller_decrypt(
    project: Project, side: cross_account.Tooling, accounts: tuple[str, ...], refused: set[str]
) -> None:
    key = Target(TOOLING, (_key_policy(*accounts),), key_policy=True)
    keyed = dataclasses.replace(side, keys={KEY: key})
    found, _ = cross_account.checks(project, keyed)
    decrypts = [c for c in found if c.request.action == "kms:Decrypt"]
    assert {c.principal.label().split("/")[-1].rsplit("-", 1)[0] for c in decrypts} >= {
        "shop-prod-execution"
    }
    from .evaluator import authorize

    wrong = {
        c.principal.label().split("/")[-1].rsplit("-", 1)[0]
        for c in decrypts
        if not authorize(c.request, _kms_user(c.principal), c.target).allowed
    }
    assert wrong == refused


# ----------------------------------------------------------------------------- planted defects


def _copy(target: Target) -> dict[str, Any]:
    """A copy of the target's one policy, to plant a defect in."""
    (document,) = target.policies
    return dict(copy.deepcopy(document))


def _with_repository_policy(
    side: cross_account.Tooling, edit: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> cross_account.Tooling:
    document = _copy(side.repository)
    document["Statement"] = [s for s in map(edit, document["Statement"]) if s is not None]
    return dataclasses.replace(side, repository=Target(TOOLING, (document,)))


def _failing(project: Project, side: cross_account.Tooling) -> list[str]:
    failures = cross_account.run(project, side).failures()
    print("\n".join(failures))
    return failures


def test_a_repository_policy_missing_one_account_is_reported(
    project: Project, side: cross_account.Tooling
) -> None:
    def drop_prod(statement: dict[str, Any]) -> dict[str, Any]:
        if statement.get("Sid") == "StageAccountsPull":
            roots = statement["Principal"]["AWS"]
            statement["Principal"]["AWS"] = [r for r in roots if PROD_ACCOUNT not in r]
        return statement

    failures = _failing(project, _with_repository_policy(side, drop_prod))
    assert len(failures) == 3  # the task execution role's three pull actions
    assert all(
        "refused, must be allowed" in line and "shop-prod-execution" in line for line in failures
    )
    assert all(
        "does not allow" in line and f"(account {PROD_ACCOUNT})" in line for line in failures
    )


def test_a_lambda_statement_with_the_wrong_account_is_reported(
    project: Project, side: cross_account.Tooling
) -> None:
    def elsewhere(statement: dict[str, Any]) -> dict[str, Any]:
        if statement.get("Sid") == "LambdaPull":
            text = json.dumps(statement).replace(
                f":{TEST_ACCOUNT}:function", ":444444444444:function"
            )
            return dict(json.loads(text))
        return statement

    failures = _failing(project, _with_repository_policy(side, elsewhere))
    assert len(failures) == 2  # Lambda's two pull actions for the test stage's function
    assert all(
        "lambda.amazonaws.com" in line and f":{TEST_ACCOUNT}:function:" in line for line in failures
    )
    assert all(
        "no resource policy statement allows lambda.amazonaws.com" in line for line in failures
    )


def test_a_deploy_role_grant_to_the_whole_account_is_reported(
    project: Project, side: cross_account.Tooling
) -> None:
    def unconditioned(statement: dict[str, Any]) -> dict[str, Any]:
        if statement.get("Sid") == "DeployRoleProd":
            statement.pop("Condition")
        return statement

    failures = _failing(project, _with_repository_policy(side, unconditioned))
    assert failures and all("allowed, must be refused" in line for line in failures)
    assert {m[1] for line in failures if (m := re.search(r" (ecr:\w+) on ", line))} == {
        "ecr:BatchDeleteImage",
        "ecr:PutImage",
    }
    assert all("any-role-of-prod" in line for line in failures)


def test_a_bucket_policy_granting_the_whole_bucket_is_reported(
    project: Project, side: cross_account.Tooling
) -> None:
    assert side.state is not None
    document = _copy(side.state)
    for statement in document["Statement"]:
        if statement.get("Sid", "").startswith("BootstrapStateStack") and PROD_ACCOUNT in str(
            statement.get("Principal")
        ):
            statement["Resource"] = "arn:aws:s3:::acme-pulumi-state/*"
    failures = _failing(project, dataclasses.replace(side, state=Target(TOOLING, (document,))))
    assert failures and all("allowed, must be refused" in line for line in failures)
    assert {line.rsplit("on the state of ", 1)[1] for line in failures} == {"shared", "dev", "test"}
    assert all("any-role-of-prod" in line for line in failures)


def test_a_missing_state_grant_is_reported(project: Project, side: cross_account.Tooling) -> None:
    assert side.state is not None
    document = _copy(side.state)
    document["Statement"] = [
        s
        for s in document["Statement"]
        if not str(s.get("Sid", "")).startswith("BootstrapStateStack")
        or TEST_ACCOUNT not in str(s.get("Principal"))
    ]
    failures = _failing(project, dataclasses.replace(side, state=Target(TOOLING, (document,))))
    assert failures and all("refused, must be allowed" in line for line in failures)
    assert all("shop-test-deploy" in line and "/.pulumi/" in line for line in failures)
