"""Planted defects: the IAM checker reports a removed action, a wrong ARN and a missing condition
context, and its evaluator follows AWS's documented logic."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from stacks import contract

from . import coverage
from .evaluator import Request, evaluate
from .projects import PROJECT, Project


def _deploy_documents(project: Project, stage: str) -> list[dict[str, Any]]:
    model = coverage.model(project, stage)
    return coverage.role_documents(model, contract.deploy_role_name(PROJECT, stage))


def _edit(documents: list[dict[str, Any]], edit: Any) -> list[dict[str, Any]]:
    edited = copy.deepcopy(documents)
    for document in edited:
        statements = document["Statement"]
        document["Statement"] = [s for s in (edit(s) for s in statements) if s is not None]
    return edited


def _missing(report: coverage.RoleReport) -> set[tuple[str, str]]:
    return {(call.action, call.resource) for call, _ in report.missing}


@pytest.fixture(scope="module")
def baseline(projects: dict[str, Project]) -> coverage.RoleReport:
    return coverage.deploy_role(projects["lambda"], "dev")


def test_a_removed_action_is_reported(
    projects: dict[str, Project], baseline: coverage.RoleReport
) -> None:
    def drop(statement: dict[str, Any]) -> dict[str, Any]:
        actions = statement.get("Action")
        if isinstance(actions, list) and "lambda:CreateFunction" in actions:
            statement["Action"] = [a for a in actions if a != "lambda:CreateFunction"]
        return statement

    documents = _edit(_deploy_documents(projects["lambda"], "dev"), drop)
    report = coverage.deploy_role(projects["lambda"], "dev", documents)
    new = _missing(report) - _missing(baseline)
    assert {action for action, _ in new} == {"lambda:CreateFunction"}
    assert any("lambda:CreateFunction on arn:aws:lambda:" in line for line in report.failures())


def test_a_wrong_arn_is_reported(
    projects: dict[str, Project], baseline: coverage.RoleReport
) -> None:
    def elsewhere(statement: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(statement).replace(":function:shop-dev", ":function:shop-other")
        return json.loads(text)

    documents = _edit(_deploy_documents(projects["lambda"], "dev"), elsewhere)
    report = coverage.deploy_role(projects["lambda"], "dev", documents)
    new = {action for action, _ in _missing(report) - _missing(baseline)}
    assert {"lambda:CreateFunction", "lambda:GetFunction", "lambda:DeleteFunction"} <= new


def test_a_missing_condition_context_is_reported(projects: dict[str, Project]) -> None:
    """A statement keyed on a request tag the call does not send never applies."""
    project = projects["eks"]
    before = coverage.deploy_role(project, "dev")

    def demand_tag(statement: dict[str, Any]) -> dict[str, Any]:
        if "eks:CreateCluster" in json.dumps(statement.get("Action")):
            statement["Condition"] = {"StringEquals": {"aws:RequestTag/owner": "platform"}}
        return statement

    report = coverage.deploy_role(
        project, "dev", _edit(_deploy_documents(project, "dev"), demand_tag)
    )
    assert ("eks:CreateCluster", "*") in _missing(report) - _missing(before)


def test_an_unknown_condition_key_is_reported_not_guessed(projects: dict[str, Project]) -> None:
    project = projects["lambda"]

    def unknown_key(statement: dict[str, Any]) -> dict[str, Any]:
        if "lambda:CreateFunction" in json.dumps(statement.get("Action")):
            statement["Condition"] = {"StringEquals": {"lambda:FunctionArn": "anything"}}
        return statement

    report = coverage.deploy_role(
        project, "dev", _edit(_deploy_documents(project, "dev"), unknown_key)
    )
    assert any(
        "cannot judge: condition key lambda:FunctionArn" in line for line in report.failures()
    )


def test_the_deploy_jobs_release_marking_needs_its_registry_actions(
    projects: dict[str, Project], baseline: coverage.RoleReport
) -> None:
    """`python -m stacks.ecr mark-release` (the deploy job's last step) runs as the deploy role:
    a grant without one of `stacks.ecr.MARK_RELEASE_ACTIONS` is reported."""
    from stacks.ecr import MARK_RELEASE_ACTIONS
    from tests.contracts.workflows import calls

    steps = calls(projects["lambda"].files)  # each step's own calls (the report merges repeats)
    marking = {c.action for c in steps if c.role == "deploy" and "stacks.ecr mark-release" in c.text}
    assert marking == set(MARK_RELEASE_ACTIONS)

    def drop(statement: dict[str, Any]) -> dict[str, Any] | None:
        return None if statement.get("Sid") == "MarkRelease" else statement

    report = coverage.deploy_role(
        projects["lambda"], "dev", _edit(_deploy_documents(projects["lambda"], "dev"), drop)
    )
    new = {action for action, _ in _missing(report) - _missing(baseline)}
    # what the deploy also needs for other reasons (reading its image) stays allowed elsewhere
    assert "ecr:PutImage" in new and "ecr:BatchDeleteImage" in new
    assert new <= set(MARK_RELEASE_ACTIONS)


def test_the_deploy_jobs_scan_gate_needs_its_registry_actions(
    projects: dict[str, Project], baseline: coverage.RoleReport
) -> None:
    """`python -m stacks.scan check` (before the deploy's `pulumi up`) runs as the deploy role: a
    grant without `stacks.scan.SCAN_ACTIONS` is reported."""
    from stacks.scan import SCAN_ACTIONS

    def drop(statement: dict[str, Any]) -> dict[str, Any] | None:
        return None if statement.get("Sid") == "ReadScanFindings" else statement

    report = coverage.deploy_role(
        projects["lambda"], "dev", _edit(_deploy_documents(projects["lambda"], "dev"), drop)
    )
    new = {action for action, _ in _missing(report) - _missing(baseline)}
    assert new == {"ecr:DescribeImageScanFindings"} and new <= set(SCAN_ACTIONS)
    assert any("stacks.scan check" in call.origin for call, _ in report.missing)


# ----------------------------------------------------------------------------- the evaluator

ARN = "arn:aws:iam::123456789012:role/bootstrap/shop/dev/shop-dev-task-1234567"
BOUNDARY = "arn:aws:iam::123456789012:policy/bootstrap/shop/dev/shop-dev-boundary"


def _policy(*statements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def _allow(**extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": "iam:PutRolePolicy",
        "Resource": "arn:aws:iam::*:role/bootstrap/shop/dev/*",
        **extra,
    }


@pytest.mark.parametrize(
    ("policy", "context", "allowed"),
    [
        (_policy(_allow()), {}, True),
        (_policy(_allow(Resource="arn:aws:iam::*:role/other/*")), {}, False),
        (_policy(_allow(Action="iam:Put*")), {}, True),
        (_policy(_allow(Action="IAM:putrolepolicy")), {}, True),
        (_policy(_allow(NotAction="iam:PutRolePolicy", Action=None) | {"Action": None}), {}, False),
        (_policy(_allow(), {"Effect": "Deny", "Action": "*", "Resource": "*"}), {}, False),
        (
            _policy(_allow(Condition={"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}})),
            {},
            False,
        ),
        (
            _policy(_allow(Condition={"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}})),
            {"iam:permissionsboundary": BOUNDARY},
            True,
        ),
        (
            _policy(_allow(Condition={"StringEqualsIfExists": {"iam:PermissionsBoundary": "x"}})),
            {},
            True,
        ),
        (_policy(_allow(Condition={"Null": {"iam:PermissionsBoundary": "false"}})), {}, False),
        (
            _policy(_allow(Condition={"StringNotEquals": {"iam:PermissionsBoundary": "x"}})),
            {},
            True,
        ),
        (
            _policy(_allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}})),
            {"aws:tagkeys": ("a", "c")},
            False,
        ),
        (_policy(_allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020"}})), {}, False),
    ],
)
def test_the_evaluator_follows_aws_logic(
    policy: Any, context: dict[str, Any], allowed: bool
) -> None:
    for document in policy:
        document["Statement"] = [
            {k: v for k, v in s.items() if v is not None} for s in document["Statement"]
        ]
    assert evaluate(Request("iam:PutRolePolicy", ARN, context), policy).allowed is allowed


def test_a_refreshing_preview_needs_the_reads_of_every_resource(
    projects: dict[str, Project],
) -> None:
    import dataclasses

    project = projects["lambda"]
    plain = coverage.preview_role(project)
    files = dict(project.files)
    files[".github/workflows/preview.yml"] = "run: pulumi preview --refresh --stack dev\n"
    refreshing = coverage.preview_role(dataclasses.replace(project, files=files))
    added = {call.action for call in refreshing.required} - {call.action for call in plain.required}
    assert "lambda:GetFunction" in added
    assert coverage.preview_refreshes(files)
    assert not coverage.preview_refreshes(project.files)
