"""The local GitHub for the carried records and gates: a repository with a pushed `main`, a fixed
clock the test moves, and `stacks.records.Records` on the stdlib transport the workflows use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.github_api import UrllibTransport
from stacks.records import Records
from tests.bootstrap.github.test_rest_contract import problems_of
from tests.conftest import git
from tests.fakes.github_server import FakeGitHub

REPOSITORY = "acme/shop"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}".rjust(64, "a")


@dataclass
class RecordsWorld:
    server: FakeGitHub
    records: Records
    commits: list[str]  # oldest first
    now: float = START

    def tick(self, minutes: float) -> None:
        self.now += minutes * 60

    def problems(self) -> list[str]:
        """Every exchange so far against GitHub's REST description."""
        return problems_of(self.server.requests)


def make_commits(work: Path, count: int) -> list[str]:
    git(work, "init", "--quiet", "--initial-branch=main")
    shas = []
    for n in range(count):
        (work / "CHANGES").write_text(f"change {n}\n")
        git(work, "add", "CHANGES")
        git(work, "commit", "--quiet", "-m", f"change {n}")
        shas.append(git(work, "rev-parse", "HEAD").strip())
    return shas


@pytest.fixture
def records_world(github_server: FakeGitHub, tmp_path: Path) -> RecordsWorld:
    token = github_server.add_user("octo")
    github_server.add_org("acme", members=("octo",), plan="team")
    work = tmp_path / "work"
    work.mkdir()
    commits = make_commits(work, 4)
    github_server.add_repo("acme", "shop", push_from=work)
    world = RecordsWorld(github_server, Records(UrllibTransport(token, github_server.api_url),
                                                REPOSITORY), commits)  # fmt: skip
    github_server.clock = lambda: world.now
    return world
