"""The ECS target: Fargate by digest behind an ALB, circuit breaker, autoscaling, logs."""

from __future__ import annotations

import json

import pytest

from .helpers import (
    ACCOUNT,
    CERTIFICATE,
    DIGEST_REF,
    LOG_GROUP,
    PLACEHOLDER,
    PROJECT,
    REAL_DIGEST,
    REGION,
    REPOSITORY_URL,
    ROLE_POLICY,
    actions,
    container_definitions,
    count,
    one,
    resources,
    stage_config,
)

LISTENER = "aws:lb/listener:Listener"


def test_inventory(project_plans):
    plan = project_plans["ecs"]["dev"]
    for type_ in (
        "aws:ecs/cluster:Cluster",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:ecs/service:Service",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/listenerRule:ListenerRule",
        "aws:appautoscaling/target:Target",
        "aws:appautoscaling/policy:Policy",
    ):
        assert count(plan, type_) == 1, type_
    assert count(plan, LISTENER) == 1
    assert count(plan, "aws:lb/targetGroup:TargetGroup") == 2  # primary and alternate (canary)
    assert count(plan, "aws:eks/cluster:Cluster") == count(plan, "aws:lambda/function:Function") == 0


def test_cluster_has_container_insights(project_plans):
    cluster = one(project_plans["ecs"]["dev"], "aws:ecs/cluster:Cluster")
    assert cluster.inputs["name"] == f"{PROJECT}-dev"
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]


def test_task_runs_the_image_by_digest(project_plans, released):
    (container,) = container_definitions(project_plans["ecs"]["dev"])
    assert DIGEST_REF.match(container["image"])
    assert container["image"].endswith(PLACEHOLDER)  # no image built yet
    (container,) = container_definitions(released["ecs"])
    assert container["image"] == f"{REPOSITORY_URL}@{REAL_DIGEST}"
    assert ":" not in container["image"].rsplit("/", 1)[1].split("@")[0]  # never a tag
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == {
        "LOG_LEVEL": "INFO",
        "RELEASE": REAL_DIGEST,
        "SERVICE_NAME": PROJECT,
        "STAGE": "dev",
    }


def test_task_definition_is_fargate_hardened_and_sized_per_stage(project_plans):
    for stage, cpu, memory in (("dev", "256", "512"), ("prod", "1024", "2048")):
        plan = project_plans["ecs"][stage]
        task = one(plan, "aws:ecs/taskDefinition:TaskDefinition")
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
        assert task.inputs["networkMode"] == "awsvpc"
        assert (task.inputs["cpu"], task.inputs["memory"]) == (cpu, memory)
        (container,) = container_definitions(plan)
        assert container["readonlyRootFilesystem"] is True
        assert container["user"] == "10001"
        assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
        logs = container["logConfiguration"]
        assert logs["logDriver"] == "awslogs"
        assert logs["options"]["awslogs-group"] == f"/aws/ecs/{PROJECT}-{stage}"


def test_load_balancer_names_fit_aws_limits(project_plans):
    for stage in ("dev", "test", "prod"):
        plan = project_plans["ecs"][stage]
        lb = one(plan, "aws:lb/loadBalancer:LoadBalancer")
        groups = {g.name: g for g in plan.of_type("aws:lb/targetGroup:TargetGroup")}
        tg = groups[f"{PROJECT}-{stage}"]
        assert lb.name == tg.name == f"{PROJECT}-{stage}"
        assert "name" not in lb.inputs and "name" not in tg.inputs  # auto-named from the above
        # the alternate target group's explicit name: the same 7 characters after the prefix
        alternate = groups[f"{PROJECT}-{stage}-nextrev"].inputs["name"]
        assert len(alternate) == len(f"{PROJECT}-{stage}-") + 7
        assert lb.inputs["internal"] is False
        assert lb.inputs["dropInvalidHeaderFields"] is True


def test_health_check_on_health(project_plans):
    for tg in project_plans["ecs"]["dev"].of_type("aws:lb/targetGroup:TargetGroup"):
        assert tg.inputs["targetType"] == "ip"
        assert tg.inputs["port"] == 8080
        assert tg.inputs["healthCheck"]["path"] == "/health"
        assert tg.inputs["healthCheck"]["matcher"] == "200"


def test_http_listener_without_certificate(project_plans):
    (listener,) = project_plans["ecs"]["dev"].of_type(LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (80, "HTTP")
    # every request goes through the production rule (whose weights ECS moves); the default
    # forward only serves while the rule does not exist yet
    assert listener.inputs["defaultActions"][0]["type"] == "forward"
    rule = one(project_plans["ecs"]["dev"], "aws:lb/listenerRule:ListenerRule")
    assert listener.urn in rule.dependencies
    assert rule.inputs["actions"][0]["type"] == "forward"
    assert project_plans["ecs"]["dev"].outputs["url"].startswith("http://")


def test_https_listener_with_certificate(plan_stage):
    certificate = CERTIFICATE
    plan = plan_stage("dev", stage_config("ecs", certificateArn=certificate))
    listeners = {item.inputs["port"]: item.inputs for item in plan.of_type(LISTENER)}
    assert set(listeners) == {80, 443}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["certificateArn"] == certificate
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[80]["defaultActions"][0]["type"] == "redirect"
    # the production rule serves on HTTPS only; HTTP redirects
    rule = one(plan, "aws:lb/listenerRule:ListenerRule")
    assert ":listener/app/" in rule.inputs["listenerArn"]
    https = [r for r in plan.of_type(LISTENER) if r.inputs["port"] == 443][0]
    assert rule.dependencies and any(u == https.urn for u in rule.dependencies)
    assert listeners[80]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    assert plan.outputs["url"].startswith("https://")
    lb_group = [g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name.endswith("-lb")]
    assert sorted(rule["fromPort"] for rule in lb_group[0].inputs["ingress"]) == [80, 443]


def test_deployments_roll_back_on_failure(project_plans):
    service = one(project_plans["ecs"]["dev"], "aws:ecs/service:Service")
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.inputs["launchType"] == "FARGATE"
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is False
    assert service.inputs["waitForSteadyState"] is True
    assert service.inputs["loadBalancers"][0]["containerPort"] == 8080


def test_autoscaling_bounds_come_from_config(project_plans, plan_stage):
    for stage, low, high in (("dev", 1, 2), ("prod", 2, 10)):
        target = one(project_plans["ecs"][stage], "aws:appautoscaling/target:Target")
        assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (low, high)
        assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
        assert target.inputs["resourceId"] == f"service/{PROJECT}-{stage}/{PROJECT}-{stage}"
    plan = plan_stage("dev", stage_config("ecs", minCapacity=3, maxCapacity=7))
    target = one(plan, "aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (3, 7)
    assert one(plan, "aws:ecs/service:Service").inputs["desiredCount"] == 3


def test_log_group_has_retention(project_plans):
    for stage, days in (("dev", 14), ("test", 14), ("prod", 90)):
        groups = {g.inputs["name"]: g.inputs for g in project_plans["ecs"][stage].of_type(LOG_GROUP)}
        assert groups[f"/aws/ecs/{PROJECT}-{stage}"]["retentionInDays"] == days
        assert all(g.get("retentionInDays") for g in groups.values())


def test_tasks_accept_traffic_only_from_the_load_balancer(project_plans):
    groups = {g.name: g.inputs for g in project_plans["ecs"]["dev"].of_type("aws:ec2/securityGroup:SecurityGroup")}
    service = groups[f"{PROJECT}-dev-service"]
    (rule,) = service["ingress"]
    assert rule["fromPort"] == rule["toPort"] == 8080
    assert "cidrBlocks" not in rule and len(rule["securityGroups"]) == 1


@pytest.mark.parametrize(("cpu", "memory"), [(300, 512), (256, 4096)])
def test_fargate_sizes_are_validated(plan_stage, cpu, memory):
    from bootstrap.offline import PlanError

    with pytest.raises(PlanError, match="cpu|memory") as raised:
        plan_stage("dev", stage_config("ecs", cpu=cpu, memory=memory))
    assert raised.value.exit_code == 2  # config the program refuses is bad input
    assert "fix infra/Pulumi.dev.yaml" in str(raised.value)


def platform_grants(plan) -> dict[str, dict]:
    (policy,) = [r for r in plan.of_type(ROLE_POLICY) if r.name.endswith("-deploy-platform")]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def granted_on(statements: dict[str, dict], action: str, arn: str) -> bool:
    """Whether an Allow statement names `action` on a resource pattern matching `arn`."""
    from fnmatch import fnmatchcase

    return any(
        action in actions(s) and any(fnmatchcase(arn, r) for r in resources(s))
        for s in statements.values()
    )


def test_deploy_role_can_wait_for_steady_state(project_plans):
    """`wait_for_steady_state`: pulumi-aws 7 (the Terraform AWS provider's ECS service waiter)
    finds the new deployment with ListServiceDeployments and polls DescribeServiceDeployments; IAM
    authorizes the second on the service and on the deployment."""
    prefix = f"{PROJECT}-dev"
    grants = platform_grants(project_plans["ecs"]["dev"])
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{prefix}/{prefix}"
    deployment = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{prefix}/{prefix}/abc123"
    assert granted_on(grants, "ecs:ListServiceDeployments", service)
    assert granted_on(grants, "ecs:DescribeServiceDeployments", service)
    assert granted_on(grants, "ecs:DescribeServiceDeployments", deployment)
    other = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{PROJECT}-dev-2/{PROJECT}-dev-2/abc123"
    assert not granted_on(grants, "ecs:DescribeServiceDeployments", other)


def test_deploy_role_manages_exactly_the_target_tracking_alarms(project_plans):
    """Application Auto Scaling creates (and deletes) the CPU policy's two alarms with the
    caller's permissions, under names AWS fixes."""
    prefix = f"{PROJECT}-dev"
    grants = platform_grants(project_plans["ecs"]["dev"])
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-service/{prefix}/{prefix}"
    uuid = "3f1e2d4c-0000-4a4a-9b9b-123456789abc"
    for side in ("AlarmHigh", "AlarmLow"):
        for action in ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"):
            assert granted_on(grants, action, f"{alarm}-{side}-{uuid}"), (action, side)
    # Another stage's (or another service's) alarms stay out of reach.
    other = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-service/{prefix}-2/{prefix}-2-AlarmHigh-{uuid}"
    assert not granted_on(grants, "cloudwatch:DeleteAlarms", other)
    # Registering the scalable target, Application Auto Scaling checks the caller may describe
    # and update the service.
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{prefix}/{prefix}"
    assert granted_on(grants, "ecs:DescribeServices", service)
    assert granted_on(grants, "ecs:UpdateService", service)
