"""Progressive delivery and rollout speed, per target and stage profile: ECS canary / linear with
bake time and alarm rollback, Lambda's weighted live alias, EKS's rollout deadline and readiness
gates; health checks, draining and stop timeouts; the alarms in the same stack and exported."""

from __future__ import annotations

import json

import pytest

from stacks import contract, delivery
from stacks.lambda_fn import alias_routing

from .helpers import (
    ACCOUNT,
    ALARM,
    PROJECT,
    REGION,
    ROLE,
    ROLE_POLICY,
    by_urn,
    component_of,
    container_definitions,
    one,
    parliament_findings,
    policy_documents,
    stage_config,
)

SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
ALIAS = "aws:lambda/alias:Alias"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NAMESPACE = "kubernetes:core/v1:Namespace"
# The generated 3-stage repos: dev and test take the fast profile, prod (manual) the careful one.
PROFILES = {"dev": delivery.FAST, "test": delivery.FAST, "prod": delivery.CAREFUL}


def alarm_names(plan) -> set[str]:
    return {a.inputs["name"] for a in plan.of_type(ALARM)}


# ------------------------------------------------------------------------------------ ECS


def test_ecs_manual_stages_take_a_canary_with_bake(project_plans):
    profile = delivery.CAREFUL
    service = one(project_plans["ecs"]["prod"], SERVICE).inputs
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["deploymentConfiguration"] == {
        "strategy": "CANARY",
        "bakeTimeInMinutes": str(profile["bakeMinutes"]),
        "canaryConfiguration": {
            "canaryPercent": profile["canaryPercent"],
            "canaryBakeTimeInMinutes": str(profile["canaryMinutes"]),
        },
    }
    # long enough for the stage's alarms to judge the canary and the whole release
    assert profile["canaryMinutes"] >= delivery.MINUTES_TO_ALARM
    assert profile["bakeMinutes"] >= delivery.MINUTES_TO_ALARM
    # the circuit breaker stays (it guards rolling deployments)
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


@pytest.mark.parametrize("stage", ["dev", "test"])
def test_ecs_first_stages_move_every_request_at_once(project_plans, stage):
    """A canary step shorter than the alarms' 3 minutes of data is judged by nothing: stages
    without a reviewer roll (fast), still rolled back by the alarms and the circuit breaker."""
    service = one(project_plans["ecs"][stage], SERVICE).inputs
    assert service["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert "advancedConfiguration" not in service["loadBalancers"][0]
    assert service["alarms"]["rollback"] is True
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_ecs_rolls_back_on_the_stages_own_alarms(project_plans, stage):
    plan = project_plans["ecs"][stage]
    service = one(plan, SERVICE)
    expected = [f"{PROJECT}-{stage}.5xx-rate", f"{PROJECT}-{stage}.latency"]
    assert service.inputs["alarms"] == {"alarmNames": expected, "enable": True, "rollback": True}
    # the same stack makes them, before the service that watches them
    assert set(expected) <= alarm_names(plan)
    urns = by_urn(plan)
    waits_for = {urns[u].inputs.get("name") for u in service.dependencies if u in urns}
    assert set(expected) <= waits_for
    # and exports every alarm for the deploy workflow's watch
    assert sorted(plan.outputs[contract.ALARM_NAMES_OUTPUT]) == sorted(alarm_names(plan))


def test_ecs_traffic_shifting_resources(project_plans):
    plan = project_plans["ecs"]["prod"]
    groups = {g.name: g for g in plan.of_type(TARGET_GROUP)}
    assert set(groups) == {f"{PROJECT}-prod", f"{PROJECT}-prod-nextrev"}
    primary, alternate = groups[f"{PROJECT}-prod"], groups[f"{PROJECT}-prod-nextrev"]
    # the alternate name matches the deploy role's `<prefix>-???????` and fits 32 characters
    assert alternate.inputs["name"] == f"{PROJECT}-prod-{contract_suffix()}"
    assert len(contract_suffix()) == 7 and not set(contract_suffix()) <= set("0123456789abcdef")
    for key in ("port", "protocol", "targetType", "healthCheck", "deregistrationDelay"):
        assert primary.inputs[key] == alternate.inputs[key], key

    rule = one(plan, RULE)
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
    (action,) = rule.inputs["actions"]
    weights = [g["weight"] for g in action["forward"]["targetGroups"]]
    assert weights == [100, 0]  # all to the primary until ECS shifts

    (balanced,) = one(plan, SERVICE).inputs["loadBalancers"]
    advanced = balanced["advancedConfiguration"]
    assert f":targetgroup/{PROJECT}-prod-nextrev/" in advanced["alternateTargetGroupArn"]
    assert ":listener-rule/app/" in advanced["productionListenerRule"]
    assert advanced["roleArn"].startswith(
        f"arn:aws:iam::{ACCOUNT}:role/bootstrap-foundation/{PROJECT}/prod/"
    )
    # the production rule takes every path before the listener's default
    (listener,) = plan.of_type("aws:lb/listener:Listener")
    assert rule.inputs["priority"] == 1 and listener.urn in rule.dependencies


def contract_suffix() -> str:
    from stacks.ecs import ALTERNATE_SUFFIX

    return ALTERNATE_SUFFIX


def test_ecs_infrastructure_role_is_foundation_and_scoped_to_the_stage(project_plans):
    """ECS's load-balancer role acts on the load balancer, which the workload boundary does not
    allow: an administrator makes it with the foundation (a child of the DeployRole component,
    kept by the teardown); the deploy role may read and pass it, nothing else."""
    from stacks.contract import foundation_urns, urn_glob

    plan = project_plans["ecs"]["dev"]
    roles = [r for r in plan.of_type(ROLE) if component_of(plan, r).type == "bootstrap:index:EcsRoles"]
    (role,) = roles
    assert "permissionsBoundary" not in role.inputs
    assert role.inputs["path"] == f"/bootstrap-foundation/{PROJECT}/dev/"
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
    patterns = foundation_urns(PROJECT, "dev", network=True)
    assert any(urn_glob(p).match(role.urn) for p in patterns)
    (policy,) = [p for p in plan.of_type(ROLE_POLICY) if p.name == f"{PROJECT}-dev-deploy-ecs-infrastructure"]
    document = json.loads(policy.inputs["policy"])
    scoped = [s for s in document["Statement"] if s["Resource"] != "*"]
    assert {a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
    }  # fmt: skip
    for s in scoped:
        for arn in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
            assert f"/{PROJECT}-dev-???????/" in arn, arn
    docs = [d for d in policy_documents(plan) if d.label.endswith("-ecs-infrastructure")]
    assert docs and all(parliament_findings(d) == [] for d in docs)


def test_ecs_linear_and_all_at_once(plan_stage):
    linear = plan_stage("dev", stage_config("ecs", deployStrategy="linear", linearPercent=20, linearMinutes=3))
    config = one(linear, SERVICE).inputs["deploymentConfiguration"]
    assert config["strategy"] == "LINEAR"
    assert config["linearConfiguration"] == {"stepPercent": 20, "stepBakeTimeInMinutes": "3"}
    assert "canaryConfiguration" not in config

    rolling = plan_stage("dev", stage_config("ecs", deployStrategy="all-at-once", alarmRollback=False))
    service = one(rolling, SERVICE).inputs
    assert service["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert "advancedConfiguration" not in service["loadBalancers"][0]
    # the alarms still fail the deployment; ECS only does not roll it back by itself
    assert service["alarms"]["enable"] is True and service["alarms"]["rollback"] is False


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_ecs_health_checks_draining_and_stop_timeout(project_plans, stage):
    profile = PROFILES[stage]
    plan = project_plans["ecs"][stage]
    for group in plan.of_type(TARGET_GROUP):
        check = group.inputs["healthCheck"]
        assert check["interval"] == profile["healthCheckIntervalSeconds"]
        assert check["healthyThreshold"] == profile["healthyThreshold"]
        assert check["unhealthyThreshold"] == delivery.UNHEALTHY_THRESHOLD
        assert check["timeout"] < check["interval"]  # ELB requires it
        assert group.inputs["deregistrationDelay"] == profile["deregistrationDelaySeconds"]
    # AWS's defaults take 30 s x 5 = 150 s to healthy and 300 s to drain
    assert delivery.seconds_to_healthy(
        profile["healthCheckIntervalSeconds"], profile["healthyThreshold"]
    ) <= 30
    (container,) = container_definitions(plan)
    assert contract.APP_SHUTDOWN_SECONDS < container["stopTimeout"] <= 120  # Fargate's maximum


def test_ecs_rollout_values_come_from_config(plan_stage):
    plan = plan_stage(
        "dev",
        stage_config(
            "ecs", deployStrategy="canary", canaryPercent=2.5, canaryMinutes=7, bakeMinutes=0,
            healthCheckIntervalSeconds=20, healthyThreshold=4, deregistrationDelaySeconds=60,
        ),
    )  # fmt: skip
    config = one(plan, SERVICE).inputs["deploymentConfiguration"]
    assert config["canaryConfiguration"] == {"canaryPercent": 2.5, "canaryBakeTimeInMinutes": "7"}
    assert config["bakeTimeInMinutes"] == "0"
    group = one(plan, TARGET_GROUP) if len(plan.of_type(TARGET_GROUP)) == 1 else plan.of_type(TARGET_GROUP)[0]
    assert group.inputs["healthCheck"]["interval"] == 20
    assert group.inputs["healthCheck"]["healthyThreshold"] == 4
    assert group.inputs["deregistrationDelay"] == 60


@pytest.mark.parametrize(
    ("target", "changes", "message"),
    [
        ("ecs", {"canaryPercent": 0.05}, "canaryPercent: 0.05 is out of range"),
        ("ecs", {"canaryPercent": 12.34}, "canaryPercent: 12.34 is not a multiple of 0.1"),
        ("ecs", {"linearPercent": 2}, "linearPercent: 2 is out of range"),
        ("ecs", {"bakeMinutes": 1441}, "bakeMinutes: 1441 is out of range"),
        ("ecs", {"deployStrategy": "blue-green"}, "deployStrategy: 'blue-green' is not valid"),
        ("ecs", {"healthCheckIntervalSeconds": 4}, "healthCheckIntervalSeconds: 4 is out of range"),
        ("eks", {"deregistrationDelaySeconds": 3601}, "deregistrationDelaySeconds: 3601 is out of range"),
        ("lambda", {"lambdaStableVersion": "$LATEST"}, "lambdaStableVersion: '\\$LATEST' is not a function version"),
        ("lambda", {"lambdaNewVersionWeight": 1.5}, "lambdaNewVersionWeight: 1.5 is out of range"),
    ],
)
def test_rollout_values_aws_refuses_are_refused(target, changes, message):
    """What the program and bootstrap both run on a stage's values (config_schema.parse, then
    config_checks.check_stage); the program's own refusal is the next test."""
    import datetime
    import re

    from stacks import config_checks, config_schema

    values = {}
    problems = []
    for setting in config_schema.settings_of("stage"):
        raw = changes.get(setting.key, target if setting.key == "target" else None)
        try:
            values[setting.key] = config_schema.parse(setting, raw)
        except config_schema.Invalid as invalid:
            problems.append(f"{invalid.key}: {invalid.problem}")
    if not problems:
        issues = config_checks.check_stage(values, region=REGION, today=datetime.date(2026, 12, 1))
        problems = [f"{i.key}: {i.problem}" for i in issues if not i.warning]
    assert any(re.match(message, p) for p in problems), problems


@pytest.mark.parametrize(
    ("target", "changes", "message"),
    [
        ("ecs", {"canaryPercent": 12.34}, "canaryPercent: 12.34 is not a multiple of 0.1"),
        ("lambda", {"lambdaStableVersion": "v2"}, "lambdaStableVersion: 'v2' is not a function version"),
    ],
)
def test_the_program_refuses_them(plan_stage, target, changes, message):
    from bootstrap.offline import PlanError

    with pytest.raises(PlanError, match=message):
        plan_stage("dev", stage_config(target, **changes))


def test_ecs_api_calls_pass_botocore_for_every_strategy(plan_stage, project_plans):
    """The service, listener rule and target groups as CreateService / CreateRule /
    CreateTargetGroup, through botocore's validator (tests/contracts/api_shapes.py); a planted
    defect (the bake minutes as words) is reported."""
    from tests.contracts import api_shapes

    plans = [
        project_plans["ecs"]["prod"],
        plan_stage("dev", stage_config("ecs", deployStrategy="linear")),
        plan_stage("dev", stage_config("ecs", deployStrategy="all-at-once")),
    ]
    for plan in plans:
        for token in (SERVICE, RULE, TARGET_GROUP):
            for resource in plan.of_type(token):
                assert api_shapes.check(token, resource.inputs) == [], (token, resource.name)
    planted = dict(one(plans[0], SERVICE).inputs)
    config = planted["deploymentConfiguration"]
    planted["deploymentConfiguration"] = {
        **config, "canaryConfiguration": {**config["canaryConfiguration"], "canaryPercent": "five"}
    }
    assert any("canaryPercent" in p for p in api_shapes.check(SERVICE, planted) or [])


# ---------------------------------------------------------------------------------- Lambda


def test_lambda_live_alias_takes_the_newest_version_by_default(project_plans):
    for stage in ("dev", "prod"):
        plan = project_plans["lambda"][stage]
        alias = one(plan, ALIAS).inputs
        function = one(plan, "aws:lambda/function:Function")
        assert "routingConfig" not in alias or not alias["routingConfig"]
        assert plan.outputs[contract.LIVE_VERSION_OUTPUT] == plan.outputs[contract.NEW_VERSION_OUTPUT]
        assert alias["functionName"] == function.inputs["name"]
        assert sorted(plan.outputs[contract.ALARM_NAMES_OUTPUT]) == sorted(alarm_names(plan))


def test_lambda_weighted_routing_while_the_workflow_shifts(plan_stage):
    plan = plan_stage("dev", stage_config("lambda", lambdaStableVersion="7", lambdaNewVersionWeight=0.1))
    alias = one(plan, ALIAS).inputs
    newest = plan.outputs[contract.NEW_VERSION_OUTPUT]
    assert alias["functionVersion"] == "7" == plan.outputs[contract.LIVE_VERSION_OUTPUT]
    assert alias["routingConfig"] == {"additionalVersionWeights": {newest: 0.1}}
    from tests.contracts import api_shapes

    assert api_shapes.check(ALIAS, alias) == []
    # the alarms watch the alias, whatever version serves
    for alarm in plan.of_type(ALARM):
        text = json.dumps(alarm.inputs)
        assert f"{PROJECT}-dev:live" in text, alarm.name


def test_alias_routing():
    assert alias_routing("8", None, 0.5) == ("8", None)  # no shift: all to the newest
    assert alias_routing("8", "7", 0.05) == ("7", {"8": 0.05})
    assert alias_routing("8", "7", 0.0) == ("7", None)  # held on the stable version
    assert alias_routing("8", "8", 0.3) == ("8", None)  # nothing new to shift to


# ------------------------------------------------------------------------------------- EKS


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_eks_rollout_deadline_readiness_gates_and_draining(project_plans, stage):
    profile = PROFILES[stage]
    plan = project_plans["eks"][stage]
    deployment = one(plan, DEPLOYMENT).inputs
    spec = deployment["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert spec["progressDeadlineSeconds"] == profile["progressDeadlineSeconds"]
    # Pulumi's await gives up shortly after Kubernetes marks the rollout failed: the update fails
    timeout = int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"])
    assert profile["progressDeadlineSeconds"] < timeout <= profile["progressDeadlineSeconds"] + 120
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pause + contract.APP_SHUTDOWN_SECONDS
    assert container["readinessProbe"]["periodSeconds"] <= 2
    labels = one(plan, NAMESPACE).inputs["metadata"]["labels"]
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    annotations = one(plan, INGRESS).inputs["metadata"]["annotations"]
    prefix = "alb.ingress.kubernetes.io"
    assert annotations[f"{prefix}/healthcheck-interval-seconds"] == str(profile["healthCheckIntervalSeconds"])
    assert annotations[f"{prefix}/healthy-threshold-count"] == str(profile["healthyThreshold"])
    assert annotations[f"{prefix}/target-group-attributes"] == (
        f"deregistration_delay.timeout_seconds={profile['deregistrationDelaySeconds']}"
    )
    assert sorted(plan.outputs[contract.ALARM_NAMES_OUTPUT]) == sorted(alarm_names(plan))


# ------------------------------------------------------------------------- stage files


def test_stage_files_set_the_careful_profile_on_manual_stages_only(generated_repos):
    import yaml

    for target, repo in generated_repos.items():
        for stage, careful in (("dev", False), ("test", False), ("prod", True)):
            config = yaml.safe_load((repo / "infra" / f"Pulumi.{stage}.yaml").read_text())["config"]
            has = f"{PROJECT}:canaryMinutes" in config or f"{PROJECT}:progressDeadlineSeconds" in config
            assert has is careful, (target, stage)
            if careful and target == "ecs":
                assert config[f"{PROJECT}:bakeMinutes"] == delivery.CAREFUL["bakeMinutes"]
            if careful and target in ("ecs", "lambda"):
                assert config[f"{PROJECT}:deployStrategy"] == "canary"
            if target == "eks":
                assert f"{PROJECT}:canaryMinutes" not in config  # EKS always rolls pods
            if target == "lambda":
                assert f"{PROJECT}:healthyThreshold" not in config  # no load balancer



# ------------------------------------------------------------- the stack side of push-to-serving


def _rollout(profile: dict, **changes) -> delivery.Rollout:
    values = {**profile, "alarmRollback": True, "lambdaStableVersion": None, "lambdaNewVersionWeight": 0.0}
    return delivery.Rollout.from_config({**values, **changes})


def test_stack_path_of_the_first_stage():
    fast = _rollout(delivery.FAST)
    ecs = delivery.stack_path("ecs", fast)
    assert [s.name for s in ecs] == [
        "start the new tasks (assumed)", "health checks to healthy", "drain the old tasks"
    ]
    assert [s.seconds for s in ecs] == [60, 10, 5]
    serving = next(i for i, s in enumerate(ecs) if s.serving)
    assert sum(s.seconds for s in ecs[: serving + 1]) == 70
    # AWS's defaults: 150 s of health checks, 300 s of draining
    defaults = delivery.AWS_DEFAULTS
    assert defaults["interval"] * defaults["healthy"] == 150
    lam = delivery.stack_path("lambda", fast)
    assert [(s.seconds, s.serving) for s in lam] == [(30, True)]
    eks = delivery.stack_path("eks", fast)
    assert [s.seconds for s in eks] == [60, 10, 5]
    canary = delivery.stack_path("ecs", _rollout(delivery.CAREFUL))
    assert [s.seconds for s in canary] == [60, 30, 600, 600, 30]


def test_stack_path_of_linear_and_careful_stages():
    linear = _rollout(delivery.FAST, deployStrategy="linear", linearPercent=25.0, linearMinutes=3)
    steps = [s for s in delivery.stack_path("ecs", linear) if s.name.startswith("linear")]
    assert len(steps) == 3  # 25, 50, 75 % each baked a minute; 100 % is not baked
    assert len(delivery.stack_path("lambda", linear)) == 1 + 2 * 3
    careful = delivery.stack_path("ecs", _rollout(delivery.CAREFUL))
    assert sum(s.seconds for s in careful) > sum(s.seconds for s in delivery.stack_path("ecs", _rollout(delivery.FAST)))
    rolling = delivery.stack_path("ecs", _rollout(delivery.CAREFUL, deployStrategy="all-at-once"))
    assert [s.name for s in rolling] == [
        "start the new tasks (assumed)", "health checks to healthy", "drain the old tasks"
    ]


def test_a_step_too_short_for_the_alarms_is_warned_about():
    import datetime

    from stacks import config_checks, config_schema

    def issues(**changes):
        values = {
            s.key: config_schema.parse(s, changes.get(s.key, "ecs" if s.key == "target" else None))
            for s in config_schema.settings_of("stage")
        }
        return config_checks.check_stage(values, region=REGION, today=datetime.date(2026, 12, 1))

    (warning,) = [i for i in issues(deployStrategy="canary", canaryMinutes=1) if i.warning]
    assert warning.key == "canaryMinutes" and "too short for the stage's alarms" in warning.problem
    assert not [i for i in issues(deployStrategy="canary", canaryMinutes=3) if i.warning]
    assert not [i for i in issues(deployStrategy="all-at-once", canaryMinutes=1) if i.warning]
