"""Promotion's alarms gate (`python -m stacks.gates check`, the deploy job's gates step) runs as the
stage before's alarm reader (stacks/alarm_reader.py): the IAM checker asks for
`stacks.gates.ALARM_ACTIONS` on each alarm of that stage, allowed by the reader's policy alone, and
reports a reader scoped to another stage."""

from __future__ import annotations

import copy

from stacks import contract
from stacks.gates import ALARM_ACTIONS

from . import coverage
from .calls import Call
from .projects import PROJECT, Project

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _alarms(project: Project, stage: str) -> set[str]:
    return {r.arns[0] for r in coverage.model(project, stage).resources if r.type == ALARM}


def _reader_documents(project: Project, stage: str) -> list:
    model = coverage.model(project, stage)
    return coverage.role_documents(model, contract.alarm_reader_role_name(PROJECT, stage))


def test_the_gates_read_each_alarm_of_the_stage_before_and_its_reader_may(
    projects: dict[str, Project],
) -> None:
    for label in ("ecs", "lambda", "mixed"):
        project = projects[label]
        assert [s for s in project.stages if coverage.has_alarm_reader(project, s)] == ["dev", "test"]
        for stage in ("dev", "test"):
            alarms = _alarms(project, stage)
            assert len(alarms) == len(contract.STAGE_ALARMS)
            report = coverage.alarm_reader_role(project, stage)
            assert {(c.action, c.resource) for c in report.required} == {
                (a, arn) for a in ALARM_ACTIONS for arn in alarms
            }, label
            assert all("stacks.gates check" in c.origin for c in report.required)
            assert report.missing == [] and report.gaps == [], report.failures()


def test_the_gates_step_runs_as_no_deploy_role(projects: dict[str, Project]) -> None:
    """The deploy role of the stage promoted to is not asked for the stage before's alarms: its
    gates step runs as the reader (the deploy role reads its own alarms in the watch only)."""
    project = projects["ecs"]
    report = coverage.RoleReport(project.label, "deploy test")
    coverage._workflow(report, project, "deploy", coverage.model(project, "test"))
    assert not any("stacks.gates" in c.origin for c in report.required)
    assert any("stacks.watch" in c.origin for c in report.required)


def test_a_reader_scoped_to_the_wrong_stage_is_reported(projects: dict[str, Project]) -> None:
    project = projects["ecs"]
    wrong = copy.deepcopy(_reader_documents(project, "test"))  # test's reader, used for dev
    report = coverage.alarm_reader_role(project, "dev", wrong)
    missing = {(c.action, c.resource) for c, _ in report.missing}
    assert missing == {("cloudwatch:DescribeAlarms", arn) for arn in _alarms(project, "dev")}
    assert any(
        "alarms dev: missing cloudwatch:DescribeAlarms on arn:aws:cloudwatch:" in line
        for line in report.failures()
    )


def test_a_reader_never_reads_another_stages_alarms(projects: dict[str, Project]) -> None:
    """Least privilege, checked with the same evaluator: dev's reader is refused test's and
    prod's alarms."""
    project = projects["ecs"]
    report = coverage.RoleReport(project.label, "alarms dev")
    report.required = [
        Call("cloudwatch:DescribeAlarms", arn, (), "planted: another stage's alarm")
        for stage in ("test", "prod") for arn in sorted(_alarms(project, stage))
    ]  # fmt: skip
    checked = coverage._check(report, _reader_documents(project, "dev"))
    assert len(checked.missing) == len(checked.required) == 2 * len(contract.STAGE_ALARMS)
