"""Provisioning against the local GitHub: create, converge, adopt, refuse, plan fallbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bootstrap.errors import SpecError, TargetExistsError, UserError
from bootstrap.github import rerender
from bootstrap.github.provision import Values, seal
from stacks.contract import stage_role_variable
from tests.bootstrap.github.conftest import FRESH_WRITES, OUTPUTS, PASSPHRASE, VALUES, World, facts
from tests.conftest import git


def test_fresh_create_under_an_organisation(world: World, project: Callable[..., Path]) -> None:
    repo = project()
    result = world.sync(repo)
    server = world.server
    gh = server.repo("acme/shop")

    assert gh.private and gh.description.startswith("shop: a ECS service")
    assert {"bootstrap", "pulumi", "ecs"} <= set(gh.topics)
    # environments: every stage limited to main; the manual one needs octo's approval
    assert list(gh.environments) == ["dev", "test", "prod"]
    octo = server.accounts["octo"].id
    for name, env in gh.environments.items():
        assert env.branch_policy == {"protected_branches": False, "custom_branch_policies": True}
        assert [(p["name"], p["type"]) for p in env.branch_policies] == [("main", "branch")]
        assert env.reviewers == ([{"type": "User", "id": octo}] if name == "prod" else [])
        previous = {"test": "dev", "prod": "test"}.get(name)  # its alarm reader (the gates)
        assert {k: v["value"] for k, v in env.variables.items()} == {
            "AWS_DEPLOY_ROLE_ARN": OUTPUTS[name]["deployRoleArn"],
            "AWS_REGION": "eu-west-1",
            "PULUMI_STACK": name,
            **({"AWS_PREVIOUS_ALARMS_ROLE_ARN": OUTPUTS[previous]["alarmReaderRoleArn"]}
               if previous else {}),
        }
    assert {k: v["value"] for k, v in gh.variables.items()} == {
        "AWS_REGION": "eu-west-1",
        "PULUMI_BACKEND_URL": VALUES.backend_url,
        "AWS_CI_ROLE_ARN": OUTPUTS["shared"]["ciRoleArn"],
        "ECR_REPOSITORY_URL": OUTPUTS["shared"]["repositoryUrl"],
        "AWS_PREVIEW_ROLE_ARN": OUTPUTS["shared"]["previewRoleArn"],
    }
    assert server.decrypt_secret("acme/shop", "PULUMI_CONFIG_PASSPHRASE") == PASSPHRASE
    protection = gh.protection["main"]
    assert protection["required_status_checks"]["contexts"] == ["build"]
    assert protection["required_pull_request_reviews"] is not None

    # the push is real: GitHub's main is the local main, which records the settings
    head = git(repo, "rev-parse", "HEAD")
    assert server.head("acme/shop") == head == result.pushed
    assert git(repo, "remote", "get-url", "origin") == result.clone_url
    assert git(repo, "status", "--porcelain") == ""
    record = json.loads((repo / rerender.RECORD).read_text())
    assert record["repository"] == "acme/shop"
    assert record["environments"] is True and record["trust_subject"] == "environment"

    assert result.writes == len(server.writes) == FRESH_WRITES
    assert not result.notices and not result.skipped
    assert result.environments and result.required_reviewers and result.branch_protection


def test_second_run_makes_no_write(world: World, project: Callable[..., Path]) -> None:
    repo = project()
    world.sync(repo)
    head = git(repo, "rev-parse", "HEAD")
    world.server.clear_log()

    again = world.sync(repo)

    assert again.writes == 0 and world.server.writes == []
    assert again.created == [] and again.updated == []
    assert git(repo, "rev-parse", "HEAD") == head
    assert not any(r.path.endswith("/git-receive-pack") for r in world.server.requests)  # no push


def test_fresh_create_for_the_user_public(world: World, project: Callable[..., Path]) -> None:
    repo = project(owner="octo")
    result = world.sync(repo, public=True)
    gh = world.server.repo("octo/shop")
    assert not gh.private
    assert gh.environments["prod"].reviewers == [
        {"type": "User", "id": world.server.accounts["octo"].id}
    ]
    assert result.writes == FRESH_WRITES
    assert world.server.writes[0].path == "/user/repos"


def test_reviewers_option_takes_users_and_teams(world: World, project: Callable[..., Path]) -> None:
    world.sync(project(), reviewers=("hubot", "acme/ops"))
    env = world.server.repo("acme/shop").environments["prod"]
    ops = world.server.accounts["acme"].teams["ops"]
    assert env.reviewers == [
        {"type": "User", "id": world.server.accounts["hubot"].id},
        {"type": "Team", "id": ops},
    ]


def test_adopts_an_existing_empty_repository(world: World, project: Callable[..., Path]) -> None:
    world.server.add_repo("acme", "shop", description="made by hand")
    repo = project()
    result = world.sync(repo)
    assert result.remote == "empty"
    assert world.server.head("acme/shop") == git(repo, "rev-parse", "HEAD")
    assert world.server.repo("acme/shop").description == "made by hand"  # never overwritten
    assert not any(w.path.endswith("/repos") for w in world.server.writes)


def test_adopts_a_repository_holding_this_scaffold(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project()
    world.server.add_repo("acme", "shop", push_from=repo)  # e.g. pushed by an interrupted run
    result = world.sync(repo)
    assert result.remote == "same"
    assert world.server.head("acme/shop") == git(repo, "rev-parse", "HEAD")  # record commit on top


def test_refuses_a_repository_with_other_content(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.add_repo("acme", "shop", foreign_content=True)
    foreign = world.server.head("acme/shop")
    repo = project()
    before = git(repo, "rev-parse", "HEAD")

    with pytest.raises(TargetExistsError, match="other content.*--adopt"):
        world.sync(repo)

    assert world.server.writes == []
    assert world.server.head("acme/shop") == foreign
    assert git(repo, "rev-parse", "HEAD") == before
    assert not (repo / rerender.RECORD).exists()
    assert "origin" not in git(repo, "remote")


def test_adopt_flag_configures_without_pushing_over_other_history(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.add_repo("acme", "shop", foreign_content=True)
    foreign = world.server.head("acme/shop")
    notices: list[str] = []
    result = world.sync(project(), adopt=True, notices=notices)
    assert world.server.head("acme/shop") == foreign  # never overwritten
    assert result.pushed is None and result.remote == "foreign"
    assert any("--adopt" in n for n in notices)
    assert any("nothing was pushed" in n for n in notices)
    assert list(world.server.repo("acme/shop").environments) == ["dev", "test", "prod"]


def test_free_plan_switches_to_the_branch_trust_subject(
    world: World, project: Callable[..., Path]
) -> None:
    status = world.server.environments_status = 404
    world.server.add_org("freeco", members=("octo",), plan="free")
    repo = project(owner="freeco")
    notices: list[str] = []

    result = world.sync(repo, notices=notices)

    gh = world.server.repo("freeco/shop")
    assert gh.environments == {} and gh.protection == {}
    assert result.trust_subject == "branch" and result.trust_subject_changed
    assert not result.environments and not result.branch_protection
    # told once each: environments (with the reason) and branch protection
    assert len(notices) == 2
    assert f"answered {status}" in notices[0] and "ref:refs/heads/main" in notices[0]
    # the repo was re-rendered and committed before the push, so stacks and workflows agree
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["trust_subject"] == "branch"
    assert facts(repo)["trustSubject"] == "branch"
    assert json.loads((repo / rerender.RECORD).read_text())["environments"] is False
    assert git(repo, "status", "--porcelain") == ""
    assert world.server.head("freeco/shop") == git(repo, "rev-parse", "HEAD")
    # the deploy roles become repository variables, one per stage
    variables = {k: v["value"] for k, v in gh.variables.items()}
    for stage in ("dev", "test", "prod"):
        assert variables[f"AWS_DEPLOY_ROLE_ARN_{stage.upper()}"] == OUTPUTS[stage]["deployRoleArn"]
    # and each later stage's reader of the stage before's alarms
    assert variables["AWS_PREVIOUS_ALARMS_ROLE_ARN_TEST"] == OUTPUTS["dev"]["alarmReaderRoleArn"]
    assert variables["AWS_PREVIOUS_ALARMS_ROLE_ARN_PROD"] == OUTPUTS["test"]["alarmReaderRoleArn"]
    assert "AWS_PREVIOUS_ALARMS_ROLE_ARN_DEV" not in variables
    assert any("bootstrap provision" in step for step in result.next_steps)
    # repository, topics, 5 + 3 + 2 repository variables, secret (environment attempts failed)
    assert result.writes == 13

    world.server.clear_log()
    again = world.sync(repo)
    assert again.writes == 0 and not again.trust_subject_changed


def test_free_plan_with_uncommitted_changes_stops_before_the_push(
    world: World, project: Callable[..., Path]
) -> None:
    world.server.environments_status = 422  # GitHub answers 404 or 422
    world.server.add_org("freeco", members=("octo",), plan="free")
    repo = project(owner="freeco")
    (repo / "notes.txt").write_text("work in progress\n")
    notices: list[str] = []

    with pytest.raises(UserError, match="re-renders the repository.*uncommitted.*notes.txt"):
        world.sync(repo, notices=notices)

    assert len(notices) == 1 and "answered 422" in notices[0]
    assert world.server.repo("freeco/shop").environments == {}
    assert world.server.head("freeco/shop") is None  # nothing pushed, nothing half-done
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["trust_subject"] == (
        "environment"
    )


def test_plan_without_required_reviewers(world: World, project: Callable[..., Path]) -> None:
    world.server.add_org("teamco", members=("octo",), plan="team")
    repo = project(owner="teamco")
    notices: list[str] = []

    result = world.sync(repo, notices=notices)

    gh = world.server.repo("teamco/shop")
    assert list(gh.environments) == ["dev", "test", "prod"]
    assert all(env.reviewers == [] for env in gh.environments.values())
    assert gh.environments["prod"].branch_policies[0]["name"] == "main"
    assert result.trust_subject == "environment" and not result.required_reviewers
    assert len(notices) == 1 and "prod" in notices[0] and "without approval" in notices[0]
    assert json.loads((repo / rerender.RECORD).read_text())["required_reviewers"] is False

    world.server.clear_log()
    assert world.sync(repo).writes == 0


def test_sets_the_owner_of_a_repo_generated_without_one(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project(owner=None)
    result = world.sync(repo, owner="acme")
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["owner"] == "acme"
    assert "owner" not in facts(repo)  # the answers own it; nothing in infra/ reads it
    assert world.server.head("acme/shop") == git(repo, "rev-parse", "HEAD")
    assert any(c.kind == "answer" and c.name == "owner" for c in result.changes)


def test_refuses_an_owner_other_than_the_generated_one(
    world: World, project: Callable[..., Path]
) -> None:
    with pytest.raises(SpecError, match="generated for the owner 'acme'"):
        world.sync(project(), owner="octo")
    assert world.server.requests[-1].path == "/user"  # only the token check


def test_missing_stack_outputs_and_secrets_are_skipped_and_said(
    world: World, project: Callable[..., Path]
) -> None:
    result = world.sync(project(), values=Values())
    gh = world.server.repo("acme/shop")
    assert list(gh.variables) == ["AWS_REGION"]
    assert all(
        list(env.variables) == ["AWS_REGION", "PULUMI_STACK"] for env in gh.environments.values()
    )
    assert gh.secrets == {}
    text = "\n".join(result.skipped)
    for expected in ("AWS_CI_ROLE_ARN", "ECR_REPOSITORY_URL", "PULUMI_BACKEND_URL", "secrets"):
        assert expected in text
    assert "deployRoleArn" in text
    # each later stage's reader of the stage before's alarms, and what that means
    assert ("AWS_PREVIOUS_ALARMS_ROLE_ARN for test: the dev stack has no output alarmReaderRoleArn "
            "yet (deploy its foundation); until then test's promotions do not check dev's "
            "alarms") in text  # fmt: skip
    assert "AWS_PREVIOUS_ALARMS_ROLE_ARN for dev" not in text
    # the low layer names the problem; the command (`github sync`, `provision`) names itself
    assert not any("bootstrap" in s for s in result.skipped + result.next_steps)


def test_changed_values_update_in_place(world: World, project: Callable[..., Path]) -> None:
    repo = project()
    world.sync(repo)
    world.server.clear_log()
    outputs = {**OUTPUTS, "dev": {"deployRoleArn": "arn:aws:iam::123456789012:role/new-dev"}}
    result = world.sync(
        repo,
        values=Values(
            outputs=outputs,
            backend_url=VALUES.backend_url,
            secrets={"PULUMI_CONFIG_PASSPHRASE": "new"},
        ),
    )
    assert [(w.method, w.path) for w in world.server.writes] == [
        ("PATCH", "/repos/acme/shop/environments/dev/variables/AWS_DEPLOY_ROLE_ARN"),
    ]
    assert result.writes == 1 and [c.name for c in result.updated] == ["dev:AWS_DEPLOY_ROLE_ARN"]
    # an existing secret is kept unless asked
    assert world.server.decrypt_secret("acme/shop", "PULUMI_CONFIG_PASSPHRASE") == PASSPHRASE
    world.sync(
        repo, values=Values(secrets={"PULUMI_CONFIG_PASSPHRASE": "new"}), update_secrets=True
    )
    assert world.server.decrypt_secret("acme/shop", "PULUMI_CONFIG_PASSPHRASE") == "new"


def test_helpers() -> None:
    assert stage_role_variable("pre-prod") == "AWS_DEPLOY_ROLE_ARN_PRE_PROD"
    from nacl import encoding, public

    key = public.PrivateKey.generate()
    sealed = seal(key.public_key.encode(encoding.Base64Encoder).decode(), "s3cret")
    import base64

    assert public.SealedBox(key).decrypt(base64.b64decode(sealed)) == b"s3cret"


def test_the_preview_role_variable_is_set_only_while_previews_are_on(
    world: World, project: Callable[..., Path]
) -> None:
    repo = project()
    world.sync(repo)
    assert "AWS_PR_ROLE_ARN" not in world.server.repo("acme/shop").variables
    role = "arn:aws:iam::123456789012:role/shop-pr-deploy"
    outputs = {**OUTPUTS, "shared": {**OUTPUTS["shared"], "prRoleArn": role}}
    result = world.sync(repo, values=Values(outputs=outputs, backend_url=VALUES.backend_url))
    assert world.server.repo("acme/shop").variables["AWS_PR_ROLE_ARN"]["value"] == role
    assert not any("prRoleArn" in s for s in result.skipped)
