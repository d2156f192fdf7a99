"""Interrupt a run after any step, or fail one part-way (GitHub, S3, Pulumi), then continue with
`bootstrap provision`: the same end state as one full run, and no write made twice."""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.errors import RemoteError
from bootstrap.provision import Provisioner, ProvisionError, Request
from bootstrap.repo import run_in
from tests.conftest import make_spec

from .conftest import (
    GITHUB_WRITES,
    PULUMI_UPS,
    REGION,
    S3_WRITES,
    AwsCalls,
    CloudOps,
    World,
    assert_converged,
    git,
    interrupt_after,
    new,
    provision,
    summary_of,
)

pytestmark = pytest.mark.usefixtures("fast_scaffold")
STEPS_WITH_WORK = [
    "checks", "repository", "scaffold", "backend", "shared", "roles", "commit", "github"
]  # fmt: skip
BEFORE_THE_SCAFFOLD = ("checks", "repository")


def first_run(world: World, **kwargs: Any) -> ProvisionError:
    """`bootstrap new` through the core, stopped by `after_step` or a fault."""
    spec = make_spec(region=REGION)
    runner = Provisioner(spec, world.repo, Request(), scaffold=True, sleep=lambda _: None, **kwargs)
    with pytest.raises(ProvisionError) as info:
        runner.run()
    return info.value


def assert_no_duplicates(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    assert len(world.api_writes) == GITHUB_WRITES
    assert len(aws.writes) == S3_WRITES
    assert len(cloud.ups) == PULUMI_UPS
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "dev", "test", "prod"]


@pytest.mark.parametrize("step", STEPS_WITH_WORK)
def test_interrupted_after_a_step_then_resumed(
    step: str, world: World, aws: AwsCalls, cloud: CloudOps
) -> None:
    error = first_run(world, after_step=interrupt_after(step))

    assert error.exit_code == 130
    if step in BEFORE_THE_SCAFFOLD:  # nothing local yet: `new` is simply run again
        assert "nothing was left half-done" in str(error)
        assert not world.repo.exists() and aws.writes == []
        # GitHub: nothing, or the empty repository (and its environments) the rerun adopts
        assert list(world.server.repos) == ([] if step == "checks" else ["acme/shop"])
        again = new(world, "--json")
    else:
        assert f"interrupted after step '{step}'" in str(error)
        # new ran with --dir: the way back names the repository's real path
        resume = run_in(world.repo, "bootstrap provision")
        assert resume == f"cd {world.repo.as_posix()} && bootstrap provision"
        assert f"`{resume}`" in str(error) and error.summary.next_command == resume
        assert error.summary.step(step).status == "done"  # type: ignore[union-attr]
        again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    resumed = summary_of(again)
    statuses = {s["name"]: s["status"] for s in resumed["steps"]}
    if step not in BEFORE_THE_SCAFFOLD:
        finished = STEPS_WITH_WORK[: STEPS_WITH_WORK.index(step) + 1]
        assert all(statuses[name] == "skipped" for name in finished[1:]), statuses
    assert_converged(world, cloud)
    assert_no_duplicates(world, aws, cloud)


def test_github_failing_part_way_then_resumed(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    # GitHub answers 500 to the environment variables until the retries are used up
    world.server.fail("POST", r"/environments/test/variables$", 502, times=5)

    error = first_run(world)

    assert error.exit_code == RemoteError.exit_code
    assert "step 'github' failed" in str(error) and "bootstrap provision" in str(error)
    assert error.summary.step("github").status == "failed"  # type: ignore[union-attr]
    # the variables come before the push, so the first build never runs without them
    assert world.server.head("acme/shop") is None

    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    assert_converged(world, cloud)
    assert_no_duplicates(world, aws, cloud)
    assert world.server.head("acme/shop") == git(world.repo, "rev-parse", "HEAD")


def test_s3_failing_part_way_then_resumed(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    # the connection drops when the TLS-only policy is written: the bucket is there, tagged ours
    aws.fail_next["PutBucketPolicy"] = 1

    error = first_run(world)

    assert error.exit_code == RemoteError.exit_code
    assert "step 'backend' failed" in str(error)
    assert len(aws.writes) == S3_WRITES - 1

    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    backend = next(s for s in summary_of(again)["steps"] if s["name"] == "backend")
    assert backend["status"] == "done" and "tls-only-policy" in backend["detail"]
    assert_converged(world, cloud)
    assert_no_duplicates(world, aws, cloud)


def test_pulumi_failing_part_way_then_resumed(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    cloud.fail("up", "test")  # the engine fails on the second stage's role

    error = first_run(world)

    assert error.exit_code == RemoteError.exit_code
    assert "step 'roles' failed: pulumi up of stack 'test' failed" in str(error)
    assert [stack for stack, _, _ in cloud.ups] == ["shared", "dev"]
    # GitHub's repository came first (the roles trust its subject); nothing was pushed yet
    assert list(world.server.repos) == ["acme/shop"] and world.server.head("acme/shop") is None

    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    roles = next(s for s in summary_of(again)["steps"] if s["name"] == "roles")
    assert roles["detail"] == "deploy roles made or updated for test, prod (in place: dev)"
    assert_converged(world, cloud)
    assert_no_duplicates(world, aws, cloud)


def test_ctrl_c_during_a_step_then_resumed(world: World, aws: AwsCalls, cloud: CloudOps) -> None:
    cloud.fail("up", "dev", KeyboardInterrupt())  # Ctrl-C while the engine runs

    error = first_run(world)

    assert error.exit_code == 130
    assert "interrupted during step 'roles'" in str(error)
    assert error.summary.step("roles").status == "failed"  # type: ignore[union-attr]

    again = provision(world, "--json")

    assert again.exit_code == 0, again.output
    assert_converged(world, cloud)
    assert_no_duplicates(world, aws, cloud)
