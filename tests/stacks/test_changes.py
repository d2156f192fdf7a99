"""The change list (stacks/changes.py) against the local GitHub: compare and the pull requests of
each commit, checked against GitHub's REST description."""

from __future__ import annotations

import pytest

from stacks import changes
from stacks import records as rec
from tests.stacks.records_world import REPOSITORY, RecordsWorld, digest, records_world

__all__ = ["records_world"]


def test_the_commits_and_pull_requests_between_two_releases(records_world: RecordsWorld) -> None:
    world = records_world
    first, second, third, fourth = world.commits
    world.server.add_pull(REPOSITORY, title="Add the items list", commits=(second, third))
    found = changes.compare(world.records.transport, REPOSITORY, first, fourth)
    assert (found.status, found.ahead_by, found.behind_by) == ("ahead", 3, 0)
    assert [c.sha for c in found.commits] == [second, third, fourth]  # oldest first
    assert [c.title for c in found.commits] == ["change 1", "change 2", "change 3"]
    assert found.commits[0].pulls == ((1, "Add the items list"),) and found.commits[2].pulls == ()
    assert found.pulls == [(1, "Add the items list")]
    assert found.lines() == [
        f"3 commit(s) from {first[:12]} to {fourth[:12]}",
        f"  {fourth[:12]} change 3",
        f"  {third[:12]} change 2 (#1 Add the items list)",
        f"  {second[:12]} change 1 (#1 Add the items list)",
    ]
    markdown = found.markdown("prod")
    assert f"| `{third[:12]}` | change 2 | Test User | #1 Add the items list |" in markdown
    back = changes.compare(world.records.transport, REPOSITORY, fourth, second)
    assert (back.status, back.ahead_by, back.behind_by) == ("behind", 0, 2)
    same = changes.compare(world.records.transport, REPOSITORY, second, second)
    assert same.lines() == [f"no changes: {second[:12]} is what runs"]
    assert world.problems() == []


def test_the_command_line_compares_with_what_the_stage_runs(
    records_world: RecordsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world = records_world
    transport = world.records.transport

    def run(sha: str) -> tuple[int, str]:
        code = changes.main(["--stage", "prod", "--sha", sha, "--repository", REPOSITORY],
                            transport=transport)  # fmt: skip
        return code, capsys.readouterr().out

    code, out = run(world.commits[3])
    assert code == 0 and "prod runs no recorded release yet" in out
    record = world.records.start("prod", digest(1), world.commits[1])
    world.records.add(record.id, rec.DEPLOYED)
    code, out = run(world.commits[3])
    assert code == 0 and out.startswith("### Changes this deploy brings to prod\n\n2 commit(s)")
    assert changes.main(["--stage", "prod", "--sha", "main"], transport=transport) == 2
    assert world.problems() == []
