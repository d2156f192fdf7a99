"""The deploy job's records, gates and acceptance decision, run as the workflow runs them (the
step's own `run:` line, in infra/ with the infra venv's python) against the local GitHub: the
records a deploy writes, a promotion refused and then allowed by them, the changes it brings."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from stacks import records as rec
from stacks.github_api import UrllibTransport
from tests.fakes.github_server import FakeGitHub
from tests.stacks.records_world import make_commits
from tests.templates.workflows.test_scripts import Runner

DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "acme/ecs3e"
DEPLOY = ("deploy-stage.yml", "deploy")


@pytest.fixture
def deploy(rendered: dict[str, Path], tmp_path: Path, github_server: FakeGitHub) -> Runner:
    """The 3-stage repo (prod manual) copied with an infra venv whose python is this one, and a
    GitHub repository holding four commits."""
    copy = tmp_path / "repo"
    for part in (".github", "infra", "acceptance", ".copier-answers.yml"):
        source = rendered["ecs3e"] / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / part)
    python = copy / "infra/venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    token = github_server.add_user("octo")
    github_server.add_org("acme", members=("octo",), plan="team")
    work = tmp_path / "work"
    work.mkdir()
    commits = make_commits(work, 4)
    github_server.add_repo("acme", "ecs3e", push_from=work)
    (tmp_path / "runner").mkdir()
    runner = Runner(copy, tmp_path / "runner")
    runner.env = {
        "GITHUB_TOKEN": token, "GITHUB_API_URL": github_server.api_url,
        "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_SERVER_URL": "https://github.example",
        "COMMITS": " ".join(commits),
    }  # fmt: skip
    return runner


def run(runner: Runner, which: str, **env: str) -> tuple[int, str, dict[str, str]]:
    """The step with its env: (the token as `${{ github.token }}` gives it)."""
    return runner.run(runner.step(*DEPLOY, which), GITHUB_TOKEN=runner.env["GITHUB_TOKEN"], **env)


def records(runner: Runner) -> rec.Records:
    return rec.Records(UrllibTransport(runner.env["GITHUB_TOKEN"], runner.env["GITHUB_API_URL"]),
                       REPOSITORY)  # fmt: skip


def deploy_dev(runner: Runner, sha: str, *, verdict: dict[str, object] | None) -> str:
    code, log, out = run(runner, "record", STAGE="dev", DIGEST=DIGEST, GIT_SHA=sha, REASON="")
    assert code == 0, log
    ident = out["id"]
    for which, verdict_name in (("Record the deploy's outcome", "deployed"),
                                ("Record the smoke test", "smoke-passed")):  # fmt: skip
        code, log, _ = run(runner, which, ID=ident, VERDICT=verdict_name, URL="https://dev.x")
        assert code == 0, log
    results = runner.repo / "acceptance/results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "verdict.json").unlink(missing_ok=True)
    if verdict is not None:
        (results / "verdict.json").write_text(json.dumps(verdict))
    run(runner, "Record the acceptance verdict", ID=ident, RAN="true",
        VERDICT_FILE="../acceptance/results/verdict.json")  # fmt: skip
    return ident


PASSED = {"passed": True, "complete": True, "parts": {"behaviour": {"tests": 5, "failed": 0}}}


def test_a_deploy_records_its_verdicts_and_the_next_stage_s_gates_read_them(
    deploy: Runner,
) -> None:
    first, _, _, last = deploy.env["COMMITS"].split()
    deploy_dev(deploy, first, verdict=None)  # the suite wrote no verdict
    (record,) = records(deploy).history("dev")
    assert record.verdicts == ["acceptance-failed", "smoke-passed", "deployed", "deploying"]
    assert record.run_url == "https://github.example/acme/ecs3e/actions/runs/42"
    code, log, _ = run(deploy, "Promotion gates and the changes", STAGE="test", DIGEST=DIGEST,
                       GIT_SHA=last, FORCE="false", REASON="")  # fmt: skip
    assert code == 1
    assert (f"::error title=gate verification::verification: {rec.short(DIGEST)} failed "
            "verification in dev (the suite wrote no verdict") in log  # fmt: skip
    # forced with a reason: it goes, and the summary lists what it brings
    code, log, _ = run(deploy, "Promotion gates and the changes", STAGE="test", DIGEST=DIGEST,
                       GIT_SHA=last, FORCE="true", REASON="INC-7 hotfix")  # fmt: skip
    assert code == 0, log
    assert "test runs no recorded release yet" in deploy.summary()
    # a passing suite on a new deploy of the digest opens the gate
    deploy_dev(deploy, first, verdict=PASSED)
    code, log, _ = run(deploy, "Promotion gates and the changes", STAGE="test", DIGEST=DIGEST,
                       GIT_SHA=last, FORCE="false", REASON="")  # fmt: skip
    assert code == 0, log
    assert "verification: ok" in log and "soak: ok: ran 0 min in dev (soakMinutes 0)" in log


def test_the_first_stage_has_no_gate_but_holds_and_records_the_reason(deploy: Runner) -> None:
    first = deploy.env["COMMITS"].split()[0]
    code, log, _ = run(deploy, "Promotion gates and the changes", STAGE="dev", DIGEST=DIGEST,
                       GIT_SHA=first, FORCE="false", REASON="")  # fmt: skip
    assert code == 0 and "hold: ok" in log and "verification" not in log
    code, log, out = run(deploy, "record", STAGE="dev", DIGEST=DIGEST, GIT_SHA=first,
                         REASON="freeze override: release day")  # fmt: skip
    assert code == 0, log
    (record,) = records(deploy).history("dev")
    assert record.reason == "freeze override: release day" and str(record.id) == out["id"]


def test_the_acceptance_suite_runs_only_where_acceptance_run_asks(deploy: Runner) -> None:
    code, log, out = deploy.run(deploy.step(*DEPLOY, "acceptance"), STAGE="prod", URL="https://x")
    assert (code, out) == (0, {"ran": "false"}), log
    assert "does not run after deploying prod (acceptanceRun: auto)" in log
    stage_file = deploy.repo / "infra/Pulumi.dev.yaml"
    stage_file.write_text(stage_file.read_text() + "  ecs3e:acceptanceRun: sometimes\n")
    code, log, _ = deploy.run(deploy.step(*DEPLOY, "acceptance"), STAGE="dev", URL="https://x")
    assert code == 1 and "acceptance settings are not valid (infra/Pulumi.dev.yaml)" in log
