"""The stage budget (stacks/budget.py) under the IAM checker: the mixed project's prod stage sets
`monthlyBudget`, and its deploy role must allow every Budgets call the provider makes for it, on
that budget's ARN; a grant on another budget is reported."""

from __future__ import annotations

import copy
from typing import Any

from stacks import contract

from . import coverage
from .projects import PROJECT, Project

BUDGET = "aws:budgets/budget:Budget"


def test_the_budget_is_planned_and_covered(projects: dict[str, Project]) -> None:
    prod = projects["mixed"].plans["prod"]
    assert len([r for r in prod.resources if r.type == BUDGET]) == 1
    report = coverage.deploy_role(projects["mixed"], "prod")
    calls = {c.action for c in report.required if c.action.startswith("budgets:")}
    assert {"budgets:ModifyBudget", "budgets:ViewBudget", "budgets:TagResource"} <= calls
    assert not [line for line in report.failures() if "budgets:" in line]


def test_a_grant_on_another_budget_is_reported(projects: dict[str, Project]) -> None:
    project = projects["mixed"]
    model = coverage.model(project, "prod")
    documents = copy.deepcopy(
        coverage.role_documents(model, contract.deploy_role_name(PROJECT, "prod"))
    )

    def elsewhere(statement: dict[str, Any]) -> dict[str, Any]:
        if statement.get("Sid") == "OwnBudget":  # planted: the dev stage's budget
            statement["Resource"] = str(statement["Resource"]).replace("-prod-", "-dev-")
        return statement

    for document in documents:
        document["Statement"] = [elsewhere(s) for s in document["Statement"]]
    report = coverage.deploy_role(project, "prod", documents)
    missing = {call.action for call, _ in report.missing}
    assert "budgets:ModifyBudget" in missing
    assert any("budget/shop-prod-monthly" in line for line in report.failures())
