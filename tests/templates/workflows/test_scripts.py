"""The workflows' shell, run as GitHub runs it: the step's own `run:` line (which calls a script in
.github/scripts/) in the generated repo, under `bash -eo pipefail`, with the step's env: and
GITHUB_OUTPUT. The guards that refuse a bad digest, a manual stage outside promote, an
unconfirmed teardown; the smoke test that fails a deploy whose service does not answer; promote's
digest lookup; teardown's destroy that keeps the foundation. The Pulumi CLI cannot be installed
here, so the steps that call it get a recording stand-in on PATH (`pulumi`), which prints what a
real stack would answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from stacks import contract
from tests.templates.workflows import rules

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
REPOSITORY_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"

# Records each call (arguments separated by US, one call a line) and answers `stack output NAME`
# from PULUMI_OUTPUT_NAME and `stack export` from PULUMI_EXPORT, as a stack holding them would.
PULUMI_STAND_IN = """#!/usr/bin/env bash
(IFS=$'\\x1f'; printf '%s\\n' "$*") >> "$PULUMI_CALLS"
case "$1 $2" in
  "stack output") output="PULUMI_OUTPUT_$3"; printf '%s\\n' "${!output:-}" ;;
  "stack export") [ -n "${PULUMI_EXPORT:-}" ] && printf '%s\\n' "$PULUMI_EXPORT" || exit 1 ;;
esac
"""


@cache
def _flows(repo: Path) -> rules.Workflows:
    return rules.Workflows.load(repo)


class Runner:
    """Runs steps of one generated repo, in the repo (the scripts write only under RUNNER_TEMP
    and GITHUB_OUTPUT, so the shared renders stay untouched)."""

    def __init__(self, repo: Path, tmp_path: Path) -> None:
        self.repo = repo
        self.tmp = tmp_path
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.flows = _flows(repo)
        self.env: dict[str, str] = {}

    def step(self, workflow: str, job: str, which: str) -> dict[str, Any]:
        """A step by id, by the script it runs, or by name."""
        for step in rules.steps(self.flows.docs[workflow]["jobs"][job]):
            if which in (step.get("id"), rules.script_name(step), step.get("name")):
                return step
        raise AssertionError(f"no step {which} in {workflow}/{job}")

    def pulumi(self, export: dict[str, Any] | None = None, **outputs: str) -> Path:
        """Put the Pulumi stand-in on PATH; returns the file its calls are recorded in."""
        stand_in = self.bin / "pulumi"
        stand_in.write_text(PULUMI_STAND_IN)
        stand_in.chmod(0o755)
        self.env = {
            "PULUMI_CALLS": str(self.tmp / "pulumi-calls"),
            "PULUMI_EXPORT": json.dumps(export) if export else "",
            **{f"PULUMI_OUTPUT_{name}": value for name, value in outputs.items()},
        }
        return self.tmp / "pulumi-calls"

    def run(self, step: dict[str, Any], **env: str) -> tuple[int, str, dict[str, str]]:
        """Run the step's `run:` with its env: values replaced by `env` (unset expressions: '')."""
        output = self.tmp / "output"
        output.write_text("")
        variables = {k: ("" if "${{" in str(v) else str(v)) for k, v in step.get("env", {}).items()}
        variables.update(env)
        full = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.tmp),
            "RUNNER_TEMP": str(self.tmp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary"),
            "GITHUB_RUN_ID": "42",
            **self.env,
            **variables,
        }
        script = self.tmp / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.repo / step.get("working-directory", "."),
            env=full,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        return done.returncode, done.stdout + done.stderr, outputs

    def summary(self) -> str:
        return (self.tmp / "summary").read_text()


def calls(log: Path) -> list[list[str]]:
    return [line.split("\x1f") for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def repo(rendered: dict[str, Path], tmp_path: Path, request: pytest.FixtureRequest) -> Runner:
    return Runner(rendered[getattr(request, "param", "ecs3e")], tmp_path)


def on(case: str) -> Any:
    return pytest.mark.parametrize("repo", [case], indirect=True)


# ------------------------------------------------------------------------ deploy-stage checks


def test_check_builds_the_digest_reference(repo: Runner) -> None:
    code, log, out = repo.run(
        repo.step("deploy-stage.yml", "deploy", "check"),
        STAGE="prod",
        DIGEST=DIGEST,
        MANUAL="true",
        EVENT_NAME="push",
        REPOSITORY_URL=REPOSITORY_URL,
        AWS_DEPLOY_ROLE_ARN="arn:aws:iam::123456789012:role/prod-deploy",
    )
    assert code == 0, log
    assert out == {
        "role": "arn:aws:iam::123456789012:role/prod-deploy",
        "alarms-reader": "",  # not provisioned: the gates say the alarms were not checked
        "stack": "prod",
        "image": f"{REPOSITORY_URL}@{DIGEST}",
    }


def test_check_resolves_the_stage_befores_alarm_reader(repo: Runner) -> None:
    """The reader comes from the variable of the stage's environment; the first stage has no
    stage before, whatever its environment says."""
    check = repo.step("deploy-stage.yml", "deploy", "check")
    reader = "arn:aws:iam::222222222222:role/bootstrap-deploy/shop/shop-test-alarms-read"
    given = {"DIGEST": DIGEST, "MANUAL": "false", "EVENT_NAME": "push",
             "REPOSITORY_URL": REPOSITORY_URL, "AWS_DEPLOY_ROLE_ARN": "arn",
             contract.VAR_PREVIOUS_ALARMS_ROLE: reader}  # fmt: skip
    code, log, out = repo.run(check, STAGE="prod", **given)
    assert code == 0 and out["alarms-reader"] == reader, log
    code, log, out = repo.run(check, STAGE="dev", **given)
    assert code == 0 and out["alarms-reader"] == "", log


ROLE = {"AWS_DEPLOY_ROLE_ARN": "arn"}
REFUSED = {
    # the inputs the check is given (besides REPOSITORY_URL) -> what it says
    **{
        f"digest {digest!r}": ({"STAGE": "dev", "DIGEST": digest, **ROLE}, "never by tag")
        for digest in ("latest", "sha256:abc", DIGEST.upper(), f"{DIGEST}\nsha256:{'0' * 64}", "")
    },
    "the placeholder digest": (
        {"STAGE": "dev", "DIGEST": contract.PLACEHOLDER_DIGEST, **ROLE},
        "placeholder",
    ),
    "an unknown stage": (
        {"STAGE": "staging", "DIGEST": DIGEST, **ROLE},
        "::error title=deploy-stage::unknown stage; the stages are: dev test prod",
    ),
    "a missing environment role": (
        {"STAGE": "dev", "DIGEST": DIGEST},
        "AWS_DEPLOY_ROLE_ARN of the GitHub environment 'dev' is not set",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_check_refuses(repo: Runner, case: str) -> None:
    inputs, said = REFUSED[case]
    code, log, _ = repo.run(
        repo.step("deploy-stage.yml", "deploy", "check"), REPOSITORY_URL="r", **inputs
    )
    assert code == 1
    assert said in log


@on("ecs5b")  # stages dev,qa-eu,staging,pre-prod,prod; manual qa-eu, prod
def test_branch_mode_takes_the_stage_role_variable(repo: Runner) -> None:
    step = repo.step("deploy-stage.yml", "deploy", "check")
    code, log, out = repo.run(
        step,
        STAGE="pre-prod",
        DIGEST=DIGEST,
        MANUAL="false",
        EVENT_NAME="push",
        REPOSITORY_URL="r",
        AWS_DEPLOY_ROLE_ARN_PRE_PROD="arn:pre-prod",
        AWS_DEPLOY_ROLE_ARN_PROD="arn:prod",
    )
    assert code == 0, log
    assert (out["role"], out["stack"]) == ("arn:pre-prod", "pre-prod")
    code, log, _ = repo.run(step, STAGE="qa-eu", DIGEST=DIGEST, MANUAL="false", REPOSITORY_URL="r")
    assert code == 1
    assert "the repository variable AWS_DEPLOY_ROLE_ARN_QA_EU is not set" in log


@pytest.mark.parametrize(
    ("case", "event", "code"),
    [
        ("ecs5b", "push", 1),
        ("ecs5b", "workflow_dispatch", 0),
        ("ecs5e", "push", 0),  # environment mode: GitHub's environment holds it for approval
    ],
)
def test_branch_mode_deploys_manual_stages_only_from_promote(
    rendered: dict[str, Path], tmp_path: Path, case: str, event: str, code: int
) -> None:
    runner = Runner(rendered[case], tmp_path)
    got, log, _ = runner.run(
        runner.step("deploy-stage.yml", "deploy", "check"),
        STAGE="prod",
        DIGEST=DIGEST,
        MANUAL="true",
        EVENT_NAME=event,
        REPOSITORY_URL="r",
        AWS_DEPLOY_ROLE_ARN="arn:prod",
        AWS_DEPLOY_ROLE_ARN_PROD="arn:prod",
    )
    assert got == code, log


# ------------------------------------------------------------------------------------ pulumi up


def test_up_deploys_the_digest_and_reports_the_previous_release(repo: Runner) -> None:
    image = f"{REPOSITORY_URL}@{DIGEST}"
    log_file = repo.pulumi(image=image, url="https://dev.example.com")
    step = repo.step("deploy-stage.yml", "deploy", "up")
    code, log, out = repo.run(step, STACK="dev", IMAGE=image, DIGEST=DIGEST)
    assert code == 0, log
    started = out.pop("started")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", started)  # the watch counts from it
    assert out == {"previous": image, "url": "https://dev.example.com", "image": image}
    made = calls(log_file)
    assert made[0] == ["stack", "select", "--create", "dev"]
    assert ["config", "set", "image", image, "--stack", "dev"] in made
    assert made.index(["config", "set", "image", image, "--stack", "dev"]) < next(
        i for i, call in enumerate(made) if call[0] == "up"
    )


def test_up_fails_when_the_stack_runs_another_digest(repo: Runner) -> None:
    repo.pulumi(image=f"{REPOSITORY_URL}@{OTHER}", url="https://dev.example.com")
    step = repo.step("deploy-stage.yml", "deploy", "up")
    code, log, _ = repo.run(step, STACK="dev", IMAGE=f"{REPOSITORY_URL}@{DIGEST}", DIGEST=DIGEST)
    assert code == 1
    assert "not the deployed digest" in log


# ---------------------------------------------------------------------------------- smoke test


def smoke(repo: Runner, **env: str) -> tuple[int, str, dict[str, str]]:
    step = repo.step("deploy-stage.yml", "deploy", "deploy-smoke-test.sh")
    fast = {"SMOKE_TIMEOUT_SECONDS": "1", "SMOKE_INTERVAL_SECONDS": "0.1", "DIGEST": DIGEST}
    return repo.run(step, **{**fast, **env})


def test_smoke_test_passes_when_the_new_release_answers(
    repo: Runner, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/health").respond_with_json(
        {"status": "ok", "release": f"repo@{DIGEST}"}
    )
    code, log, _ = smoke(repo, URL=httpserver.url_for("/"), STAGE="dev")
    assert code == 0, log
    assert "Deployed dev" in repo.summary()


def test_smoke_test_accepts_a_release_that_is_not_a_digest(
    repo: Runner, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/health").respond_with_json({"status": "ok", "release": "dev"})
    code, log, _ = smoke(repo, URL=httpserver.url_for(""))
    assert code == 0, log


def test_smoke_test_retries_until_the_service_answers(repo: Runner, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/health").respond_with_data("starting", status=503)
    httpserver.expect_ordered_request("/health").respond_with_json({"release": OTHER})
    httpserver.expect_ordered_request("/health").respond_with_json({"release": DIGEST})
    code, log, _ = smoke(repo, URL=httpserver.url_for("/"), SMOKE_TIMEOUT_SECONDS="5")
    assert code == 0, log
    assert "answered after 3 attempt(s)" in log


@pytest.mark.parametrize("answer", [(503, "down"), (200, json.dumps({"release": OTHER}))])
def test_smoke_test_fails_the_deploy(
    repo: Runner, httpserver: HTTPServer, answer: tuple[int, str]
) -> None:
    status, body = answer
    httpserver.expect_request("/health").respond_with_data(body, status=status)
    code, log, _ = smoke(repo, URL=httpserver.url_for("/"))
    assert code == 1
    assert "did not answer for the new release" in log


def test_smoke_test_fails_without_a_url(repo: Runner) -> None:
    code, log, _ = smoke(repo, URL="")
    assert code == 1
    assert "must be an http(s) URL" in log


# ------------------------------------------------------------------------------- build's plan


@pytest.mark.parametrize(
    ("event", "ref", "variables", "push"),
    [
        ("push", "refs/heads/main", True, "true"),
        ("pull_request", "refs/pull/7/merge", True, "false"),
        ("push", "refs/heads/feature", True, "false"),
        ("push", "refs/heads/main", False, "false"),
    ],
)
def test_build_pushes_from_main_only(
    repo: Runner, event: str, ref: str, variables: bool, push: str
) -> None:
    sha = "f" * 40
    code, log, out = repo.run(
        repo.step("build.yml", "build", "plan"),
        EVENT_NAME=event,
        REF=ref,
        SHA=sha,
        CI_ROLE_ARN="arn:ci" if variables else "",
        REPOSITORY_URL=REPOSITORY_URL if variables else "",
    )
    assert code == 0, log
    assert out == {
        "push": push,
        "tag": f"{REPOSITORY_URL}:{sha}" if push == "true" else f"ecs3e:{sha}",
    }
    assert ("Image not pushed" in log) is (ref == "refs/heads/main" and not variables)


def test_build_publishes_only_a_digest(repo: Runner) -> None:
    step = repo.step("build.yml", "build", "published")
    code, log, out = repo.run(step, DIGEST=DIGEST, TAG="r:t")
    assert (code, out) == (0, {"digest": DIGEST}), log
    code, log, _ = repo.run(step, DIGEST="", TAG="r:t")
    assert code == 1
    assert "the pushed image has no digest" in log


# ---------------------------------------------------------------------- teardown and promote


@pytest.mark.parametrize(
    ("confirm", "ref", "code"),
    [
        ("prod", "refs/heads/main", 0),
        ("Prod", "refs/heads/main", 1),
        ("", "refs/heads/main", 1),
        ("prod", "refs/heads/feature", 1),
    ],
)
@on("eks3e")
def test_teardown_needs_the_typed_stage_name(
    repo: Runner, confirm: str, ref: str, code: int
) -> None:
    step = repo.step("teardown.yml", "confirm", "teardown-confirm.sh")
    got, log, _ = repo.run(step, STAGE="prod", CONFIRM=confirm, REF=ref)
    assert got == code, log


@on("eks3e")
def test_teardown_destroys_all_but_the_foundation(repo: Runner) -> None:
    kept = [
        {
            "urn": "urn:pulumi:test::eks3e::pulumi:pulumi:Stack::eks3e-test",
            "type": "pulumi:pulumi:Stack",
        },
        {
            "urn": "urn:pulumi:test::eks3e::bootstrap:index:Stage$aws:iam/policy:Policy::eks3e-test-boundary",
            "type": "aws:iam/policy:Policy",
        },
    ]
    log_file = repo.pulumi(export={"deployment": {"resources": kept}})
    step = repo.step("teardown.yml", "destroy", "teardown-destroy.sh")
    code, log, _ = repo.run(step, STAGE="test", STACK="test")
    assert code == 0, log
    destroy, export = calls(log_file)
    assert destroy[:6] == ["destroy", "--yes", "--non-interactive", "--stack", "test", "--exclude"]
    excluded = destroy[6:-2:2]
    assert destroy[5:-2:2] == ["--exclude"] * len(excluded)
    assert excluded == contract.foundation_urns("eks3e", "test", network=True)
    assert destroy[-2] == "--message"
    assert export == ["stack", "export", "--stack", "test"]
    summary = repo.summary()
    assert "- `aws:iam/policy:Policy` eks3e-test-boundary" in summary
    assert "`bootstrap destroy --stage test`" in summary


@on("eks3e")
def test_teardown_summary_falls_back_to_the_patterns(repo: Runner) -> None:
    repo.pulumi()  # `stack export` fails
    step = repo.step("teardown.yml", "destroy", "teardown-destroy.sh")
    code, log, _ = repo.run(step, STAGE="dev", STACK="dev")
    assert code == 0, log
    for urn in contract.foundation_urns("eks3e", "dev", network=True):
        assert f"- `{urn}`" in repo.summary()


@on("eks3e")
def test_teardown_refuses_an_unknown_stage(repo: Runner) -> None:
    log_file = repo.pulumi()
    step = repo.step("teardown.yml", "destroy", "teardown-destroy.sh")
    code, log, _ = repo.run(step, STAGE="qa", STACK="qa")
    assert code == 1
    assert "unknown stage" in log
    assert calls(log_file) == []


@pytest.mark.parametrize(
    ("stage", "digest", "expected"),
    [
        ("dev", "", {"previous": "", "lookup": "ecr"}),
        ("staging", "", {"previous": "qa-eu", "lookup": "stack"}),
        ("prod", DIGEST, {"previous": "pre-prod", "lookup": "none"}),
    ],
)
@on("ecs5e")
def test_promote_finds_the_previous_stage(
    repo: Runner, stage: str, digest: str, expected: dict[str, str]
) -> None:
    step = repo.step("promote.yml", "resolve", "check")
    code, log, out = repo.run(step, STAGE=stage, DIGEST=digest, REF="refs/heads/main")
    assert code == 0, log
    assert out == expected


@on("ecs5e")
def test_promote_refuses_a_tag(repo: Runner) -> None:
    step = repo.step("promote.yml", "resolve", "check")
    code, log, _ = repo.run(step, STAGE="prod", DIGEST="v1.2", REF="refs/heads/main")
    assert code == 1
    assert "never by tag" in log


def test_promote_reads_the_previous_stages_output(repo: Runner) -> None:
    log_file = repo.pulumi(image=f"{REPOSITORY_URL}@{DIGEST}")
    step = repo.step("promote.yml", "resolve", "digest")
    code, log, out = repo.run(step, LOOKUP="stack", PREVIOUS="test")
    assert (code, out) == (0, {"digest": DIGEST}), log
    # Outputs only: no program, no passphrase, no write (COMMON decision 5).
    assert calls(log_file) == [["stack", "output", "image", "--stack", "test", "--cwd", "infra"]]


def test_promote_refuses_a_stage_never_deployed(repo: Runner) -> None:
    repo.pulumi(image=f"{REPOSITORY_URL}@{contract.PLACEHOLDER_DIGEST}")
    step = repo.step("promote.yml", "resolve", "digest")
    code, log, _ = repo.run(step, LOOKUP="stack", PREVIOUS="test")
    assert code == 1
    assert "test has not been deployed yet" in log


# -------------------------------------------------------------------------- the other scripts


@pytest.mark.parametrize(
    ("backend", "error"),
    [
        ("s3://acme-pulumi-state", None),
        ("https://api.pulumi.com", None),
        ("", "PULUMI_BACKEND_URL is not set"),
        ("file:///home/me/state", "Local state backend"),
    ],
)
def test_setup_pulumi_needs_a_shared_backend(repo: Runner, backend: str, error: str | None) -> None:
    action = repo.flows.docs["actions/setup-pulumi/action.yml"]
    step = next(s for s in rules.steps(action) if rules.script_name(s))
    code, log, _ = repo.run(step, BACKEND_URL=backend)
    assert code == (1 if error else 0), log
    assert error is None or error in log


@pytest.mark.parametrize(("role", "ready"), [("arn:preview", "true"), ("", "false")])
def test_preview_says_why_it_was_skipped(repo: Runner, role: str, ready: str) -> None:
    step = repo.step("preview.yml", "preview", "check")
    code, log, out = repo.run(step, PREVIEW_ROLE_ARN=role, BACKEND_URL="s3://b")
    assert code == 0, log
    assert out["ready"] == ready
    assert ("AWS_PREVIEW_ROLE_ARN" in out.get("report", "")) is (ready == "false")


def test_preview_check_tells_each_stages_region(repo: Runner) -> None:
    """A stage's own preview role is assumed in the stage's region: its stack file's aws:region
    (quoted or not), else the repository's region; nothing else reaches the output."""
    copy = repo.tmp / "repo"
    shutil.copytree(repo.repo / ".github", copy / ".github")
    (copy / "infra").mkdir()
    (copy / "infra/Pulumi.prod.yaml").write_text(
        'config:\n  shop:account: "222222222222"\n  aws:region: "us-east-1" # prod\n'
    )
    (copy / "infra/Pulumi.test.yaml").write_text("config:\n  aws:region: $(touch pwned)\n")
    repo.repo = copy
    step = repo.step("preview.yml", "preview", "check")
    code, log, out = repo.run(step, PREVIEW_ROLE_ARN="arn:preview", BACKEND_URL="s3://b",
                              HOME_REGION="eu-west-1")  # fmt: skip
    assert code == 0, log
    assert step["env"]["STAGES"] == "dev test prod"
    assert (out["region-dev"], out["region-test"], out["region-prod"]) == (
        "eu-west-1", "eu-west-1", "us-east-1"
    )
    assert not (copy / "pwned").exists()


def _preview_stand_in(repo: Runner, failing: str = "") -> Path:
    """The Pulumi stand-in; `pulumi preview` of the stack `failing` fails."""
    log = repo.pulumi()
    if failing:
        stand_in = repo.bin / "pulumi"
        stand_in.write_text(
            PULUMI_STAND_IN + f'case "$*" in *"preview"*"--stack {failing}"*) exit 1 ;; esac\n'
        )
    return log


def _previewed(log: Path) -> list[str]:
    return [c[c.index("--stack") + 1] for c in calls(log) if c[0] == "preview"]


def test_a_stage_with_its_own_preview_role_is_previewed_as_it_only(repo: Runner) -> None:
    """The shared role previews every stack but prod, whose own role's variable is set; prod's
    own step previews prod; the report names who previewed each stack."""
    log = _preview_stand_in(repo)
    own = {"AWS_PREVIEW_ROLE_ARN_PROD": "arn:aws:iam::222222222222:role/shop-prod-preview"}
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "preview"), **own)
    assert code == 0, output
    assert _previewed(log) == ["shared", "dev", "test"]
    assert "prod has its own preview role" in output
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "preview-prod"))
    assert code == 0, output
    assert _previewed(log) == ["shared", "dev", "test", "prod"]
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "report"))
    assert code == 0, output
    report = (repo.tmp / "preview.md").read_text()
    assert "| dev | ok | the shared preview role |" in report
    assert "| prod | ok | prod's own preview role |" in report
    assert report.index("| shared |") < report.index("| dev |") < report.index("| prod |")
    written = (repo.tmp / "output").read_text()  # the job's `report` output: one comment
    assert written.startswith("report<<REPORT_") and report in written
    assert report in repo.summary()


def test_without_its_own_role_a_stage_is_previewed_as_the_shared_one(repo: Runner) -> None:
    log = _preview_stand_in(repo)
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "preview"))
    assert code == 0, output
    assert _previewed(log) == ["shared", "dev", "test", "prod"]


def test_a_stage_in_its_own_account_without_its_role_says_what_to_set(repo: Runner) -> None:
    """Before its own role's variable is set, a stage in another account is previewed as the
    shared role, which fails there (the stage's account guard): the report names the variable."""
    copy = repo.tmp / "repo"
    shutil.copytree(repo.repo / ".github", copy / ".github")
    (copy / "infra").mkdir()
    (copy / "infra/Pulumi.prod.yaml").write_text(
        'config:\n  aws:region: us-east-1\n  ecs3e:account: "222222222222"\n'
    )
    repo.repo = copy
    _preview_stand_in(repo, failing="prod")
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "preview"))
    assert code == 0, output
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "report"))
    assert code == 1
    report = (repo.tmp / "preview.md").read_text()
    assert (
        "| prod | **failed** (prod lives in account 222222222222: set the repository variable "
        "AWS_PREVIEW_ROLE_ARN_PROD to its own preview role (bootstrap provision does)) | "
        "the shared preview role |"
    ) in report


def test_the_report_fails_for_a_failed_or_missing_preview(repo: Runner) -> None:
    """A failed preview does not stop the next roles' previews; the report fails naming it, and
    a stack no step previewed (its role's step failed before) is reported, not left out."""
    log = _preview_stand_in(repo, failing="dev")
    own = {"AWS_PREVIEW_ROLE_ARN_PROD": "arn:aws:iam::222222222222:role/shop-prod-preview"}
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "preview"), **own)
    assert code == 0, output
    assert _previewed(log) == ["shared", "dev", "test"]
    code, output, _ = repo.run(repo.step("preview.yml", "preview", "report"))
    assert code == 1
    assert "::error title=pulumi preview::failed for: dev prod" in output
    report = (repo.tmp / "preview.md").read_text()
    assert "| dev | **failed** | the shared preview role |" in report
    assert "| prod | **not previewed** (a step before it failed) | |" in report


# ------------------------------------------------------------------------ marking the release


@pytest.fixture
def ecr_server() -> Iterator[str]:
    """moto's server on a free loopback port: the deploy step runs in its own process."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_the_deploy_marks_the_release_with_the_registry_adapter(
    rendered: dict[str, Path], repo: Runner, ecr_server: str
) -> None:
    """The deploy job's last step, as the workflow runs it (infra/, the infra venv's python), tags
    the deployed image through infra/stacks/ecr.py: registry tagging exists once."""
    import boto3

    aws = {
        "AWS_ENDPOINT_URL": ecr_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    ecr = boto3.client("ecr", region_name="eu-west-1", **_client_options(aws))
    ecr.create_repository(repositoryName="ecs3e")
    sha = "1" * 40
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": "sha256:" + "2" * 64,
            },
            "layers": [],
        }
    )
    digest = ecr.put_image(repositoryName="ecs3e", imageManifest=manifest, imageTag=sha)["image"][
        "imageId"
    ]["imageDigest"]
    # A copy of the repo's .github and infra/stacks, with an infra venv whose python is this one.
    copy = repo.tmp / "repo"
    shutil.copytree(rendered["ecs3e"] / ".github", copy / ".github")
    shutil.copytree(rendered["ecs3e"] / "infra/stacks", copy / "infra/stacks")
    repo.repo = copy
    python = copy / "infra/venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    step = repo.step("deploy-stage.yml", "deploy", "Mark the release in the registry")
    code, log, _ = repo.run(
        step,
        STAGE="dev",
        DIGEST=digest,
        PREVIOUS="",
        REPOSITORY_URL="123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecs3e",
        **aws,
    )
    assert code == 0, log
    found = ecr.describe_images(repositoryName="ecs3e", imageIds=[{"imageDigest": digest}])
    assert contract.deployed_tag("dev", sha) in found["imageDetails"][0]["imageTags"]


def _client_options(aws: dict[str, str]) -> dict[str, str]:
    return {
        "endpoint_url": aws["AWS_ENDPOINT_URL"],
        "aws_access_key_id": aws["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"],
    }
