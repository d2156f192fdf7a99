"""A stage in another region than the project's (`--stage-region`, its stack file's `aws:region`)
is priced in its own region: by `new`'s quick estimate, by `bootstrap cost` and by `preview`; the
others stay in the project's region."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootstrap import offline
from bootstrap.cli import app
from bootstrap.cost import estimate
from bootstrap.cost import prices as prices_mod
from bootstrap.cost.defaults import lifecycle_report

LIFECYCLE = [("dev", "ecs"), ("test", "ecs"), ("prod", "ecs")]


def test_the_quick_estimate_prices_each_stage_in_its_region(book: prices_mod.PriceBook) -> None:
    def report(region: str, regions: dict[str, str] | None = None) -> Any:
        return lifecycle_report(
            LIFECYCLE, region=region, regions=regions, project="shop", prices=book
        )

    home, away = report("us-east-1"), report("ap-southeast-2")
    assert home.stage("prod").monthly != away.stage("prod").monthly  # the regions' prices differ
    mixed = report("us-east-1", {"prod": "ap-southeast-2"})
    assert mixed.stage("prod").region == "ap-southeast-2"
    assert mixed.stage("prod").monthly == away.stage("prod").monthly
    assert mixed.stage("dev").monthly == home.stage("dev").monthly
    assert mixed.regions == ["ap-southeast-2", "us-east-1"]


def test_new_prices_a_stage_in_the_region_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, book: prices_mod.PriceBook
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["new", "shop", "--target", "ecs", "--region", "us-east-1",
         "--stage-region", "prod=ap-southeast-2", "--yes", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cost = json.loads(result.stdout)["cost"]
    assert cost["prices"]["region"] == "ap-southeast-2, us-east-1"
    expected = lifecycle_report(
        LIFECYCLE, region="us-east-1", regions={"prod": "ap-southeast-2"}, project="shop",
        prices=prices_mod.load(),
    )  # fmt: skip
    monthly = {s["stage"]: s["monthly"] for s in cost["stages"]}
    assert monthly["prod"] == pytest.approx(float(expected.stage("prod").monthly), abs=0.01)


def test_cost_and_preview_price_a_stage_in_its_stack_file_s_region(
    generated_repos: dict[str, Path],
    target_plans: dict[str, list[Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = tmp_path / "shop"
    shutil.copytree(generated_repos["ecs"], repo, symlinks=True)
    prod = repo / "infra" / "Pulumi.prod.yaml"
    text = prod.read_text()
    assert "  aws:region: eu-west-1\n" in text  # the project's region
    prod.write_text(text.replace("  aws:region: eu-west-1\n", "  aws:region: us-east-1\n"))
    plans = {plan.stack: plan for plan in target_plans["ecs"]}
    monkeypatch.setattr(offline, "plan_project", lambda _r, _p, stacks: [plans[s] for s in stacks])

    wanted = estimate(target_plans["ecs"], region="us-east-1", project="shop")
    home = estimate(target_plans["ecs"], region="eu-west-1", project="shop")
    assert wanted.stage("prod").monthly != home.stage("prod").monthly

    done = CliRunner().invoke(app, ["cost", "--all", "--offline", "--json", "--repo", str(repo)])
    assert done.exit_code == 0, done.output
    stages = {s["stage"]: s for s in json.loads(done.stdout)["stages"]}
    assert {name: s["region"] for name, s in stages.items()} == {
        "shared": "eu-west-1", "dev": "eu-west-1", "test": "eu-west-1", "prod": "us-east-1",
    }  # fmt: skip
    assert stages["prod"]["monthly"] == pytest.approx(float(wanted.stage("prod").monthly), abs=0.01)
    assert stages["dev"]["monthly"] == pytest.approx(float(home.stage("dev").monthly), abs=0.01)

    shown = CliRunner().invoke(app, ["preview", "--all", "--offline", "--json", "--repo", str(repo)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["cost"]["prices"]["region"] == "eu-west-1, us-east-1"
