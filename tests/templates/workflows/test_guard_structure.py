"""The caches, the freeze check and the alarm watch in every generated repo's workflows
(guard_rules.py), and each rule reporting a deliberate break."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.templates.workflows import guard_rules, rules
from tests.templates.workflows.conftest import CASES

Rule = Callable[[rules.Workflows], list[str]]


def _flows(rendered: dict[str, Path], name: str) -> rules.Workflows:
    return _load(rendered[name])


@cache
def _load(repo: Path) -> rules.Workflows:
    return rules.Workflows.load(repo)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_repo_caches_checks_freezes_and_watches(rendered: dict[str, Path], case: Any) -> None:
    flows = _flows(rendered, case.name)
    assert guard_rules.cache_problems(flows) == []
    assert guard_rules.guard_problems(flows) == []


def action(flows: rules.Workflows) -> list[dict[str, Any]]:
    return flows.docs[guard_rules.ACTION_FILE]["runs"]["steps"]


def by_id(flows: rules.Workflows, container: list[dict[str, Any]], step_id: str) -> dict[str, Any]:
    return next(s for s in container if s.get("id") == step_id)


def deploy(flows: rules.Workflows) -> list[dict[str, Any]]:
    return flows.docs["deploy-stage.yml"]["jobs"]["deploy"]["steps"]


def swap(container: list[dict[str, Any]], first: str, second: str) -> None:
    a = next(i for i, s in enumerate(container) if s.get("id") == first)
    b = next(i for i, s in enumerate(container) if s.get("id") == second)
    container[a], container[b] = container[b], container[a]


BREAKS: list[tuple[str, Callable[[rules.Workflows], None], Rule, str]] = [
    ("venv-key-without-requirements",
     lambda f: by_id(f, action(f), "program-cache")["with"].update(key="infra-venv"),
     guard_rules.cache_problems, "cache infra/venv and ~/.pulumi/plugins"),
    ("plugins-not-cached",
     lambda f: by_id(f, action(f), "program-cache")["with"].update(path="infra/venv"),
     guard_rules.cache_problems, "cache infra/venv and ~/.pulumi/plugins"),
    ("install-on-a-hit",
     lambda f: next(s for s in action(f) if "pip install" in str(s.get("run"))).update(
         {"if": "inputs.program == 'true'"}),
     guard_rules.cache_problems, "a venv cache hit must skip the pip install"),
    ("cli-range",
     lambda f: next(s for s in action(f) if "pulumi/actions" in str(s.get("uses")))["with"].update(
         {"pulumi-version": "^3.252.0"}),
     guard_rules.cache_problems, "install exactly"),
    ("path-always",
     lambda f: next(s for s in action(f) if "GITHUB_PATH" in str(s.get("run"))).pop("if"),
     guard_rules.cache_problems, "only a CLI cache hit"),
    ("job-installs-pulumi",
     lambda f: deploy(f).insert(1, {"uses": "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d"}),
     guard_rules.cache_problems, "deploy-stage.yml/deploy: installs Pulumi or the venv itself"),
    ("freeze-after-up", lambda f: swap(deploy(f), "freeze", "up"),
     guard_rules.guard_problems, "check the freeze windows before pulumi up"),
    ("reason-not-passed",
     lambda f: f.docs["promote.yml"]["jobs"]["deploy"]["with"].pop("override-reason"),
     guard_rules.guard_problems, "pass the run's reason"),
    ("watch-too-short", lambda f: by_id(f, deploy(f), "watch").update({"timeout-minutes": 10}),
     guard_rules.guard_problems, "watch the alarms from the deploy's start"),
    ("watch-from-now", lambda f: by_id(f, deploy(f), "watch")["env"].pop("STARTED"),
     guard_rules.guard_problems, "watch the alarms from the deploy's start"),
    ("rollback-always", lambda f: by_id(f, deploy(f), "rollback").pop("if"),
     guard_rules.guard_problems, "roll back to the previous image"),
    ("rollback-skipped-after-a-failed-suite",
     lambda f: by_id(f, deploy(f), "rollback").update(
         {"if": "steps.watch.outputs.verdict == 'roll-back'"}),
     guard_rules.guard_problems, "roll back to the previous image"),
    ("rollback-only-on-alarm",
     lambda f: by_id(f, deploy(f), "rollback").update(
         {"if": "${{ !cancelled() && steps.watch.outputs.verdict == 'roll-back' }}"}),
     guard_rules.guard_problems, "on alarm or a failed rollout"),
    ("failed-rollout-not-recorded",
     lambda f: next(s for s in deploy(f) if "deploy-verdict.sh" in str(s.get("run")))
     .update({"if": "${{ !cancelled() && steps.watch.outputs.verdict != '' }}"}),
     guard_rules.guard_problems, "hold a rolled-back digest"),
    ("watch-after-a-failed-smoke-test", lambda f: by_id(f, deploy(f), "watch").pop("if"),
     guard_rules.guard_problems, "watch the alarms from the deploy's start"),
    ("rollback-by-hand",
     lambda f: f.scripts.update({"deploy-rollback.sh": "pulumi up --yes\n"}),
     guard_rules.guard_problems, "roll back to the previous image"),
    ("no-hold",
     lambda f: f.scripts.update({"deploy-verdict.sh": f.scripts["deploy-verdict.sh"].replace(
         "stacks.records hold", "stacks.records history")}),
     guard_rules.guard_problems, "hold a rolled-back digest"),
    ("watch-before-smoke", lambda f: swap(deploy(f), "smoke", "watch"),
     guard_rules.guard_problems, "smoke test, watch, rollback, verdict, in that order"),
    ("shift-after-smoke", lambda f: swap(deploy(f), "smoke", "shift"),
     guard_rules.guard_problems, "shift start, up, shift, smoke test"),
    ("shift-always", lambda f: by_id(f, deploy(f), "shift").pop("if"),
     guard_rules.guard_problems, "shift a Lambda stage's traffic"),
    ("shift-unwatched",
     lambda f: f.scripts.update({"deploy-shift.sh": f.scripts["deploy-shift.sh"].replace(
         "stacks.watch", "stacks.nothing")}),
     guard_rules.guard_problems, "shift a Lambda stage's traffic"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "rule", "expected"), [b[1:] for b in BREAKS],
                         ids=[b[0] for b in BREAKS])  # fmt: skip
def test_each_rule_reports_a_break(
    rendered: dict[str, Path], mutate: Callable[[rules.Workflows], None], rule: Rule, expected: str
) -> None:
    flows = copy.deepcopy(_flows(rendered, "ecs3e"))
    assert rule(flows) == []
    mutate(flows)
    assert any(expected in problem for problem in rule(flows)), rule(flows)
