"""`up` and `destroy` through the recording seam: order, confirmations, refusals, resumption."""

from __future__ import annotations

import json

import boto3
import pytest
import yaml

from bootstrap import lifecycle
from bootstrap.errors import Aborted, CredentialsError, RemoteError, SpecError, UserError
from bootstrap.repo import load_spec
from tests.conftest import make_spec
from tests.fakes.stack_ops import RecordingOps, realistic_outputs

from .conftest import ACCOUNT, one_line_error

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def spec():  # type: ignore[no-untyped-def]
    return make_spec(region="eu-west-1")


# --- the core, without the CLI ------------------------------------------------------------------


def test_previous_stack_follows_the_lifecycle(spec) -> None:  # type: ignore[no-untyped-def]
    assert lifecycle.previous_stack(spec, "shared") is None
    assert lifecycle.previous_stack(spec, "dev") == "shared"
    assert lifecycle.previous_stack(spec, "prod") == "test"
    with pytest.raises(SpecError, match="unknown stage 'qa'"):
        lifecycle.previous_stack(spec, "qa")


def test_up_in_order_and_refusals(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec)
    with pytest.raises(UserError, match="'shared' has never been deployed") as info:
        lifecycle.run_up(ops, spec, "dev")
    assert "--force" in str(info.value) and ops.writes == []
    for stack in spec.stacks:
        result = lifecycle.run_up(ops, spec, stack)
        assert result.changes["create"] > 0
    assert ops.writes == [("up", s) for s in spec.stacks]
    assert ops.outputs("dev") == realistic_outputs(spec, "dev", account=ACCOUNT)
    again = lifecycle.run_up(ops, spec, "dev")
    assert "create" not in again.changes  # idempotent: nothing new


def test_force_skips_the_order_check(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec)
    lifecycle.run_up(ops, spec, "prod", force=True)
    assert ops.writes == [("up", "prod")]


def test_up_with_image_digest(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec).deploy("shared")
    result = lifecycle.run_up(ops, spec, "dev", image=DIGEST)
    registry = realistic_outputs(spec, "shared", account=ACCOUNT)["repositoryUrl"]
    assert result.outputs["image"] == f"{registry}@{DIGEST}"
    assert ops.stacks["dev"].config == {"shop:image": f"{registry}@{DIGEST}"}
    full = f"{registry}@sha256:{'cd' * 32}"
    assert lifecycle.run_up(ops, spec, "dev", image=full).changes.get("update") == 1
    for bad in ("latest", "shop:1.2", "sha256:abc", f"{registry}:v1"):
        with pytest.raises(SpecError, match="is not an image digest"):
            lifecycle.run_up(ops, spec, "dev", image=bad)
    with pytest.raises(SpecError, match="applies to stage stacks"):
        lifecycle.run_up(ops, spec, "shared", image=DIGEST)


def accounts_for(spec, profiles=(), placed=None):  # type: ignore[no-untyped-def]
    """The project's accounts as its stack files would place them (`placed`: stage -> account)."""
    from bootstrap.accounts import Accounts, Placement, Profiles

    where = {s: Placement(s, (placed or {}).get(s), spec.region) for s in spec.stacks}
    return Accounts(Profiles.parse(profiles, env=""), where, region=spec.region)


def test_wrong_account_is_refused(spec, aws) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec, account="999999999999").deploy("shared", "dev")
    accounts = accounts_for(spec)  # the ambient keys: moto's default account
    with pytest.raises(CredentialsError, match="lives in AWS account 999999999999") as info:
        lifecycle.run_up(ops, spec, "dev", accounts=accounts)
    assert "--profile dev=PROFILE" in str(info.value) and ops.writes == []
    plan = lifecycle.destroy_plan(spec, stage="dev", all_stacks=False)
    with pytest.raises(lifecycle.DestroyFailed, match="999999999999") as failed:
        lifecycle.run_destroy(ops, spec, plan, accounts=accounts)
    assert failed.value.exit_code == CredentialsError.exit_code
    assert ops.writes == []


PROD = "222222222222"  # the account of prod in the tests of stages in their own accounts


def prod_apart(spec) -> RecordingOps:  # type: ignore[no-untyped-def]
    """Every stack deployed; prod's state records account 222222222222, the others moto's."""
    ops = RecordingOps(spec).deploy(*spec.stacks)
    ops.stacks["prod"].outputs = realistic_outputs(spec, "prod", account=PROD)
    return ops


def test_destroy_checks_every_account_before_the_first_write(  # type: ignore[no-untyped-def]
    spec, aws, tmp_path, monkeypatch
) -> None:
    from tests.fakes.moto_accounts import profiles

    key_ids = profiles(tmp_path, monkeypatch, {"tooling": ACCOUNT, "prod-admin": PROD,
                                                "wrong": "333333333333"})  # fmt: skip
    ops = prod_apart(spec)
    plan = lifecycle.destroy_plan(spec, stage=None, all_stacks=True)
    for given, message in [
        ([], "but your default AWS credentials signs in to 123456789012"),
        (["prod=wrong"], "but profile 'wrong' signs in to 333333333333"),
        (["prod=missing"], "no usable credentials for AWS account 222222222222"),
    ]:
        accounts = accounts_for(spec, given, {"prod": PROD})
        with pytest.raises(CredentialsError, match=message) as info:
            lifecycle.run_destroy(ops, spec, plan, accounts=accounts)
        assert "222222222222" in str(info.value) and "--profile prod=PROFILE" in str(info.value)
        assert ops.writes == []  # prod comes first, and nothing else was touched either

    accounts = accounts_for(spec, ["prod=prod-admin", "shared=tooling"], {"prod": PROD})
    ops.use_env(accounts.pulumi_env)
    outcomes = lifecycle.run_destroy(ops, spec, plan, accounts=accounts)
    assert [o.stack for o in outcomes] == ["prod", "test", "dev", "shared"]
    keys = {stack: env.get("AWS_ACCESS_KEY_ID") for _, stack, env in ops.envs}
    # each stack's Pulumi run got its own account's keys; the stages without a profile, none
    # (the ambient credentials of the tooling account)
    assert keys == {"prod": key_ids["prod-admin"], "test": None, "dev": None,
                    "shared": key_ids["tooling"]}  # fmt: skip
    assert key_ids["prod-admin"] != key_ids["tooling"]


def test_up_checks_the_stack_own_account(spec, aws, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.moto_accounts import profiles

    profiles(tmp_path, monkeypatch, {"prod-admin": PROD})
    ops = prod_apart(spec)
    with pytest.raises(CredentialsError, match="lives in AWS account 222222222222"):
        lifecycle.run_up(ops, spec, "prod", accounts=accounts_for(spec, (), {"prod": PROD}))
    accounts = accounts_for(spec, ["prod=prod-admin"], {"prod": PROD})
    assert lifecycle.run_up(ops, spec, "prod", accounts=accounts).stack == "prod"
    assert ops.writes == [("up", "prod")]


def test_destroy_plan_order_and_protection(spec) -> None:  # type: ignore[no-untyped-def]
    plan = lifecycle.destroy_plan(spec, stage=None, all_stacks=True)
    assert plan.stacks == ["prod", "test", "dev", "shared"]
    assert plan.protected == ["prod"]
    assert lifecycle.destroy_plan(spec, stage="dev", all_stacks=False).protected == []
    for kwargs, message in [
        ({"stage": None, "all_stacks": False}, "nothing to destroy was named"),
        ({"stage": "dev", "all_stacks": True}, "exclude each other"),
        ({"stage": "dev", "all_stacks": False, "delete_images": True}, "only with --all"),
        ({"stage": "qa", "all_stacks": False}, "unknown stage 'qa'"),
    ]:
        with pytest.raises(SpecError, match=message):
            lifecycle.destroy_plan(spec, **kwargs)


def test_manual_stage_needs_yes_and_its_name(spec) -> None:  # type: ignore[no-untyped-def]
    plan = lifecycle.destroy_plan(spec, stage="prod", all_stacks=False)
    with pytest.raises(lifecycle.ConfirmationRequired, match="--yes"):
        lifecycle.confirm_destroy(plan, yes=False, confirm=["prod"], ask=None)
    with pytest.raises(lifecycle.ConfirmationRequired, match="--confirm prod"):
        lifecycle.confirm_destroy(plan, yes=True, confirm=[], ask=None)
    with pytest.raises(lifecycle.ConfirmationRequired):
        lifecycle.confirm_destroy(plan, yes=True, confirm=["dev"], ask=None)
    lifecycle.confirm_destroy(plan, yes=True, confirm=["prod"], ask=None)
    # on a terminal the name is typed
    lifecycle.confirm_destroy(plan, yes=True, confirm=[], ask=lambda _: "prod")
    with pytest.raises(Aborted, match="'prd' is not 'prod'"):
        lifecycle.confirm_destroy(plan, yes=True, confirm=[], ask=lambda _: "prd")


def test_unprotected_stage_asks_on_a_terminal_only(spec) -> None:  # type: ignore[no-untyped-def]
    plan = lifecycle.destroy_plan(spec, stage="dev", all_stacks=False)
    lifecycle.confirm_destroy(plan, yes=False, confirm=[], ask=None)  # no terminal: --yes implied
    lifecycle.confirm_destroy(plan, yes=False, confirm=[], ask=lambda _: "yes")
    with pytest.raises(Aborted):
        lifecycle.confirm_destroy(plan, yes=False, confirm=[], ask=lambda _: "n")


class _Images:
    """A registry's images (the `ImageStore` of lifecycle), opened by repository name."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.opened: list[str] = []
        self.deleted: list[str] = []

    def __call__(self, repository: str) -> _Images:
        self.opened.append(repository)
        return self

    def count(self) -> int:
        return self.left

    def delete_all(self) -> int:
        self.deleted.append(self.opened[-1])
        deleted, self.left = self.left, 0
        return deleted


def test_destroy_all_resumes_after_a_failure(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec).deploy(*spec.stacks)
    ops.fail("destroy", "test")
    plan = lifecycle.destroy_plan(spec, stage=None, all_stacks=True)
    with pytest.raises(lifecycle.DestroyFailed) as info:
        lifecycle.run_destroy(ops, spec, plan, images=_Images(0))
    message = str(info.value)
    assert "destroying 'test' stopped" in message and "finished: prod" in message
    assert "finished stacks are skipped" in message and "\n" not in message
    assert info.value.rerun  # the command layer says which command to run again
    assert info.value.exit_code == RemoteError.exit_code
    assert ops.writes == [("destroy", "prod"), ("destroy", "test")]

    ops.calls.clear()
    outcomes = lifecycle.run_destroy(ops, spec, plan, images=_Images(0))
    assert [(o.stack, o.status) for o in outcomes] == [
        ("prod", "skipped"),
        ("test", "destroyed"),
        ("dev", "destroyed"),
        ("shared", "destroyed"),
    ]
    assert ops.writes == [("destroy", "test"), ("destroy", "dev"), ("destroy", "shared")]
    ops.calls.clear()
    assert {o.status for o in lifecycle.run_destroy(ops, spec, plan)} == {"skipped"}
    assert ops.writes == []


def test_images_are_kept_unless_asked(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec).deploy(*spec.stacks)
    images = _Images(3)
    plan = lifecycle.destroy_plan(spec, stage=None, all_stacks=True)
    with pytest.raises(lifecycle.DestroyFailed, match="still holds 3 image") as info:
        lifecycle.run_destroy(ops, spec, plan, images=images)
    assert "--delete-images" in str(info.value)
    assert ops.writes == [("destroy", "prod"), ("destroy", "test"), ("destroy", "dev")]
    assert images.deleted == []
    ops.calls.clear()
    plan = lifecycle.destroy_plan(spec, stage=None, all_stacks=True, delete_images=True)
    outcomes = lifecycle.run_destroy(ops, spec, plan, images=images)
    assert outcomes[-1].stack == "shared" and "deleted 3 image(s) from shop" in outcomes[-1].detail
    assert images.deleted == ["shop"] and ops.writes == [("destroy", "shared")]


# --- through the CLI ------------------------------------------------------------------------------


def test_cli_up_needs_a_stage(seam) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("up")
    assert result.exit_code == SpecError.exit_code
    assert "--stage is required" in one_line_error(result)


def test_cli_up_order_refusal_and_success(seam, aws) -> None:  # type: ignore[no-untyped-def]
    refused = seam.run("up", "--stage", "test")
    assert refused.exit_code == 1
    assert "'dev' has never been deployed" in one_line_error(refused)
    assert seam.ops.writes == []

    for stack in ("shared", "dev"):
        done = seam.run("up", "--stage", stack, "--json")
        assert done.exit_code == 0, done.output
        data = json.loads(done.stdout)
        assert data["stack"] == stack and data["changes"]["create"] > 0
    assert data["outputs"]["deployRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/shop-dev-deploy"
    assert data["backend"].startswith("file://")
    assert (seam.repo / ".pulumi-state" / ".gitignore").is_file()
    human = seam.run("up", "--stage", "test", "--image", DIGEST)
    assert human.exit_code == 0, human.output
    assert "url: http://shop-test-" in human.stdout
    assert seam.ops.writes == [("up", "shared"), ("up", "dev"), ("up", "test")]


def test_cli_up_without_aws_credentials(seam) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("up", "--stage", "shared")
    assert result.exit_code == CredentialsError.exit_code
    assert "no AWS credentials found" in one_line_error(result)
    assert seam.ops.writes == []


def test_cli_up_with_s3_backend_creates_the_bucket(seam, aws) -> None:  # type: ignore[no-untyped-def]
    answers = seam.repo / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("backend: ''", "backend: s3://shop-state"))
    assert "s3://shop-state" in answers.read_text()
    project = seam.repo / "infra/Pulumi.yaml"  # the stacks' copy of the backend
    declared = yaml.safe_load(project.read_text())
    declared["config"]["stateBackend"]["default"] = "s3://shop-state"
    project.write_text(yaml.safe_dump(declared))
    result = seam.run("up", "--stage", "shared")
    assert result.exit_code == 0, result.output
    assert "created the state bucket shop-state" in result.stderr
    s3 = boto3.client("s3", region_name="eu-west-1")
    assert s3.get_bucket_versioning(Bucket="shop-state")["Status"] == "Enabled"


def test_cli_destroy_manual_stage_refused_without_confirmation(seam, aws) -> None:  # type: ignore[no-untyped-def]
    seam.ops.deploy(*load_stacks(seam))
    for args, needle in [
        (("destroy", "--stage", "prod"), "--yes"),
        (("destroy", "--stage", "prod", "--yes"), "--confirm prod"),
        (("destroy", "--all", "--yes"), "--confirm prod"),
        (("destroy", "--all", "--confirm", "prod"), "--yes"),
    ]:
        result = seam.run(*args)
        assert result.exit_code == lifecycle.ConfirmationRequired.exit_code, result.output
        assert needle in one_line_error(result)
    assert seam.ops.writes == []


def test_cli_destroy_all_in_reverse_order_and_resume(seam, aws) -> None:  # type: ignore[no-untyped-def]
    (seam.repo / ".pulumi-state").mkdir()
    seam.ops.deploy(*load_stacks(seam))
    seam.ops.fail("destroy", "dev")
    first = seam.run("destroy", "--all", "--yes", "--confirm", "prod")
    assert first.exit_code == 6
    line = one_line_error(first)
    assert "destroying 'dev' stopped" in line and "finished: prod, test" in line
    assert seam.ops.writes == [("destroy", "prod"), ("destroy", "test"), ("destroy", "dev")]

    seam.ops.calls.clear()
    second = seam.run("destroy", "--all", "--yes", "--confirm", "prod", "--json")
    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert [(s["stack"], s["status"]) for s in data["stacks"]] == [
        ("prod", "skipped"),
        ("test", "skipped"),
        ("dev", "destroyed"),
        ("shared", "destroyed"),
    ]
    assert seam.ops.writes == [("destroy", "dev"), ("destroy", "shared")]
    assert (seam.repo / ".pulumi-state").is_dir()  # the state backend is never deleted


def test_cli_destroy_keeps_images_without_the_flag(seam, aws) -> None:  # type: ignore[no-untyped-def]
    (seam.repo / ".pulumi-state").mkdir()
    seam.ops.deploy(*load_stacks(seam))
    ecr = boto3.client("ecr", region_name="eu-west-1")
    ecr.create_repository(repositoryName="shop")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "1" * 64},
        }
    )
    ecr.put_image(repositoryName="shop", imageManifest=manifest, imageTag="abc123")

    kept = seam.run("destroy", "--all", "--yes", "--confirm", "prod")
    assert kept.exit_code != 0
    assert "still holds 1 image(s)" in one_line_error(kept)
    assert ("destroy", "shared") not in seam.ops.writes
    assert ecr.list_images(repositoryName="shop")["imageIds"]

    deleted = seam.run("destroy", "--all", "--yes", "--confirm", "prod", "--delete-images")
    assert deleted.exit_code == 0, deleted.output
    assert "deleted 1 image(s) from shop" in deleted.stderr
    assert "state backend" in deleted.stdout and "is kept" in deleted.stdout
    assert ecr.list_images(repositoryName="shop")["imageIds"] == []
    assert seam.ops.writes[-1] == ("destroy", "shared")


def test_cli_destroy_stage_with_delete_images_is_bad_input(seam) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("destroy", "--stage", "dev", "--delete-images")
    assert result.exit_code == SpecError.exit_code
    assert "only with --all" in one_line_error(result)


def test_cli_destroy_without_state_does_nothing(seam, aws) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("destroy", "--stage", "dev")
    assert result.exit_code == 0
    assert "nothing to destroy" in result.stderr
    assert seam.ops.calls == []


def test_cli_unknown_stage_and_not_a_repo(seam, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("destroy", "--stage", "qa")
    assert result.exit_code == SpecError.exit_code
    assert "unknown stage 'qa'" in one_line_error(result)
    from typer.testing import CliRunner

    from bootstrap.cli import app

    elsewhere = CliRunner().invoke(app, ["up", "--stage", "dev", "--repo", str(tmp_path)])
    assert elsewhere.exit_code == 2
    assert "not a repository generated by bootstrap" in one_line_error(elsewhere)


def load_stacks(seam) -> list[str]:  # type: ignore[no-untyped-def]
    return list(seam.ops.spec.stacks)


def test_shared_alone_is_kept_while_stages_use_it(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec).deploy("shared", "dev")
    plan = lifecycle.destroy_plan(spec, stage="shared", all_stacks=False)
    with pytest.raises(UserError, match="dev still use"):
        lifecycle.run_destroy(ops, spec, plan)
    assert ops.writes == []
    lifecycle.run_destroy(ops, spec, lifecycle.destroy_plan(spec, stage="dev", all_stacks=False))
    outcomes = lifecycle.run_destroy(ops, spec, plan)
    assert [(o.stack, o.status) for o in outcomes] == [("shared", "destroyed")]
    assert ops.writes == [("destroy", "dev"), ("destroy", "shared")]


def test_cli_up_bad_image_and_locked_stack(seam, aws) -> None:  # type: ignore[no-untyped-def]
    from pulumi.automation import errors as auto_errors
    from pulumi.automation._cmd import CommandResult

    from bootstrap.automation import map_pulumi_error

    seam.ops.deploy("shared")
    bad = seam.run("up", "--stage", "dev", "--image", "shop:latest")
    assert bad.exit_code == SpecError.exit_code
    assert "is not an image digest" in one_line_error(bad)

    locked = auto_errors.ConcurrentUpdateError(
        CommandResult(
            stdout="", stderr="error: the stack is currently locked by 1 lock(s)", code=255
        )
    )
    seam.ops.fail("up", "dev", map_pulumi_error(locked, stack="dev", action="up"))
    result = seam.run("up", "--stage", "dev")
    assert result.exit_code == RemoteError.exit_code
    assert "stack 'dev' is locked by another update" in one_line_error(result)
    assert seam.run("up", "--stage", "dev").exit_code == 0  # once the lock is gone


# --- destroy and the teardown workflow (who tears down what) ------------------------------------


def test_destroy_of_a_stage_finishes_after_the_teardown_workflow(spec) -> None:  # type: ignore[no-untyped-def]
    ops = RecordingOps(spec).deploy("shared", "dev")
    ops.tear_down("dev")
    shared_alone = lifecycle.destroy_plan(spec, stage="shared", all_stacks=False)
    with pytest.raises(UserError, match="dev still use"):  # its deploy role trusts shared's OIDC
        lifecycle.run_destroy(ops, spec, shared_alone)

    plan = lifecycle.destroy_plan(spec, stage="dev", all_stacks=False)
    [outcome] = lifecycle.run_destroy(ops, spec, plan)
    assert (outcome.status, outcome.changes) == ("destroyed", {"delete": 7})
    assert "deploy role" in outcome.detail and "bootstrap provision" in outcome.detail
    assert ops.resource_count("dev") == 0
    assert [o.status for o in lifecycle.run_destroy(ops, spec, shared_alone)] == ["destroyed"]


def test_only_a_single_stage_destroy_points_to_the_teardown_workflow(spec) -> None:  # type: ignore[no-untyped-def]
    hint = lifecycle.destroy_plan(spec, stage="test", all_stacks=False).hint
    assert hint is not None
    assert "`gh workflow run teardown.yml --repo acme/shop -f stage=test -f confirm=test`" in hint
    assert lifecycle.destroy_plan(spec, stage=None, all_stacks=True).hint is None
    assert lifecycle.destroy_plan(spec, stage="shared", all_stacks=False).hint is None


def test_the_hint_runs_the_generated_teardown_workflow(generated_repos) -> None:  # type: ignore[no-untyped-def]
    """The `-f` inputs the hint passes are exactly the ones teardown.yml declares."""
    import re

    workflow = yaml.safe_load(
        (generated_repos["ecs"] / ".github/workflows/teardown.yml").read_text()
    )
    declared = workflow[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads `on:` as True
    hint = lifecycle.workload_only_hint(load_spec(generated_repos["ecs"]), "dev")
    assert set(re.findall(r"-f (\w+)=", hint)) == set(declared)
    assert "dev" in declared["stage"]["options"]


@pytest.mark.parametrize(
    ("api_url", "repo"),
    [
        ("https://ghes.example.com/api/v3", "ghes.example.com/acme/shop"),
        ("https://api.acme.ghe.com", "acme.ghe.com/acme/shop"),
    ],
    ids=["ghes", "ghe.com"],
)
def test_the_hint_names_the_repositorys_own_github(spec, api_url: str, repo: str) -> None:  # type: ignore[no-untyped-def]
    from stacks.contract import oidc_issuer_host

    there = spec.model_copy(update={"github_oidc_issuer": oidc_issuer_host(api_url)})
    hint = lifecycle.workload_only_hint(there, "dev")
    assert f"`gh workflow run teardown.yml --repo {repo} -f stage=dev -f confirm=dev`" in hint


def test_cli_destroy_of_a_stage_says_when_to_use_the_workflow(seam, aws) -> None:  # type: ignore[no-untyped-def]
    (seam.repo / ".pulumi-state").mkdir()
    seam.ops.deploy("shared", "dev")
    seam.ops.tear_down("dev")
    result = seam.run("destroy", "--stage", "dev", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(s["stack"], s["status"]) for s in data["stacks"]] == [("dev", "destroyed")]
    assert "gh workflow run teardown.yml --repo acme/shop -f stage=dev -f confirm=dev" in data["hint"]
    human = seam.run("destroy", "--stage", "dev")
    assert human.exit_code == 0, human.output
    assert "to remove only its workload, run the teardown workflow" in human.stderr
    assert "nothing deployed, skipped" in human.stderr  # finished before: nothing left


def place(repo, stage: str, account: str) -> None:  # type: ignore[no-untyped-def]
    """Name the stage's account in its stack file, as `new --account` writes it."""
    path = repo / "infra" / f"Pulumi.{stage}.yaml"
    text = path.read_text().replace("config:\n", f'config:\n  shop:account: "{account}"\n', 1)
    path.write_text(text)


def test_cli_destroy_of_a_stage_checks_its_account_first(  # type: ignore[no-untyped-def]
    seam, aws, tmp_path, monkeypatch
) -> None:
    from tests.fakes.moto_accounts import profiles

    key_ids = profiles(tmp_path, monkeypatch, {"prod-admin": PROD, "wrong": "333333333333"})
    place(seam.repo, "prod", PROD)
    (seam.repo / ".pulumi-state").mkdir()
    seam.ops.stacks = prod_apart(seam.ops.spec).stacks
    args = ("destroy", "--stage", "prod", "--yes", "--confirm", "prod")
    refused = seam.run(*args, "--profile", "prod=wrong")
    assert refused.exit_code == 5, refused.output
    line = one_line_error(refused)
    assert "lives in AWS account 222222222222, but profile 'wrong' signs in to 333333333333" in line
    assert seam.ops.calls == []  # checked before the state was even read
    typo = seam.run(*args, "--profile", "prdo=prod-admin")
    assert typo.exit_code == 2 and "names 'prdo', which is no stack" in one_line_error(typo)

    monkeypatch.setenv("BOOTSTRAP_AWS_PROFILES", "prod=prod-admin")
    done = seam.run(*args, "--json")
    assert done.exit_code == 0, done.output
    assert [(s["stack"], s["status"]) for s in json.loads(done.stdout)["stacks"]] == [
        ("prod", "destroyed")
    ]
    [(_, stack, env)] = seam.ops.envs
    assert (stack, env["AWS_ACCESS_KEY_ID"]) == ("prod", key_ids["prod-admin"])
    assert env["AWS_ACCESS_KEY_ID"] not in done.output  # never printed
