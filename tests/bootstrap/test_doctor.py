"""`bootstrap doctor`: each piece present and absent (moto for STS, a local HTTP server for GitHub,
PATH for the pulumi and docker executables)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap import doctor
from bootstrap.cli import app
from tests.fakes.github_server import FakeGitHub

from .conftest import ACCOUNT


def _exe(bindir: Path, name: str, script: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    return bindir


@pytest.fixture
def tools(empty_path: Path) -> Path:
    """Fake pulumi and docker executables that answer like the real ones."""
    _exe(empty_path, "pulumi", 'if [ "$1" = version ]; then echo v3.150.0; else exit 1; fi\n')
    _exe(
        empty_path,
        "docker",
        'case "$1" in\n'
        "  --version) echo 'Docker version 27.3.1, build ce12230' ;;\n"
        "  info) echo 27.3.1 ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n",
    )
    return empty_path


@pytest.fixture
def github(github_server: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The local GitHub (tests/fakes/github_server.py), the token ghp_test in the environment."""
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    return github_server


def _user(server: FakeGitHub, scopes: str | None = "repo, workflow, read:org") -> None:
    server.add_user("octocat", token="ghp_test", scopes=scopes)


def test_everything_absent(empty_path: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 5  # credentials missing (ExitCode.CREDENTIALS)
    data = json.loads(result.stdout)
    assert data["ok"] is False
    checks = {c["name"]: c for c in data["checks"]}
    assert list(checks) == ["pulumi", "aws", "github", "docker"]
    assert all(c["status"] == "missing" and not c["ok"] for c in checks.values())
    assert "curl -fsSL https://get.pulumi.com | sh" in checks["pulumi"]["fix"]
    assert "--offline" in checks["pulumi"]["fix"]
    assert "aws sso login" in checks["aws"]["fix"]
    assert "GITHUB_TOKEN" in checks["github"]["fix"] and "workflow" in checks["github"]["fix"]
    assert "docs.docker.com" in checks["docker"]["fix"]


def test_everything_present(tools: Path, github: FakeGitHub, aws) -> None:  # type: ignore[no-untyped-def]
    _user(github)
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert data["ok"] and all(c["status"] == "ok" for c in checks.values())
    assert checks["pulumi"]["data"]["version"] == "v3.150.0"
    assert checks["aws"]["data"]["account"] == ACCOUNT
    assert checks["github"]["data"] == {
        "user": "octocat",
        "api": github.api_url,
        "scopes": ["read:org", "repo", "workflow"],
    }
    assert checks["docker"]["data"]["daemon"] is True
    human = CliRunner().invoke(app, ["doctor"])
    assert human.exit_code == 0
    assert "✓ pulumi  Pulumi CLI v3.150.0" in human.stdout
    assert "fix:" not in human.stdout
    assert "ghp_test" not in human.output  # the token is never printed


def test_run_checks_is_the_api_for_new(tools: Path, github: FakeGitHub, aws) -> None:  # type: ignore[no-untyped-def]
    _user(github)
    report = doctor.run_checks(["github", "pulumi"])
    assert [c.name for c in report.checks] == ["pulumi", "github"]
    assert report.ok and report.problems == []
    assert report.get("github").data["user"] == "octocat"
    with pytest.raises(ValueError, match="unknown checks"):
        doctor.run_checks(["kubectl"])


def test_github_token_lacking_scopes(github: FakeGitHub) -> None:
    _user(github, scopes="read:user")
    check = doctor.check_github()
    assert check.status == "error"
    assert "lacks the scope(s) repo, workflow" in check.detail
    assert check.fix and "scopes=repo,workflow" in check.fix


def test_github_fine_grained_token(github: FakeGitHub) -> None:
    _user(github, scopes=None)
    check = doctor.check_github()
    assert check.ok and check.data["scopes"] is None and "fine-grained" in check.detail


def test_github_token_rejected(github: FakeGitHub) -> None:
    github.add_user("octocat", token="ghp_other")  # ghp_test is no token GitHub knows
    check = doctor.check_github()
    assert check.status == "error" and "rejected the token" in check.detail


def test_github_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard port: refused
    check = doctor.check_github(timeout=2)
    assert check.status == "error" and "cannot reach" in check.detail
    assert check.fix and "githubstatus.com" in check.fix and "finished steps" not in check.fix


def test_github_failing_has_doctors_own_fix(github: FakeGitHub) -> None:
    _user(github)
    github.fail("GET", r"^/user$", 502)
    check = doctor.check_github()
    assert check.status == "error" and "502" in check.detail
    assert check.fix and "githubstatus.com" in check.fix and "finished steps" not in check.fix


def test_broken_pulumi_and_docker_without_daemon(empty_path: Path) -> None:
    _exe(empty_path, "pulumi", "echo 'segfault' >&2; exit 2\n")
    _exe(
        empty_path,
        "docker",
        'if [ "$1" = --version ]; then echo "Docker version 27.3.1"; else exit 1; fi\n',
    )
    pulumi = doctor.check_pulumi()
    assert pulumi.status == "error" and "segfault" in pulumi.detail and pulumi.fix
    docker = doctor.check_docker()
    assert docker.status == "warn" and docker.ok and "daemon does not answer" in docker.detail
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 5  # credentials missing (ExitCode.CREDENTIALS)
    assert "Traceback" not in result.output
    assert "fix: reinstall it: `curl -fsSL https://get.pulumi.com | sh`" in result.stdout


def _role(iam, name: str, subject: str) -> None:  # type: ignore[no-untyped-def]
    issuer = "token.actions.githubusercontent.com"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com",
                                           f"{issuer}:sub": subject}},
        }],
    }  # fmt: skip
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def test_trust_shows_the_subjects_github_issues_and_which_roles_trust_them(
    repo_copy, tools: Path, github: FakeGitHub, aws  # type: ignore[no-untyped-def]
) -> None:
    import shutil

    import boto3

    git = shutil.which("git", path="/usr/local/bin:/usr/bin:/bin")
    _exe(tools, "git", f'exec {git} "$@"\n')  # PATH holds the fake tools only
    _user(github)
    github.add_org("acme", members=("octocat",), plan="enterprise")
    github.add_repo("acme", "shop")
    prefix = github.subject_prefix("acme/shop")  # immutable: what GitHub issues now
    iam = boto3.client("iam")
    _role(iam, "shop-dev-deploy", f"{prefix}:environment:dev")
    _role(iam, "shop-test-deploy", "repo:acme/shop:environment:test")  # the old, name-only one
    _role(iam, "shop-ci", f"{prefix}:ref:refs/heads/main")
    repo = repo_copy("ecs")

    result = CliRunner().invoke(app, ["doctor", "--json", "--repo", str(repo)])

    trust = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "trust")
    assert trust["status"] == "error"
    # everything else is here: a trust that does not match is the roles' state, not credentials
    assert [c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]] == ["trust"]
    assert result.exit_code == 1, result.output
    assert trust["data"]["prefix"] == prefix and trust["data"]["source"] == "GitHub"
    rows = {row["for"]: (row["subject"], row["trusted"]) for row in trust["data"]["subjects"]}
    assert rows == {
        "dev": (f"{prefix}:environment:dev", True),
        "test": (f"{prefix}:environment:test", False),
        "prod": (f"{prefix}:environment:prod", None),  # not deployed
        "main": (f"{prefix}:ref:refs/heads/main", True),
        "pull requests": (f"{prefix}:pull_request", None),
    }
    assert "the roles of test trust another subject" in trust["detail"]
    assert "bootstrap provision" in trust["fix"]
    human = CliRunner().invoke(app, ["doctor", "--repo", str(repo)])
    assert f"{prefix}:environment:test" in human.stdout and "NOT trusted" in human.stdout


def test_trust_without_github_or_a_recorded_prefix_is_missing(repo_copy) -> None:  # type: ignore[no-untyped-def]
    check = doctor.check_trust(repo_copy("lambda"))
    assert check.status == "missing" and "not recorded yet" in check.detail
    assert check.fix and "bootstrap github sync" in check.fix


def test_doctor_checks_each_account_and_looks_up_each_stage_role_in_its_own(
    repo_copy,  # type: ignore[no-untyped-def]
    tools: Path,
    github: FakeGitHub,
    aws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    import boto3

    from tests.fakes.moto_accounts import profiles

    prod = "222222222222"
    git = shutil.which("git", path="/usr/local/bin:/usr/bin:/bin")
    _exe(tools, "git", f'exec {git} "$@"\n')
    _user(github)
    github.add_org("acme", members=("octocat",), plan="enterprise")
    github.add_repo("acme", "shop")
    prefix = github.subject_prefix("acme/shop")
    profiles(tmp_path, monkeypatch, {"prod-admin": prod, "wrong": "333333333333"})
    in_prod = boto3.Session(profile_name="prod-admin", region_name="eu-west-1").client("iam")
    issuer = "token.actions.githubusercontent.com"
    provider = in_prod.create_open_id_connect_provider(
        Url=f"https://{issuer}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    _role(in_prod, "shop-prod-deploy", f"{prefix}:environment:prod")  # in prod's account only
    _role(boto3.client("iam"), "shop-dev-deploy", f"{prefix}:environment:dev")
    repo = repo_copy("ecs")
    stack_file = repo / "infra" / "Pulumi.prod.yaml"
    stack_file.write_text(
        stack_file.read_text().replace("config:\n", f'config:\n  shop:account: "{prod}"\n', 1)
    )

    def checks(*args: str) -> tuple[int, dict[str, dict]]:  # type: ignore[type-arg]
        result = CliRunner().invoke(app, ["doctor", "--json", "--repo", str(repo), *args])
        assert "Traceback" not in result.output
        return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)["checks"]}

    code, found = checks("--profile", "prod=prod-admin")
    assert code == 0, found
    rows = {row["account"]: row for row in found["accounts"]["data"]["accounts"]}
    assert set(rows) == {ACCOUNT, prod} and all(row["ok"] for row in rows.values())
    assert (rows[prod]["stacks"], rows[prod]["profile"]) == (["prod"], "prod-admin")
    assert rows[prod]["identity"].startswith(f"arn:aws:sts::{prod}:assumed-role/")
    assert rows[ACCOUNT]["stacks"] == ["shared", "dev", "test"] and rows[ACCOUNT]["profile"] is None
    trust = {row["for"]: row for row in found["trust"]["data"]["subjects"]}
    assert (trust["prod"]["account"], trust["prod"]["trusted"]) == (prod, True)
    assert trust["prod"]["provider"] == provider  # looked up in prod's account
    assert (trust["dev"]["account"], trust["dev"]["provider"]) == (ACCOUNT, None)
    human = CliRunner().invoke(app, ["doctor", "--repo", str(repo), "--profile", "prod=prod-admin"])
    assert f"{prod}: prod: profile 'prod-admin' signs in as arn:aws:sts::{prod}:" in human.stdout
    assert f"shop-prod-deploy in {prod}: trusted" in human.stdout

    code, found = checks("--profile", "prod=wrong")
    assert code == 5  # credentials (ExitCode.CREDENTIALS)
    accounts = found["accounts"]
    assert accounts["status"] == "error"
    assert "prod: profile 'wrong' signs in to 333333333333, not 222222222222" in accounts["detail"]
    assert "--profile prod=PROFILE" in accounts["fix"]
    trust = {row["for"]: row for row in found["trust"]["data"]["subjects"]}
    assert trust["prod"]["trusted"] is None and trust["dev"]["trusted"] is True

    single = CliRunner().invoke(app, ["doctor", "--json", "--repo", str(repo_copy("lambda"))])
    assert "accounts" not in {c["name"] for c in json.loads(single.stdout)["checks"]}
