"""The shell of the generated workflows, run as GitHub runs it (bash -eo pipefail, env: from the
step, GITHUB_OUTPUT): the guards that refuse a bad digest, a manual stage outside promote, an
unconfirmed teardown, and the smoke test that fails a deploy whose service does not answer."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.workflows import rules

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def run_step(step: dict[str, Any], tmp_path: Path, **env: str) -> tuple[int, str, dict[str, str]]:
    """Run a step's script with its env: values replaced by `env` (unset expressions -> '')."""
    output = tmp_path / "output"
    output.write_text("")
    variables = {k: ("" if "${{" in str(v) else str(v)) for k, v in step.get("env", {}).items()}
    variables.update(env)
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        **variables,
    }
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, done.stdout + done.stderr, outputs


def deploy_step(rendered: dict[str, Path], case: str, step_id: str) -> dict[str, Any]:
    doc = rules.Workflows.load(rendered[case]).docs["deploy-stage.yml"]
    return next(s for s in doc["jobs"]["deploy"]["steps"] if s.get("id") == step_id)


def smoke_step(rendered: dict[str, Path]) -> dict[str, Any]:
    doc = rules.Workflows.load(rendered["ecs3e"]).docs["deploy-stage.yml"]
    return next(s for s in doc["jobs"]["deploy"]["steps"] if "/health" in (s.get("run") or ""))


# ------------------------------------------------------------------------ deploy-stage checks


def test_check_builds_the_digest_reference(rendered: dict[str, Path], tmp_path: Path) -> None:
    step = deploy_step(rendered, "ecs3e", "check")
    code, log, out = run_step(
        step,
        tmp_path,
        STAGE="prod",
        DIGEST=DIGEST,
        MANUAL="true",
        EVENT_NAME="push",
        REPOSITORY_URL="123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecs3e",
        AWS_DEPLOY_ROLE_ARN="arn:aws:iam::123456789012:role/prod-deploy",
    )
    assert code == 0, log
    assert out == {
        "role": "arn:aws:iam::123456789012:role/prod-deploy",
        "stack": "prod",
        "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecs3e@{DIGEST}",
    }


@pytest.mark.parametrize(
    "digest", ["latest", "sha256:abc", DIGEST.upper(), f"{DIGEST}\nsha256:{'0' * 64}", ""]
)
def test_check_refuses_anything_but_a_digest(
    rendered: dict[str, Path], tmp_path: Path, digest: str
) -> None:
    step = deploy_step(rendered, "ecs3e", "check")
    code, log, _ = run_step(
        step,
        tmp_path,
        STAGE="dev",
        DIGEST=digest,
        REPOSITORY_URL="r",
        AWS_DEPLOY_ROLE_ARN="arn",
    )
    assert code == 1
    assert "never by tag" in log


def test_check_refuses_an_unknown_stage(rendered: dict[str, Path], tmp_path: Path) -> None:
    step = deploy_step(rendered, "ecs3e", "check")
    code, log, _ = run_step(
        step, tmp_path, STAGE="staging", DIGEST=DIGEST, REPOSITORY_URL="r", AWS_DEPLOY_ROLE_ARN="a"
    )
    assert code == 1
    assert "unknown stage" in log


def test_check_names_a_missing_environment_role(rendered: dict[str, Path], tmp_path: Path) -> None:
    step = deploy_step(rendered, "ecs3e", "check")
    code, log, _ = run_step(step, tmp_path, STAGE="dev", DIGEST=DIGEST, REPOSITORY_URL="r")
    assert code == 1
    assert "AWS_DEPLOY_ROLE_ARN of the GitHub environment 'dev' is not set" in log


def test_branch_mode_takes_the_stage_role_variable(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    step = deploy_step(rendered, "ecs5b", "check")  # stages dev,qa-eu,...; manual qa-eu, prod
    code, log, out = run_step(
        step,
        tmp_path,
        STAGE="pre-prod",
        DIGEST=DIGEST,
        MANUAL="false",
        EVENT_NAME="push",
        REPOSITORY_URL="r",
        AWS_DEPLOY_ROLE_ARN_PRE_PROD="arn:pre-prod",
        AWS_DEPLOY_ROLE_ARN_PROD="arn:prod",
    )
    assert code == 0, log
    assert out["role"] == "arn:pre-prod"
    code, log, _ = run_step(
        step, tmp_path, STAGE="qa-eu", DIGEST=DIGEST, MANUAL="false", REPOSITORY_URL="r"
    )
    assert code == 1
    assert "AWS_DEPLOY_ROLE_ARN_QA_EU is not set" in log


@pytest.mark.parametrize(("event", "code"), [("push", 1), ("workflow_dispatch", 0)])
def test_branch_mode_deploys_manual_stages_only_from_promote(
    rendered: dict[str, Path], tmp_path: Path, event: str, code: int
) -> None:
    step = deploy_step(rendered, "ecs5b", "check")
    got, log, _ = run_step(
        step,
        tmp_path,
        STAGE="prod",
        DIGEST=DIGEST,
        MANUAL="true",
        EVENT_NAME=event,
        REPOSITORY_URL="r",
        AWS_DEPLOY_ROLE_ARN_PROD="arn:prod",
    )
    assert got == code, log


# ---------------------------------------------------------------------------------- smoke test


def fast(**env: str) -> dict[str, str]:
    return {"SMOKE_TIMEOUT_SECONDS": "1", "SMOKE_INTERVAL_SECONDS": "0.1", "DIGEST": DIGEST, **env}


def test_smoke_test_passes_when_the_new_release_answers(
    rendered: dict[str, Path], tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/health").respond_with_json(
        {"status": "ok", "release": f"repo@{DIGEST}"}
    )
    url = httpserver.url_for("/")
    code, log, _ = run_step(smoke_step(rendered), tmp_path, **fast(URL=url, STAGE="dev"))
    assert code == 0, log
    assert "Deployed dev" in (tmp_path / "summary").read_text()


def test_smoke_test_accepts_a_release_that_is_not_a_digest(
    rendered: dict[str, Path], tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/health").respond_with_json({"status": "ok", "release": "dev"})
    code, log, _ = run_step(smoke_step(rendered), tmp_path, **fast(URL=httpserver.url_for("")))
    assert code == 0, log


def test_smoke_test_retries_until_the_service_answers(
    rendered: dict[str, Path], tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/health").respond_with_data("starting", status=503)
    httpserver.expect_ordered_request("/health").respond_with_json({"release": OTHER})
    httpserver.expect_ordered_request("/health").respond_with_json({"release": DIGEST})
    code, log, _ = run_step(
        smoke_step(rendered),
        tmp_path,
        **fast(URL=httpserver.url_for("/"), SMOKE_TIMEOUT_SECONDS="5"),
    )
    assert code == 0, log
    assert "answered after 3 attempt(s)" in log


@pytest.mark.parametrize("answer", [(503, "down"), (200, json.dumps({"release": OTHER}))])
def test_smoke_test_fails_the_deploy(
    rendered: dict[str, Path], tmp_path: Path, httpserver: HTTPServer, answer: tuple[int, str]
) -> None:
    status, body = answer
    httpserver.expect_request("/health").respond_with_data(body, status=status)
    code, log, _ = run_step(smoke_step(rendered), tmp_path, **fast(URL=httpserver.url_for("/")))
    assert code == 1
    assert "did not answer for the new release" in log


def test_smoke_test_fails_without_a_url(rendered: dict[str, Path], tmp_path: Path) -> None:
    code, log, _ = run_step(smoke_step(rendered), tmp_path, **fast(URL=""))
    assert code == 1
    assert "must be an http(s) URL" in log


# ---------------------------------------------------------------------- teardown and promote


def teardown_check(rendered: dict[str, Path]) -> dict[str, Any]:
    doc = rules.Workflows.load(rendered["eks3e"]).docs["teardown.yml"]
    return doc["jobs"]["confirm"]["steps"][0]


@pytest.mark.parametrize(
    ("confirm", "ref", "code"),
    [
        ("prod", "refs/heads/main", 0),
        ("Prod", "refs/heads/main", 1),
        ("", "refs/heads/main", 1),
        ("prod", "refs/heads/feature", 1),
    ],
)
def test_teardown_needs_the_typed_stage_name(
    rendered: dict[str, Path], tmp_path: Path, confirm: str, ref: str, code: int
) -> None:
    got, log, _ = run_step(
        teardown_check(rendered), tmp_path, STAGE="prod", CONFIRM=confirm, REF=ref
    )
    assert got == code, log


@pytest.mark.parametrize(
    ("stage", "digest", "expected"),
    [
        ("dev", "", {"previous": "", "lookup": "ecr"}),
        ("staging", "", {"previous": "qa-eu", "lookup": "stack"}),
        ("prod", DIGEST, {"previous": "pre-prod", "lookup": "none"}),
    ],
)
def test_promote_finds_the_previous_stage(
    rendered: dict[str, Path], tmp_path: Path, stage: str, digest: str, expected: dict[str, str]
) -> None:
    doc = rules.Workflows.load(rendered["ecs5e"]).docs["promote.yml"]
    step = next(s for s in doc["jobs"]["resolve"]["steps"] if s.get("id") == "check")
    code, log, out = run_step(step, tmp_path, STAGE=stage, DIGEST=digest, REF="refs/heads/main")
    assert code == 0, log
    assert out == expected


def test_promote_refuses_a_tag(rendered: dict[str, Path], tmp_path: Path) -> None:
    doc = rules.Workflows.load(rendered["ecs5e"]).docs["promote.yml"]
    step = next(s for s in doc["jobs"]["resolve"]["steps"] if s.get("id") == "check")
    code, log, _ = run_step(step, tmp_path, STAGE="prod", DIGEST="v1.2", REF="refs/heads/main")
    assert code == 1
    assert "never by tag" in log
