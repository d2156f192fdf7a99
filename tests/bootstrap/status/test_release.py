"""The promotion and rollback rules (`release.plan_*`) on reports collected from recorded stack
outputs, the local GitHub and moto's ECR."""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.errors import SpecError, UserError
from bootstrap.release import Refused, plan_promotion, plan_rollback
from bootstrap.spec import Spec
from bootstrap.status import Report, collect
from tests.bootstrap.status.conftest import (
    REGISTRY,
    Ecr,
    GitHub,
    ReleaseOps,
    digest,
    fixed_health,
    image,
    sha,
    sources,
)


def report(spec: Spec, ops: ReleaseOps, **kw: Any) -> Report:
    return collect(spec, sources(ops, **kw))


# --- promote: order ----------------------------------------------------------------------------


def test_promote_to_the_first_stage_is_refused(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 1)
    with pytest.raises(UserError, match="'dev' is the first stage"):
        plan_promotion(spec, report(spec, ops), "dev", force=True, verify="health")


def test_promote_unknown_stage(spec: Spec, ops: ReleaseOps) -> None:
    with pytest.raises(SpecError, match="unknown stage 'staging'"):
        plan_promotion(spec, report(spec, ops), "staging", force=False, verify="health")


def test_promote_takes_the_previous_stages_digest(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3).run("test", 2)
    move = plan_promotion(spec, report(spec, ops), "test", force=False, verify="health")
    assert (move.digest, move.image, move.source, move.current) == (
        digest(3),
        image(3),
        "dev",
        digest(2),
    )
    assert move.checks == ["passed in 'dev' (/health answers 2xx)"] and not move.forced


def test_promote_refuses_to_skip_a_stage(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3)
    with pytest.raises(Refused) as refused:
        plan_promotion(spec, report(spec, ops), "prod", force=False, verify="health")
    message = str(refused.value)
    assert "'test' has never been deployed" in message and "skip a stage" in message
    assert "bootstrap promote --to test" in message and "--force" in message


def test_force_skips_a_stage(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3)
    move = plan_promotion(spec, report(spec, ops), "prod", force=True, verify="health")
    assert (move.digest, move.source) == (digest(3), "dev")
    assert move.forced == ["skipped 'test' (never deployed)"]


def test_nothing_before_to_promote(spec: Spec, ops: ReleaseOps) -> None:
    with pytest.raises(Refused, match="'dev' has never been deployed") as refused:
        plan_promotion(spec, report(spec, ops), "test", force=True, verify="health")
    assert "push to main" in str(refused.value)


# --- promote: verification ---------------------------------------------------------------------


def test_unhealthy_previous_stage_is_refused_locally(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3)
    r = report(spec, ops, health=fixed_health({"dev": (500, None)}))
    with pytest.raises(
        Refused, match=r"has not passed the smoke test in 'dev': .* failing \(HTTP 500\)"
    ):
        plan_promotion(spec, r, "test", force=False, verify="health")
    move = plan_promotion(spec, r, "test", force=True, verify="health")
    assert move.forced and "unverified in 'dev'" in move.forced[0]


def test_health_answering_for_another_release_is_refused(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3)
    r = report(spec, ops, health=fixed_health({"dev": (200, digest(2))}))
    with pytest.raises(Refused, match="answers for sha256:222222222222, not sha256:333333333333"):
        plan_promotion(spec, r, "test", force=False, verify="health")


def test_unreachable_previous_stage_is_refused(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3)
    r = report(spec, ops, health=fixed_health({"dev": (None, None)}))
    with pytest.raises(Refused, match="down \\(connection refused\\)"):
        plan_promotion(spec, r, "test", force=False, verify="health")


def test_github_success_verifies(spec: Spec, ops: ReleaseOps, github: GitHub, ecr: Ecr) -> None:
    ecr.push(3)
    github.deployed("dev", 3, at="2024-05-01T10:00:00Z")
    ops.run("dev", 3)
    move = plan_promotion(
        spec, report(spec, ops, github=github, ecr=ecr), "test", force=False, verify="github"
    )
    assert move.checks == ["passed in 'dev' (GitHub deployment status success)"]


def test_github_failure_is_refused(spec: Spec, ops: ReleaseOps, github: GitHub, ecr: Ecr) -> None:
    ecr.push(3)
    github.deployed("dev", 3, at="2024-05-01T10:00:00Z", ok=False)
    ops.run("dev", 3)
    r = report(spec, ops, github=github, ecr=ecr)
    with pytest.raises(Refused, match="its deployment to 'dev' ended 'failure'"):
        plan_promotion(spec, r, "test", force=False, verify="github")
    forced = plan_promotion(spec, r, "test", force=True, verify="github")
    assert forced.digest == digest(3) and forced.forced


def test_digest_unknown_to_github_is_refused(spec: Spec, ops: ReleaseOps, github: GitHub) -> None:
    ops.run("dev", 3)  # deployed from a laptop: GitHub has no record of it
    r = report(spec, ops, github=github)
    with pytest.raises(Refused, match="GitHub records no deployment of sha256:3333"):
        plan_promotion(spec, r, "test", force=False, verify="github")


def test_already_running_is_a_noop_unless_forced(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("dev", 3).run("test", 3)
    r = report(spec, ops)
    assert plan_promotion(spec, r, "test", force=False, verify="health").noop
    assert not plan_promotion(spec, r, "test", force=True, verify="health").noop


def test_waiting_approval_is_warned(spec: Spec, ops: ReleaseOps, github: GitHub) -> None:
    github.deployed("test", 3, at="2024-05-01T10:00:00Z", status_description=image(3))
    github.server.add_waiting_run(github.repo, environments=["prod"], head_sha=sha(3))
    ops.run("dev", 3).run("test", 3)
    move = plan_promotion(
        spec, report(spec, ops, github=github), "prod", force=False, verify="github"
    )
    assert any("already waits for approval" in w for w in move.warnings)


# --- rollback: target selection ----------------------------------------------------------------


def rollback(spec: Spec, r: Report, stage: str, to: str | None = None) -> Any:
    return plan_rollback(spec, r, stage, to, registry=r.lookup, repository_url=None)


def test_rollback_to_the_stacks_previous_image(spec: Spec, ops: ReleaseOps) -> None:
    ops.run("prod", 2, previous=1)
    move = rollback(spec, report(spec, ops), "prod")
    assert (move.action, move.digest, move.image, move.current) == (
        "rollback",
        digest(1),
        image(1),
        digest(2),
    )


def test_rollback_to_githubs_previous_release(
    spec: Spec, ops: ReleaseOps, github: GitHub, ecr: Ecr
) -> None:
    for n in (1, 2, 3):
        ecr.push(n)
    github.deployed("test", 1, at="2024-05-01T08:00:00Z")
    github.deployed("test", 2, at="2024-05-01T09:00:00Z", ok=False)  # never passed
    github.promoted("test", 3, at="2024-05-01T10:00:00Z", head=3)
    ops.run("test", 3)
    move = rollback(spec, report(spec, ops, github=github, ecr=ecr), "test")
    assert (move.digest, move.git_sha, move.image) == (digest(1), sha(1), image(1))


def test_rollback_to_the_registrys_record(spec: Spec, ops: ReleaseOps, ecr: Ecr) -> None:
    for n in (1, 2):
        ecr.push(n)
        ecr.mark(n, "test")
    ops.run("test", 2)
    move = rollback(spec, report(spec, ops, ecr=ecr), "test")
    assert (move.digest, move.git_sha) == (digest(1), sha(1))


@pytest.mark.parametrize(
    "to", [digest(1), f"{REGISTRY}@{digest(1)}", sha(1)], ids=["digest", "ref", "git-sha"]
)
def test_rollback_to_a_given_release(spec: Spec, ops: ReleaseOps, ecr: Ecr, to: str) -> None:
    for n in (1, 2):
        ecr.push(n)
    ops.run("test", 2)
    move = rollback(spec, report(spec, ops, ecr=ecr), "test", to)
    assert (move.digest, move.image, move.git_sha) == (digest(1), image(1), sha(1))
    assert move.checks == ["found in the registry"]


def test_rollback_refusals(spec: Spec, ops: ReleaseOps, ecr: Ecr) -> None:
    ecr.push(2)
    ops.run("test", 2)
    r = report(spec, ops, ecr=ecr)
    with pytest.raises(Refused, match="'prod' has never been deployed"):
        rollback(spec, r, "prod")
    with pytest.raises(Refused, match="no release of 'test' before the current one"):
        rollback(spec, r, "test")
    with pytest.raises(Refused, match="already runs sha256:222222222222"):
        rollback(spec, r, "test", digest(2))
    with pytest.raises(Refused, match="the registry has no image sha256:444444444444"):
        rollback(spec, r, "test", digest(4))
    with pytest.raises(SpecError, match="not this project's"):
        rollback(spec, r, "test", f"example.com/other@{digest(1)}")
    with pytest.raises(SpecError, match="is not an image digest or a git SHA"):
        rollback(spec, r, "test", "v1.2.3")
    with pytest.raises(UserError, match="no image built from commit 5555555"):
        rollback(spec, r, "test", sha(5))


def test_rollback_to_an_expired_previous_release(spec: Spec, ops: ReleaseOps, ecr: Ecr) -> None:
    ecr.push(2)
    ops.run("test", 2, previous=1)
    with pytest.raises(Refused, match="no longer in the registry"):
        rollback(spec, report(spec, ops, ecr=ecr), "test")
