"""Rules of the deploy jobs' caches, freeze check and post-deploy alarm watch, over one generated
repo's parsed workflows (rules.Workflows)."""

from __future__ import annotations

from typing import Any

from stacks import config_schema, contract
from tests.templates.workflows.rules import (
    SETUP_PULUMI,
    Workflows,
    action_name,
    jobs,
    script_name,
    steps,
    uses_setup_pulumi,
)

CACHE_ACTION = "actions/cache"
PULUMI_ACTION = "pulumi/actions"
REQUIREMENTS = f"hashFiles('{contract.INFRA_DIR}/requirements.txt')"
ACTION_FILE = "actions/setup-pulumi/action.yml"

# A rollback follows an alarm during the watch, a failed `pulumi up` (an EKS rollout past its
# progress deadline) or a failed smoke test: every way a rollout can go wrong.
ROLLBACK_IF = (
    "${{ !cancelled() && (steps.watch.outputs.verdict == 'roll-back' || "
    "steps.up.outcome == 'failure' || steps.smoke.outcome == 'failure') }}"
)


def _by_id(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(s.get("id")): s for s in steps(container) if s.get("id")}


def cache_problems(flows: Workflows) -> list[str]:
    """setup-pulumi restores the infra venv with the provider plugins (keyed on the exact Python,
    the CLI version and infra/requirements.txt) and the Pulumi CLI (keyed on its exact version);
    a hit installs nothing; every job that runs Pulumi gets both through setup-pulumi alone."""
    problems = []
    action = flows.docs.get(ACTION_FILE, {})
    by_id = _by_id(action)
    version = contract.PULUMI_CLI_VERSION
    program = by_id.get("program-cache", {})
    key = str(program.get("with", {}).get("key", ""))
    paths = str(program.get("with", {}).get("path", "")).split()
    if (
        action_name(program.get("uses", "")) != CACHE_ACTION
        or set(paths) != {f"{contract.INFRA_DIR}/venv", "~/.pulumi/plugins"}
        or REQUIREMENTS not in key
        or "steps.python.outputs.python-version" not in key
        or version not in key
    ):
        problems.append(
            "setup-pulumi: cache infra/venv and ~/.pulumi/plugins on the exact Python, the CLI "
            "version and infra/requirements.txt"
        )
    install = [s for s in steps(action) if "pip install" in str(s.get("run", ""))]
    if len(install) != 1 or "steps.program-cache.outputs.cache-hit != 'true'" not in str(
        install[0].get("if", "")
    ):
        problems.append("setup-pulumi: a venv cache hit must skip the pip install")
    cli = by_id.get("cli-cache", {})
    pulumi = [s for s in steps(action) if action_name(s.get("uses", "")) == PULUMI_ACTION]
    if (
        action_name(cli.get("uses", "")) != CACHE_ACTION
        or str(cli.get("with", {}).get("path", "")).strip() != "~/.pulumi/bin"
        or version not in str(cli.get("with", {}).get("key", ""))
        or len(pulumi) != 1
        or str(pulumi[0].get("with", {}).get("pulumi-version")) != version
    ):
        problems.append(
            f"setup-pulumi: cache ~/.pulumi/bin keyed on, and install exactly, Pulumi {version}"
        )
    on_path = [s for s in steps(action) if "GITHUB_PATH" in str(s.get("run", ""))]
    if len(on_path) != 1 or "steps.cli-cache.outputs.cache-hit == 'true'" not in str(
        on_path[0].get("if", "")
    ):
        problems.append("setup-pulumi: only a CLI cache hit puts ~/.pulumi/bin on PATH")
    for name, doc in flows.workflows.items():
        for job_id, job in jobs(doc).items():
            for step in steps(job):
                uses = action_name(step.get("uses", ""))
                if uses in (PULUMI_ACTION, CACHE_ACTION) or "requirements.txt" in str(
                    step.get("run", "")
                ):
                    problems.append(
                        f"{name}/{job_id}: installs Pulumi or the venv itself; use {SETUP_PULUMI}"
                    )
    return problems


def guard_problems(flows: Workflows) -> list[str]:
    """deploy-stage.yml checks the stage's freeze windows before `pulumi up` (a reason from
    promote's input overrides), and after the smoke test watches the alarms for longer than the
    longest watchMinutes, rolls back through deploy-up.sh and records the verdict (the hold),
    before the release is marked."""
    problems = []
    deploy = flows.docs.get("deploy-stage.yml", {})
    job = jobs(deploy).get("deploy", {})
    order = [str(s.get("id") or script_name(s) or s.get("name")) for s in steps(job)]
    by_id = _by_id(job)
    inputs = ((deploy.get("on") or deploy.get(True) or {}).get("workflow_call") or {}).get(
        "inputs", {}
    )
    freeze = by_id.get("freeze", {})
    if (
        inputs.get("override-reason", {}).get("type") != "string"
        or script_name(freeze) != "deploy-freeze-check.sh"
        or freeze.get("env", {}).get("OVERRIDE_REASON") != "${{ inputs.override-reason }}"
        or "freeze" not in order
        or "up" not in order
        or order.index("freeze") > order.index("up")
        or "stacks.freeze check" not in flows.scripts.get("deploy-freeze-check.sh", "")
    ):
        problems.append("deploy-stage.yml: check the freeze windows before pulumi up")
    promote = jobs(flows.docs.get("promote.yml", {})).get("deploy", {})
    if promote.get("with", {}).get("override-reason") != "${{ inputs.reason }}":
        problems.append("promote.yml: pass the run's reason to deploy-stage.yml as override-reason")
    watch, rollback = by_id.get("watch", {}), by_id.get("rollback", {})
    verdict = next((s for s in steps(job) if script_name(s) == "deploy-verdict.sh"), {})
    longest = config_schema.BY_KEY["watchMinutes"].high or 0
    if (
        script_name(watch) != "deploy-watch.sh"
        or "steps.smoke.outcome == 'success'" not in str(watch.get("if", ""))
        or watch.get("env", {}).get("STARTED") != "${{ steps.up.outputs.started }}"
        or not int(watch.get("timeout-minutes", 0)) > longest
        or "stacks.watch" not in flows.scripts.get("deploy-watch.sh", "")
    ):
        problems.append(
            f"deploy-stage.yml: watch the alarms from the deploy's start, for over {longest:g} min"
        )
    if (
        script_name(rollback) != "deploy-rollback.sh"
        or rollback.get("if") != ROLLBACK_IF
        or rollback.get("env", {}).get("PREVIOUS") != "${{ steps.up.outputs.previous }}"
        or "deploy-up.sh" not in flows.scripts.get("deploy-rollback.sh", "")
    ):
        problems.append(
            "deploy-stage.yml: on alarm or a failed rollout, roll back to the previous image via "
            "deploy-up.sh"
        )
    verdict_script = flows.scripts.get("deploy-verdict.sh", "")
    if (
        "!cancelled()" not in str(verdict.get("if", ""))
        or "stacks.records hold" not in verdict_script
        or '--verdict "$1"' not in verdict_script
        or verdict.get("env", {}).get("ROLLBACK") != "${{ steps.rollback.outcome }}"
        or "steps.rollback.outcome != 'skipped'" not in str(verdict.get("if", ""))
    ):
        problems.append(
            "deploy-stage.yml: record the watch's verdict and hold a rolled-back digest"
        )
    start, shift = by_id.get("shift-start", {}), by_id.get("shift", {})
    if (
        script_name(start) != "deploy-shift-start.sh"
        or script_name(shift) != "deploy-shift.sh"
        or shift.get("if") != "steps.shift-start.outputs.stable != ''"
        or shift.get("env", {}).get("PREVIOUS") != "${{ steps.up.outputs.previous }}"
        or "stacks.shift plan" not in flows.scripts.get("deploy-shift-start.sh", "")
        or "deploy-rollback.sh" not in flows.scripts.get("deploy-shift.sh", "")
        or "stacks.watch" not in flows.scripts.get("deploy-shift.sh", "")
    ):
        problems.append("deploy-stage.yml: shift a Lambda stage's traffic, watching each step")
    wanted = ["shift-start", "up", "shift", "smoke", "watch", "rollback", "deploy-verdict.sh"]
    if not all(w in order for w in wanted) or [order.index(w) for w in wanted] != sorted(
        order.index(w) for w in wanted
    ):
        problems.append(
            "deploy-stage.yml: shift start, up, shift, smoke test, watch, rollback, verdict, in "
            "that order"
        )
    if not any(uses_setup_pulumi(s) for s in steps(job)):
        problems.append("deploy-stage.yml: the deploy job sets Pulumi up with setup-pulumi")
    return problems
