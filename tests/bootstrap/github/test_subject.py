"""The OIDC subject prefix is learnt from GitHub and recorded (never guessed): the default
template with immutable subjects, a prefix that disagrees with GitHub's own flag, customised
templates honoured or refused, GitHub Enterprise Server (with and without the endpoint), and a
rename or transfer after provisioning."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.errors import RemoteError, SpecError
from bootstrap.github import rerender
from bootstrap.repo import load_spec
from tests.bootstrap.github.conftest import World, facts
from tests.bootstrap.github.test_rest_contract import problems_of
from tests.conftest import git
from tests.fakes.github_server import FakeGitHub, issued_prefix


def test_an_offline_scaffold_learns_and_records_github_s_prefix(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project(known=False)
    assert load_spec(repo).github_subject_prefix is None

    result = world.sync(repo)

    prefix = world.server.subject_prefix("acme/shop")
    acme, shop = world.server.accounts["acme"].id, world.server.repo("acme/shop").id
    assert prefix == f"repo:acme@{acme}/shop@{shop}"  # immutable: owner and repository IDs
    assert result.subject_prefix == prefix and result.subject_changed
    assert result.oidc_issuer == "token.actions.githubusercontent.com"
    # recorded as the answer, rendered into the stacks' facts, committed before the push
    assert load_spec(repo).github_subject_prefix == prefix
    assert facts(repo)["githubSubjectPrefix"] == prefix
    assert json.loads((repo / rerender.RECORD).read_text())["repository_id"] == shop
    assert git(repo, "status", "--porcelain") == ""
    assert world.server.head("acme/shop") == git(repo, "rev-parse", "HEAD")
    # no role trusted anything yet: nothing to update
    assert not any("still trust" in step for step in result.next_steps)

    world.server.clear_log()
    again = world.sync(repo)
    assert again.writes == 0 and not again.subject_changed


def test_github_s_prefix_wins_over_its_immutable_flag(
    world: World, project: Callable[..., Path]
) -> None:
    """GitHub has been seen to answer `use_immutable_subject: true` with a name-only prefix."""
    world.server.add_repo("acme", "shop").oidc_prefix = "repo:acme/shop"
    repo = project(prefix="repo:acme/shop")  # rendered as `new` does with GitHub's answer

    result = world.sync(repo)

    assert world.server.repo("acme/shop").immutable_subject
    assert result.subject_prefix == "repo:acme/shop" and not result.subject_changed
    assert load_spec(repo).github_subject_prefix == "repo:acme/shop"


def test_no_word_from_github_on_the_format_is_refused(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.fail("GET", r"/oidc/customization/sub$", 200, body={"use_default": True})
    repo = project(known=False)

    with pytest.raises(RemoteError, match="name-only subject is not guessed"):
        world.sync(repo)
    assert load_spec(repo).github_subject_prefix is None


@pytest.mark.parametrize(
    ("keys", "prefix"),
    [
        (["repo", "context"], "{repo}"),
        (["repository_owner_id", "repository_id", "context"],
         "repository_owner_id:{acme}:repository_id:{shop}"),
    ],
)  # fmt: skip
def test_a_customised_template_the_roles_can_pin_is_honoured(
    world: World, project: Callable[..., Path], keys: list[str], prefix: str
) -> None:
    made = world.server.add_repo("acme", "shop")
    made.oidc_use_default, made.oidc_claim_keys = False, keys
    expected = prefix.format(
        repo=world.server.subject_prefix("acme/shop"),
        acme=world.server.accounts["acme"].id, shop=made.id,
    )  # fmt: skip
    repo = project(prefix=expected)  # rendered as `new` does with GitHub's answer

    result = world.sync(repo)

    assert result.subject_prefix == expected and not result.subject_changed
    assert result.subject_template == f"custom: {', '.join(keys)}"
    assert load_spec(repo).github_subject_prefix == expected


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        (["repo", "context", "job_workflow_ref"], "claims after `context`"),
        (["repository_owner", "context"], "no claim names the repository"),
        (["repo"], "it has no `context`"),
        (["repo", "actor", "context"], "not one value per repository"),
    ],
)
def test_a_customised_template_the_roles_cannot_pin_is_refused(
    world: World, project: Callable[..., Path], keys: list[str], why: str
) -> None:
    made = world.server.add_repo("acme", "shop")
    made.oidc_use_default, made.oidc_claim_keys = False, keys
    repo = project(known=False)
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(SpecError) as info:
        world.sync(repo)

    assert why in info.value.problem
    assert "customization/sub -F use_default=true" in str(info.value.fix)
    # refused before anything was written: no environment, no commit, nothing pushed
    assert world.server.repo("acme/shop").environments == {}
    assert git(repo, "rev-parse", "HEAD") == head and world.server.head("acme/shop") is None


@pytest.mark.parametrize("endpoint", [True, False], ids=["ghes", "ghes-without-the-endpoint"])
def test_enterprise_server_keeps_names_and_has_its_own_issuer(
    tmp_path_factory: pytest.TempPathFactory, project: Callable[..., Path], endpoint: bool
) -> None:
    root = tmp_path_factory.mktemp("ghes")
    with FakeGitHub(root, api_prefix="/api/v3", enterprise_version="3.19.0",
                    oidc_endpoint=endpoint) as server:  # fmt: skip
        token = server.add_user("octo")
        server.add_org("acme", members=("octo",), plan="enterprise")
        repo = project(known=False)

        result = World(server, token).sync(repo)

        assert problems_of(server.requests) == []  # its answers are GHES's (rest_contract)
    assert result.subject_prefix == "repo:acme/shop"  # names on GHES
    assert result.oidc_issuer == "127.0.0.1/_services/token"
    spec = load_spec(repo)
    assert spec.github_oidc_issuer == "127.0.0.1/_services/token"
    assert facts(repo)["githubOidcIssuer"] == "127.0.0.1/_services/token"
    assert json.loads((repo / rerender.RECORD).read_text())["api_url"].endswith("/api/v3")


@pytest.mark.parametrize(
    ("move", "where"),
    [({"name": "store"}, "acme/store"), ({"owner": "octo"}, "octo/shop")],
    ids=["rename", "transfer"],
)
def test_a_rename_or_transfer_after_provisioning_is_followed_and_recorded(
    world: World, project: Callable[..., Path], move: dict[str, str], where: str
) -> None:
    repo = project()
    first = world.sync(repo)
    assert first.subject_prefix == issued_prefix("acme", "shop") and not first.subject_changed

    world.server.rename("acme/shop", **move)
    notices: list[str] = []
    result = world.sync(repo, notices=notices)

    new = world.server.subject_prefix(where)
    assert result.repository == where and result.renamed_from == "acme/shop"
    assert result.subject_prefix == new != first.subject_prefix
    assert result.previous_subject_prefix == first.subject_prefix
    assert load_spec(repo).github_subject_prefix == new
    assert json.loads((repo / rerender.RECORD).read_text())["repository"] == where
    if "owner" in move:
        assert load_spec(repo).owner == "octo"
    # without AWS, sync says exactly which command updates the roles' trust
    assert any(
        f"still trust {first.subject_prefix}:" in step and "`bootstrap provision`" in step
        for step in result.next_steps
    ), result.next_steps
    assert any("is now " + where in n for n in notices)
    assert world.server.head(where) == git(repo, "rev-parse", "HEAD")
    print(f"\nafter github sync ({where}): trust subjects {new}:environment:<stage>, "  # noqa: T201
          f"{new}:ref:refs/heads/main, {new}:pull_request")  # fmt: skip
