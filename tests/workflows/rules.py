"""The rules the generated workflows must follow, as functions that return a list of problems.

Each rule reads a `Workflows` (the parsed YAML and raw text of a generated repo's `.github/`) and,
where the rule depends on it, the spec. An empty list means the rule holds; test_rules_can_fail.py
breaks each rule on purpose to show that it reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bootstrap.spec import Spec

# The team's pins live in ../shared beside the checkout (CI lays a copy there); the project keeps
# a copy so the suite also runs in a checkout without it. test_structure checks they agree.
SHARED_PINS_FILE = Path(__file__).resolve().parents[3] / "shared" / "actions-pins.json"
PINS_FILE = (
    SHARED_PINS_FILE if SHARED_PINS_FILE.is_file() else Path(__file__).with_name("actions-pins.json")
)
DEPLOY_STAGE = "$/.github/workflows/deploy-stage.yml"
BUILD_ACTION = "docker/build-push-action"
AWS_ACTION = "aws-actions/configure-aws-credentials"
DIGEST_RE = "sha256:[0-9a-f]{64}"
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Workflows:
    """One generated repo's workflows and composite actions, parsed and as text."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "build.yml" -> parsed
    texts: dict[str, str] = field(default_factory=dict)  # same keys -> raw text

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


def calls_deploy_stage(job: dict[str, Any]) -> bool:
    return job.get("uses") == DEPLOY_STAGE


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
    where an AWS role is assumed; pull-requests: write only on a job that runs no action."""
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
                if (scope, level) == ("contents", "read"):
                    continue
                if (scope, level) == ("id-token", "write"):
                    if not assumes_aws_role(job):
                        problems.append(f"{where}: id-token: write but assumes no AWS role")
                    continue
                if (scope, level) == ("pull-requests", "write"):
                    if any("uses" in s for s in steps(job)) or "uses" in job:
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
    """No expression at all inside `run:` scripts (inputs, events and outputs reach scripts only
    through env:), no long-lived AWS keys, no pull_request_target/workflow_run, no mutable tags."""
    problems = []
    for name, job_id, step in all_steps(flows):
        script = step.get("run")
        if script is not None and "${{" in script:
            problems.append(f"{name}/{job_id}: an expression inside run: ({step.get('name')})")
    for name, text in flows.texts.items():
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
    for name, job_id, step in all_steps(flows):
        if (
            step.get("uses") == "$/.github/actions/setup-pulumi"
            and step.get("with", {}).get("backend-url") != "${{ vars.PULUMI_BACKEND_URL }}"
        ):
            problems.append(f"{name}/{job_id}: backend-url must be vars.PULUMI_BACKEND_URL")
    for name, text in flows.texts.items():
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


# ------------------------------------------------------------------------------ pipeline rules


def image_build_problems(flows: Workflows) -> list[str]:
    """The image is built in exactly one job of one workflow: build.yml's `build`."""
    builds = [
        (n, j) for n, j, s in all_steps(flows) if action_name(s.get("uses", "")) == BUILD_ACTION
    ]
    problems = []
    if builds != [("build.yml", "build")]:
        problems.append(f"the image must be built once, in build.yml/build; found {builds}")
    for name, job_id, step in all_steps(flows):
        script = step.get("run") or ""
        if re.search(r"docker\s+(buildx\s+)?build|docker\s+push", script):
            problems.append(f"{name}/{job_id}: builds or pushes an image in a script")
    build = jobs(flows.docs.get("build.yml", {})).get("build", {})
    bp = [s for s in steps(build) if action_name(s.get("uses", "")) == BUILD_ACTION]
    if bp:
        push = str(bp[0].get("with", {}).get("push", ""))
        if "steps.plan.outputs.push" not in push:
            problems.append("build.yml/build: push must follow the plan (main only)")
        plan = next((s for s in steps(build) if s.get("id") == "plan"), {})
        script = plan.get("run", "")
        if 'if [ "$EVENT_NAME" = push ] && [ "$REF" = refs/heads/main ]' not in script:
            problems.append("build.yml/build: the plan must push on a push to main only")
        if (
            "$SHA" not in plan.get("run", "")
            or plan.get("env", {}).get("SHA") != "${{ github.sha }}"
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
        if index == 0 and "refs/heads/main" not in str(job.get("if", "")):
            problems.append(f"{job_id}: must run on main only")
        given = job.get("with", {})
        if given.get("stage") != stage_name:
            problems.append(f"{job_id}: deploys stage {given.get('stage')}")
        if given.get("digest") != "${{ needs.build.outputs.digest }}":
            problems.append(f"{job_id}: must deploy the build's digest")
        if given.get("manual") is not spec.stage(stage_name).manual:
            problems.append(f"{job_id}: manual is {given.get('manual')}, the spec says otherwise")
        if set(job.get("secrets", {})) != {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"}:
            problems.append(f"{job_id}: must pass exactly the two Pulumi secrets")
    return problems


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
    role_vars = {k for k, v in env.items() if "vars.AWS_DEPLOY_ROLE_ARN" in str(v)}
    if spec.trust_subject == "environment":
        expected_vars = {"AWS_DEPLOY_ROLE_ARN"}
    else:
        expected_vars = {
            "AWS_DEPLOY_ROLE_ARN_" + s.upper().replace("-", "_") for s in spec.stage_names
        }
    if role_vars != expected_vars or any(env[k] != f"${{{{ vars.{k} }}}}" for k in role_vars):
        problems.append(
            f"deploy-stage.yml: role variables {sorted(role_vars)}, expected "
            f"{sorted(expected_vars)}"
        )
    script = check.get("run", "")
    if (
        f"[ \"${{#DIGEST}}\" -eq 71 ] && printf '%s' \"$DIGEST\" | grep -Eqx '{DIGEST_RE}'"
        not in script
        or env.get("DIGEST") != "${{ inputs.digest }}"
    ):
        problems.append("deploy-stage.yml: the digest input must be validated as sha256:<64 hex>")
    if 'echo "image=$REPOSITORY_URL@$DIGEST"' not in script:
        problems.append("deploy-stage.yml: the image must be REPOSITORY_URL@DIGEST")
    manual_guard = 'if [ "$MANUAL" = true ] && [ "$EVENT_NAME" != workflow_dispatch ]; then'
    if (manual_guard in script) != (spec.trust_subject == "branch"):
        problems.append(
            "deploy-stage.yml: branch mode (only) refuses manual stages outside promote"
        )
    aws = [s for s in steps(job) if action_name(s.get("uses", "")) == AWS_ACTION]
    if (
        len(aws) != 1
        or aws[0].get("with", {}).get("role-to-assume") != "${{ steps.check.outputs.role }}"
    ):
        problems.append("deploy-stage.yml: must assume the stage role resolved by the check step")
    up = by_id.get("up", {})
    if (
        up.get("env", {}).get("IMAGE") != "${{ steps.check.outputs.image }}"
        or 'pulumi config set image "$IMAGE"' not in up.get("run", "")
        or "pulumi up --yes" not in up.get("run", "")
    ):
        problems.append("deploy-stage.yml: must set the image config to the digest and pulumi up")
    smoke = [s for s in steps(job) if "/health" in (s.get("run") or "")]
    if (
        len(smoke) != 1
        or "curl --fail" not in smoke[0]["run"]
        or "--max-time" not in smoke[0]["run"]
        or "deadline" not in smoke[0]["run"]
        or "timeout-minutes" not in smoke[0]
    ):
        problems.append("deploy-stage.yml: needs one /health smoke test with retries and a timeout")
    else:
        # Only bookkeeping that cannot change the job's outcome may follow the smoke test.
        after = steps(job)[steps(job).index(smoke[0]) + 1 :]
        if any(step.get("continue-on-error") is not True for step in after):
            problems.append(
                "deploy-stage.yml: the smoke test must be the last step that can fail the job"
            )
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
    resolve = jobs(doc).get("resolve", {})
    script = "\n".join(s.get("run", "") for s in steps(resolve))
    for stage in spec.stages:
        previous = spec.previous(stage.name)
        line = f'{stage.name}) previous="{previous.name if previous else ""}" ;;'
        if line not in script:
            problems.append(
                f"promote.yml: the stage before {stage.name} must be "
                f"{previous.name if previous else 'none'}"
            )
    if "pulumi stack output image" not in script:
        problems.append("promote.yml: the default digest is the previous stage's output image")
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
    check = steps(confirm)[0] if steps(confirm) else {}
    if check.get("env", {}).get(
        "CONFIRM"
    ) != "${{ inputs.confirm }}" or '[ "$CONFIRM" = "$STAGE" ] || fail' not in check.get("run", ""):
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
    if not any("pulumi destroy --yes" in (s.get("run") or "") for s in steps(destroy)):
        problems.append("teardown.yml: must run pulumi destroy")
    return problems


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
    if "pulumi preview" not in run_step.get("run", ""):
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
    return problems


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
