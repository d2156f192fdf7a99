"""The previews' decisions (stacks/previews.py) against the local GitHub, on the stdlib transport
the workflows use: the open-check, the cap, the sweep and the one comment; every exchange checked
against GitHub's REST description."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stacks import contract, previews
from stacks.github_api import UrllibTransport
from tests.bootstrap.github.test_rest_contract import problems_of
from tests.fakes.github_server import FakeGitHub

REPOSITORY = "acme/shop"
NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
SHA = "a" * 40


@dataclass
class World:
    server: FakeGitHub
    transport: UrllibTransport

    def pull(self, title: str = "change", *, sha: str = SHA, fork: bool = False) -> int:
        return int(self.server.open_pull(REPOSITORY, title=title, head_sha=sha, fork=fork)["number"])

    def comments(self, number: int) -> list[dict]:
        return self.transport("GET", f"/repos/{REPOSITORY}/issues/{number}/comments")


@pytest.fixture
def world(github_server: FakeGitHub) -> World:
    token = github_server.add_user("octo")
    github_server.add_org("acme", members=("octo",), plan="team")
    github_server.add_repo("acme", "shop")
    return World(github_server, UrllibTransport(token, github_server.api_url))


def stack_ls(*entries: tuple[str, datetime | None, int | None]) -> list[dict]:
    """`pulumi stack ls --json` as the CLI prints it (lastUpdate absent while updating)."""
    listed = [{"name": "shared", "current": False, "lastUpdate": "2027-01-01T00:00:00.000Z", "resourceCount": 20}]
    for name, when, count in entries:
        entry: dict = {"name": name, "current": False, "updateInProgress": when is None}
        if when is not None:
            entry["lastUpdate"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if count is not None:
            entry["resourceCount"] = count
        listed.append(entry)
    return listed


def test_live_previews_are_read_from_the_stack_list() -> None:
    found = previews.previews(
        stack_ls(("acme/shop/pr-7", NOW, 9), ("pr-12", None, None), ("dev", NOW, 30), ("pr-x", NOW, 1), ("pr-3", NOW, 0))
    )
    assert [(p.number, p.stack) for p in found] == [(3, "pr-3"), (7, "pr-7"), (12, "pr-12")]
    assert found[1].last_update == NOW and found[1].live
    assert found[2].updating and found[2].last_update is None and found[2].live
    assert not found[0].live  # destroyed, its stack not yet removed


def test_the_cap_keeps_a_running_preview_and_refuses_one_more() -> None:
    live = previews.previews(stack_ls(("pr-1", NOW, 9), ("pr-2", NOW, 9), ("pr-3", NOW, 0)))
    assert previews.cap(live, 4, 3) == previews.Cap(True, 2, 3)
    assert previews.cap(live, 4, 2) == previews.Cap(False, 2, 2)
    assert previews.cap(live, 1, 2).allowed  # already has one: redeploys
    assert previews.cap(live, 3, 2).allowed is False  # a destroyed one counts for nothing


def test_an_ecs_preview_is_refused_a_port_another_live_preview_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pull requests 5 and 5 + PREVIEW_PORTS share a port on the first stage's load balancer:
    the first to deploy keeps it, the other is told why (a destroyed one holds nothing)."""
    clash = 5 + contract.PREVIEW_PORTS
    assert contract.preview_port(5) == contract.preview_port(clash) == 8006
    live = previews.previews(stack_ls(("pr-5", NOW, 9), ("pr-6", NOW, 0)))
    assert previews.cap(live, clash, 5, "ecs") == previews.Cap(False, 1, 5, port=8006, taken_by=5)
    assert previews.cap(live, 5, 5, "ecs") == previews.Cap(True, 0, 5, port=8006)  # its own port
    assert previews.cap(live, 6 + contract.PREVIEW_PORTS, 5, "ecs").allowed  # pr-6 is destroyed
    assert previews.cap(live, clash, 5).allowed  # Lambda previews have no ports
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    listed = tmp_path / "stacks.json"
    listed.write_text(json.dumps(stack_ls(("pr-5", NOW, 9))))
    argv = ["cap", "--pull", str(clash), "--stacks", str(listed), "--max", "5", "--target", "ecs"]
    assert previews.main(argv, infra=tmp_path) == 0
    assert capsys.readouterr().out.splitlines() == ["allowed=false", "active=1", "limit=5", "port=8006", "taken_by=5"]
    body = previews.comment_body("collision", clash, taken_by=5)
    assert "port 8006" in body and "`pr-5`" in body and str(contract.PREVIEW_PORTS) in body


def test_the_open_check_follows_the_pull_request(world: World) -> None:
    number = world.pull()
    assert previews.is_open(previews.pull_request(world.transport, REPOSITORY, number), SHA) == (True, "open")
    moved, reason = previews.is_open(previews.pull_request(world.transport, REPOSITORY, number), "b" * 40)
    assert not moved and "moved on" in reason
    world.server.close_pull(REPOSITORY, number, merged=True)
    assert previews.is_open(previews.pull_request(world.transport, REPOSITORY, number), SHA) == (
        False, "the pull request is merged",
    )  # fmt: skip
    assert previews.is_open(previews.pull_request(world.transport, REPOSITORY, 999)) == (
        False, "the pull request does not exist",
    )  # fmt: skip
    assert not problems_of(world.server.requests)


def test_the_sweep_destroys_closed_and_idle_previews_only(world: World) -> None:
    open_recent, open_idle, closed, updating = (world.pull(f"pr {n}") for n in range(4))
    world.server.close_pull(REPOSITORY, closed)
    live = previews.previews(
        stack_ls(
            (f"pr-{open_recent}", NOW - timedelta(hours=2), 9),
            (f"pr-{open_idle}", NOW - timedelta(hours=80), 9),
            (f"pr-{closed}", NOW - timedelta(hours=1), 9),
            (f"pr-{updating}", None, 9),
            ("pr-404", NOW, 9),  # its pull request is gone
        )
    )
    verdicts = {v.preview.number: v for v in previews.sweep(live, world.transport, REPOSITORY, now=NOW, ttl_hours=72)}
    assert {n for n, v in verdicts.items() if v.destroy} == {open_idle, closed, 404}
    assert "not deployed for 80 h" in verdicts[open_idle].reason
    assert verdicts[closed].reason == "the pull request is closed"
    assert not problems_of(world.server.requests)


def test_one_comment_per_pull_request_updated_on_every_push(world: World) -> None:
    number = world.pull()
    world.server.open_pull(REPOSITORY, title="other", head_sha=SHA)
    first = previews.upsert_comment(world.transport, REPOSITORY, number, previews.comment_body(
        "deployed", number, url="https://x.lambda-url.eu-west-1.on.aws/", image="r@sha256:" + "1" * 64, sha=SHA))  # fmt: skip
    world.transport("POST", f"/repos/{REPOSITORY}/issues/{number}/comments", {"body": "looks good"})
    second = previews.upsert_comment(world.transport, REPOSITORY, number, previews.comment_body(
        "capped", number, limit=5, active=5))  # fmt: skip
    assert first == second
    ours = [c for c in world.comments(number) if c["body"].startswith(contract.PREVIEW_COMMENT_MARKER)]
    assert len(ours) == 1 and len(world.comments(number)) == 2
    assert "5 of at most 5 previews are running" in ours[0]["body"]
    assert "previewMaxActive" in ours[0]["body"]
    assert not problems_of(world.server.requests)


def test_a_comment_is_found_beyond_the_first_page(world: World) -> None:
    number = world.pull()
    for n in range(previews.PAGE):
        world.transport("POST", f"/repos/{REPOSITORY}/issues/{number}/comments", {"body": f"chatter {n}"})
    posted = previews.upsert_comment(world.transport, REPOSITORY, number, previews.comment_body("destroyed", number))
    assert previews.find_comment(world.transport, REPOSITORY, number) == posted


def test_the_command_line_writes_its_results_for_the_workflow(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generated_repos: dict[str, Path]
) -> None:
    output = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    infra = generated_repos["lambda"] / contract.INFRA_DIR
    listed = tmp_path / "stacks.json"
    listed.write_text(json.dumps(stack_ls(("pr-1", NOW, 9))))
    number = world.pull()

    assert previews.main(["limits"], infra=infra) == 0
    assert previews.main(["cap", "--pull", str(number + 1), "--stacks", str(listed), "--max", "1"], infra=infra) == 0
    assert previews.main(["open-check", "--pull", str(number), "--sha", SHA], transport=world.transport) == 0
    assert previews.main(["sweep", "--stacks", str(listed)], transport=world.transport, now=NOW, infra=infra) == 0
    assert output.read_text().splitlines() == [
        "target=lambda", "max=5", "ttl_hours=72",
        "allowed=false", "active=1", "limit=1",
        "open=true", "reason=open",
        "destroy=", "comments=[]",  # pr-1 is this open pull request's, deployed just now
    ]  # fmt: skip
    assert previews.main(["comment", "--pull", "999", "--state", "failed"], transport=world.transport) == 1


def test_preview_stacks_are_named_for_their_pull_request_and_no_stage_takes_the_names() -> None:
    from bootstrap.errors import SpecError
    from bootstrap.spec import _check_stage_names

    assert contract.preview_stack(12) == "pr-12" and contract.preview_number("pr-12") == 12
    assert [contract.preview_number(s) for s in ("pr-0", "pr-x", "dev", "shared", "pr-12a")] == [None] * 5
    for name in ("pr", "pr-1", "pr-review"):
        with pytest.raises(SpecError, match="reserved for pull-request previews"):
            _check_stage_names(["dev", name])
    _check_stage_names(["dev", "preprod", "prod"])  # only `pr` and `pr-*`
