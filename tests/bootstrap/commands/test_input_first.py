"""Input before environment: a bad argument is reported before credentials, tools or prompts are
looked at. Here there is no Pulumi CLI, no AWS and no GitHub token, so a command that looked at
its environment first would say so instead of naming the argument."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap.cli import app
from bootstrap.errors import ExitCode

runner = CliRunner()
DIGEST = "sha256:" + "a" * 64


def one_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is a terminal for the commands: they would prompt."""
    import bootstrap.commands.destroy
    import bootstrap.commands.new

    terminal = types.SimpleNamespace(stdin=types.SimpleNamespace(isatty=lambda: True))
    for module in (bootstrap.commands.new, bootstrap.commands.destroy):
        monkeypatch.setattr(module, "sys", terminal)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["up", "--stage", "dev", "--image", "repo:latest"], "--image 'repo:latest' is not an image digest"),
        (["up", "--stage", "shared", "--image", DIGEST], "--image applies to stage stacks"),
        (["up", "--stage", "qa"], "unknown stage 'qa'"),
        (["up"], "--stage is required"),
        (["rollback", "--stage", "prod", "--to", "sha256:abc"], "--to 'sha256:abc' is not an image digest or a git SHA"),
        (["rollback", "--stage", "qa"], "unknown stage 'qa'"),
        (["promote", "--to", "qa"], "unknown stage 'qa'"),
        (["promote"], "--to is required"),
        (["destroy", "--stage", "prod"], "prod is a manual stage (protected); nothing was destroyed: pass --yes and --confirm prod"),
        (["destroy", "--stage", "prod", "--yes"], "add --confirm prod"),
        (["destroy", "--stage", "dev", "--delete-images"], "--delete-images applies only with --all"),
        (["destroy"], "nothing to destroy was named"),
        (["provision", "--owner", "-acme"], "GitHub owner '-acme'"),
        (["provision", "--owner", "octo"], "generated for the owner 'acme', not 'octo'"),
        (["provision", "--backend", "ftp://x"], "ftp://x"),
        (["provision", "--github-api-url", "http://example.com"], "plain http"),
        (["github", "sync", "--owner", "a_b"], "GitHub owner 'a_b'"),
        (["github", "owner", "a_b"], "GitHub owner 'a_b'"),
        (["status", "--github-api-url", "ftp://host"], "is not a GitHub API URL"),
        (["update", "--to", "banana"], "--to 'banana' is not a version"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_bad_arguments_come_first(
    generated_repos: dict[str, Path], args: list[str], needle: str
) -> None:
    result = runner.invoke(app, [*args, "--repo", str(generated_repos["ecs"])])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    line = one_error(result.stderr)
    assert needle in line
    for environment in ("Pulumi CLI", "GITHUB_TOKEN", "AWS credentials", "GitHub is not"):
        assert environment not in line


def test_destroy_on_a_terminal_asks_after_the_tools_are_checked(
    generated_repos: dict[str, Path], on_a_terminal: None
) -> None:
    """A prompt is not worth answering when the tool that acts on it is missing."""
    result = runner.invoke(
        app, ["destroy", "--stage", "prod", "--yes", "--repo", str(generated_repos["ecs"])]
    )
    assert result.exit_code == ExitCode.TOOL_MISSING, result.output
    assert "Type the stage name" not in result.output


def test_new_checks_the_name_before_asking_for_the_owner(
    tmp_path: Path, on_a_terminal: None
) -> None:
    result = runner.invoke(app, ["new", "Shop", "--dir", str(tmp_path)], input="acme\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "GitHub owner" not in result.output
    assert "project name 'Shop'" in one_error(result.stderr)


def test_new_asks_again_for_an_invalid_owner(tmp_path: Path, on_a_terminal: None) -> None:
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path)], input="-bad\nacme\n")
    assert result.exit_code == 0, result.output
    assert "GitHub owner '-bad' is not a valid user or organisation name" in result.output
    assert "owner: acme" in (tmp_path / "shop/.copier-answers.yml").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--owner", "-acme"], "GitHub owner '-acme'"),
        (["--no-provision", "--wait"], "--wait, --public and --reviewers apply to provisioning"),
        (["--backend", "s3://A"], "'A' is not a valid S3 bucket name"),
        (["--github-api-url", "http://example.com"], "plain http"),
        (["--dir", "missing/deeper"], "does not exist"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_new_rejects_options_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["new", "shop", *args, "--yes"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert needle in one_error(result.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["promote", "--to", "test"], ["rollback", "--stage", "dev"]])
def test_a_missing_github_token_is_a_credentials_error(
    generated_repos: dict[str, Path], args: list[str]
) -> None:
    """The same situation, the same code, as for `github sync`."""
    result = runner.invoke(app, [*args, "--repo", str(generated_repos["ecs"])])
    assert result.exit_code == ExitCode.CREDENTIALS, result.output
    line = one_error(result.stderr)
    assert "no GitHub token" in line and "export GITHUB_TOKEN" in line and "--local" in line


def test_promote_to_the_first_stage_is_refused_before_github_is_read(
    generated_repos: dict[str, Path],
) -> None:
    """No token here: were GitHub looked at first, this would be a credentials error (5)."""
    result = runner.invoke(app, ["promote", "--to", "dev", "--repo", str(generated_repos["ecs"])])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "'dev' is the first stage" in one_error(result.stderr)


@pytest.mark.parametrize("command", [["provision"], ["github", "sync"]])
def test_an_ownerless_repo_is_told_how_to_set_the_owner_first(
    tmp_path: Path, command: list[str]
) -> None:
    from tests.conftest import render

    repo = render(tmp_path, owner=None)
    result = runner.invoke(app, [*command, "--repo", str(repo)])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert one_error(result.stderr) == (
        "error: this repository has no GitHub owner yet: pass --owner USER_OR_ORGANISATION, "
        "or set it with `bootstrap github owner OWNER`"
    )
