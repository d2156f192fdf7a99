"""The deploy job's alarm watch (`python -m stacks.watch`, run as the stage's deploy role): the IAM
checker asks for `stacks.watch.WATCH_ACTIONS` on each of the stage's own alarms, and reports a
grant that lacks them."""

from __future__ import annotations

import copy

from stacks import contract
from stacks.watch import WATCH_ACTIONS

from . import coverage
from .model import StackModel
from .projects import PROJECT, Project
from .workflows import StepCall

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _watch_report(
    project: Project, stage: str, documents: list | None = None
) -> coverage.RoleReport:
    """The deploy job's watch calls alone (the full report merges them with the provider's
    identical reads of the alarms), checked against the stage's deploy role."""
    model = coverage.model(project, stage)
    report = coverage.RoleReport(project.label, f"deploy {stage}")
    coverage._workflow(report, project, "deploy", model)
    report.required = [c for c in report.required if "stacks.watch" in c.origin]
    if documents is None:
        documents = coverage.role_documents(model, contract.deploy_role_name(PROJECT, stage))
    return coverage._check(report, documents)


def _alarms(project: Project, stage: str) -> set[str]:
    return {r.arns[0] for r in coverage.model(project, stage).resources if r.type == ALARM}


def test_the_watch_reads_each_alarm_of_the_stage_and_the_deploy_role_may(
    projects: dict[str, Project],
) -> None:
    for label, stage in (("ecs", "prod"), ("lambda", "dev")):
        project = projects[label]
        alarms = _alarms(project, stage)
        assert len(alarms) >= 2
        report = _watch_report(project, stage)
        assert {(c.action, c.resource) for c in report.required} == {
            (a, arn) for a in WATCH_ACTIONS for arn in alarms
        }
        assert report.missing == [] and report.gaps == []


def test_a_grant_without_describe_alarms_is_reported(projects: dict[str, Project]) -> None:
    project = projects["ecs"]
    model = coverage.model(project, "dev")
    documents = copy.deepcopy(
        coverage.role_documents(model, contract.deploy_role_name(PROJECT, "dev"))
    )
    for document in documents:
        for statement in document["Statement"]:
            actions = statement.get("Action")
            if isinstance(actions, list):
                statement["Action"] = [a for a in actions if a != "cloudwatch:DescribeAlarms"]
    report = _watch_report(project, "dev", documents)
    missing = {(c.action, c.resource) for c, _ in report.missing}
    assert missing == {("cloudwatch:DescribeAlarms", arn) for arn in _alarms(project, "dev")}
    assert any("cloudwatch:DescribeAlarms on arn:aws:cloudwatch:" in f for f in report.failures())


def test_a_stage_without_alarms_is_a_gap_not_a_pass() -> None:
    report = coverage.RoleReport("planted", "deploy dev")
    step = StepCall("deploy-stage.yml", "deploy", "deploy", WATCH_ACTIONS[0], None, "alarms",
                    "python -m stacks.watch watch")  # fmt: skip
    empty = StackModel("dev", "eu-west-1", "aws", [], {})
    coverage._step_call(report, step, "arn:aws:ecr:eu-west-1:123456789012:repository/shop", empty)
    assert [g.problem for g in report.gaps] == ["the stack has no alarms to act on"]
    assert report.required == []
