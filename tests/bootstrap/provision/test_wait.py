"""`--wait`: follow the first workflow run of the pushed commit through the GitHub API (runs for
the head SHA, then their jobs) until the first stage's deploy job ends; scripted runs on the
local GitHub."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bootstrap.errors import RemoteError
from bootstrap.github.client import GitHubClient
from bootstrap.provision import Provisioner, Request
from bootstrap.provision.watch import RunWatcher
from tests.conftest import make_spec
from tests.fakes.github_server import FakeGitHub

from .conftest import AwsCalls, CloudOps, World, assert_converged, provision, summary_of

pytestmark = pytest.mark.usefixtures("fast_scaffold")
DIGEST = "sha256:" + "ab" * 32
SMOKE = "Smoke test (GET /health)"


def job(
    name: str, status: str = "queued", conclusion: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "status": status, "conclusion": conclusion, **extra}


def done(name: str, conclusion: str = "success") -> dict[str, Any]:
    return job(name, "completed", conclusion)


DEPLOY = "deploy dev / deploy dev"
COMMIT = [done("lint"), done("test"), done("build")]
FRAMES: list[dict[str, Any]] = [
    {"status": "queued", "jobs": []},
    {"status": "in_progress", "jobs": [job("lint", "in_progress"), job("test"), job("build")]},
    {"status": "in_progress", "jobs": [*COMMIT, job(DEPLOY)]},
    {
        "status": "in_progress",
        "jobs": [
            *COMMIT,
            job(
                DEPLOY,
                "in_progress",
                steps=[
                    {"name": "pulumi up", "status": "completed", "conclusion": "success"},
                    {"name": SMOKE, "status": "in_progress"},
                ],
            ),
        ],
    },  # fmt: skip
    {"status": "in_progress", "jobs": [*COMMIT, done(DEPLOY), job("deploy test / deploy test")]},
]


def test_new_waits_for_the_first_deploy(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    """`new --wait` as the command runs it, with the /health checks injected (no network)."""
    from bootstrap.status import Health

    def deployed(index: int, frame: dict[str, Any]) -> None:
        if index == len(FRAMES) - 1:  # the deploy job ran `pulumi up` with the built image
            registry = cloud.outputs("shared")["repositoryUrl"]
            cloud.deploy("dev", image=f"{registry}@{DIGEST}")

    world.server.run_on_push("acme/shop", FRAMES, on_frame=deployed)
    lines: list[str] = []
    steps: list[str] = []
    runner = Provisioner(
        make_spec(region="eu-west-1"), world.repo, Request(wait=True, poll_interval=0),
        scaffold=True, progress=lines.append,
        emit=lambda step: steps.append(f"{step.name}: {step.detail}"),
        health=lambda urls: {k: Health(u, True, 200, "200") for k, u in urls.items()},
    )  # fmt: skip

    summary = runner.run()

    url = cloud.outputs("dev")["url"]
    assert summary.url == url
    # the progress display, one line per change
    assert any("lint …" in line for line in lines)
    assert any(f"{DEPLOY} … ({SMOKE})" in line for line in lines)
    assert any(step.startswith(f"wait: {DEPLOY} succeeded in run #1") for step in steps)
    # the status grid follows: dev runs the digest, healthy
    assert summary.status_text and "dev" in summary.status_text
    assert DIGEST[7:19] in summary.status_text
    assert summary.status and summary.status["stages"][0]["health"]["ok"] is True
    assert_converged(world, cloud)

    # again with --wait: the run has finished; nothing is written, the outcome is read again
    world.server.clear_log()
    again = provision(world, "--wait", "--poll-interval", "0", "--json")
    assert again.exit_code == 0, again.output
    summary = summary_of(again)
    assert summary["writes"]["total"] == 0 and world.api_writes == []
    assert summary["url"] == url and summary["run"]["conclusion"] == "success"
    assert summary["status"]["stages"][0]["stage"] == "dev"


# --- the watcher alone, on a repository seeded with a scripted run ----------------------------------


@pytest.fixture
def watch(github_server: FakeGitHub) -> Any:
    token = github_server.add_user("octo")
    github_server.add_repo("octo", "shop")
    sha = "c0ffee" + "0" * 34
    client = GitHubClient(token, github_server.api_url, throttle=False)
    clock = {"now": 0.0}

    def sleep(seconds: float) -> None:
        clock["now"] += max(seconds, 1.0)

    def make(frames: list[dict[str, Any]], **kwargs: Any) -> tuple[RunWatcher, list[str]]:
        run = github_server.add_workflow_run(
            "octo/shop", head_sha=sha, status="queued", conclusion=None
        )
        github_server.script_run("octo/shop", run["id"], frames, **kwargs)
        lines: list[str] = []
        watcher = RunWatcher(
            client, "octo/shop", sha, "dev", timeout=60, interval=5, sleep=sleep,
            clock=lambda: clock["now"], progress=lines.append, notify=lines.append,
        )  # fmt: skip
        return watcher, lines

    make.client = client  # type: ignore[attr-defined]
    return make


def test_a_failing_smoke_test_is_named(watch: Any) -> None:
    failed = job(DEPLOY, "completed", "failure", steps=[
        {"name": "pulumi up", "status": "completed", "conclusion": "success"},
        {"name": SMOKE, "status": "completed", "conclusion": "failure"},
    ])  # fmt: skip
    watcher, _ = watch(
        [FRAMES[1], {"status": "completed", "conclusion": "failure", "jobs": [*COMMIT, failed]}]
    )

    with pytest.raises(RemoteError, match=re.escape(f"failed at step '{SMOKE}'")) as info:
        watcher.wait()
    assert "/job/" in str(info.value)  # the job's page


def test_a_run_that_built_before_the_variables_is_rerun_once(watch: Any) -> None:
    skipped = {
        "status": "completed",
        "conclusion": "success",
        "jobs": [*COMMIT, done(DEPLOY, "skipped")],
    }
    watcher, lines = watch([skipped], after_rerun=FRAMES)

    outcome = watcher.wait()

    assert outcome.conclusion == "success" and outcome.reran and outcome.attempt == 2
    assert any("re-running it" in line for line in lines)
    assert watch.client.writes == 1  # the re-run


def test_a_run_without_deploy_after_a_rerun_fails(watch: Any) -> None:
    skipped = {
        "status": "completed",
        "conclusion": "success",
        "jobs": [*COMMIT, done(DEPLOY, "skipped")],
    }
    watcher, _ = watch([skipped], after_rerun=[skipped])

    with pytest.raises(RemoteError, match="without deploying dev: its deploy job did not run"):
        watcher.wait()


def test_a_failed_build_stops_the_wait(watch: Any) -> None:
    broken = {"status": "completed", "conclusion": "failure",
              "jobs": [done("lint"), done("test", "failure"), done("build"), done(DEPLOY, "skipped")]}  # fmt: skip
    watcher, _ = watch([broken])

    with pytest.raises(RemoteError, match="test failed"):
        watcher.wait()


def test_the_wait_times_out(watch: Any) -> None:
    watcher, lines = watch([FRAMES[1]])

    with pytest.raises(RemoteError, match="did not finish within 60 s") as info:
        watcher.wait()
    assert "bootstrap status --watch" in str(info.value)
    assert len([line for line in lines if line.startswith("run #")]) == 1  # printed once
