"""The token: read from the environment or a hidden prompt, and found nowhere but in
Authorization headers (no request body or URL, no file under the repo or HOME, no log line)."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.errors import CredentialsError
from bootstrap.github.token import missing_scopes, read_token
from tests.bootstrap.github.conftest import PASSPHRASE, World


def test_read_token_prefers_github_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "from-gh")
    assert read_token(interactive=False) == "from-gh"
    monkeypatch.setenv("GITHUB_TOKEN", "from-github")
    assert read_token(interactive=False) == "from-github"


def test_read_token_prompts_without_echo_only_on_a_terminal() -> None:
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return " typed \n"

    assert read_token(interactive=True, prompt=prompt) == "typed"
    assert asked == ["GitHub token (input hidden): "]
    with pytest.raises(CredentialsError, match="no GitHub token.*GITHUB_TOKEN"):
        read_token(interactive=False)


def test_scopes() -> None:
    assert missing_scopes(("repo", "workflow"), public=False) == []
    assert missing_scopes(("repo",), public=True) == ["workflow"]
    assert missing_scopes(("public_repo", "workflow"), public=False) == ["repo"]


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def test_the_token_appears_only_in_authorization_headers(
    world: World,
    project: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    isolated_env: Path,
) -> None:
    caplog.set_level(logging.DEBUG)  # PyGithub and urllib3 log every request at DEBUG
    repo = project()
    token = world.token
    forms = [token.encode(), base64.b64encode(f"x-access-token:{token}".encode())]
    world.sync(repo)
    world.sync(repo)

    server = world.server
    assert server.token_leaks(token) == []
    api = [r for r in server.requests if not r.is_git]
    assert all(r.headers["Authorization"] == f"token {token}" for r in api)
    pushed = [r for r in server.requests if r.path.endswith("/git-receive-pack")]
    assert pushed and all(r.headers["Authorization"].startswith("Basic ") for r in pushed)

    # no file of the repo or of HOME (git credential stores), .git included
    for root in (repo, isolated_env):
        for file, content in _all_bytes(root):
            assert not any(form in content for form in forms), file
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    assert not any(form in objects for form in forms)
    config = (repo / ".git" / "config").read_text().lower()
    assert "extraheader" not in config and "authorization" not in config
    remote = subprocess.run(
        ["git", "remote", "-v"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert token not in remote.stdout and "@" not in remote.stdout

    # no log line, no output; the passphrase travelled only sealed
    assert token not in caplog.text
    out, err = capfd.readouterr()
    assert token not in out and token not in err
    assert not any(PASSPHRASE in r.text_without_authorization() for r in server.requests)
    assert "GIT_CONFIG_COUNT" not in os.environ
