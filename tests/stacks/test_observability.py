"""Alarms on 5xx rate, latency and errors, and a dashboard, for whichever target a stage runs."""

from __future__ import annotations

import json

import pytest

from .helpers import ALARM, PROJECT, one, stage_config

EXPECTED = {
    "ecs": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "HTTPCode_ELB_5XX_Count"),
    "eks": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "HTTPCode_ELB_5XX_Count"),
    "lambda": ("AWS/Lambda", "Url5xxCount", "UrlRequestLatency", "Errors"),
}


def alarms(plan):
    return {r.inputs["name"].split(".", 1)[1]: r.inputs for r in plan.of_type(ALARM)}


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_three_alarms_per_stage(project_plans, target):
    namespace, server_errors, latency, errors = EXPECTED[target]
    for stage in ("dev", "test", "prod"):
        plan = project_plans[target][stage]
        found = alarms(plan)
        assert set(found) == {"5xx-rate", "latency", "errors"}
        assert all(a["name"].startswith(f"{PROJECT}-{stage}.") for a in found.values())
        queries = {q["id"]: q for q in found["5xx-rate"]["metricQueries"]}
        assert queries["errors"]["metric"]["metricName"] == server_errors
        assert queries["errors"]["metric"]["namespace"] == namespace
        assert "100 * errors / requests" in queries["rate"]["expression"]
        assert found["latency"]["metricName"] == latency
        assert found["latency"]["extendedStatistic"] == "p95"
        assert found["errors"]["metricName"] == errors
        dimensions = found["latency"]["dimensions"]
        if target == "lambda":
            assert dimensions == {"FunctionName": f"{PROJECT}-{stage}", "Resource": f"{PROJECT}-{stage}:live"}
        else:
            assert dimensions["LoadBalancer"].startswith("app/")
            assert dimensions == queries["errors"]["metric"]["dimensions"]


def test_eks_alarms_watch_the_load_balancer_auto_mode_made(project_plans):
    plan = project_plans["eks"]["dev"]
    hostname = plan.outputs["url"].removeprefix("http://")
    lb_name = hostname.split(".")[0].rsplit("-", 1)[0]
    assert alarms(plan)["latency"]["dimensions"]["LoadBalancer"].startswith(f"app/{lb_name}/")


def test_thresholds_per_stage(project_plans, plan_stage):
    dev, prod = alarms(project_plans["ecs"]["dev"]), alarms(project_plans["ecs"]["prod"])
    assert dev["latency"]["threshold"] == pytest.approx(1.0)  # seconds for ALB metrics
    assert prod["latency"]["threshold"] == pytest.approx(0.5)
    assert (dev["5xx-rate"]["threshold"], prod["5xx-rate"]["threshold"]) == (5, 1)
    assert alarms(project_plans["lambda"]["prod"])["latency"]["threshold"] == 500  # milliseconds
    topic = "arn:aws:sns:eu-west-1:123456789012:alerts"
    configured = alarms(plan_stage("dev", stage_config("ecs", alarmTopicArn=topic)))
    assert all(a["alarmActions"] == [topic] == a["okActions"] for a in configured.values())
    assert all(not a.get("alarmActions") for a in dev.values())


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_dashboard(project_plans, target):
    plan = project_plans[target]["dev"]
    dashboard = one(plan, "aws:cloudwatch/dashboard:Dashboard").inputs
    assert dashboard["dashboardName"] == f"{PROJECT}-dev"
    body = json.loads(dashboard["dashboardBody"])
    kinds = [w["type"] for w in body["widgets"]]
    assert kinds.count("metric") == 3 and kinds.count("alarm") == 1
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == 3
    assert all(":alarm:shop-dev." in arn for arn in alarm_widget["properties"]["alarms"])
