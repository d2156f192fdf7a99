"""Every fault once: retried when retrying helps, otherwise one clear error; re-runs converge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.errors import CredentialsError, RemoteError, TargetExistsError, UserError
from bootstrap.github.client import RetryPolicy
from tests.bootstrap.github.conftest import FRESH_WRITES, World

SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again."
}


def ok_writes(world: World) -> int:
    return sum(1 for w in world.server.writes if w.status < 400)


def test_server_errors_are_retried(world: World, project: Callable[..., Path]) -> None:
    world.server.fail("POST", r"^/orgs/acme/repos$", 502)
    world.server.fail("PUT", r"/actions/secrets/PULUMI_CONFIG_PASSPHRASE$", 503)
    result = world.sync(project())
    assert result.writes == FRESH_WRITES == ok_writes(world)
    assert len(world.server.writes) == FRESH_WRITES + 2
    assert world.sleeps == [1.0, 1.0]  # backoff, first attempt
    assert "PULUMI_CONFIG_PASSPHRASE" in world.server.repo("acme/shop").secrets


def test_secondary_rate_limit_honours_retry_after(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.fail("POST", r"/actions/variables$", 403, headers={"Retry-After": "7"},
                      body=SECONDARY)  # fmt: skip
    result = world.sync(project())
    assert world.sleeps == [7.0]
    assert result.writes == FRESH_WRITES


def test_secondary_rate_limit_without_retry_after_waits_a_minute(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.fail("PUT", r"/environments/test$", 403, body=SECONDARY)
    world.sync(project())
    assert world.sleeps == [60.0]


def test_primary_rate_limit_waits_until_the_reset(
    world: World, project: Callable[..., Path]
) -> None:
    # the test clock says 1_000_000; the limit resets 4 s later
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000004"}
    body = {"message": "API rate limit exceeded for user ID 1."}
    world.server.fail("GET", r"/environments/dev$", 403, headers=headers, body=body)
    world.sync(project())
    assert world.sleeps == [5.0]


def test_a_rate_limit_too_far_away_stops_with_the_step(
    world: World, project: Callable[..., Path]
) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(1_000_000 + 3600)}
    world.server.fail("GET", r"/environments/dev$", 429, headers=headers,
                      body={"message": "API rate limit exceeded"})  # fmt: skip
    with pytest.raises(RemoteError, match="rate limit stopped step 'set up the environment dev'"):
        world.sync(project())
    assert world.sleeps == []


def test_persistent_failure_names_the_step_and_a_rerun_converges(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project()
    world.server.fail("POST", r"/actions/variables$", 500, times=5)
    with pytest.raises(
        RemoteError,
        match=r"kept failing at step 'set the repository variable AWS_REGION' after 5 attempts "
        r"\(500 Server Error\).*finished steps are kept and skipped",
    ) as failed:
        world.sync(repo)
    assert failed.value.rerun  # the command layer says which command to run again
    assert world.sleeps == [1.0, 2.0, 4.0, 8.0]

    result = world.sync(repo)
    # nothing twice: the writes of both runs add up to one fresh run
    assert ok_writes(world) == FRESH_WRITES
    assert result.writes == FRESH_WRITES - 8  # repository, topics, 3 environments, 3 policies
    gh = world.server.repo("acme/shop")
    assert len(gh.environments) == 3 and len(gh.variables) == 5


def test_bad_token_401(world: World, project: Callable[..., Path]) -> None:
    repo = project()
    with pytest.raises(CredentialsError, match="rejected the token.*401 Bad credentials"):
        world.sync(repo, token="ghp_not_a_real_token")
    assert [(r.method, r.path) for r in world.server.requests] == [("GET", "/user")]
    assert not (repo / ".bootstrap").exists()


def test_missing_scopes_are_named_before_anything_is_written(
    world: World, project: Callable[..., Path]
) -> None:
    token = world.server.add_token("octo", "ghp_limited_scopes_0001", scopes="read:user, gist")
    with pytest.raises(CredentialsError, match=r"lacks the scope\(s\) repo, workflow"):
        world.sync(project(), token=token)
    assert world.server.writes == []


def test_public_repo_scope_is_enough_for_a_public_repository(
    world: World, project: Callable[..., Path]
) -> None:
    token = world.server.add_token("octo", "ghp_public_only_0001", scopes="public_repo, workflow")
    with pytest.raises(CredentialsError, match=r"lacks the scope\(s\) repo "):
        world.sync(project(), token=token)
    assert world.sync(project(), token=token, public=True).writes == FRESH_WRITES


def test_fine_grained_tokens_have_no_scopes_header(
    world: World, project: Callable[..., Path]
) -> None:
    token = world.server.add_token("octo", "github_pat_11FINEGRAINED", scopes=None)
    assert world.sync(project(), token=token).writes == FRESH_WRITES


def test_403_mid_run_names_the_missing_scope(world: World, project: Callable[..., Path]) -> None:
    world.server.fail("PUT", r"/environments/dev$", 403,
                      headers={"X-Accepted-OAuth-Scopes": "repo"},
                      body={"message": "Must have admin rights to Repository."})  # fmt: skip
    with pytest.raises(
        CredentialsError, match=r"may not set up the environment dev.*scope\(s\) repo"
    ):
        world.sync(project())
    assert world.sleeps == []


def test_403_mid_run_for_a_fine_grained_token_names_permissions(
    world: World, project: Callable[..., Path]
) -> None:
    token = world.server.add_token("octo", "github_pat_11FINEGRAINED2", scopes=None)
    world.server.fail("POST", r"/actions/variables$", 403,
                      body={"message": "Resource not accessible by personal access token"})  # fmt: skip
    with pytest.raises(CredentialsError, match="fine-grained token.*Variables"):
        world.sync(project(), token=token)


def test_unknown_owner_404(world: World, project: Callable[..., Path]) -> None:
    with pytest.raises(UserError, match="no user or organisation 'nobody'.*--owner"):
        world.sync(project(owner="nobody"))
    assert world.server.writes == []


def test_name_taken_422(world: World, project: Callable[..., Path]) -> None:
    world.server.fail("POST", r"^/orgs/acme/repos$", 422, body={
        "message": "Repository creation failed.",
        "errors": [{"resource": "Repository", "code": "custom", "field": "name",
                    "message": "name already exists on this account"}],
    })  # fmt: skip
    with pytest.raises(TargetExistsError, match="name is taken by another repository"):
        world.sync(project())
    assert ok_writes(world) == 0


def test_another_users_account_is_refused(world: World, project: Callable[..., Path]) -> None:
    with pytest.raises(UserError, match="another user's account"):
        world.sync(project(owner="hubot"))
    assert world.server.writes == []


def test_bounded_attempts_for_network_errors(world: World, project: Callable[..., Path]) -> None:
    repo = project()
    world.server.stop()  # nothing listens any more
    sleeps: list[float] = []
    with pytest.raises(RemoteError, match="check the GitHub token.*after 3 attempts.*network"):
        world.sync(repo, retry=RetryPolicy(attempts=3, sleep=sleeps.append))
    assert sleeps == [1.0, 2.0]


def test_a_run_stopped_before_the_push_resumes_on_the_empty_repository(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project()
    world.server.fail("PUT", r"/environments/prod$", 502, times=5)
    with pytest.raises(RemoteError, match="step 'set up the environment prod'"):
        world.sync(repo)
    assert world.server.head("acme/shop") is None  # created, nothing pushed yet

    result = world.sync(repo)
    assert result.remote == "empty" and result.pushed == world.server.head("acme/shop")
    assert ok_writes(world) == FRESH_WRITES
