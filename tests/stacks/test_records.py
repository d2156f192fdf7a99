"""Deployment records (stacks/records.py) against the local GitHub, through the stdlib transport
the workflows use; every exchange is checked against GitHub's REST description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks import records as rec
from stacks.github_api import GitHubError, UrllibTransport
from tests.stacks.records_world import REPOSITORY, RecordsWorld, digest, records_world

__all__ = ["records_world"]


def deploy(world: RecordsWorld, stage: str, n: int, *verdicts: str, reason: str = "") -> rec.Record:
    record = world.records.start(stage, digest(n), world.commits[n % len(world.commits)],
                                 run_url="https://example.test/run/1", reason=reason)  # fmt: skip
    for verdict in verdicts:
        world.tick(1)
        world.records.add(record.id, verdict, f"{verdict} summary")
    return record


def test_a_deploy_is_a_deployment_of_the_commit_with_the_digest_and_its_verdicts(
    records_world: RecordsWorld,
) -> None:
    world = records_world
    record = deploy(world, "dev", 1, rec.DEPLOYED, rec.SMOKE_PASSED, reason="hotfix")
    world.records.add(record.id, rec.ACCEPTANCE_PASSED, "41 tests, 0 failed; p95 14 ms")
    raw = world.server.repo(REPOSITORY).deployments[0]
    assert raw["environment"] == "dev" and raw["task"] == rec.RECORD_TASK
    assert raw["sha"] == world.commits[1]
    assert raw["payload"]["digest"] == digest(1) and raw["payload"]["reason"] == "hotfix"
    (found,) = world.records.history("dev")
    assert found.verdicts == [rec.ACCEPTANCE_PASSED, rec.SMOKE_PASSED, rec.DEPLOYED, rec.DEPLOYING]
    assert found.latest(rec.ACCEPTANCE_PASSED).summary == "41 tests, 0 failed; p95 14 ms"
    assert found.reason == "hotfix" and found.run_url == "https://example.test/run/1"
    assert found.verified and found.running
    states = [s["state"] for s in world.server.repo(REPOSITORY).statuses[record.id]]
    assert states == ["success", "success", "success", "in_progress"]
    assert world.problems() == []


def test_the_stage_runs_the_newest_deploy_not_failed_or_rolled_back(
    records_world: RecordsWorld,
) -> None:
    world = records_world
    deploy(world, "dev", 1, rec.DEPLOYED)
    assert world.records.running("dev").digest == digest(1)
    failed = deploy(world, "dev", 2, rec.DEPLOY_FAILED)
    assert world.records.running("dev").digest == digest(1)
    rolled = deploy(world, "dev", 3, rec.DEPLOYED)
    assert world.records.running("dev").digest == digest(3)
    world.records.add(rolled.id, rec.ROLLED_BACK, "5xx alarm")
    assert world.records.running("dev").digest == digest(1)
    assert world.records.running("test") is None
    assert failed.id in [r.id for r in world.records.history("dev")]


@pytest.mark.parametrize(
    ("verdicts", "verified"),
    [
        ((rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED), True),
        ((rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_FAILED), False),
        ((rec.DEPLOYED, rec.SMOKE_PASSED), False),  # the suite has not said yet
        ((rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_SKIPPED), True),  # not run there
        ((rec.DEPLOYED, rec.SMOKE_FAILED, rec.ACCEPTANCE_SKIPPED), False),
        ((rec.DEPLOYED, rec.SMOKE_PASSED, rec.ACCEPTANCE_PASSED, rec.ROLLED_BACK), False),
    ],
)
def test_verification_is_the_newest_verdict_on_the_digest(
    records_world: RecordsWorld, verdicts: tuple[str, ...], verified: bool
) -> None:
    deploy(records_world, "dev", 1, *verdicts)
    assert (records_world.records.verified("dev", digest(1)) is not None) is verified
    assert records_world.records.verified("dev", digest(2)) is None


def test_a_hold_stands_until_released_and_needs_a_reason(records_world: RecordsWorld) -> None:
    world = records_world
    deploy(world, "prod", 1, rec.DEPLOYED)
    assert world.records.held("prod", digest(1)) is None
    world.records.hold("prod", digest(1), "p95 alarm during the watch")
    assert world.records.held("prod", digest(1)).summary == "p95 alarm during the watch"
    world.tick(5)
    world.records.release("prod", digest(1), "false alarm: load test")
    assert world.records.held("prod", digest(1)) is None
    with pytest.raises(ValueError, match="needs a reason"):
        world.records.hold("prod", digest(1), " ")
    with pytest.raises(ValueError, match="no deployment record"):
        world.records.hold("prod", digest(9), "never deployed here")
    world.records.hold("test", digest(9), "held before it arrives", git_sha=world.commits[0])
    assert world.records.held("test", digest(9)) is not None
    # a release writes no auto-inactivation: the stage still runs what it ran
    assert world.records.running("prod").digest == digest(1)
    assert world.problems() == []


def test_deployments_actions_made_for_jobs_are_not_records(records_world: RecordsWorld) -> None:
    world = records_world
    world.server.add_deployment(REPOSITORY, environment="dev", sha=world.commits[0],
                                statuses=("in_progress", "success"))  # fmt: skip
    assert world.records.history("dev") == []


def test_descriptions_stay_within_github_s_140_characters() -> None:
    text = rec.describe(rec.ACCEPTANCE_FAILED, "x" * 300)
    assert len(text) == rec.DESCRIPTION_LIMIT and text.startswith("acceptance-failed: x")
    assert rec.Status.from_api({"description": text, "state": "failure"}).verdict == (
        rec.ACCEPTANCE_FAILED)  # fmt: skip
    assert rec.Status.from_api({"description": "Deployed by Actions"}).verdict is None


@pytest.mark.parametrize(
    ("document", "verdict", "expected"),
    [
        ({"passed": True, "complete": True, "parts": {
            "behaviour": {"tests": 5, "failed": 0},
            "performance": {"tests": 3, "failed": 0, "figures": {"p95_ms": 14, "rps": 212.5}}}},
         rec.ACCEPTANCE_PASSED, "8 tests, 0 failed; p95 14 ms; 212.5 req/s"),
        ({"passed": False, "complete": True, "parts": {"contract": {"tests": 4, "failed": 1,
            "failures": [{"test": "test_schema", "message": "GET /items/{id}: 500"}]}}},
         rec.ACCEPTANCE_FAILED, "4 tests, 1 failed; test_schema: GET /items/{id}: 500"),
        ({"passed": True, "complete": False, "parts": {"behaviour": {"tests": 5, "failed": 0}}},
         rec.ACCEPTANCE_FAILED, "5 tests, 0 failed; not every part ran"),
        ({"error": "https://x is not the service (no /health)"},
         rec.ACCEPTANCE_FAILED, "https://x is not the service (no /health)"),
    ],
)
def test_the_suite_s_verdict_becomes_a_status(
    document: dict[str, object], verdict: str, expected: str
) -> None:
    assert rec.acceptance_verdict(document) == (verdict, expected)


def test_the_command_line_records_a_deploy_as_the_workflow_does(
    records_world: RecordsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    world = records_world
    transport = world.records.transport
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")

    def run(*argv: str) -> tuple[int, str, str]:
        code = rec.main(list(argv), transport=transport)
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    code, out, _ = run("start", "--stage", "dev", "--digest", digest(1), "--sha", world.commits[1])
    assert code == 0 and out.isdigit()
    ident = out
    assert run("add", "--id", ident, "--verdict", "deployed", "--url", "https://dev.example")[0] == 0
    verdict = tmp_path / "verdict.json"
    verdict.write_text(json.dumps({"passed": False, "complete": True, "parts": {
        "behaviour": {"tests": 5, "failed": 1, "failures": [
            {"test": "test_not_found", "message": "GET /items/999 answered 200, expected 404"}]}}}))
    code, out, _ = run("acceptance", "--id", ident, "--verdict-file", str(verdict))
    assert (code, out) == (1, "acceptance-failed: 5 tests, 1 failed; test_not_found: "
                              "GET /items/999 answered 200, expected 404")  # fmt: skip
    assert run("verified", "--stage", "dev", "--digest", digest(1))[:2] == (
        1, f"{rec.short(digest(1))} has no passed verification in dev")  # fmt: skip
    assert run("running", "--stage", "dev")[:2] == (0, digest(1))
    (record,) = world.records.history("dev")
    assert record.run_url == "https://github.example/acme/shop/actions/runs/77"
    status = world.server.repo(REPOSITORY).statuses[record.id][0]
    assert status["log_url"] == "https://github.example/acme/shop/actions/runs/77"
    # bad input: one line, exit 2
    code, _, err = run("start", "--stage", "dev", "--digest", "latest", "--sha", world.commits[1])
    assert code == 2 and err == "error: 'latest' is not an image digest (sha256:<64 hex digits>)"
    code, _, err = run("add", "--id", "999999", "--verdict", "deployed")
    assert code == 1 and err.startswith("error: recording in GitHub failed: GitHub answered 404")
    assert world.problems() == []


def test_the_stdlib_transport_names_what_went_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GitHubError, match="GITHUB_TOKEN is not set"):
        UrllibTransport.from_env()
    transport = UrllibTransport("t", "http://127.0.0.1:9", timeout=2)
    with pytest.raises(GitHubError, match="cannot reach http://127.0.0.1:9"):
        transport("GET", "/repos/acme/shop")
