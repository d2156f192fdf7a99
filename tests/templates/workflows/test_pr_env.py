"""The preview workflows' structure (pr-env.yml, pr-sweep.yml): the pull request's image deployed
by digest after a last open-check, forks skipped, one run per pull request and never cancelled, the
close run on the base branch's files, one writer of the pull request that runs none of its code,
the preview deploy role everywhere, the sweep on a schedule. Each rule is broken once to show it
reports. (actionlint, zizmor, the schema and shellcheck cover every workflow in test_checkers.py.)"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacks import contract
from tests.templates.workflows import rules

PR_ENV = contract.PR_ENV_WORKFLOW
SWEEP = contract.PR_SWEEP_WORKFLOW
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


def _step(job: dict[str, Any], script: str) -> dict[str, Any]:
    return next((s for s in rules.steps(job) if rules.script_name(s) == script), {})


def pr_env_problems(flows: rules.Workflows) -> list[str]:
    problems = []
    doc = flows.docs.get(PR_ENV, {})
    on = rules.triggers(doc).get("pull_request") or {}
    if set(on.get("types") or []) != {"opened", "synchronize", "reopened", "closed"}:
        problems.append(f"{PR_ENV}: must run when a pull request opens, gets a push, reopens, closes")
    concurrency = doc.get("concurrency") or {}
    if "github.event.pull_request.number" not in str(concurrency.get("group")) or concurrency.get(
        "cancel-in-progress"
    ) is not False:
        problems.append(f"{PR_ENV}: one run per pull request, never cancelled")
    jobs = rules.jobs(doc)
    for name in ("deploy", "destroy"):
        if SAME_REPOSITORY not in str(jobs.get(name, {}).get("if", "")):
            problems.append(f"{PR_ENV}/{name}: must skip pull requests from forks")
    fork = jobs.get("fork", {})
    if "!=" not in str(fork.get("if", "")) or "::notice" not in str(rules.steps(fork)):
        problems.append(f"{PR_ENV}/fork: a fork's pull request gets a notice instead")
    deploy = jobs.get("deploy", {})
    step = _step(deploy, "pr-deploy.sh")
    script = rules.script_of(flows, step)
    if (step.get("env") or {}).get("DIGEST") != "${{ steps.image.outputs.digest }}" or not re.search(
        r'is_digest "\$DIGEST"[^\n]*\n(.*\n)*image="\$REPOSITORY_URL@\$DIGEST"', script
    ):
        problems.append(f"{PR_ENV}/deploy: must deploy the built image by its digest")
    checked, updated = script.find("stacks.previews open-check"), script.find("pulumi up")
    if not 0 <= checked < updated:
        problems.append(f"{PR_ENV}/deploy: must check the pull request is open right before `pulumi up`")
    checkout = next((s for s in rules.steps(jobs.get("destroy", {})) if "checkout" in s.get("uses", "")), {})
    if (checkout.get("with") or {}).get("ref") != "${{ github.event.pull_request.base.sha }}":
        problems.append(f"{PR_ENV}/destroy: must destroy with the base branch's files")
    writers = [j for j, job in jobs.items() if (job.get("permissions") or {}).get("pull-requests") == "write"]
    if writers != ["comment"]:
        problems.append(f"{PR_ENV}: only the comment job may write pull requests: {writers}")
    if contract.PREVIEW_COMMENT_MARKER not in str(rules.steps(jobs.get("comment", {}))):
        problems.append(f"{PR_ENV}/comment: must find its one comment by the marker")
    for workflow, name in ((PR_ENV, "deploy"), (PR_ENV, "destroy"), (SWEEP, "sweep")):
        job = rules.jobs(flows.docs.get(workflow, {})).get(name, {})
        roles = [
            (s.get("with") or {}).get("role-to-assume")
            for s in rules.steps(job)
            if rules.action_name(s.get("uses", "")) == rules.AWS_ACTION
        ]
        if roles != [f"${{{{ vars.{contract.VAR_PR_ROLE} }}}}"]:
            problems.append(f"{workflow}/{name}: must assume the preview deploy role, once")
    sweep_on = rules.triggers(flows.docs.get(SWEEP, {}))
    if not sweep_on.get("schedule") or "workflow_dispatch" not in sweep_on:
        problems.append(f"{SWEEP}: must run on a schedule, and by hand")
    if not _step(rules.jobs(flows.docs.get(SWEEP, {})).get("sweep", {}), "pr-sweep.sh"):
        problems.append(f"{SWEEP}: must run pr-sweep.sh")
    return problems


@pytest.fixture(scope="module")
def flows(generated_repos: dict[str, Path]) -> rules.Workflows:
    return rules.Workflows.load(generated_repos["ecs"])


def test_the_preview_workflows_follow_the_rules(flows: rules.Workflows) -> None:
    assert pr_env_problems(flows) == []


def _job(workflow: str, job: str) -> Callable[[rules.Workflows], dict[str, Any]]:
    return lambda flows: rules.jobs(flows.docs[workflow])[job]


def _set(workflow: str, job: str, key: str, value: Any) -> Callable[[rules.Workflows], None]:
    return lambda flows: _job(workflow, job)(flows).__setitem__(key, value)


def _cancel(flows: rules.Workflows) -> None:
    flows.docs[PR_ENV]["concurrency"]["cancel-in-progress"] = True


def _tag(flows: rules.Workflows) -> None:
    _step(_job(PR_ENV, "deploy")(flows), "pr-deploy.sh")["env"]["DIGEST"] = "${{ steps.gate.outputs.tag }}"


def _late_check(flows: rules.Workflows) -> None:
    flows.scripts["pr-deploy.sh"] = flows.scripts["pr-deploy.sh"].replace("stacks.previews open-check", "true #")


def _head_checkout(flows: rules.Workflows) -> None:
    for step in rules.steps(_job(PR_ENV, "destroy")(flows)):
        step.get("with", {}).pop("ref", None)


def _writer(flows: rules.Workflows) -> None:
    _job(PR_ENV, "deploy")(flows)["permissions"]["pull-requests"] = "write"


def _stage_role(flows: rules.Workflows) -> None:
    for step in rules.steps(_job(SWEEP, "sweep")(flows)):
        if "with" in step and "role-to-assume" in step["with"]:
            step["with"]["role-to-assume"] = f"${{{{ vars.{contract.VAR_CI_ROLE} }}}}"


BREAKS: list[tuple[str, Callable[[rules.Workflows], None], str]] = [
    ("forks", _set(PR_ENV, "deploy", "if", "github.event.action != 'closed'"), "must skip pull requests from forks"),
    ("cancelled", _cancel, "never cancelled"),
    ("by tag", _tag, "by its digest"),
    ("no open-check", _late_check, "open right before `pulumi up`"),
    ("head files", _head_checkout, "base branch's files"),
    ("writer", _writer, "only the comment job may write"),
    ("role", _stage_role, "must assume the preview deploy role"),
]


@pytest.mark.parametrize(("mutate", "expected"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS])
def test_each_rule_reports_a_break(flows: rules.Workflows, mutate: Callable[[rules.Workflows], None], expected: str) -> None:
    broken = copy.deepcopy(flows)
    mutate(broken)
    assert any(expected in problem for problem in pr_env_problems(broken)), pr_env_problems(broken)
