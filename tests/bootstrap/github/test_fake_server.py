"""The local GitHub itself: git over HTTP needs the token; deployments and dispatches work
through PyGithub (for `status`, `promote` and `rollback`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from github import Auth, Github

from tests.fakes.github_server import FakeGitHub


def _ls_remote(url: str, *config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "credential.helper=", *config, "ls-remote", url],
        capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "HOME": "/nonexistent"},
    )  # fmt: skip


def test_git_endpoint_requires_the_token(github_server: FakeGitHub) -> None:
    token = github_server.add_user("octo")
    github_server.add_repo("octo", "svc", foreign_content=True)
    url = f"{github_server.url}/git/octo/svc.git"
    assert _ls_remote(url).returncode != 0
    assert _ls_remote(url, "-c", "http.extraHeader=Authorization: Bearer nope").returncode != 0
    listed = _ls_remote(url, "-c", f"http.extraHeader=Authorization: Bearer {token}")
    assert listed.returncode == 0 and "refs/heads/main" in listed.stdout
    assert [r.status for r in github_server.requests if r.is_git][:2] == [401, 401]


def test_deployments_statuses_and_dispatches_through_pygithub(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    token = github_server.add_user("octo")
    github_server.add_repo("octo", "svc", foreign_content=True)
    sha = github_server.head("octo/svc")
    gh = Github(auth=Auth.Token(token), base_url=github_server.api_url, retry=None,
                seconds_between_requests=0, seconds_between_writes=0)  # fmt: skip
    repo = gh.get_repo("octo/svc")

    first = repo.create_deployment(ref="main", environment="dev", auto_merge=False,
                                   required_contexts=[])  # fmt: skip
    first.create_status("success", environment_url="https://dev.example")
    second = repo.create_deployment(ref=sha or "", environment="dev", auto_merge=False,
                                    required_contexts=[])  # fmt: skip
    second.create_status("in_progress")
    github_server.add_deployment("octo/svc", environment="prod", sha=sha or "",
                                 statuses=("pending", "success"))  # fmt: skip

    dev = list(repo.get_deployments(environment="dev"))
    assert [d.id for d in dev] == [second.id, first.id] and dev[0].sha == sha
    assert [s.state for s in first.get_statuses()] == ["success"]
    assert [s.state for s in repo.get_deployments(environment="prod")[0].get_statuses()] == [
        "success", "pending",
    ]  # fmt: skip

    gh.requester.requestJsonAndCheck(
        "POST", "/repos/octo/svc/actions/workflows/promote.yml/dispatches",
        input={"ref": "main", "inputs": {"stage": "prod"}},
    )  # fmt: skip
    assert github_server.repo("octo/svc").dispatches[0]["inputs"] == {"stage": "prod"}
