"""The stage budget (stacks/budget.py): made only when `monthlyBudget` is set, alerting the alarm
topic at 80 % and 100 %, counting the stage's tagged costs; its inputs against the SDK schema and
botocore's CreateBudget; the deploy role's grant for it."""

from __future__ import annotations

import json

import pytest

from stacks import budget as budget_mod
from stacks import config_checks
from stacks.common import Naming

from .helpers import ACCOUNT, PROJECT, REGION, one, stage_config

BUDGET = "aws:budgets/budget:Budget"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"


@pytest.fixture(scope="module")
def budgeted(plan_stage):  # type: ignore[no-untyped-def]
    """A Lambda dev stage (the quickest plan) with a budget of $250.50 a month."""
    return plan_stage("dev", stage_config("lambda", monthlyBudget=250.5, alarmTopicArn=TOPIC))


def test_no_budget_unless_set(project_plans) -> None:  # type: ignore[no-untyped-def]
    for plans in project_plans.values():
        assert not any(r.type == BUDGET for plan in plans.values() for r in plan.resources)


def test_the_budget_alerts_the_topic_at_80_and_100_percent(budgeted) -> None:  # type: ignore[no-untyped-def]
    inputs = one(budgeted, BUDGET).inputs
    assert inputs["name"] == f"{PROJECT}-dev-monthly"
    assert (inputs["budgetType"], inputs["timeUnit"]) == ("COST", "MONTHLY")
    assert (inputs["limitAmount"], inputs["limitUnit"]) == ("250.50", "USD")
    notifications = sorted(inputs["notifications"], key=lambda n: n["threshold"])
    assert [n["threshold"] for n in notifications] == [80, 100]
    for n in notifications:
        assert (n["comparisonOperator"], n["notificationType"], n["thresholdType"]) == (
            "GREATER_THAN", "ACTUAL", "PERCENTAGE",
        )  # fmt: skip
        assert n["subscriberSnsTopicArns"] == [TOPIC]
    tags = [a["tags"] for a in inputs["filterExpression"]["ands"]]
    assert tags == [
        {"key": "bootstrap:project", "values": [PROJECT]},
        {"key": "bootstrap:stage", "values": ["dev"]},
    ]
    assert inputs["tags"]["bootstrap:stage"] == "dev"


def test_the_budgets_inputs_are_what_the_sdk_and_the_api_take(budgeted) -> None:  # type: ignore[no-untyped-def]
    from tests.contracts import api_shapes, sdk_schema

    inputs = one(budgeted, BUDGET).inputs
    assert sdk_schema.check(BUDGET, inputs) == []
    assert api_shapes.check(BUDGET, inputs) == []
    # planted: no budget type (required), a threshold as text (the API takes a double)
    notification = {**inputs["notifications"][0], "threshold": "80"}
    broken = {**inputs, "budgetType": None, "notifications": [notification]}
    found = " ".join(api_shapes.check(BUDGET, broken) or [])
    assert "BudgetType" in found and "Threshold" in found


def test_the_deploy_role_may_manage_only_its_stages_budget(budgeted) -> None:  # type: ignore[no-untyped-def]
    documents = [
        json.loads(r.inputs["policy"]) for r in budgeted.resources
        if r.type == "aws:iam/rolePolicy:RolePolicy" and "budgets:" in str(r.inputs.get("policy"))
    ]  # fmt: skip
    (statement,) = [s for d in documents for s in d["Statement"] if s.get("Sid") == "OwnBudget"]
    assert sorted(statement["Action"]) == sorted(budget_mod.BUDGET_ACTIONS)
    assert statement["Resource"] == f"arn:aws:budgets::{ACCOUNT}:budget/{PROJECT}-dev-monthly"


def test_a_budget_without_a_topic_is_refused_before_planning() -> None:
    from stacks import config_schema

    values = {s.key: s.default for s in config_schema.STAGE_SETTINGS} | {
        "target": "lambda", "monthlyBudget": 100.0,
    }  # fmt: skip
    issues = config_checks.check_stage(values, region=REGION, today=__import__("datetime").date(2026, 12, 1))
    (issue,) = [i for i in issues if i.key == "monthlyBudget"]
    assert "needs a topic" in issue.problem and "alarmTopicArn" in issue.fix
    with_topic = config_checks.check_stage({**values, "alarmTopicArn": TOPIC}, region=REGION,
                                           today=__import__("datetime").date(2026, 12, 1))
    assert not [i for i in with_topic if i.key == "monthlyBudget"]


@pytest.mark.parametrize("raw", ["0", "-5", "lots"])
def test_a_bad_budget_is_one_line(raw: str) -> None:
    from stacks import config_schema

    with pytest.raises(config_schema.Invalid) as raised:
        config_schema.parse(config_schema.BY_KEY["monthlyBudget"], raw)
    assert str(raised.value).startswith("monthlyBudget: ") and "\n" not in str(raised.value)


def test_the_topic_policy_statement_lets_budgets_publish() -> None:
    statement = budget_mod.topic_policy_statement(ACCOUNT, TOPIC)
    assert statement["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert statement["Resource"] == TOPIC
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:*"},
    }
    assert budget_mod.budget_name(Naming(PROJECT, "prod")) == "shop-prod-monthly"
