"""Plan presentation on hand-made plans: order, masking, JSON shape, key inputs, stage diffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from bootstrap import planview


@dataclass
class Res:
    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]
    custom: bool = True


@dataclass
class Plan:
    stack: str
    resources: list[Res]
    outputs: dict[str, Any] = field(default_factory=dict)


def _urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::shop::{type_}::{name}"


def stage_plan(stage: str, *, count: int, alarms: bool = False) -> Plan:
    comp = _urn(stage, "bootstrap:stage:Stage", f"shop-{stage}")
    resources = [
        Res("bootstrap:stage:Stage", f"shop-{stage}", comp, None, {}, custom=False),
        Res(
            "aws:ecs/service:Service",
            f"shop-{stage}",
            _urn(stage, "aws:ecs/service:Service", f"shop-{stage}"),
            comp,
            {"desiredCount": count, "name": f"shop-{stage}", "tags": {"stage": stage}},
        ),
        Res(
            "aws:ecs/taskDefinition:TaskDefinition",
            f"shop-{stage}-task",
            _urn(stage, "aws:ecs/taskDefinition:TaskDefinition", f"shop-{stage}-task"),
            comp,
            {"cpu": "256" if count == 1 else "512", "memory": "512", "family": f"shop-{stage}"},
        ),
        Res(
            "aws:ssm/parameter:Parameter",
            f"shop-{stage}-db",
            _urn(stage, "aws:ssm/parameter:Parameter", f"shop-{stage}-db"),
            comp,
            {
                "value": {
                    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                    "value": "hunter2",
                },
                "password": "hunter2",
                "type": "SecureString",
            },
        ),
    ]
    if alarms:
        resources.append(
            Res(
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                f"shop-{stage}-5xx",
                _urn(stage, "aws:cloudwatch/metricAlarm:MetricAlarm", f"shop-{stage}-5xx"),
                comp,
                {"threshold": 5},
            )
        )
    return Plan(stage, list(reversed(resources)), {"url": f"http://{stage}", "token": "s3cr3t"})


def test_order_is_parents_first_then_type_and_name() -> None:
    plan = stage_plan("dev", count=1)
    ordered = planview.ordered(plan.resources)
    assert ordered[0].type == "bootstrap:stage:Stage"
    assert [r.type for r in ordered[1:]] == sorted(r.type for r in ordered[1:])
    shuffled = Plan("dev", plan.resources[::-1])
    assert [r.urn for r in planview.ordered(shuffled.resources)] == [r.urn for r in ordered]


def test_json_shape_and_masking() -> None:
    data = planview.plan_json("shop", [stage_plan("dev", count=1)])
    assert set(data) == {"project", "stacks"}
    (stack,) = data["stacks"]
    assert set(stack) == {"stack", "resources", "outputs", "warnings"}
    assert stack["warnings"] == []
    for resource in stack["resources"]:
        assert set(resource) == {"type", "name", "parent", "inputs"}
    assert stack["resources"][0]["parent"] is None
    assert stack["resources"][1]["parent"].startswith("urn:pulumi:dev::shop::bootstrap:stage")
    text = repr(data)
    assert "hunter2" not in text and "s3cr3t" not in text
    ssm = next(r for r in stack["resources"] if r["type"].startswith("aws:ssm"))
    assert ssm["inputs"] == {"value": "[secret]", "password": "[secret]", "type": "SecureString"}
    assert stack["outputs"] == {"url": "http://dev", "token": "[secret]"}


def test_key_inputs_skip_tags_and_blobs() -> None:
    inputs = {
        "name": "shop",
        "tags": {"a": "b"},
        "policy": '{"Version": "2012-10-17"}',
        "desiredCount": 2,
        "zzz": "x" * 200,
    }
    keys = dict(planview.key_inputs(inputs))
    assert keys["name"] == "shop" and keys["desiredCount"] == "2"
    assert "tags" not in keys and "policy" not in keys
    assert len(keys["zzz"]) == 60 and keys["zzz"].endswith("…")


def test_tree_renders_hierarchy_without_secrets() -> None:
    console = Console(width=200, record=True, color_system=None)
    console.print(planview.resource_tree(stage_plan("dev", count=1)))
    text = console.export_text()
    assert "dev  4 resources" in text
    assert "└── " in text or "├── " in text
    assert "aws:ecs/service:Service shop-dev" in text and "desiredCount=1" in text
    assert "hunter2" not in text and "s3cr3t" not in text


def test_stage_differences() -> None:
    plans = [
        Plan("shared", []),
        stage_plan("dev", count=1),
        stage_plan("test", count=1),
        stage_plan("prod", count=3, alarms=True),
    ]
    test_diff, prod_diff = planview.stage_diffs(plans)
    assert test_diff.empty and test_diff.lines() == ["test vs dev: same resources and sizes"]
    assert prod_diff.extra == ["aws:cloudwatch/metricAlarm:MetricAlarm shop-<stage>-5xx"]
    assert prod_diff.lacking == []
    assert "aws:ecs/service:Service shop-<stage> desiredCount: 1 → 3" in prod_diff.sizes
    assert "aws:ecs/taskDefinition:TaskDefinition shop-<stage>-task cpu: 256 → 512" in (
        prod_diff.sizes
    )
    assert not any("name" in s or "family" in s for s in prod_diff.sizes)  # names are not sizes
    assert planview.stage_diffs(plans[:2]) == []


def test_the_programs_warnings_travel_with_the_plan() -> None:
    offline = Plan("dev", [])
    offline.messages = ["warning: shop:image is not set", "error: something else"]  # type: ignore[attr-defined]
    assert planview.warnings(offline) == ["shop:image is not set", "error: something else"]
    real = planview.plan_from_events("dev", [], {"same": 3}, messages=["the trust is not yet known"])
    data = planview.plan_json("shop", [offline, real])
    assert [s["warnings"] for s in data["stacks"]] == [
        ["shop:image is not set", "error: something else"],
        ["the trust is not yet known"],
    ]
    assert planview.warnings(Plan("test", [])) == []  # plans without messages
