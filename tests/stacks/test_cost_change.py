"""stacks/cost_change.py, the pricer the generated repo carries for its pull-request previews:
its rates are the snapshot's, its figures are `bootstrap cost`'s for the same charges, and it reads
`pulumi preview --json --show-sames` as Pulumi writes it (pkg/display/json.go `PreviewDigest`:
steps with op, urn, oldState and newState, each state with type and inputs)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bootstrap.cost import estimate
from bootstrap.cost import prices as prices_mod
from bootstrap.cost.carried import document
from stacks import cost_change
from stacks.cost_change import KEYS, PRICED, Rates, Resource, charges, stack_change

from .helpers import PROJECT


@pytest.fixture(scope="module")
def snapshot() -> prices_mod.PriceBook:
    return prices_mod.PriceBook([prices_mod._read(prices_mod.SNAPSHOT)])


def _resources(plan: Any) -> list[Resource]:
    return [Resource(r.type, r.name, dict(r.inputs)) for r in plan.resources]


def _total(plan: Any, rates: Rates) -> D:
    return sum((rates.monthly(c) or D(0) for c in charges(_resources(plan))), D(0))


def test_the_carried_rates_are_the_snapshots(snapshot) -> None:  # type: ignore[no-untyped-def]
    carried = json.loads(cost_change.RATES.read_text())
    assert carried == json.loads(json.dumps(document(snapshot))), (
        "stacks/cost_rates.json is stale: run python scripts/update_prices.py (or "
        "bootstrap.cost.carried.write)"
    )
    assert set(carried["rates"]["us-east-1"]) == set(cost_change.KEYS)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_the_same_fixed_charges_as_bootstrap_cost(project_plans, snapshot, target, region) -> None:  # type: ignore[no-untyped-def]
    plans = project_plans[target]
    report = estimate(plans.values(), region=region, prices=snapshot, project=PROJECT)
    rates = Rates.load(region)
    for plan in plans.values():
        full = sum(
            (c.monthly for r, c in report.stage(plan.stack).components()
             if r.type in PRICED and c.price_key in KEYS and c.monthly is not None),
            D(0),
        )  # fmt: skip
        assert _total(plan, rates) == full, (target, plan.stack)
    assert _total(plans["prod"], rates) > 0


def _step(op: str, resource: Any, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    urn = f"urn:pulumi:dev::{PROJECT}::{resource.type}::{resource.name}"
    step: dict[str, Any] = {"op": op, "urn": urn, "provider": "", "detailedDiff": None}
    for key, inputs in (("oldState", old), ("newState", new)):
        if inputs is not None:
            step[key] = {"urn": urn, "custom": True, "type": resource.type, "inputs": inputs}
    return step


def digest(plan: Any) -> dict[str, Any]:
    """A pull request on the ECS dev stage: a second NAT gateway and its address (create), two
    tasks instead of one (update), no dashboard (delete); everything else the same."""
    steps = []
    for r in plan.resources:
        inputs = dict(r.inputs)
        if r.type == "aws:cloudwatch/dashboard:Dashboard":
            steps.append(_step("delete", r, inputs, None))
        elif r.type == "aws:ecs/service:Service":
            steps.append(_step("update", r, inputs, {**inputs, "desiredCount": 2}))
        else:
            steps.append(_step("same", r, inputs, inputs))
        if r.type in ("aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"):
            twin = Resource(r.type, r.name.replace("nat-a", "nat-b"), inputs)
            steps.append(_step("create", twin, None, inputs))
    return {"config": {"aws:region": "eu-west-1"}, "steps": steps,
            "changeSummary": {"create": 2, "update": 1, "delete": 1}}  # fmt: skip


def test_a_previews_change_is_priced_step_by_step(project_plans) -> None:  # type: ignore[no-untyped-def]
    dev = project_plans["ecs"]["dev"]
    rates = Rates.load("eu-west-1")
    change = stack_change("dev", digest(dev), rates)
    assert change.before == _total(dev, rates)
    r = rates.rates
    # + one NAT gateway and one public IPv4 address, 730 hours each
    # + one more task of 256 CPU units (0.25 vCPU) and 512 MiB (0.5 GB), 730 hours
    # - one dashboard
    expected = (
        730 * r["ec2.nat_gateway_hours"] + 730 * r["vpc.public_ipv4_hours"]
        + D("0.25") * 730 * r["fargate.vcpu_hours"] + D("0.5") * 730 * r["fargate.gb_hours"]
        - r["cloudwatch.dashboard_months"]
    )  # fmt: skip
    assert change.delta == expected
    names = [name for name, _ in change.resources]
    assert names[0] == "shop-dev-network-nat-b" and "shop-dev-dashboard" in names
    assert change.unpriced == ()


def test_the_comment_section(project_plans) -> None:  # type: ignore[no-untyped-def]
    rates = Rates.load("eu-west-1")
    change = stack_change("dev", digest(project_plans["ecs"]["dev"]), rates)
    text = cost_change.markdown([change], rates)
    assert text.startswith(cost_change.MARKER + "\n### Monthly cost change\n")
    row = (f"| dev | {cost_change.money(change.before)} | {cost_change.money(change.after)} | "
           f"**{cost_change.money(change.delta, sign=True)}** |")  # fmt: skip
    assert row in text and "+$" in row
    assert "traffic, logs and storage are not included" in text


def test_the_command_line(project_plans, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(digest(project_plans["ecs"]["dev"])))
    assert cost_change.main(["--region", "eu-west-1", f"dev={path}"]) == 0
    assert "| dev | $" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("{not json")
    assert cost_change.main(["--region", "eu-west-1", f"dev={tmp_path / 'bad.json'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_region_without_rates_counts_nothing_and_says_so(project_plans) -> None:  # type: ignore[no-untyped-def]
    change = stack_change("dev", digest(project_plans["ecs"]["dev"]), Rates.load("mars-north-1"))
    assert change.before == change.after == 0 and "ec2.nat_gateway_hours" in change.unpriced
