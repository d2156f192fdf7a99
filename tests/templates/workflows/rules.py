"""The rules the generated workflows must follow, as functions that return a list of problems.

Each rule reads a `Workflows` (the parsed YAML and raw text of a generated repo's `.github/`) and,
where the rule depends on it, the spec. An empty list means the rule holds; test_rules_can_fail.py
breaks each rule on purpose to show that it reports.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bootstrap.spec import Spec
from stacks import contract
from tests.conftest import REPO_ROOT

# The team's pins live in ../shared beside the checkout (CI lays a copy there); the project keeps
# a copy so the suite also runs in a checkout without it. test_structure checks they agree.
SHARED_PINS_FILE = REPO_ROOT.parent / "shared" / "actions-pins.json"
PINS_FILE = (
    SHARED_PINS_FILE
    if SHARED_PINS_FILE.is_file()
    else Path(__file__).with_name("actions-pins.json")
)
DEPLOY_STAGE = f"{contract.WORKFLOWS_DIR}/{contract.DEPLOY_WORKFLOW}"
SETUP_PULUMI = ".github/actions/setup-pulumi"
BUILD_ACTION = "docker/build-push-action"
AWS_ACTION = "aws-actions/configure-aws-credentials"
CHECKOUT_ACTION = "actions/checkout"
SOURCED = ("lib.sh", "spec.sh")  # sourced by the scripts, never run by a step
MARK_RELEASE = (
    'venv/bin/python -m stacks.ecr mark-release --repository-url "$REPOSITORY_URL"'
    ' --stage "$STAGE" --digest "$DIGEST" --previous "$PREVIOUS"'
)
GITHUB_COM_RUNNER: Any = "ubuntu-latest"
GHES_RUNNER: Any = ["self-hosted", "linux", "x64"]
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SCRIPT_RUN = re.compile(rf"^bash {re.escape(contract.SCRIPTS_DIR)}/(?P<name>[a-z0-9-]+\.sh)$")


@dataclass
class Workflows:
    """One generated repo's workflows, composite actions and workflow scripts, parsed and as text."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "build.yml" -> parsed
    texts: dict[str, str] = field(default_factory=dict)  # same keys -> raw text
    scripts: dict[str, str] = field(default_factory=dict)  # "deploy-check.sh" -> text
    others: dict[str, str] = field(default_factory=dict)  # any other file under .github/

    @classmethod
    def load(cls, repo: Path) -> Workflows:
        found = cls()
        github = repo / ".github"
        paths = sorted(github.glob("workflows/*.yml")) + sorted(github.glob("actions/*/action.yml"))
        for path in paths:
            key = (
                path.relative_to(github / "workflows").as_posix()
                if path.parent.name == "workflows"
                else path.relative_to(github).as_posix()
            )
            found.texts[key] = path.read_text()
            found.docs[key] = yaml.safe_load(found.texts[key])
        scripts = repo / contract.SCRIPTS_DIR
        found.scripts = {p.name: p.read_text() for p in sorted(scripts.glob("*.sh"))}
        found.others = {
            p.relative_to(github).as_posix(): p.read_text()
            for p in sorted(github.rglob("*"))
            if p.is_file() and p not in paths and not (p.parent == scripts and p.suffix == ".sh")
        }
        return found

    @property
    def workflows(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.docs.items() if not k.startswith("actions/")}


def load_pins(path: Path = PINS_FILE) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text())["actions"]


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping (PyYAML reads the bare key `on` as True)."""
    value = doc.get("on", doc.get(True))
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        return dict.fromkeys(value)
    return value or {}


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return doc.get("jobs") or {}


def steps(container: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps of a job, or of a composite action (`runs.steps`)."""
    if "runs" in container:
        return container["runs"].get("steps") or []
    return container.get("steps") or []


def all_steps(flows: Workflows) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(file, job id or 'runs', step) for every step of every workflow and action."""
    for name, doc in flows.docs.items():
        if name.startswith("actions/"):
            for step in steps(doc):
                yield name, "runs", step
            continue
        for job_id, job in jobs(doc).items():
            for step in steps(job):
                yield name, job_id, step


def action_name(uses: str) -> str:
    """'owner/repo' of a `uses:` reference (sub-paths and refs dropped)."""
    return "/".join(uses.split("@", 1)[0].split("/")[:2])


def is_local(uses: str) -> bool:
    return uses.startswith(("./", "$/"))


def local_path(uses: str) -> str | None:
    """The repository path a local `uses:` names ($/ or ./ dropped), or None for a remote one."""
    return uses[2:] if is_local(uses) else None


def calls_deploy_stage(job: dict[str, Any]) -> bool:
    return local_path(job.get("uses", "")) == DEPLOY_STAGE


def uses_setup_pulumi(step: dict[str, Any]) -> bool:
    return local_path(step.get("uses", "")) == SETUP_PULUMI


def script_name(step: dict[str, Any]) -> str | None:
    """The workflow script a step runs (`run: bash .github/scripts/NAME.sh`), if it runs one."""
    match = _SCRIPT_RUN.match(str(step.get("run", "")).strip())
    return match["name"] if match else None


def script_of(flows: Workflows, step: dict[str, Any]) -> str:
    """The text of the script a step runs ('' if it runs none, or one that does not exist)."""
    name = script_name(step)
    return flows.scripts.get(name, "") if name else ""


def spec_facts(flows: Workflows) -> dict[str, Any]:
    """What spec.sh tells the scripts: plain NAME="value" lines, LIFECYCLE as a list, and the
    associative arrays (PREVIOUS_STAGE, ROLE_VARIABLE) as dicts."""
    facts: dict[str, Any] = {}
    current: str | None = None
    for raw in flows.scripts.get("spec.sh", "").splitlines():
        line = raw.strip()
        if current is not None:
            if line == ")":
                current = None
            elif match := re.fullmatch(r'\[([^]]+)\]="([^"]*)"', line):
                facts[current][match[1]] = match[2]
        elif match := re.fullmatch(r"declare -A (\w+)=\(", line):
            current = match[1]
            facts[current] = {}
        elif match := re.fullmatch(r"(\w+)=\((.*)\)", line):
            facts[match[1]] = shlex.split(match[2])
        elif match := re.fullmatch(r"(\w+)=(.*)", line):
            facts[match[1]] = shlex.split(match[2])[0] if match[2] else ""
    return facts


def has_checkout_before(job: dict[str, Any], index: int) -> bool:
    return any(action_name(s.get("uses", "")) == CHECKOUT_ACTION for s in steps(job)[:index])


def assumes_aws_role(job: dict[str, Any]) -> bool:
    return calls_deploy_stage(job) or any(
        action_name(s.get("uses", "")) == AWS_ACTION for s in steps(job)
    )


def chain_stages(spec: Spec) -> list[str]:
    """The stages build.yml deploys: all, or in branch mode those before the first manual one."""
    if spec.trust_subject == "environment":
        return spec.stage_names
    chain = []
    for stage in spec.stages:
        if stage.manual:
            break
        chain.append(stage.name)
    return chain


# --------------------------------------------------------------------------- security rules


def pin_problems(flows: Workflows, pins: dict[str, dict[str, str]]) -> list[str]:
    """Every remote `uses:` is OWNER/REPO@<sha from actions-pins.json> # <its tag>."""
    problems = []
    parsed = [s["uses"] for _, _, s in all_steps(flows) if "uses" in s]
    parsed += [j["uses"] for d in flows.workflows.values() for j in jobs(d).values() if "uses" in j]
    seen = 0
    for name, text in flows.texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = _USES_LINE.match(line)
            if not match:
                continue
            seen += 1
            ref, comment = match["ref"], match["comment"]
            if is_local(ref):
                continue
            where = f"{name}:{number}"
            action, _, version = ref.partition("@")
            pin = pins.get(action_name(action))
            if pin is None:
                problems.append(f"{where}: {action} is not in actions-pins.json")
            elif not _SHA.match(version):
                problems.append(f"{where}: {ref} is not pinned to a full commit SHA")
            elif version != pin["sha"]:
                problems.append(f"{where}: {ref} is not the pinned SHA {pin['sha']}")
            elif comment != pin["tag"]:
                problems.append(f"{where}: the comment should name the tag '# {pin['tag']}'")
    if seen != len(parsed):
        problems.append(f"found {seen} `uses:` lines in the text but {len(parsed)} in the YAML")
    return problems


ALLOWED_WORKFLOW_PERMISSIONS: list[dict[str, str]] = [{}, {"contents": "read"}]


def permission_problems(flows: Workflows) -> list[str]:
    """Workflow level: {} or contents: read. Jobs: explicit and minimal; id-token: write only
    where an AWS role is assumed; pull-requests: write only on a job that runs no action and none
    of the repository's scripts (a pull request's files must not run next to a writing token)."""
    problems = []
    for name, doc in flows.workflows.items():
        if "permissions" not in doc or doc["permissions"] not in ALLOWED_WORKFLOW_PERMISSIONS:
            problems.append(f"{name}: workflow permissions must be {{}} or contents: read")
        for job_id, job in jobs(doc).items():
            where = f"{name}/{job_id}"
            granted = job.get("permissions")
            if not isinstance(granted, dict):
                problems.append(f"{where}: no explicit permissions mapping")
                continue
            for scope, level in granted.items():
                if (scope, level) in (("contents", "read"), ("pull-requests", "read")):
                    continue
                if (scope, level) == ("id-token", "write"):
                    if not assumes_aws_role(job):
                        problems.append(f"{where}: id-token: write but assumes no AWS role")
                    continue
                if (scope, level) == ("deployments", "write"):
                    # the deploy job's records, and the jobs that call it (a called workflow
                    # gets no more than its caller grants)
                    if not (calls_deploy_stage(job) or name == contract.DEPLOY_WORKFLOW):
                        problems.append(f"{where}: deployments: write, but it deploys nothing")
                    continue
                if (scope, level) == ("pull-requests", "write"):
                    if any("uses" in s or script_name(s) for s in steps(job)) or "uses" in job:
                        problems.append(f"{where}: pull-requests: write next to actions or code")
                    continue
                problems.append(f"{where}: permission {scope}: {level} is not allowed")
            if assumes_aws_role(job) and granted.get("id-token") != "write":
                problems.append(f"{where}: assumes an AWS role without id-token: write")
    return problems


def timeout_problems(flows: Workflows) -> list[str]:
    """Every job that runs steps has timeout-minutes (reusable-workflow calls cannot have it:
    the called workflow's jobs do)."""
    problems = []
    for name, doc in flows.workflows.items():
        for job_id, job in jobs(doc).items():
            if "uses" in job:
                if "timeout-minutes" in job:
                    problems.append(f"{name}/{job_id}: a reusable-workflow call cannot time out")
                continue
            timeout = job.get("timeout-minutes")
            if not isinstance(timeout, int) or not 0 < timeout <= 120:
                problems.append(f"{name}/{job_id}: timeout-minutes missing or not in 1..120")
    return problems


_FORBIDDEN_TEXT = (
    "aws-access-key-id",
    "aws-secret-access-key",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "pull_request_target",
    "secrets: inherit",
    ":latest",
)


def injection_problems(flows: Workflows) -> list[str]:
    """No expression at all inside `run:` scripts or the workflow scripts (inputs, events and
    outputs reach them only through env:), no long-lived AWS keys, no pull_request_target or
    workflow_run, no mutable tags."""
    problems = []
    for name, job_id, step in all_steps(flows):
        script = step.get("run")
        if script is not None and "${{" in script:
            problems.append(f"{name}/{job_id}: an expression inside run: ({step.get('name')})")
    problems += [
        f"{contract.SCRIPTS_DIR}/{name}: contains an expression"
        for name, text in flows.scripts.items()
        if "${{" in text
    ]
    for name, text in {**flows.texts, **flows.scripts}.items():
        problems += [f"{name}: contains '{word}'" for word in _FORBIDDEN_TEXT if word in text]
    for name, doc in flows.workflows.items():
        for event in ("pull_request_target", "workflow_run"):
            if event in triggers(doc):
                problems.append(f"{name}: triggered by {event}")
    return problems


def backend_problems(flows: Workflows, spec: Spec) -> list[str]:
    """The Pulumi backend comes from vars.PULUMI_BACKEND_URL, never a literal."""
    problems = []
    logins = [(n, s) for n, _, s in all_steps(flows) if "pulumi login" in (s.get("run") or "")]
    if not logins:
        problems.append("no step runs `pulumi login`")
    for name, step in logins:
        if step["run"].strip() != 'pulumi login "$PULUMI_BACKEND_URL"':
            problems.append(f'{name}: pulumi login must take "$PULUMI_BACKEND_URL"')
        if not str(step.get("env", {}).get("PULUMI_BACKEND_URL", "")).startswith("${{"):
            problems.append(f"{name}: PULUMI_BACKEND_URL must come from an expression")
    variable = f"${{{{ vars.{contract.VAR_BACKEND_URL} }}}}"
    for name, job_id, step in all_steps(flows):
        if uses_setup_pulumi(step) and step.get("with", {}).get("backend-url") != variable:
            problems.append(f"{name}/{job_id}: backend-url must be vars.{contract.VAR_BACKEND_URL}")
    for name, text in {**flows.texts, **flows.scripts}.items():
        if spec.backend and spec.backend in text:
            problems.append(f"{name}: the backend URL {spec.backend} is written literally")
    return problems


def concurrency_problems(flows: Workflows) -> list[str]:
    """Deploys, promotions and teardowns never cancel a running one; only build.yml's pull
    request runs and the (read-only) previews are cancelled by a newer push."""
    problems = []
    blocks = []
    for name, doc in flows.workflows.items():
        if "concurrency" in doc:
            blocks.append((name, "(workflow)", doc["concurrency"]))
        blocks += [
            (name, j, job["concurrency"]) for j, job in jobs(doc).items() if "concurrency" in job
        ]
    for name, where, block in blocks:
        cancel = block.get("cancel-in-progress") if isinstance(block, dict) else None
        if (name, where) == ("build.yml", "(workflow)"):
            if (
                cancel != "${{ github.event_name == 'pull_request' }}"
                or "github.run_id" not in block.get("group", "")
            ):
                problems.append("build.yml: only pull request runs may be cancelled")
        elif (name, where) == ("preview.yml", "(workflow)"):
            if set(triggers(flows.docs[name])) != {"pull_request"}:
                problems.append("preview.yml: may cancel only because it changes nothing")
        elif cancel is not False:
            problems.append(f"{name}/{where}: cancel-in-progress must be false")
    stage_job = jobs(flows.docs.get("deploy-stage.yml", {})).get("deploy", {})
    if stage_job.get("concurrency", {}).get("group") != "deploy-${{ inputs.stage }}":
        problems.append("deploy-stage.yml: the deploy job must hold the lock deploy-<stage>")
    return problems


# --------------------------------------------------------------------------- the scripts rule


def script_problems(flows: Workflows) -> list[str]:
    """Workflow shell lives in .github/scripts/ (COMMON decision 6): a `run:` is one command, or
    `bash .github/scripts/NAME.sh`; only the job that may write to pull requests keeps its shell
    inline, because it must not run the pull request's files. Every AWS CLI call is in a script,
    where the IAM coverage checker reads them. Every script a step names exists,
    every script is run by some step (lib.sh and spec.sh are sourced), every script runs under
    `set -euo pipefail`, and every job checks the repository out before it runs a script or a
    local action (which runs scripts)."""
    problems = []
    run_by_steps = set()
    for name, doc in flows.docs.items():
        for job_id, job in (
            jobs(doc).items() if not name.startswith("actions/") else [("runs", doc)]
        ):
            writer = (job.get("permissions") or {}).get("pull-requests") == "write"
            for index, step in enumerate(steps(job)):
                where = f"{name}/{job_id}: step '{step.get('name')}'"
                run = str(step.get("run", "")).strip()
                script = script_name(step)
                if script:
                    run_by_steps.add(script)
                    if script not in flows.scripts:
                        problems.append(f"{where} runs {script}, which does not exist")
                elif "\n" in run and not writer:
                    problems.append(f"{where}: multi-line shell belongs in {contract.SCRIPTS_DIR}/")
                if re.search(r"\baws\s+[a-z]", run):
                    problems.append(f"{where}: AWS CLI calls belong in {contract.SCRIPTS_DIR}/")
                local = (script or uses_setup_pulumi(step)) and job_id != "runs"
                if local and not has_checkout_before(job, index):
                    problems.append(f"{where} needs the repository checked out before it")
    for script, text in flows.scripts.items():
        if script in SOURCED:
            if not text.startswith("# shellcheck shell=bash"):
                problems.append(f"{script}: a sourced file starts '# shellcheck shell=bash'")
            continue
        if script not in run_by_steps:
            problems.append(f"{script}: no step runs it")
        if not text.startswith("#!/usr/bin/env bash\n") or "\nset -euo pipefail\n" not in text:
            problems.append(f"{script}: must start with the bash shebang and set -euo pipefail")
    for sourced in SOURCED:
        if sourced not in flows.scripts:
            problems.append(f"{sourced} is missing")
    return problems


# ------------------------------------------------------------------------------ the host rule


def host_problems(flows: Workflows, spec: Spec) -> list[str]:
    """github.com, ghe.com or GitHub Enterprise Server (the spec's OIDC issuer): local references
    use `$/` on github.com and `./` elsewhere (GHES has no `$/`; zizmor's self-repository audit
    is disabled where `./` is used, and only there); jobs run on GitHub-hosted runners, or on
    self-hosted Linux x64 ones on GHES; every role is assumed for the contract's OIDC audience;
    no github.com host is spelt out."""
    problems = []
    prefix = contract.local_uses(spec.github_oidc_issuer)
    ghes = contract.is_enterprise_server(spec.github_oidc_issuer)
    runner = GHES_RUNNER if ghes else GITHUB_COM_RUNNER
    for name, doc in flows.docs.items():
        for job_id, job in jobs(doc).items():
            if "uses" not in job and job.get("runs-on") != runner:
                problems.append(f"{name}/{job_id}: runs-on must be {runner}")
        every_uses = [j.get("uses", "") for j in jobs(doc).values()]
        every_uses += [s.get("uses", "") for s in steps(doc)]
        every_uses += [s.get("uses", "") for j in jobs(doc).values() for s in steps(j)]
        for uses in every_uses:
            if is_local(uses) and not uses.startswith(prefix):
                problems.append(f"{name}: {uses} must start with {prefix} on this host")
    for name, _, step in all_steps(flows):
        if (
            action_name(step.get("uses", "")) == AWS_ACTION
            and step.get("with", {}).get("audience") != contract.GITHUB_OIDC_AUDIENCE
        ):
            problems.append(f"{name}: assume roles for audience {contract.GITHUB_OIDC_AUDIENCE}")
    zizmor = yaml.safe_load(flows.others.get("zizmor.yml", "")) or {}
    disabled = zizmor.get("rules", {}).get("self-repository", {}).get("disable") is True
    if disabled == contract.is_github_com(spec.github_oidc_issuer):
        problems.append(
            "zizmor's self-repository audit must be disabled where the workflows use ./ (no $/ "
            "there), and only there"
        )
    for name, text in {**flows.texts, **flows.scripts}.items():
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        for host in ("github.com", contract.GITHUB_OIDC_HOST):
            if host in code:
                problems.append(f"{name}: names {host}; use the run's own host")
    return problems


# -------------------------------------------------------------------------- the contract rule


def contract_problems(flows: Workflows, spec: Spec) -> list[str]:
    """The names the workflows share with provisioning come from stacks/contract.py: every
    `vars.X` and `secrets.X` is one the contract names (so provisioning sets it), and what the
    scripts know of the spec (spec.sh) is the spec."""
    problems = []
    variables = {
        contract.VAR_REGION,
        contract.VAR_BACKEND_URL,
        contract.VAR_CI_ROLE,
        contract.VAR_PREVIEW_ROLE,
        contract.VAR_PR_ROLE,
        contract.VAR_REPOSITORY_URL,
        contract.VAR_DEPLOY_ROLE,
        contract.VAR_STACK,
        *(contract.stage_role_variable(s) for s in spec.stage_names),
        contract.VAR_PREVIOUS_ALARMS_ROLE,
        *(contract.previous_alarms_role_variable(s) for s in spec.stage_names[1:]),
        *(contract.stage_preview_role_variable(s) for s in spec.stage_names),
    }
    secrets = {contract.SECRET_PASSPHRASE, contract.SECRET_CLOUD_TOKEN}
    for name, text in flows.texts.items():
        for used in sorted(set(re.findall(r"\bvars\.(\w+)", text)) - variables):
            problems.append(f"{name}: vars.{used} is not a variable the contract names")
        for used in sorted(set(re.findall(r"\bsecrets\.(\w+)", text)) - secrets):
            problems.append(f"{name}: secrets.{used} is not a secret the contract names")
    facts = spec_facts(flows)
    expected = {
        "PROJECT": spec.name,
        "BRANCH": contract.BRANCH,
        "INFRA_DIR": contract.INFRA_DIR,
        "SHARED_STACK": contract.SHARED,
        "TRUST_SUBJECT": spec.trust_subject,
        "LIFECYCLE": spec.stage_names,
        "PREVIOUS_STAGE": {
            s.name: (spec.previous(s.name).name if spec.previous(s.name) else "")  # type: ignore[union-attr]
            for s in spec.stages
        },
        "ROLE_VARIABLE": {
            s: (
                contract.VAR_DEPLOY_ROLE
                if spec.trust_subject == "environment"
                else contract.stage_role_variable(s)
            )
            for s in spec.stage_names
        },
        "VAR_CI_ROLE": contract.VAR_CI_ROLE,
        "VAR_PREVIEW_ROLE": contract.VAR_PREVIEW_ROLE,
        "VAR_REPOSITORY_URL": contract.VAR_REPOSITORY_URL,
        "VAR_BACKEND_URL": contract.VAR_BACKEND_URL,
        "DIGEST_PATTERN": contract.DIGEST_PATTERN,
        "PLACEHOLDER_DIGEST": contract.PLACEHOLDER_DIGEST,
    }
    for key, value in expected.items():
        if facts.get(key) != value:
            problems.append(f"spec.sh: {key} is {facts.get(key)!r}, expected {value!r}")
    return problems


# ------------------------------------------------------------------------------ pipeline rules


def image_build_problems(flows: Workflows) -> list[str]:
    """The image is built in exactly one job of one workflow: build.yml's `build`."""
    builds = [
        (n, j) for n, j, s in all_steps(flows) if action_name(s.get("uses", "")) == BUILD_ACTION
    ]
    problems = []
    # A pull request's own image (pr-env.yml, tagged pr-<number>-<sha>) is never a release.
    releases = [b for b in builds if b != (contract.PR_ENV_WORKFLOW, "deploy")]
    if releases != [("build.yml", "build")]:
        problems.append(f"the image must be built once, in build.yml/build; found {builds}")
    shell = [(f"{n}/{j}", s.get("run") or "") for n, j, s in all_steps(flows)]
    shell += list(flows.scripts.items())
    for where, script in shell:
        if re.search(r"docker\s+(buildx\s+)?build|docker\s+push", script):
            problems.append(f"{where}: builds or pushes an image in a script")
    build = jobs(flows.docs.get("build.yml", {})).get("build", {})
    bp = [s for s in steps(build) if action_name(s.get("uses", "")) == BUILD_ACTION]
    if bp:
        push = str(bp[0].get("with", {}).get("push", ""))
        if "steps.plan.outputs.push" not in push:
            problems.append("build.yml/build: push must follow the plan (main only)")
        plan = next((s for s in steps(build) if s.get("id") == "plan"), {})
        script = script_of(flows, plan)
        if (
            'if [ "$EVENT_NAME" = push ] && [ "$REF" = "refs/heads/$BRANCH" ]' not in script
            or spec_facts(flows).get("BRANCH") != contract.BRANCH
        ):
            problems.append("build.yml/build: the plan must push on a push to main only")
        if '"$REPOSITORY_URL:$SHA"' not in script or plan.get("env", {}).get("SHA") != (
            "${{ github.sha }}"
        ):
            problems.append("build.yml/build: the pushed tag must be the commit SHA")
    if build.get("outputs", {}).get("digest") != "${{ steps.published.outputs.digest }}":
        problems.append("build.yml/build: must output the pushed digest")
    if "pull_request" not in triggers(flows.docs.get("build.yml", {})):
        problems.append("build.yml: pull requests must build too")
    return problems


def deploy_chain_problems(flows: Workflows, spec: Spec) -> list[str]:
    """build.yml deploys the chain's stages in lifecycle order through needs:, each by digest,
    each through deploy-stage.yml, with the spec's manual flags."""
    problems = []
    build_jobs = jobs(flows.docs.get("build.yml", {}))
    deploys = {j: job for j, job in build_jobs.items() if calls_deploy_stage(job)}
    expected = chain_stages(spec)
    if list(deploys) != [f"deploy-{stage}" for stage in expected]:
        problems.append(f"build.yml deploys {list(deploys)}, expected the stages {expected}")
        return problems
    for index, stage_name in enumerate(expected):
        job_id = f"deploy-{stage_name}"
        job = deploys[job_id]
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        required = (
            {"lint", "test", "build"} if index == 0 else {"build", f"deploy-{expected[index - 1]}"}
        )
        if set(needs) != required:
            problems.append(f"{job_id}: needs {needs}, expected {sorted(required)}")
        if index == 0 and f"refs/heads/{contract.BRANCH}" not in str(job.get("if", "")):
            problems.append(f"{job_id}: must run on main only")
        given = job.get("with", {})
        if given.get("stage") != stage_name:
            problems.append(f"{job_id}: deploys stage {given.get('stage')}")
        if given.get("digest") != "${{ needs.build.outputs.digest }}":
            problems.append(f"{job_id}: must deploy the build's digest")
        if given.get("manual") is not spec.stage(stage_name).manual:
            problems.append(f"{job_id}: manual is {given.get('manual')}, the spec says otherwise")
        if set(job.get("secrets", {})) != {contract.SECRET_PASSPHRASE, contract.SECRET_CLOUD_TOKEN}:
            problems.append(f"{job_id}: must pass exactly the two Pulumi secrets")
    return problems


# The scripts of the checks that follow the smoke test and may fail the deploy: the post-deploy
# alarm watch, its rollback, and its verdict (rolled back and held).
AFTER_SMOKE = {"deploy-watch.sh", "deploy-rollback.sh", "deploy-verdict.sh",
               "deploy-acceptance.sh"}  # and the acceptance suite


def deploy_stage_problems(flows: Workflows, spec: Spec) -> list[str]:
    """The reusable deploy: digest-only, the stage's environment and role, pulumi up, smoke test."""
    problems = []
    doc = flows.docs.get("deploy-stage.yml", {})
    call = triggers(doc).get("workflow_call") or {}
    inputs = call.get("inputs", {})
    if set(triggers(doc)) != {"workflow_call"}:
        problems.append("deploy-stage.yml: must be workflow_call only")
    for name, kind, required in (
        ("stage", "string", True),
        ("digest", "string", True),
        ("manual", "boolean", False),
    ):
        got = inputs.get(name, {})
        if got.get("type") != kind or bool(got.get("required")) is not required:
            problems.append(f"deploy-stage.yml: input {name} must be a {kind}, required={required}")
    all_jobs = jobs(doc)
    if list(all_jobs) != ["deploy"]:
        problems.append(f"deploy-stage.yml: one job 'deploy' expected, found {list(all_jobs)}")
        return problems
    job = all_jobs["deploy"]
    environment = job.get("environment")
    if spec.trust_subject == "environment":
        if not isinstance(environment, dict) or environment.get("name") != "${{ inputs.stage }}":
            problems.append("deploy-stage.yml: the job must run in environment: <stage>")
    elif environment is not None:
        problems.append("deploy-stage.yml: branch mode has no GitHub environments")
    by_id = {s.get("id"): s for s in steps(job)}
    check = by_id.get("check", {})
    env = check.get("env", {})
    role_vars = {k for k, v in env.items() if f"vars.{contract.VAR_DEPLOY_ROLE}" in str(v)}
    if spec.trust_subject == "environment":
        expected_vars = {contract.VAR_DEPLOY_ROLE}
    else:
        expected_vars = {contract.stage_role_variable(s) for s in spec.stage_names}
    if role_vars != expected_vars or any(env[k] != f"${{{{ vars.{k} }}}}" for k in role_vars):
        problems.append(
            f"deploy-stage.yml: role variables {sorted(role_vars)}, expected "
            f"{sorted(expected_vars)}"
        )
    script = script_of(flows, check)
    library = flows.scripts.get("lib.sh", "")
    if (
        'is_digest "$DIGEST" \\\n  || fail' not in script
        or "[[ $1 =~ ^${DIGEST_PATTERN}$ ]]" not in library
        or env.get("DIGEST") != "${{ inputs.digest }}"
    ):
        problems.append("deploy-stage.yml: the digest input must be validated as sha256:<64 hex>")
    if 'echo "image=$REPOSITORY_URL@$DIGEST"' not in script:
        problems.append("deploy-stage.yml: the image must be REPOSITORY_URL@DIGEST")
    manual_guard = (
        'if [ "$TRUST_SUBJECT" = branch ] && [ "$MANUAL" = true ] '
        '&& [ "$EVENT_NAME" != workflow_dispatch ]; then'
    )
    if manual_guard not in script or spec_facts(flows).get("TRUST_SUBJECT") != spec.trust_subject:
        problems.append(
            "deploy-stage.yml: branch mode (only) refuses manual stages outside promote"
        )
    aws = [s for s in steps(job) if action_name(s.get("uses", "")) == AWS_ACTION]
    # The stage's deploy role; and with a stage before, its alarm reader around the gates step
    # and the deploy role again (alarm_reader_problems).
    expected = [DEPLOY_ROLE] if len(spec.stage_names) == 1 else [DEPLOY_ROLE, READER_ROLE, DEPLOY_ROLE]
    if [s.get("with", {}).get("role-to-assume") for s in aws] != expected:
        problems.append("deploy-stage.yml: must assume the stage role resolved by the check step")
    up = by_id.get("up", {})
    up_script = script_of(flows, up)
    if (
        up.get("env", {}).get("IMAGE") != "${{ steps.check.outputs.image }}"
        or 'pulumi config set image "$IMAGE"' not in up_script
        or "pulumi up --yes" not in up_script
    ):
        problems.append("deploy-stage.yml: must set the image config to the digest and pulumi up")
    smoke = [s for s in steps(job) if "/health" in script_of(flows, s)]
    if (
        len(smoke) != 1
        or "curl --fail" not in script_of(flows, smoke[0])
        or "--max-time" not in script_of(flows, smoke[0])
        or "deadline" not in script_of(flows, smoke[0])
        or "timeout-minutes" not in smoke[0]
    ):
        problems.append("deploy-stage.yml: needs one /health smoke test with retries and a timeout")
    else:
        # Only the post-deploy checks (AFTER_SMOKE) and bookkeeping that cannot change the job's
        # outcome may follow the smoke test.
        after = steps(job)[steps(job).index(smoke[0]) + 1 :]
        if any(
            step.get("continue-on-error") is not True and script_name(step) not in AFTER_SMOKE
            for step in after
        ):
            problems.append(
                "deploy-stage.yml: the smoke test must be the last step that can fail the job"
            )
    return problems


DEPLOY_ROLE = "${{ steps.check.outputs.role }}"
READER_ROLE = "${{ steps.check.outputs.alarms-reader }}"
READER_ASSUMED = "steps.check.outputs.alarms-reader != ''"
READ_ALARMS = 'if [ -n "${ALARMS_READER:-}" ]; then\n  args+=(--read-alarms)\nfi'


def alarm_reader_problems(flows: Workflows, spec: Spec) -> list[str]:
    """Promotion's alarms gate (docs/workflows.md): the stage before's alarms belong to its
    account, so the deploy job reads them as that stage's alarm reader. The job assumes the reader
    only when the check step resolved one (from the variables the spec names), immediately before
    the gates step, which alone runs with it and reads the alarms only then; the stage's deploy
    role is assumed again immediately after, under the same condition, for everything that
    follows. Both assumptions drop the credentials before them, so no step sees two roles."""
    problems = []
    job = jobs(flows.docs.get("deploy-stage.yml", {})).get("deploy", {})
    found = steps(job)
    check = next((s for s in found if s.get("id") == "check"), {})
    env = check.get("env", {})
    names = sorted(k for k in env if k.startswith(contract.VAR_PREVIOUS_ALARMS_ROLE))
    later = spec.stage_names[1:]
    if spec.trust_subject == "environment":
        expected = [contract.VAR_PREVIOUS_ALARMS_ROLE] if later else []
    else:
        expected = sorted(contract.previous_alarms_role_variable(s) for s in later)
    if names != expected or any(env[k] != f"${{{{ vars.{k} }}}}" for k in names):
        problems.append(f"deploy-stage.yml: alarm reader variables {names}, expected {expected}")
    facts = spec_facts(flows).get("ALARMS_READER_VARIABLE", {})
    if facts != {s: (names[0] if spec.trust_subject == "environment" else
                     contract.previous_alarms_role_variable(s)) for s in later}:  # fmt: skip
        problems.append("spec.sh: ALARMS_READER_VARIABLE must name each later stage's variable")
    script = script_of(flows, check)
    if 'reader="${!variable:-}"' not in script or 'echo "alarms-reader=$reader"' not in script:
        problems.append("deploy-check.sh: must output the stage before's alarm reader")
    aws = [i for i, s in enumerate(found) if action_name(str(s.get("uses", ""))) == AWS_ACTION]
    gates = [i for i, s in enumerate(found) if script_name(s) == "deploy-gates.sh"]
    if len(gates) != 1:
        return [*problems, "deploy-stage.yml: one step must run deploy-gates.sh"]
    gate = found[gates[0]]
    if not later:
        if len(aws) != 1 or aws[0] > gates[0]:
            problems.append("deploy-stage.yml: one stage: the deploy role only, before the gates")
        return problems
    if [found[i].get("with", {}).get("role-to-assume") for i in aws] != [
        DEPLOY_ROLE, READER_ROLE, DEPLOY_ROLE
    ] or aws[1:] != [gates[0] - 1, gates[0] + 1]:  # fmt: skip
        problems.append(
            "deploy-stage.yml: the gates step (alone) must run as the stage before's alarm reader, "
            "between the deploy role and the deploy role again"
        )
        return problems
    for index in aws[1:]:
        options = found[index].get("with", {})
        if found[index].get("if") != READER_ASSUMED or options.get("unset-current-credentials") is not True:
            problems.append(
                f"deploy-stage.yml: '{found[index].get('name')}' must run only when the check "
                "step resolved a reader, and drop the credentials before it"
            )
    if gate.get("env", {}).get("ALARMS_READER") != READER_ROLE or READ_ALARMS not in script_of(
        flows, gate
    ):  # fmt: skip
        problems.append("deploy-gates.sh: must read the alarms exactly when the reader was assumed")
    return problems


# The deploy job's gate, record and acceptance steps, in the order they must run (by step id, or
# by the script the step runs).
PIPELINE_ORDER = ("scan", "deploy-gates.sh", "record", "up", "smoke", "acceptance")
UPLOAD_ACTION = "actions/upload-artifact"


def pipeline_problems(flows: Workflows) -> list[str]:
    """The acceptance stage (docs/workflows.md): the image scan, the promotion gates and the
    deployment's record come before `pulumi up`, the acceptance suite after the smoke test; every
    verdict is recorded (deployed, smoke, acceptance) by `stacks.records`; the results are
    uploaded; the job may write deployments; promote.yml's `reason` and `force` reach the job."""
    problems = []
    job = jobs(flows.docs.get("deploy-stage.yml", {})).get("deploy", {})
    found = steps(job)
    where = {}
    for index, step in enumerate(found):
        for key in (step.get("id"), script_name(step)):
            if key in PIPELINE_ORDER:
                where.setdefault(key, index)
    missing = [name for name in PIPELINE_ORDER if name not in where]
    if missing:
        problems.append(f"deploy-stage.yml: no step {', '.join(missing)}")
    elif [where[n] for n in PIPELINE_ORDER] != sorted(where[n] for n in PIPELINE_ORDER):
        problems.append(f"deploy-stage.yml: the steps must run in the order {PIPELINE_ORDER}")
    runs = [str(s.get("run", "")) for s in found]
    if not any("-m stacks.scan check" in r for r in runs):
        problems.append("deploy-stage.yml: the image scan must run stacks.scan check")
    for verb, verdict in (("start", "the deployment"), ("add", "a verdict"),
                          ("acceptance", "the acceptance verdict")):  # fmt: skip
        if not any(f"-m stacks.records {verb} " in r for r in runs):
            problems.append(f"deploy-stage.yml: no step records {verdict} (stacks.records {verb})")
    uploads = [s for s in found if action_name(str(s.get("uses", ""))) == UPLOAD_ACTION]
    if not uploads or "acceptance" not in str(uploads[0].get("with", {}).get("path", "")):
        problems.append("deploy-stage.yml: the acceptance results must be uploaded")
    if (job.get("permissions") or {}).get("deployments") != "write":
        problems.append("deploy-stage.yml: the deploy job needs deployments: write")
    promote = flows.docs.get("promote.yml", {})
    inputs = (triggers(promote).get("workflow_dispatch") or {}).get("inputs", {})
    passed = (jobs(promote).get("deploy") or {}).get("with", {})
    if not {"reason", "force"} <= set(inputs) or passed.get("force") != "${{ inputs.force }}" or (
        passed.get("override-reason") != "${{ inputs.reason }}"
    ):
        problems.append("promote.yml: the reason and force inputs must reach the deploy job")
    return problems


# The ECR calls of a tagging re-implementation, and a `deployed.<stage>.` tag spelt in shell.
_TAGGING_TEXT = ("put-image", "batch-delete-image", "batch-get-image", f"{contract.DEPLOYED}.$")


def registry_problems(flows: Workflows) -> list[str]:
    """Registry tagging exists once, in the infra program's registry adapter (stacks/ecr.py): the
    deploy job's last step runs its `mark-release` from infra/ with the infra venv, as a warning
    only, and no workflow or script tags or untags images itself."""
    problems = []
    job = jobs(flows.docs.get("deploy-stage.yml", {})).get("deploy", {})
    marking = [s for s in steps(job) if str(s.get("run", "")).strip() == MARK_RELEASE]
    last = marking[0] if len(marking) == 1 else {}
    after_smoke = [s.get("id") for s in steps(job)[: steps(job).index(last)]] if last else []
    env = last.get("env", {})
    if (
        "smoke" not in after_smoke
        or last.get("working-directory") != contract.INFRA_DIR
        or last.get("continue-on-error") is not True
        or env.get("STAGE") != "${{ inputs.stage }}"
        or env.get("DIGEST") != "${{ inputs.digest }}"
        or env.get("PREVIOUS") != "${{ steps.up.outputs.previous }}"
        or env.get("REPOSITORY_URL") != f"${{{{ vars.{contract.VAR_REPOSITORY_URL} }}}}"
    ):
        problems.append(
            "deploy-stage.yml: one step after the smoke test must mark the release with stacks.ecr"
        )
    for name, text in {**flows.texts, **flows.scripts}.items():
        problems += [
            f"{name}: tags images itself ('{word}'): stacks.ecr does that"
            for word in _TAGGING_TEXT
            if word in text
        ]
    return problems


def promote_problems(flows: Workflows, spec: Spec) -> list[str]:
    problems = []
    doc = flows.docs.get("promote.yml", {})
    dispatch = triggers(doc).get("workflow_dispatch") or {}
    inputs = dispatch.get("inputs", {})
    if (
        inputs.get("stage", {}).get("type") != "choice"
        or inputs["stage"].get("options") != spec.stage_names
    ):
        problems.append("promote.yml: input stage must be a choice of the stages in order")
    if inputs.get("digest", {}).get("required") is not False:
        problems.append("promote.yml: input digest must be optional")
    callers = {j: job for j, job in jobs(doc).items() if calls_deploy_stage(job)}
    if list(callers) != ["deploy"]:
        problems.append("promote.yml: one job must call deploy-stage.yml")
        return problems
    given = callers["deploy"].get("with", {})
    if (
        given.get("stage") != "${{ inputs.stage }}"
        or given.get("digest") != "${{ needs.resolve.outputs.digest }}"
    ):
        problems.append("promote.yml: must deploy inputs.stage with the resolved digest")
    match = re.fullmatch(
        r"\$\{\{ contains\(fromJSON\('(.*)'\), inputs\.stage\) \}\}", str(given.get("manual", ""))
    )
    manual = set(json.loads(match[1])) if match else None
    if manual != {s.name for s in spec.stages if s.manual}:
        problems.append(f"promote.yml: manual stages {manual}, the spec says otherwise")
    previous = spec_facts(flows).get("PREVIOUS_STAGE", {})
    for stage in spec.stages:
        before = spec.previous(stage.name)
        if previous.get(stage.name) != (before.name if before else ""):
            problems.append(
                f"promote.yml: the stage before {stage.name} must be "
                f"{before.name if before else 'none'}"
            )
    resolve = jobs(doc).get("resolve", {})
    if "pulumi stack output image" not in "".join(script_of(flows, s) for s in steps(resolve)):
        problems.append("promote.yml: the default digest is the previous stage's output image")
    problems += _resolve_is_least(flows, resolve)
    return problems


def _resolve_is_least(flows: Workflows, resolve: dict[str, Any]) -> list[str]:
    """COMMON decision 5: the digest lookup runs as the CI role, which reads the state and never
    writes it; `pulumi stack output` needs no program and no passphrase, so the job gets neither."""
    problems = []
    roles = [
        s.get("with", {}).get("role-to-assume")
        for s in steps(resolve)
        if action_name(s.get("uses", "")) == AWS_ACTION
    ]
    if roles != [f"${{{{ vars.{contract.VAR_CI_ROLE} }}}}"]:
        problems.append(f"promote.yml/resolve: must assume the CI role only, not {roles}")
    setups = [s for s in steps(resolve) if uses_setup_pulumi(s)]
    if [s.get("with", {}).get("program") for s in setups] != ["false"]:
        problems.append('promote.yml/resolve: the Pulumi CLI alone (program: "false")')
    if contract.SECRET_PASSPHRASE in json.dumps(resolve):
        problems.append("promote.yml/resolve: reading an output needs no passphrase")
    return problems


def teardown_problems(flows: Workflows, spec: Spec) -> list[str]:
    problems = []
    doc = flows.docs.get("teardown.yml", {})
    inputs = (triggers(doc).get("workflow_dispatch") or {}).get("inputs", {})
    if inputs.get("stage", {}).get("options") != spec.stage_names:
        problems.append("teardown.yml: input stage must be a choice of the stages")
    if inputs.get("confirm", {}).get("required") is not True:
        problems.append("teardown.yml: input confirm must be required")
    confirm = jobs(doc).get("confirm", {})
    check = next((s for s in steps(confirm) if script_name(s)), {})
    if check.get("env", {}).get("CONFIRM") != "${{ inputs.confirm }}" or (
        '[ "$CONFIRM" = "$STAGE" ] || fail' not in script_of(flows, check)
    ):
        problems.append("teardown.yml: the confirmation must equal the stage name")
    destroy = jobs(doc).get("destroy", {})
    if destroy.get("needs") != "confirm":
        problems.append("teardown.yml: destroy must need the confirmation")
    if spec.trust_subject == "environment" and destroy.get("environment") != "${{ inputs.stage }}":
        problems.append("teardown.yml: destroy must run in the stage's environment")
    if spec.trust_subject == "branch" and "environment" in destroy:
        problems.append("teardown.yml: branch mode has no environments")
    if destroy.get("concurrency", {}).get("group") != "deploy-${{ inputs.stage }}":
        problems.append("teardown.yml: destroy must hold the stage's deploy lock")
    script = "".join(script_of(flows, s) for s in steps(destroy))
    if 'pulumi destroy --yes --non-interactive --stack "$STACK" "${excludes[@]}"' not in script:
        problems.append("teardown.yml: must run pulumi destroy, excluding the foundation")
    for stage in spec.stage_names:
        if foundation_patterns(script, stage) != contract.foundation_urns(
            spec.name, stage, network=True
        ):
            problems.append(f"teardown.yml: the foundation kept for {stage} is not the contract's")
    if "bootstrap destroy --stage $STAGE" not in script or "GITHUB_STEP_SUMMARY" not in script:
        problems.append("teardown.yml: the summary must say what stayed and who removes it")
    return problems


def foundation_patterns(script: str, stage: str) -> list[str]:
    """The URN patterns teardown-destroy.sh keeps for `stage` (its `case` branch)."""
    match = re.search(
        rf"^  {re.escape(stage)}\)\n    foundation=\(\n(.*?)\n    \) ;;", script, re.M | re.S
    )
    return [line.strip().strip("'") for line in match[1].splitlines()] if match else []


def preview_problems(flows: Workflows, spec: Spec) -> list[str]:
    problems = []
    doc = flows.docs.get("preview.yml", {})
    on = triggers(doc)
    if set(on) != {"pull_request"} or "infra/**" not in (on["pull_request"] or {}).get("paths", []):
        problems.append("preview.yml: must run on pull_request touching infra/** only")
    preview = jobs(doc).get("preview", {})
    if "head.repo.full_name == github.repository" not in str(preview.get("if", "")):
        problems.append("preview.yml: must skip pull requests from forks")
    run_step = next((s for s in steps(preview) if s.get("id") == "preview"), {})
    stacks = str(run_step.get("env", {}).get("STACKS", "")).split()
    if stacks != spec.stacks:
        problems.append(f"preview.yml: previews {stacks}, expected {spec.stacks}")
    if "pulumi preview" not in script_of(flows, run_step):
        problems.append("preview.yml: must run pulumi preview")
    writers = [
        j
        for j, job in jobs(doc).items()
        if (job.get("permissions") or {}).get("pull-requests") == "write"
    ]
    if writers != ["comment"]:
        problems.append(f"preview.yml: only the comment job may write pull requests: {writers}")
    comment = jobs(doc).get("comment", {})
    if comment.get("needs") != "preview" or "needs.preview.outputs.report" not in str(
        steps(comment)[0].get("env") if steps(comment) else ""
    ):
        problems.append("preview.yml: the comment job must post the preview job's report")
    return problems + preview_role_problems(preview, spec)


def _var(name: str) -> str:
    return "${{ vars." + name + " }}"


def preview_role_problems(preview: dict[str, Any], spec: Spec) -> list[str]:
    """Every stage with its own preview role (a stage in its own account: its variable
    `contract.stage_preview_role_variable`) is previewed as that role, in its region, only when
    the variable is set, and never as the shared role; one last step reports every stack."""
    problems = []
    held = ""  # the role the job holds: the last configure-aws-credentials step's
    held_if = ""
    previewed: dict[str, list[str]] = {}  # who previews each stage: the roles' names
    for item in steps(preview):
        if str(item.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
            held = str((item.get("with") or {}).get("role-to-assume", ""))
            held_if = str(item.get("if", ""))
            own = {_var(contract.stage_preview_role_variable(s)): s for s in spec.stage_names}
            stage = own.get(held)
            region = "${{ steps.check.outputs.region-" + str(stage) + " }}"
            if stage is not None and (item.get("with") or {}).get("aws-region") != region:
                problems.append(f"preview.yml: {stage}'s preview role must act in {stage}'s region")
            continue
        if script_name(item) != "preview-run.sh":
            continue
        env = item.get("env") or {}
        stacks, as_role = str(env.get("STACKS", "")).split(), str(env.get("PREVIEW_AS", ""))
        if as_role == contract.SHARED:
            if held != _var(contract.VAR_PREVIEW_ROLE):
                problems.append("preview.yml: the shared run must hold the shared preview role")
            for stage in spec.stage_names:
                variable = contract.stage_preview_role_variable(stage)
                if env.get(variable) != _var(variable):
                    problems.append(
                        f"preview.yml: the shared preview role must leave {stage} to its own "
                        f"role when {variable} is set (env {variable})"
                    )
                else:
                    previewed.setdefault(stage, []).append("shared, unless its own is set")
        elif as_role in spec.stage_names:
            variable = contract.stage_preview_role_variable(as_role)
            condition = f"vars.{variable} != ''"
            if held != _var(variable) or stacks != [as_role]:
                problems.append(
                    f"preview.yml: {as_role} must be previewed (alone) as its own preview role "
                    f"({variable}), not as {held or 'no role'}"
                )
            elif condition not in str(item.get("if", "")) or held_if != str(item.get("if", "")):
                problems.append(
                    f"preview.yml: {as_role}'s own preview runs only when {variable} is set, "
                    "with the same condition as its role's step"
                )
            else:
                previewed.setdefault(as_role, []).append("own")
        elif "report" not in str(item.get("run", "")):
            problems.append(f"preview.yml: a preview run as an unknown role {as_role!r}")
    for stage in spec.stage_names:
        if sorted(previewed.get(stage, [])) != ["own", "shared, unless its own is set"]:
            problems.append(
                f"preview.yml: {stage} is previewed by {previewed.get(stage, [])}: expected the "
                "shared role unless its own is set, and its own role when it is"
            )
    report = next((s for s in steps(preview) if s.get("id") == "report"), {})
    if (
        "preview-run.sh report" not in str(report.get("run", ""))
        or "!cancelled()" not in str(report.get("if", ""))
        or "steps.report.outputs.report" not in str((preview.get("outputs") or {}).get("report"))
    ):
        problems.append("preview.yml: one last step must report every stack, whatever failed")
    return problems


_AWS_CLI = re.compile(r"(?:^|[\s(\"$])aws\s+(?P<service>[a-z0-9-]+)\s+(?P<command>[a-z0-9-]+)")


def aws_cli_calls(flows: Workflows) -> list[tuple[str, str, str]]:
    """(script, service, command) of every AWS CLI call the workflow scripts make (COMMON
    decision 6: all of them live in the scripts, where the IAM coverage checker reads them)."""
    found = []
    for name, text in flows.scripts.items():
        for line in text.splitlines():
            if not line.lstrip().startswith("#"):
                found += [(name, m["service"], m["command"]) for m in _AWS_CLI.finditer(line)]
    return found


def critical_path(flows: Workflows) -> list[str]:
    """The longest chain of jobs from a push on main to the end of the first deploy (whose last
    step is the smoke test): the jobs of build.yml up to the first deploy, then deploy-stage.yml's
    jobs along its own needs."""
    build_jobs = jobs(flows.docs["build.yml"])
    first = next(j for j, job in build_jobs.items() if calls_deploy_stage(job))

    def longest(graph: dict[str, dict[str, Any]], node: str) -> list[str]:
        needs = graph[node].get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        before = max((longest(graph, n) for n in needs), key=len, default=[])
        return [*before, node]

    stage_jobs = jobs(flows.docs["deploy-stage.yml"])
    inner = max((longest(stage_jobs, j) for j in stage_jobs), key=len)
    outer = longest(build_jobs, first)[:-1]
    return outer + [f"{first} → deploy-stage.yml/{j}" for j in inner]
