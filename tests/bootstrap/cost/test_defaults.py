"""The bill of quantities `bootstrap new` prices (bootstrap/cost/defaults.json) against the full
estimate of each target's freshly rendered default project (the real offline plan): the committed
table is current, and priced for any region it gives what `estimate` gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bootstrap.cost import estimate, to_json
from bootstrap.cost.defaults import document, lifecycle_report, load_table

TARGETS = ("ecs", "eks", "lambda")
REGENERATE = "bootstrap/cost/defaults.json is stale: run python scripts/update_cost_defaults.py"


def _lifecycle(target: str, stages: tuple[str, ...] = ("dev", "test", "prod")) -> list[tuple[str, str]]:
    return [(stage, target) for stage in stages]


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    return load_table()


@pytest.mark.parametrize("target", TARGETS)
def test_the_committed_table_is_the_templates_defaults(target, target_plans, book, table) -> None:  # type: ignore[no-untyped-def]
    # Planned in eu-west-1; the table is written from us-east-1: quantities do not depend on it.
    report = estimate(target_plans[target], region="eu-west-1", prices=book, project="shop")
    assert document({target: report})["targets"][target] == table["targets"][target], REGENERATE


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
@pytest.mark.parametrize("target", TARGETS)
def test_the_table_prices_like_the_full_estimate(target, region, target_plans, book, table) -> None:  # type: ignore[no-untyped-def]
    full = estimate(target_plans[target], region=region, prices=book, project="shop")
    quick = lifecycle_report(_lifecycle(target), region=region, project="shop", prices=book, table=table)
    assert to_json(quick) == to_json(full)
    assert quick.total > 0


def test_any_lifecycle_is_early_stages_then_production(book, table) -> None:  # type: ignore[no-untyped-def]
    three = lifecycle_report(_lifecycle("ecs"), region="us-east-1", project="shop", prices=book, table=table)
    four = lifecycle_report(
        _lifecycle("ecs", ("qa", "dev", "stage", "live")), region="us-east-1", project="shop",
        prices=book, table=table,
    )  # fmt: skip
    assert [s.stage for s in four.stages] == ["shared", "qa", "dev", "stage", "live"]
    assert four.stage("qa").monthly == four.stage("stage").monthly == three.stage("dev").monthly
    assert four.stage("live").monthly == three.stage("prod").monthly
    assert any(r.name == "shop-live-network-nat-c" for r in four.stage("live").resources)
    mixed = lifecycle_report([("dev", "lambda"), ("prod", "eks")], region="us-east-1",
                             project="shop", prices=book, table=table)
    assert mixed.stage("dev").monthly < mixed.stage("prod").monthly
    assert not any(r.type.startswith("aws:eks/") for r in mixed.stage("dev").resources)


def test_a_changed_quantity_is_seen(target_plans, book, table) -> None:  # type: ignore[no-untyped-def]
    planted = copy.deepcopy(table)
    nat = next(r for r in planted["targets"]["ecs"]["production"] if r["type"].endswith("NatGateway"))
    nat["components"][0]["quantity"] = "720"
    report = estimate(target_plans["ecs"], region="us-east-1", prices=book, project="shop")
    assert document({"ecs": report})["targets"]["ecs"] != planted["targets"]["ecs"]
    quick = lifecycle_report(_lifecycle("ecs"), region="us-east-1", project="shop", prices=book, table=planted)
    assert to_json(quick) != to_json(report)
