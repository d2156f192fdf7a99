"""`collect`: the grid from stack outputs (recorded), GitHub (the local server), ECR (moto) and
/health (local servers); the human grid checked by snapshots, the JSON by parsing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bootstrap.errors import CredentialsError, UserError
from bootstrap.spec import Spec
from bootstrap.status import Health, check_all, check_health, collect, render_text, watch
from stacks.ecr import ImageInfo
from tests.bootstrap.status.conftest import (
    REGION,
    Ecr,
    GitHub,
    ReleaseOps,
    Service,
    closed_port_url,
    digest,
    fixed_health,
    image,
    sha,
    sources,
)
from tests.conftest import make_spec

URLS = {s: f"https://shop-{s}.example.com" for s in ("dev", "test", "prod")}


@pytest.fixture
def fixed(spec: Spec) -> ReleaseOps:
    return ReleaseOps(spec, URLS).deploy("shared")  # type: ignore[return-value]


def as_json(report: Any) -> dict[str, Any]:
    return json.loads(json.dumps(report.to_dict()))


# --- stack outputs only ---------------------------------------------------------------------------


def test_empty_project(spec: Spec, snapshot: Any) -> None:
    report = collect(spec, sources(ReleaseOps(spec)))
    data = as_json(report)
    assert [s["stage"] for s in data["stages"]] == ["dev", "test", "prod"]
    assert all(not s["deployed"] and s["release"] is None for s in data["stages"])
    assert all(s["behind"] is None for s in data["stages"])
    assert data["sources"]["stacks"] == "read"
    assert render_text(report) == snapshot


def test_partially_deployed(spec: Spec, fixed: ReleaseOps, snapshot: Any) -> None:
    fixed.run("dev", 1)
    report = collect(spec, sources(fixed))
    dev, test, prod = report.stages
    assert dev.current is not None and dev.current.digest == digest(1)
    assert dev.current.image == image(1) and dev.health is not None and dev.health.ok
    assert (test.deployed, test.current, test.behind) == (False, None, "dev")
    assert prod.behind is None  # the stage before it has no release either
    assert render_text(report) == snapshot


def test_all_stages_equal(spec: Spec, fixed: ReleaseOps, snapshot: Any) -> None:
    for stage in ("dev", "test", "prod"):
        fixed.run(stage, 2, previous=1)
    report = collect(spec, sources(fixed))
    assert [s.behind for s in report.stages] == [None, None, None]
    assert {s.current.digest for s in report.stages if s.current} == {digest(2)}
    assert all(s.previous and s.previous.digest == digest(1) for s in report.stages)
    assert all(s.previous and s.previous.source == "stack" for s in report.stages)
    assert render_text(report) == snapshot


def test_a_stage_behind(spec: Spec, fixed: ReleaseOps, snapshot: Any) -> None:
    fixed.run("dev", 3, previous=2).run("test", 2, previous=1).run("prod", 2)
    report = collect(spec, sources(fixed))
    assert [s.behind for s in report.stages] == [None, "dev", None]
    assert as_json(report)["stages"][1]["behind"] == "dev"
    assert render_text(report) == snapshot


def test_deployed_without_an_image_yet(spec: Spec, fixed: ReleaseOps) -> None:
    fixed.deploy("dev")  # the stack exists, `image` is empty (no build yet)
    dev = collect(spec, sources(fixed)).stage("dev")
    assert dev.deployed and dev.current is None
    assert "no image deployed yet" in " ".join(dev.notes)
    assert "no release yet" in render_text(collect(spec, sources(fixed)))


def test_placeholder_digest_is_no_release(spec: Spec, fixed: ReleaseOps) -> None:
    fixed.run("dev", 1)
    fixed.stacks["dev"].outputs["image"] = f"{image(1).split('@')[0]}@sha256:{'0' * 64}"
    assert collect(spec, sources(fixed)).stage("dev").current is None


def test_a_stage_the_teardown_workflow_left_is_torn_down(spec: Spec, fixed: ReleaseOps) -> None:
    """Its stack keeps its last outputs (the stack resource is never destroyed), but its state
    holds only the foundation: nothing runs, the last release is its previous one, and its URL
    (gone with the load balancer) is not checked."""
    checked: list[str] = []

    def health(urls: dict[str, str]) -> dict[str, Health]:
        checked.extend(urls)
        return {stage: Health(url, True, 200, "200") for stage, url in urls.items()}

    fixed.run("dev", 3, previous=2).run("test", 3).tear_down("test")
    report = collect(spec, sources(fixed, health=health))
    dev, test, _ = report.stages
    assert dev.current is not None and not dev.torn_down
    assert test.torn_down and test.current is None and test.url is None and test.health is None
    assert test.previous is not None and test.previous.digest == digest(3)
    assert checked == ["dev"]
    assert test.behind == "dev"
    data = as_json(report)["stages"][1]
    assert data["torn_down"] is True and data["release"] is None
    text = render_text(report)
    assert "torn down" in text and "workload torn down (teardown workflow)" in text
    # promotion takes nothing from it: it is named as torn down, not as never deployed
    from bootstrap.release import Refused, plan_promotion

    with pytest.raises(Refused, match="'test' was torn down"):
        plan_promotion(spec, report, "prod", force=False, verify="health")


# --- health -------------------------------------------------------------------------------------


def test_health_of_real_servers(spec: Spec, ops: ReleaseOps, service: Service) -> None:
    ops.urls = {
        "dev": service.stage("dev", 200, release=digest(1)),
        "test": service.stage("test", 500),
        "prod": closed_port_url(),
    }
    ops.run("dev", 1).run("test", 1).run("prod", 1)
    report = collect(spec, sources(ops, health=check_all))
    dev, test, prod = (s.health for s in report.stages)
    assert dev is not None and (dev.ok, dev.status, dev.release) == (True, 200, digest(1))
    assert test is not None and (test.ok, test.status, test.summary) == (
        False,
        500,
        "failing (HTTP 500)",
    )
    assert prod is not None and (prod.ok, prod.detail) == (False, "connection refused")
    data = as_json(report)["stages"]
    assert [s["health"]["ok"] for s in data] == [True, False, False]
    assert data[1]["health"]["url"].endswith("/test/health")


def test_health_checks_are_concurrent_and_short(service: Service) -> None:
    urls = {s: service.stage(s, 200, delay=3.0) for s in ("a", "b", "c")}
    started = time.monotonic()
    results = check_all(urls, timeout=0.5)
    assert time.monotonic() - started < 2.5  # one deadline: timeout + 1 s, not 3 x 3 s
    assert {h.detail for h in results.values()} == {"timed out"}


def test_health_without_http_url() -> None:
    assert check_health("ftp://example.com").detail == "not an http(s) URL"


def test_health_naming_another_release_is_noted(spec: Spec, fixed: ReleaseOps) -> None:
    fixed.run("dev", 2)
    report = collect(spec, sources(fixed, health=fixed_health({"dev": (200, digest(1))})))
    assert "/health answers for sha256:111111111111" in report.stage("dev").notes


def test_unhealthy_stage_snapshot(spec: Spec, fixed: ReleaseOps, snapshot: Any) -> None:
    fixed.run("dev", 2, previous=1).run("test", 2, previous=1)
    health = fixed_health({"dev": (200, digest(2)), "test": (500, None)})
    assert render_text(collect(spec, sources(fixed, health=health))) == snapshot


# --- GitHub -------------------------------------------------------------------------------------


def history(github: GitHub) -> None:
    """1 then 2 then 3 built and deployed to dev; 1 and then 2 promoted to test (the promotion
    of 2 dispatched when main was at 3); a run waits for prod's approval."""
    github.deployed("dev", 1, at="2024-05-01T08:00:00Z")
    github.deployed("test", 1, at="2024-05-01T08:30:00Z")
    github.deployed("dev", 2, at="2024-05-01T09:00:00Z")
    github.promoted("test", 2, at="2024-05-01T09:30:00Z", head=3)
    github.deployed("dev", 3, at="2024-05-01T10:00:00Z", creator="octo")
    github.server.add_waiting_run(
        github.repo,
        environments=["prod"],
        head_sha=sha(3),
        display_title=f"promote prod {digest(2)}",
        actor={"login": "octo", "id": 1},
        created_at="2024-05-01T11:00:00Z",
        id=4242,
    )


def test_github_history_and_pending_approval(
    spec: Spec, fixed: ReleaseOps, github: GitHub, ecr: Ecr, snapshot: Any
) -> None:
    for n in (1, 2, 3):
        ecr.push(n)
    fixed.run("dev", 3).run("test", 2)
    history(github)
    report = collect(spec, sources(fixed, github=github, ecr=ecr))
    dev, test, prod = report.stages

    assert dev.current is not None and dev.previous is not None
    assert (dev.current.git_sha, dev.current.deployed_by) == (sha(3), "octo")
    assert dev.current.deployed_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert dev.current.smoke_test == "success" and dev.current.in_registry
    assert dev.current.pushed_at is not None
    assert (dev.previous.digest, dev.previous.source) == (digest(2), "github")
    # test's current deployment ran on main at commit 3, but its run names digest 2
    assert test.current is not None and test.previous is not None
    assert test.current.deployed_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert test.current.git_sha == sha(2)
    assert test.previous.digest == digest(1)
    assert prod.waiting is not None and prod.waiting.actor == "octo"
    assert prod.current is None and prod.behind == "test"

    data = as_json(report)
    assert data["github"] == "acme/shop" and data["registry"] == "shop"
    assert data["stages"][2]["waiting_for_approval"]["run_id"] == prod.waiting.run_id
    assert data["stages"][0]["release"]["deployed_at"] == "2024-05-01T10:00:00Z"
    assert prod.waiting.run_id == 4242
    assert render_text(report) == snapshot


def test_deployment_waiting_without_a_visible_run(
    spec: Spec, fixed: ReleaseOps, github: GitHub
) -> None:
    github.server.seed_deployment(
        github.repo, environment="prod", sha=sha(2), states=("waiting",), creator="octo",
        at="2024-05-01T11:00:00Z",
    )  # fmt: skip
    fixed.run("test", 2)
    report = collect(spec, sources(fixed, github=github))
    prod = report.stage("prod")
    assert prod.waiting is not None and (prod.waiting.run_id, prod.waiting.actor) == (None, "octo")
    assert prod.last_deployment is None
    assert "waiting for approval (a deployment by octo)" in render_text(report)


def test_dispatched_run_without_a_digest_is_not_guessed(
    spec: Spec, fixed: ReleaseOps, github: GitHub, ecr: Ecr
) -> None:
    for n in (1, 2):
        ecr.push(n)
    run = github.server.add_workflow_run(
        github.repo, display_title="promote test (the previous stage's image)",
        event="workflow_dispatch", head_sha=sha(2),
    )  # fmt: skip
    github.server.seed_deployment(
        github.repo, environment="test", sha=sha(2), at="2024-05-01T09:00:00Z", run_id=run["id"]
    )
    fixed.run("test", 1)
    test = collect(spec, sources(fixed, github=github, ecr=ecr)).stage("test")
    assert test.deployments[0].digest is None  # not the image of the commit it ran on
    assert test.current is not None and test.current.smoke_test is None
    assert test.previous is None


def test_digest_written_in_a_status_wins(spec: Spec, fixed: ReleaseOps, github: GitHub) -> None:
    github.server.seed_deployment(
        github.repo, environment="dev", sha=sha(9), at="2024-05-01T09:00:00Z",
        status_description=f"deployed {image(4)}",
    )  # fmt: skip
    fixed.run("dev", 4)
    dev = collect(spec, sources(fixed, github=github)).stage("dev")
    assert dev.deployments[0].digest_source == "status"
    assert dev.current is not None and dev.current.smoke_test == "success"


def test_failed_last_deployment(spec: Spec, fixed: ReleaseOps, github: GitHub, ecr: Ecr) -> None:
    for n in (1, 2):
        ecr.push(n)
    github.deployed("dev", 1, at="2024-05-01T08:00:00Z")
    github.deployed("dev", 2, at="2024-05-01T09:00:00Z", ok=False)
    fixed.run("dev", 2)  # the stack was updated, the smoke test failed
    dev = collect(spec, sources(fixed, github=github, ecr=ecr)).stage("dev")
    assert dev.current is not None and dev.current.smoke_test == "failure"
    assert dev.last_deployment is None  # the newest deployment is the current release's
    assert dev.previous is not None and dev.previous.digest == digest(1)


def test_failed_deployment_that_did_not_change_the_stack(
    spec: Spec, fixed: ReleaseOps, github: GitHub, ecr: Ecr, snapshot: Any
) -> None:
    for n in (1, 2):
        ecr.push(n)
    github.deployed("dev", 1, at="2024-05-01T08:00:00Z")
    github.deployed("dev", 2, at="2024-05-01T09:00:00Z", ok=False)
    fixed.run("dev", 1)
    report = collect(spec, sources(fixed, github=github, ecr=ecr))
    dev = report.stage("dev")
    assert dev.last_deployment == "failure"
    assert dev.current is not None and dev.current.smoke_test == "success"
    assert render_text(report) == snapshot


def test_stacks_unavailable_uses_github(spec: Spec, github: GitHub, ecr: Ecr) -> None:
    for n in (1, 2):
        ecr.push(n)
    github.deployed("dev", 1, at="2024-05-01T08:00:00Z")
    github.deployed("dev", 2, at="2024-05-01T09:00:00Z", environment_url=URLS["dev"])
    src = sources(None, github=github, ecr=ecr)
    src.why_no_stacks = "the Pulumi CLI is not installed"
    report = collect(spec, src)
    dev = report.stage("dev")
    assert dev.current is not None and (dev.current.digest, dev.current.source) == (
        digest(2),
        "github",
    )
    assert dev.previous is not None and dev.previous.digest == digest(1)
    assert dev.url == URLS["dev"] and dev.health is not None and dev.health.ok
    assert report.sources["stacks"].startswith("not read: the Pulumi CLI")
    assert report.stage("test").deployed is False


def test_branch_trust_subject_reads_no_deployments(github: GitHub) -> None:
    spec = make_spec(region=REGION, trust_subject="branch")
    ops = ReleaseOps(spec).run("dev", 1)
    report = collect(spec, sources(ops, github=github))
    assert "no environments" in report.sources["github"]
    assert not [r for r in github.server.requests if "/deployments" in r.path]


def test_github_failure_is_a_note_when_the_stacks_answer(
    spec: Spec, fixed: ReleaseOps, github: GitHub
) -> None:
    github.server.fail("GET", r"/deployments", 401, times=10)
    fixed.run("dev", 1)
    report = collect(spec, sources(fixed, github=github))
    assert report.sources["github"].startswith("not read: GitHub rejected the token")
    assert report.repository is None and report.stage("dev").current is not None
    with pytest.raises(UserError, match="rejected the token"):
        collect(spec, sources(None, github=github))


def test_nothing_to_read(spec: Spec) -> None:
    with pytest.raises(UserError, match="neither the stacks nor GitHub"):
        collect(spec, sources(None))


# --- the registry ---------------------------------------------------------------------------------


def test_previous_release_from_registry_tags(spec: Spec, fixed: ReleaseOps, ecr: Ecr) -> None:
    for n in (1, 2):
        ecr.push(n)
        ecr.mark(n, "dev")
    fixed.run("dev", 2)
    dev = collect(spec, sources(fixed, ecr=ecr)).stage("dev")
    assert dev.previous is not None
    assert (dev.previous.digest, dev.previous.source, dev.previous.git_sha) == (
        digest(1),
        "registry",
        sha(1),
    )
    assert dev.previous.image == image(1)


def test_expired_previous_release(spec: Spec, fixed: ReleaseOps, ecr: Ecr) -> None:
    ecr.push(2)
    fixed.run("dev", 2, previous=1)  # image 1 is gone from the registry
    dev = collect(spec, sources(fixed, ecr=ecr)).stage("dev")
    assert dev.previous is not None and dev.previous.in_registry is False
    assert "no longer in the registry" in " ".join(dev.notes)


class BrokenRegistry:
    def image(self, digest: str) -> ImageInfo | None:
        raise CredentialsError("no AWS credentials found", "sign in")

    def digest_for_tag(self, tag: str) -> str | None:
        raise CredentialsError("no AWS credentials found", "sign in")

    def deployed(self, stage: str) -> list[ImageInfo]:
        raise CredentialsError("no AWS credentials found", "sign in")


def test_registry_without_credentials_is_a_note(spec: Spec, fixed: ReleaseOps) -> None:
    fixed.run("dev", 1)
    src = sources(fixed)
    src.registry = lambda name: BrokenRegistry()
    report = collect(spec, src)
    assert report.sources["registry"] == "not read: no AWS credentials found"
    assert report.stage("dev").current is not None
    assert report.stage("dev").current.in_registry is None  # type: ignore[union-attr]
    assert any("registry not read" in n for n in report.notes)
    assert "note: registry not read" in render_text(report)


# --- watch ------------------------------------------------------------------------------------


def test_watch_repeats_until_interrupted() -> None:
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    ran: list[int] = []
    assert watch(lambda: ran.append(1), interval=5, sleep=sleep) == 2
    assert calls == [5, 5] and len(ran) == 2
    assert watch(lambda: None, interval=5, sleep=sleep, iterations=1) == 1


def test_health_summary_words() -> None:
    assert Health("u", True, 200, "200").summary == "ok (200)"
    assert Health("u", False, 503, "HTTP 503").summary == "failing (HTTP 503)"
    assert Health("u", False, None, "timed out").summary == "down (timed out)"


# --- reading writes nothing ---------------------------------------------------------------------


def test_status_opens_the_stacks_read_only(
    repo: Any, spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bootstrap.automation import AutomationOps
    from bootstrap.lifecycle import open_project
    from bootstrap.status import project_sources

    monkeypatch.setattr(AutomationOps, "check", lambda self: None)  # as if the CLI were there
    ops = project_sources(open_project(repo), github=None).ops
    assert isinstance(ops, AutomationOps) and ops.read_only
