"""Hand-computed estimates of each target's generated stages in us-east-1, with the arithmetic
written out from the snapshot's rates; prices per region; determinism; unpriced components."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

from bootstrap.cost import estimate, to_json
from bootstrap.cost.prices import PriceBook
from bootstrap.cost.usage import Usage

LIFECYCLE = ["dev", "test", "prod"]
MONTH_DAYS = D(365) / 12

# us-east-1 rates of the snapshot (bootstrap/cost/prices.json), as a reader checks them there.
NAT_HOUR = D("0.045")
NAT_GB = D("0.045")
IPV4_HOUR = D("0.005")
ALB_HOUR = D("0.0225")
LCU_HOUR = D("0.008")
FARGATE_VCPU = D("0.04048")
FARGATE_GB = D("0.004445")
LOG_GB = D("0.5")
LOG_STORED = D("0.03")
VENDED_GB = D("0.5")
ALARM_METRIC = D("0.1")
DASHBOARD = D("3")
EKS_HOUR = D("0.1")
C6A_LARGE = D("0.0765")
LAMBDA_REQUEST = D("0.0000002")
LAMBDA_GB_SECOND = D("0.0000166667")
ECR_GB_MONTH = D("0.1")


def same(a: D, b: D) -> bool:
    """Equal to a billionth of a cent (the two sides divide in different orders)."""
    return abs(a - b) < D("1e-11")


def _estimate(plans: list[Any], book: PriceBook, region: str = "us-east-1", **kw: Any):  # type: ignore[no-untyped-def]
    return estimate(plans, region=region, prices=book, lifecycle=LIFECYCLE, project="shop", **kw)


def test_rates_in_the_test_are_the_snapshots(book: PriceBook) -> None:
    expected = {
        "ec2.nat_gateway_hours": NAT_HOUR,
        "ec2.nat_gateway_gb": NAT_GB,
        "vpc.public_ipv4_hours": IPV4_HOUR,
        "elb.alb_hours": ALB_HOUR,
        "elb.alb_lcu_hours": LCU_HOUR,
        "fargate.vcpu_hours": FARGATE_VCPU,
        "fargate.gb_hours": FARGATE_GB,
        "logs.ingestion_gb": LOG_GB,
        "logs.storage_gb_months": LOG_STORED,
        "logs.vended_gb": VENDED_GB,
        "cloudwatch.alarm_metric_months": ALARM_METRIC,
        "cloudwatch.dashboard_months": DASHBOARD,
        "eks.cluster_hours": EKS_HOUR,
        "ec2.instance_hours.c6a.large": C6A_LARGE,
        "lambda.requests": LAMBDA_REQUEST,
        "lambda.gb_seconds": LAMBDA_GB_SECOND,
        "ecr.storage_gb_months": ECR_GB_MONTH,
    }
    for key, usd in expected.items():
        rate = book.rate("us-east-1", key)
        assert rate is not None and rate.usd == usd, key


def _observability() -> D:
    # three alarms: the 5xx rate (metric math over 2 metrics), latency (1), errors (1); a dashboard
    return (2 + 1 + 1) * ALARM_METRIC + DASHBOARD


def _network(nats: int, nat_gb: D, flow_gb: D, retention_days: int) -> D:
    return (
        nats * 730 * NAT_HOUR  # NAT gateway hours
        + nat_gb * NAT_GB  # data processed, all gateways together
        + nats * 730 * IPV4_HOUR  # one Elastic IP per NAT gateway
        + flow_gb * VENDED_GB  # flow logs delivered to CloudWatch Logs
        + flow_gb * retention_days / MONTH_DAYS * LOG_STORED  # the flow-log group's storage
    )


def _app_logs(gb: D, retention_days: int) -> D:
    return gb * LOG_GB + gb * retention_days / MONTH_DAYS * LOG_STORED


def _alb(zones: int, lcu: D) -> D:
    return 730 * ALB_HOUR + lcu * 730 * LCU_HOUR + zones * 730 * IPV4_HOUR


def test_ecs_prod_by_hand(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _estimate(target_plans["ecs"], book)
    # prod: 3 zones, a NAT per zone, 2 tasks of 1024 CPU units / 2048 MiB, 90-day logs;
    # production defaults: 50 GB through NAT, 10 GB flow logs, 10 GB app logs, 1 LCU.
    fargate = 2 * D(1024) / 1024 * 730 * FARGATE_VCPU + 2 * D(2048) / 1024 * 730 * FARGATE_GB
    expected = (
        _network(3, D(50), D(10), 90) + _alb(3, D(1)) + fargate + _app_logs(D(10), 90)
        + _observability()
    )  # fmt: skip
    assert same(report.stage("prod").monthly, expected)
    assert round(expected, 2) == D("232.22")


def test_ecs_dev_by_hand(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _estimate(target_plans["ecs"], book)
    # dev: 2 zones, one NAT, 1 task of 256 CPU units / 512 MiB, 14-day logs; early defaults.
    fargate = D(256) / 1024 * 730 * FARGATE_VCPU + D(512) / 1024 * 730 * FARGATE_GB
    expected = (
        _network(1, D(5), D(1), 14) + _alb(2, D("0.1")) + fargate + _app_logs(D(1), 14)
        + _observability()
    )  # fmt: skip
    dev = report.stage("dev")
    assert same(dev.monthly, expected)
    # Container Insights is listed, not counted: no quantity, no price, never zero.
    [(_, insights)] = dev.unpriced()
    assert insights.quantity is None and insights.monthly is None


def test_eks_dev_by_hand(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _estimate(target_plans["eks"], book)
    # dev: the control plane, one c6a.large node (the pod asks 0.25 vCPU / 0.5 GiB), the Auto
    # Mode ALB in the 2 public subnets, control-plane logs (2 GB early default, 14 days).
    expected = (
        730 * EKS_HOUR + 730 * C6A_LARGE + _alb(2, D("0.1")) + _network(1, D(5), D(1), 14)
        + _app_logs(D(2), 14) + _observability()
    )  # fmt: skip
    dev = report.stage("dev")
    assert same(dev.monthly, expected)
    [(_, fee)] = dev.unpriced()  # the Auto Mode management fee: no sourced rate, so unpriced
    assert fee.name == "EKS Auto Mode management fee"
    assert fee.quantity == 730 and fee.unit_price is None and fee.monthly is None
    assert "EKSAutoUsage" in (fee.note or "")


def test_lambda_prod_by_hand(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _estimate(target_plans["lambda"], book)
    # prod: 2048 MB x86 function, no VPC; 5,000,000 requests of 100 ms (production defaults).
    requests = D(5_000_000)
    gb_seconds = requests * D("0.1") * D(2048) / 1024
    expected = requests * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND + _app_logs(D(10), 90)
    expected += _observability()
    assert same(report.stage("prod").monthly, expected)
    assert report.stage("prod").unpriced() == []
    assert {r.type for r in report.stage("prod").resources}.isdisjoint(
        {"aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"}
    )


def test_shared_registry_storage(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _estimate(target_plans["ecs"], book)
    # 30 images (the lifecycle policy keeps the last 30 releases) x 0.15 GB each
    assert same(report.stage("shared").monthly, 30 * D("0.15") * ECR_GB_MONTH)


def test_deterministic(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    first = json.dumps(to_json(_estimate(target_plans["eks"], book)), sort_keys=True)
    second = json.dumps(to_json(_estimate(target_plans["eks"], book)), sort_keys=True)
    assert first == second


def test_prices_per_region(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    virginia = _estimate(target_plans["ecs"], book, "us-east-1").stage("dev")
    ireland = _estimate(target_plans["ecs"], book, "eu-west-1").stage("dev")

    def rate(stage, name):  # type: ignore[no-untyped-def]
        return next(c.unit_price for _, c in stage.components() if c.name == name)

    assert rate(virginia, "NAT gateway hours") == D("0.045")
    assert rate(ireland, "NAT gateway hours") == D("0.048")
    assert rate(ireland, "load balancer hours") == D("0.0252")
    assert ireland.monthly > virginia.monthly


def test_a_region_without_a_rate_lists_the_component_unpriced(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    assert book.rate("us-west-2", "ec2.nat_gateway_hours") is None
    oregon = _estimate(target_plans["ecs"], book, "us-west-2").stage("dev")
    unpriced = {c.name for _, c in oregon.unpriced()}
    assert {"NAT gateway hours", "NAT data processed"} <= unpriced
    nat = next(c for _, c in oregon.components() if c.name == "NAT gateway hours")
    assert nat.monthly is None and "us-east-1, eu-west-1 and ap-northeast-1 only" in (
        nat.note or ""
    )
    data = to_json(_estimate(target_plans["ecs"], book, "us-west-2"))
    dev = next(s for s in data["stages"] if s["stage"] == "dev")
    assert dev["unpriced"] == 3  # both NAT figures and Container Insights
    nat_json = [
        c for r in dev["resources"] for c in r["components"] if c["name"] == "NAT gateway hours"
    ]
    assert nat_json[0]["monthly"] is None and nat_json[0]["unit_price"] is None


def test_usage_changes_the_usage_components(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    usage = Usage(shared={}, per_stack={"prod": {"nat_gb_processed": 300, "alb_lcu": 2}})
    base = _estimate(target_plans["ecs"], book).stage("prod")
    more = _estimate(target_plans["ecs"], book, usage=usage).stage("prod")
    # 250 GB more through NAT, 1 LCU more for 730 hours
    assert same(more.monthly - base.monthly, 250 * NAT_GB + 730 * LCU_HOUR)
    data = next(c for _, c in more.components() if c.name == "NAT data processed")
    assert data.quantity == D(100) and "usage file" in (data.assumption or "")


def test_a_real_previews_resources_price_the_same(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    """A real preview's plan is built from engine events (planview.plan_from_events): with the
    same resources and inputs it prices exactly as the offline plan."""
    from bootstrap.planview import plan_from_events

    offline = target_plans["ecs"]
    previews = [
        plan_from_events(
            p.stack,
            [
                {
                    "type": r.type,
                    "name": r.name,
                    "urn": r.urn,
                    "parent": r.parent,
                    "inputs": r.inputs,
                }
                for r in p.resources
            ],
            {"create": len(p.resources)},
        )
        for p in offline
    ]
    assert to_json(_estimate(previews, book)) == to_json(_estimate(offline, book))
