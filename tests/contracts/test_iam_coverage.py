"""Every role allows what it runs: provider calls, invokes, state access and the workflows' own
AWS calls, with Resource and Condition clauses evaluated (coverage.py)."""

from __future__ import annotations

import pytest

from . import coverage
from .projects import Project

LABELS = ("ecs", "eks", "lambda", "mixed", "lambda-vpc")


@pytest.fixture(scope="module")
def reports(projects: dict[str, Project]) -> dict[str, list[coverage.RoleReport]]:
    return {label: coverage.all_reports(projects[label]) for label in LABELS}


@pytest.mark.parametrize("label", LABELS)
def test_every_role_allows_what_it_runs(
    reports: dict[str, list[coverage.RoleReport]], label: str
) -> None:
    summary = "\n".join(report.summary() for report in reports[label])
    failures = [line for report in reports[label] for line in report.failures()]
    print(summary)
    assert not failures, f"per role:\n{summary}\n\n" + "\n".join(failures)


def test_every_planned_aws_type_has_action_data(projects: dict[str, Project]) -> None:
    from .calls import provider_actions

    known = provider_actions()["resources"]
    planned = {
        r.type
        for project in projects.values()
        for plan in project.plans.values()
        for r in plan.resources
        if r.type.startswith("aws:") and r.custom
    }
    assert planned - set(known) == set(), "add these types to data/provider_actions.json"


def test_action_data_names_a_source_for_every_action() -> None:
    from . import iam_definition
    from .calls import PHASES, Spec, provider_actions

    problems = []
    for token, entry in provider_actions()["resources"].items():
        pike = {a.lower() for a in entry["pike_actions"]}
        sourced = pike | {a.lower() for a in entry["from"]}
        used = set()
        for phase in PHASES:
            for item in entry[phase]:
                action = Spec.parse(item).action
                used.add(action.lower())
                if action.lower() not in sourced:
                    problems.append(f"{token}: {action} has no source")
                if iam_definition.action(action) is None:
                    problems.append(f"{token}: {action} is not in AWS's authorization data")
        problems += [
            f"{token}: pike lists {a}; use it or say why not in 'omitted'"
            for a in entry["pike_actions"]
            if a.lower() not in used and a not in entry["omitted"]
        ]
    assert not problems, "\n".join(problems)
