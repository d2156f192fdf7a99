"""The Lambda target: the same image by digest, an alias, a function URL, sizes from config."""

from __future__ import annotations

import pytest

from .helpers import (
    DIGEST_REF,
    LOG_GROUP,
    PLACEHOLDER,
    PROJECT,
    REAL_DIGEST,
    REPOSITORY_URL,
    count,
    one,
    stage_config,
)

FUNCTION = "aws:lambda/function:Function"


def test_function_runs_the_image_by_digest(project_plans, released):
    function = one(project_plans["lambda"]["dev"], FUNCTION).inputs
    assert function["packageType"] == "Image"
    assert DIGEST_REF.match(function["imageUri"])
    assert function["imageUri"] == f"{REPOSITORY_URL}@{PLACEHOLDER}"
    function = one(released["lambda"], FUNCTION).inputs
    assert function["imageUri"] == f"{REPOSITORY_URL}@{REAL_DIGEST}"  # the shared repository
    assert function["publish"] is True
    assert function["environment"]["variables"]["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert function["environment"]["variables"]["RELEASE"] == REAL_DIGEST


def test_memory_and_reserved_concurrency_per_stage(project_plans, plan_stage):
    for stage, memory, reserved in (("dev", 512, 5), ("test", 512, 5), ("prod", 2048, 50)):
        function = one(project_plans["lambda"][stage], FUNCTION).inputs
        assert (function["memorySize"], function["reservedConcurrentExecutions"]) == (memory, reserved)
    function = one(plan_stage("dev", stage_config("lambda", memory=1024, reservedConcurrency=-1)), FUNCTION)
    assert (function.inputs["memorySize"], function.inputs["reservedConcurrentExecutions"]) == (1024, -1)


def test_zero_concurrency_is_refused(plan_stage):
    from bootstrap.offline import PlanError

    with pytest.raises(PlanError, match="reservedConcurrency 0"):
        plan_stage("dev", stage_config("lambda", reservedConcurrency=0))


def test_alias_and_public_function_url(project_plans):
    plan = project_plans["lambda"]["dev"]
    alias = one(plan, "aws:lambda/alias:Alias").inputs
    assert alias["name"] == "live"
    assert alias["functionVersion"] == "1"  # the published version
    url = one(plan, "aws:lambda/functionUrl:FunctionUrl").inputs
    assert url["qualifier"] == "live"
    assert url["authorizationType"] == "NONE"
    permissions = {p.inputs["action"]: p.inputs for p in plan.of_type("aws:lambda/permission:Permission")}
    assert permissions["lambda:InvokeFunctionUrl"]["functionUrlAuthType"] == "NONE"
    assert permissions["lambda:InvokeFunction"]["invokedViaFunctionUrl"] is True
    assert {p["qualifier"] for p in permissions.values()} == {"live"}
    assert plan.outputs["url"].startswith("https://") and ".lambda-url.eu-west-1.on.aws" in plan.outputs["url"]


def test_log_group_with_retention(project_plans):
    for stage, days in (("dev", 14), ("prod", 90)):
        plan = project_plans["lambda"][stage]
        (group,) = plan.of_type(LOG_GROUP)
        assert group.inputs["name"] == f"/aws/lambda/{PROJECT}-{stage}"
        assert group.inputs["retentionInDays"] == days
        assert one(plan, FUNCTION).inputs["loggingConfig"]["logGroup"] == group.inputs["name"]


def test_nothing_else_runs_on_lambda(project_plans):
    plan = project_plans["lambda"]["prod"]
    for type_ in ("aws:ecs/service:Service", "aws:eks/cluster:Cluster", "aws:lb/loadBalancer:LoadBalancer"):
        assert count(plan, type_) == 0
