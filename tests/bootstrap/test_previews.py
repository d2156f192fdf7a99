"""bootstrap's side of the previews: `status` lists the live ones with their age and monthly cost
(the offline plan of a preview priced by bootstrap.cost), `destroy --preview N` removes one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootstrap import automation, previews
from bootstrap.cli import app
from bootstrap.repo import load_spec
from bootstrap.status import Sources, collect, render_text
from tests.bootstrap.conftest import one_line_error
from tests.conftest import REPO_ROOT
from tests.fakes.stack_ops import RecordedStack, RecordingOps

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
URL = "https://abc.lambda-url.eu-west-1.on.aws/"
runner = CliRunner()


class ListingOps(RecordingOps):
    """The recording seam with the backend's stack list (`pulumi stack ls`)."""

    def __init__(self, *args: Any, updated: dict[str, datetime | None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updated = updated

    def list_stacks(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "resourceCount": state.resources, "updateInProgress": self.updated.get(name) is None,
             "lastUpdate": (self.updated.get(name) or NOW).isoformat() if self.updated.get(name) else None}
            for name, state in self.stacks.items()
        ]  # fmt: skip


@pytest.fixture
def repo(repo_copy: Callable[..., Path]) -> Path:
    return repo_copy("lambda")


def listing(repo: Path) -> ListingOps:
    ops = ListingOps(load_spec(repo), updated={"pr-3": NOW - timedelta(hours=5), "pr-9": None, "pr-4": NOW})
    ops.deploy("shared", "dev")
    ops.stacks["pr-3"] = RecordedStack(9, {"url": URL, "stage": "pr-3"})
    ops.stacks["pr-9"] = RecordedStack(9, {})  # its first deploy is running
    ops.stacks["pr-4"] = RecordedStack(0, {})  # destroyed, the stack not yet removed
    return ops


def test_live_previews_have_an_age_a_url_and_a_cost(repo: Path) -> None:
    found = previews.live(listing(repo), now=NOW, monthly=lambda: Decimal("0.68"))
    assert [p.to_dict() for p in found] == [
        {"pull_request": 3, "stack": "pr-3", "age_hours": 5.0, "url": URL, "monthly": 0.68},
        {"pull_request": 9, "stack": "pr-9", "age_hours": None, "url": None, "monthly": 0.68},
    ]
    assert previews.render(found) == [
        "previews: 2 live, $1.36/month",
        f"  pr-3 (#3): 5 h old, $0.68/month, {URL}",
        "  pr-9 (#9): updating, $0.68/month, no URL",
    ]


def test_no_preview_is_priced_when_none_is_live(repo: Path) -> None:
    ops = ListingOps(load_spec(repo), updated={})
    asked: list[int] = []
    assert previews.live(ops, now=NOW, monthly=lambda: asked.append(1) or None) == []
    assert asked == []  # no plan made for nothing


def test_a_preview_costs_what_its_plan_prices(repo: Path) -> None:
    spec = load_spec(repo)
    cost = previews.monthly_cost(repo, spec.name, spec.region, tuple(spec.stage_names))
    assert cost is not None and Decimal("0.1") < cost < Decimal("5")  # Lambda, logs: cents
    quoted = re.search(r"estimated cost is \$(\d+\.\d\d) a month", (REPO_ROOT / "docs/previews.md").read_text())
    assert quoted and Decimal(quoted.group(1)) == round(cost, 2), "docs/previews.md quotes another figure"


def test_status_shows_the_previews_section(repo: Path) -> None:
    ops = listing(repo)
    sources = Sources(ops=ops, health=None, now=lambda: NOW,
                      previews=lambda: previews.live(ops, now=NOW, monthly=lambda: Decimal("0.68")))  # fmt: skip
    report = collect(load_spec(repo), sources)
    assert [p["stack"] for p in report.to_dict()["previews"]] == ["pr-3", "pr-9"]
    assert "previews: 2 live, $1.36/month" in render_text(report)


def test_destroy_preview_removes_its_resources(repo: Path, aws: None) -> None:
    ops = listing(repo)
    (repo / ".pulumi-state").mkdir(exist_ok=True)
    with automation.use_ops(lambda *_: ops):
        result = runner.invoke(app, ["destroy", "--preview", "3", "--json", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stack"] == "pr-3"
    assert ops.writes == [("destroy", "pr-3")] and ops.stacks["pr-3"].resources == 0


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--preview", "0"], 2, "error: --preview 0 is not a pull request number"),
        (["--preview", "3", "--stage", "dev"], 2, "error: --preview goes alone"),
        (["--preview", "12"], 1, "error: pull request #12 has no preview (no stack pr-12)"),
    ],
)
def test_destroy_preview_refuses(repo: Path, args: list[str], code: int, says: str) -> None:
    ops = listing(repo)
    with automation.use_ops(lambda *_: ops):
        result = runner.invoke(app, ["destroy", *args, "--repo", str(repo)])
    assert result.exit_code == code, result.output
    assert one_line_error(result).startswith(says)
    assert ops.writes == []


def hosting(repo: Path, targets: dict[str, str | None], shared_target: str) -> ListingOps:
    """Deployed stages and live previews (`targets`: stack -> its `target` output, None while its
    first deploy runs), the shared stack exporting where previews run."""
    ops = ListingOps(load_spec(repo), updated={name: NOW for name in targets if targets[name]})
    ops.deploy("shared", "dev", "test")
    ops.stacks["shared"].outputs["previewTarget"] = shared_target
    for stack, target in targets.items():
        ops.stacks[stack] = RecordedStack(4, {"target": target} if target else {})
    return ops


@pytest.mark.parametrize("args", [["--stage", "dev"], ["--all"]])
def test_the_first_stage_is_not_destroyed_under_its_ecs_previews(
    repo_copy: Callable[..., Path], aws: None, args: list[str]
) -> None:
    repo = repo_copy("ecs")
    (repo / ".pulumi-state").mkdir(exist_ok=True)
    ops = hosting(repo, {"pr-3": "ecs", "pr-9": None}, "ecs")
    with automation.use_ops(lambda *_: ops):
        result = runner.invoke(app, ["destroy", *args, "--yes", "--confirm", "prod", "--json",
                                     "--repo", str(repo)])  # fmt: skip
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    message = document["error"]["message"]
    assert message.startswith("dev hosts live ECS previews (pr-3, pr-9)"), message
    assert "`bootstrap destroy --preview N` for N in 3 9" in document["error"]["fix"]
    assert ops.writes == []


@pytest.mark.parametrize(
    ("targets", "shared_target", "stage"),
    [({"pr-3": "lambda"}, "lambda", "dev"),  # Lambda previews need nothing of the first stage
     ({"pr-3": "ecs"}, "ecs", "test")],  # a later stage hosts none
)  # fmt: skip
def test_other_previews_and_stages_do_not_stop_a_destroy(
    repo_copy: Callable[..., Path], aws: None, targets: dict[str, str], shared_target: str,
    stage: str,
) -> None:
    repo = repo_copy("ecs")
    (repo / ".pulumi-state").mkdir(exist_ok=True)
    ops = hosting(repo, dict(targets), shared_target)
    with automation.use_ops(lambda *_: ops):
        result = runner.invoke(app, ["destroy", "--stage", stage, "--yes", "--json",
                                     "--repo", str(repo)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ops.writes == [("destroy", stage)]
