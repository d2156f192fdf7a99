"""The short views other commands will show: summary lines, stage differences, cheaper options;
and pricing of resources the generated stacks do not make yet (ARM Fargate, KMS keys,
provisioned concurrency), on plans of real PlannedResource records."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from bootstrap.cost import cheaper_options, estimate, stage_differences, summary_lines
from bootstrap.cost.prices import PriceBook
from bootstrap.offline import PlannedResource, StackPlan

LIFECYCLE = ["dev", "test", "prod"]


def _report(plans: list[Any], book: PriceBook):  # type: ignore[no-untyped-def]
    return estimate(plans, region="us-east-1", prices=book, lifecycle=LIFECYCLE, project="shop")


def test_summary_lines(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    lines = summary_lines(_report(target_plans["ecs"], book))
    assert lines == [
        "shared: $0.45/month (1 unpriced)",  # the preview images repository keeps images by age
        "dev: $74.47/month (1 unpriced)",
        "test: $74.47/month (1 unpriced)",
        "prod: $232.22/month (1 unpriced)",
        "total: $381.61/month",
    ]


def test_stage_differences(target_plans: dict[str, list[Any]], book: PriceBook) -> None:
    report = _report(target_plans["ecs"], book)
    test_vs_dev, prod_vs_test = stage_differences(report)
    assert test_vs_dev.line() == "test: +$0.00/month over dev"
    assert prod_vs_test.delta == report.stage("prod").monthly - report.stage("test").monthly
    # the largest part of the difference: two more NAT gateways, 2 x 730 h x $0.045
    name, delta = prod_vs_test.largest[0]
    assert (name, delta) == ("NAT gateway hours", 2 * 730 * D("0.045"))
    assert prod_vs_test.line().startswith(
        "prod: +$157.75/month over test (NAT gateway hours +$65.70"
    )


def test_cheaper_options_nat_per_zone_outside_production(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    report = _report(target_plans["ecs"], book)
    # Treat prod as an early stage: three NAT gateways there are the dominated case.
    options = [o for o in cheaper_options(report, production="none") if o.stage == "prod"]
    [nat] = [o for o in options if o.component == "NAT gateway hours"]
    assert nat.saving == 2 * 730 * D("0.045")  # two of the three gateways' hours
    assert "natPerAz: false" in nat.line()
    # The production stage itself is never told to drop its NAT gateways.
    assert not [o for o in cheaper_options(report) if o.stage == "prod"]


def test_cheaper_options_eks_control_plane(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    options = cheaper_options(_report(target_plans["eks"], book))
    dev = [o for o in options if o.stage == "dev"]
    assert {o.component for o in dev} >= {"EKS cluster hours", "NAT gateway hours"}
    cluster = next(o for o in dev if o.component == "EKS cluster hours")
    assert cluster.saving == 730 * D("0.1")


def test_no_option_when_no_few_components_dominate(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    report = _report(target_plans["ecs"], book)
    assert cheaper_options(report, dominance="0.99") == []


def _resource(type_: str, logical: str, **inputs: Any) -> PlannedResource:
    urn = f"urn:pulumi:dev::shop::{type_}::{logical}"
    return PlannedResource(type_, logical, urn, None, inputs, True)


def test_arm_fargate_kms_and_provisioned_concurrency(book: PriceBook) -> None:
    plan = StackPlan(
        "dev",
        [
            _resource(
                "aws:ecs/taskDefinition:TaskDefinition",
                "task",
                family="shop-dev",
                cpu="512",
                memory="1024",
                runtimePlatform={"cpuArchitecture": "ARM64"},
                ephemeralStorage={"sizeInGib": 30},
            ),
            _resource(
                "aws:ecs/service:Service",
                "service",
                launchType="FARGATE",
                desiredCount=3,
                taskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/shop-dev:4",
            ),
            _resource("aws:kms/key:Key", "key"),
            _resource(
                "aws:lambda/function:Function",
                "fn",
                name="shop-dev",
                memorySize=1024,
                architectures=["arm64"],
            ),
            _resource(
                "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
                "pc",
                functionName="shop-dev",
                provisionedConcurrentExecutions=2,
            ),
        ],
        {},
    )
    stage = _report([plan], book).stage("dev")
    by_name = {c.name: c for _, c in stage.components()}
    # 3 tasks x 0.5 vCPU x 730 h x $0.03238 (ARM); 3 x 1 GiB x 730 x $0.00356
    assert by_name["Fargate vCPU (ARM)"].monthly == 3 * D("0.5") * 730 * D("0.03238")
    assert by_name["Fargate memory (ARM)"].monthly == 3 * D(1) * 730 * D("0.00356")
    # ephemeral storage above the free 20 GiB: 3 x 10 GiB x 730 h x $0.000111
    assert by_name["Fargate ephemeral storage"].monthly == 3 * 10 * 730 * D("0.000111")
    assert by_name["KMS key"].monthly == D(1)
    # 2 executions x 1 GiB x 730 h x 3600 s x $0.0000033334 (ARM)
    assert by_name["Lambda provisioned concurrency"].monthly == 2 * 730 * 3600 * D("0.0000033334")
    assert by_name["Lambda requests (arm64)"].unit_price == D("0.0000002")


def test_suggested_budgets_are_the_estimate_plus_a_fifth_in_tens(
    target_plans: dict[str, list[Any]], book: PriceBook
) -> None:
    from bootstrap.cost.render import report_lines
    from bootstrap.cost.report import suggested_budgets

    report = _report(target_plans["ecs"], book)
    # dev $74.47 x 1.2 = $89.36 -> 90; prod $232.22 x 1.2 = $278.66 -> 280; shared is left out
    expected = {"dev": 90, "test": 90, "prod": 280}
    for stage in ("dev", "prod"):
        monthly = report.stage(stage).monthly
        assert expected[stage] - 10 < monthly * D("1.2") <= expected[stage]
    assert suggested_budgets(report) == list(expected.items())
    text = "\n".join(report_lines(report))
    assert "`pulumi config set monthlyBudget 280 --stack prod`" in text
