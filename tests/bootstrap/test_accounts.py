"""Which credentials act in which account (bootstrap/accounts.py): the --profile pairs, the STS
check of every session against the account its stack names, and the credentials a stack's Pulumi
run gets, against moto with several account IDs (tests/fakes/moto_accounts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bootstrap.accounts import Accounts, Placement, Profiles, spec_placements
from bootstrap.errors import CredentialsError, SpecError
from tests.conftest import make_spec
from tests.fakes import moto_accounts

TOOLING = moto_accounts.DEFAULT_ACCOUNT
PROD = "222222222222"
OTHER = "333333333333"
REGION = "eu-west-1"


@pytest.mark.parametrize("value", ["prod", "=admin", "prod=", " = "])
def test_a_profile_pair_must_be_key_equals_profile(value: str) -> None:
    with pytest.raises(SpecError) as info:
        Profiles.parse([value], env="")
    assert f"--profile '{value.strip()}' is not KEY=PROFILE" in str(info.value)
    assert info.value.exit_code == 2


def test_profiles_from_the_environment_and_the_command_line_which_wins() -> None:
    profiles = Profiles.parse(["prod=cli-admin"], env="prod=env-admin, shared=tooling,")
    assert dict(profiles.by_key) == {"prod": "cli-admin", "shared": "tooling"}
    assert profiles.for_stack("prod", PROD) == "cli-admin"
    assert Profiles.parse([f"{PROD}=by-account"], env="").for_stack("prod", PROD) == "by-account"
    assert profiles.for_stack("dev", None) is None  # the ambient credentials
    with pytest.raises(SpecError, match="BOOTSTRAP_AWS_PROFILES 'oops' is not KEY=PROFILE"):
        Profiles.parse([], env="oops")


def where(prod_account: str | None = PROD) -> dict[str, Placement]:
    spec = make_spec(region=REGION)
    placed = spec_placements(spec)
    placed["prod"] = Placement("prod", prod_account, "eu-central-1")
    return placed


def test_a_key_that_names_no_stack_and_no_account_is_refused() -> None:
    known = Profiles({"prod": "a", PROD: "b", "shared": "c"})
    Accounts(known, where(), region=REGION).check_profiles()
    with pytest.raises(SpecError) as info:
        Accounts(Profiles({"staging": "a", OTHER: "b"}), where(), region=REGION).check_profiles()
    assert f"'{OTHER}', 'staging'" in info.value.problem and info.value.exit_code == 2


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the ambient keys: moto's default account
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_PROFILE", "default")  # must not reach a stage's Pulumi run
    (tmp_path / "config").write_text("[default]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with mock_aws():
        found = moto_accounts.profiles(tmp_path, monkeypatch, {"prod-admin": PROD, "wrong": OTHER})
        with (tmp_path / "aws-credentials").open("a") as file:
            file.write("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
        yield found


def test_verify_checks_each_session_against_its_stack_s_account(keys: dict[str, str]) -> None:
    accounts = Accounts(Profiles({"prod": "prod-admin"}), where(), region=REGION)
    assert accounts.verify(["shared", "dev", "prod"]) == {
        "shared": TOOLING, "dev": TOOLING, "prod": PROD,
    }  # fmt: skip
    assert accounts.foreign() == {"prod": PROD}
    assert accounts.layout() == {TOOLING: ["shared", "dev", "test"], PROD: ["prod"]}


def test_verify_refuses_a_profile_of_another_account(keys: dict[str, str]) -> None:
    accounts = Accounts(Profiles({"prod": "wrong"}), where(), region=REGION)
    with pytest.raises(CredentialsError) as info:
        accounts.verify(["shared", "prod"])
    assert info.value.problem == (
        f"stack 'prod' lives in AWS account {PROD}, but profile 'wrong' signs in to {OTHER}"
    )
    assert "--profile prod=PROFILE" in str(info.value.fix)
    # a stage of another account without a profile: the ambient credentials are the tooling's
    with pytest.raises(CredentialsError, match="your default AWS credentials signs in to"):
        Accounts(Profiles(), where(), region=REGION).verify(["prod"])


def test_a_stage_s_pulumi_run_gets_its_profile_s_keys_and_none_of_the_caller_s(
    keys: dict[str, str],
) -> None:
    accounts = Accounts(Profiles({"prod": "prod-admin"}), where(), region=REGION)
    env = accounts.pulumi_env("prod")
    assert env["AWS_ACCESS_KEY_ID"] == keys["prod-admin"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_SESSION_TOKEN"]  # the assumed role's session
    assert env["AWS_PROFILE"] == "" and env["AWS_DEFAULT_PROFILE"] == ""  # the caller's, blanked
    assert env["AWS_REGION"] == "eu-central-1"  # the stage's region
    assert accounts.pulumi_env("dev") == {}  # the ambient credentials, as they are


def test_sessions_are_one_per_profile_and_announced(keys: dict[str, str]) -> None:
    made: list[str | None] = []
    accounts = Accounts(
        Profiles({"prod": "prod-admin"}), where(), region=REGION,
        on_session=lambda profile, _: made.append(profile),
    )  # fmt: skip
    assert accounts.session("dev") is accounts.session("shared")
    assert accounts.session("prod") is not accounts.session("dev")
    assert made == [None, "prod-admin"]
    assert accounts.account_of_profile("prod-admin") is None  # not checked yet
    accounts.verify(["prod"])
    assert accounts.account_of_profile("prod-admin") == PROD


def test_an_existing_repo_s_stack_files_say_where_each_stack_lives(repo_copy) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from bootstrap.accounts import placements
    from bootstrap.cli import app

    repo = repo_copy()
    prod = repo / "infra/Pulumi.prod.yaml"
    prod.write_text(
        prod.read_text().replace("  aws:region: eu-west-1\n", "  aws:region: eu-central-1\n")
        + f'  shop:account: "{PROD}"\n'
    )
    found = placements(repo, "shop", ["shared", "dev", "prod"], "eu-west-1")
    assert found["prod"] == Placement("prod", PROD, "eu-central-1")
    assert found["dev"] == Placement("dev", None, "eu-west-1")
    assert found["shared"].account is None
    # `provision` refuses a --profile key that names nothing, before any credential is read
    result = CliRunner().invoke(
        app, ["provision", "--repo", str(repo), "--profile", "qa=admin", "--json"]
    )
    assert result.exit_code == 2, result.output
    assert "--profile names 'qa', which is no stack" in result.output
