"""How a release takes traffic, and how fast a new task or pod counts as serving: the strategies,
the ranges AWS allows for each value (sourced below), and the two stage profiles.

No Pulumi import: `config_schema.py` (and so bootstrap's CLI) reads it, and every generated repo
carries it. The components (`ecs.py`, `lambda_fn.py`, `eks_workload.py`) turn the values into
resource inputs; docs/stacks.md, "Progressive delivery", says what each target does with them.

Sources (docs/sources.md, "delivery"):
- ECS `DeploymentConfiguration` (botocore 1.44.8, `data/ecs/2014-11-13/service-2.json`): strategy
  ROLLING | BLUE_GREEN | LINEAR | CANARY; `canaryPercent` multiples of 0.1 from 0.1 to 100;
  `stepPercent` multiples of 0.1 from 3.0 to 100; `canaryBakeTimeInMinutes`,
  `stepBakeTimeInMinutes` 0 to 1440; the Terraform provider validates `bake_time_in_minutes` and
  both step bake times as 0-1440 and the percents as 0.1-100 and 3-100
  (hashicorp/terraform-provider-aws `internal/service/ecs/service.go`, as stored 2026).
- ELBv2 `CreateTargetGroup` (botocore 1.44.8, `data/elbv2/2015-12-01/service-2.json`): health
  check interval 5-300 s (default 30), timeout 2-120 s (default 6 for HTTP), healthy threshold
  2-10 (default 5), unhealthy threshold 2-10 (default 2); the target group attribute
  `deregistration_delay.timeout_seconds` 0-3600 s (default 300), `ModifyTargetGroupAttributes`
  documentation of `TargetGroupAttribute` keys.
- ECS `ContainerDefinition.stopTimeout` (same ECS model): Fargate at most 120 s, default 30 s.
- Lambda `AliasRoutingConfiguration.AdditionalVersionWeights` (botocore 1.44.8,
  `data/lambda/2015-03-31/service-2.json`): one version (`[0-9]+`) to a weight 0.0-1.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import contract

# The stage's choice (config `deployStrategy`), and what ECS calls it.
STRATEGIES = ("canary", "linear", "all-at-once")
ECS_STRATEGIES = {"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ROLLING"}

CANARY_PERCENT = (0.1, 100.0)
LINEAR_PERCENT = (3.0, 100.0)
BAKE_MINUTES = (0, 1440)
HEALTH_CHECK_INTERVAL_SECONDS = (5, 300)
HEALTHY_THRESHOLD = (2, 10)
DEREGISTRATION_DELAY_SECONDS = (0, 3600)
LAMBDA_WEIGHT = (0.0, 1.0)
FARGATE_STOP_TIMEOUT_MAX = 120

# The stage's alarms (observability.py): one-minute periods, 3 breaching datapoints out of 5. A
# traffic step shorter than MINUTES_TO_ALARM cannot be judged by them.
ALARM_PERIOD_SECONDS = 60
ALARM_EVALUATION_PERIODS = 5
ALARM_DATAPOINTS = 3
MINUTES_TO_ALARM = ALARM_DATAPOINTS * ALARM_PERIOD_SECONDS // 60

# Fixed, not configured: an unhealthy target leaves after two failed checks (AWS's lowest), and a
# check waits 2 s for an answer (AWS's lowest; /health answers in milliseconds).
UNHEALTHY_THRESHOLD = 2
HEALTH_CHECK_TIMEOUT_SECONDS = 2
# The sample app finishes its requests in flight within APP_SHUTDOWN_SECONDS of SIGTERM; the
# container (ECS) or pod (EKS) gets 5 s more before it is killed.
STOP_TIMEOUT_SECONDS = contract.APP_SHUTDOWN_SECONDS + 5
# EKS: the pod keeps serving this long after it is marked for deletion, while the load balancer
# stops sending it new requests (the ALB deregisters a target asynchronously).
PRE_STOP_SLEEP_SECONDS = 5

# The stage profiles: the schema's defaults are the fast one (a first stage serves soon after the
# push); the stage file of every manual stage sets the careful one (infra/Pulumi.<stage>.yaml).
FAST: dict[str, Any] = contract.ROLLOUT_FAST
CAREFUL: dict[str, Any] = contract.ROLLOUT_CAREFUL


def seconds_to_healthy(interval: int, healthy_threshold: int) -> int:
    """How long a new target's checks take at best before the load balancer sends it traffic."""
    return interval * healthy_threshold


@dataclass(frozen=True)
class Rollout:
    """A stage's rollout settings (config keys in `config_schema.py`), as the components take them."""

    strategy: str = FAST["deployStrategy"]
    canary_percent: float = FAST["canaryPercent"]
    canary_minutes: int = FAST["canaryMinutes"]
    linear_percent: float = FAST["linearPercent"]
    linear_minutes: int = FAST["linearMinutes"]
    bake_minutes: int = FAST["bakeMinutes"]
    alarm_rollback: bool = True
    health_check_interval: int = FAST["healthCheckIntervalSeconds"]
    healthy_threshold: int = FAST["healthyThreshold"]
    deregistration_delay: int = FAST["deregistrationDelaySeconds"]
    progress_deadline: int = FAST["progressDeadlineSeconds"]
    # Lambda, set by the deploy workflow while it shifts the live alias's requests.
    lambda_stable_version: str | None = None
    lambda_new_version_weight: float = 0.0

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> Rollout:
        return cls(
            strategy=str(values["deployStrategy"]),
            canary_percent=float(values["canaryPercent"]),
            canary_minutes=int(values["canaryMinutes"]),
            linear_percent=float(values["linearPercent"]),
            linear_minutes=int(values["linearMinutes"]),
            bake_minutes=int(values["bakeMinutes"]),
            alarm_rollback=bool(values["alarmRollback"]),
            health_check_interval=int(values["healthCheckIntervalSeconds"]),
            healthy_threshold=int(values["healthyThreshold"]),
            deregistration_delay=int(values["deregistrationDelaySeconds"]),
            progress_deadline=int(values["progressDeadlineSeconds"]),
            lambda_stable_version=str(values["lambdaStableVersion"] or "") or None,
            lambda_new_version_weight=float(values["lambdaNewVersionWeight"]),
        )

    @property
    def ecs_strategy(self) -> str:
        return ECS_STRATEGIES[self.strategy]

    @property
    def seconds_to_healthy(self) -> int:
        return seconds_to_healthy(self.health_check_interval, self.healthy_threshold)


# --- the stack side of push-to-serving ------------------------------------------------------
# What a deploy's `pulumi up` waits for once it changes the workload, in order, from the stage's
# configuration. Starting a Fargate task or a pod (placement, image pull, the app's start) is not
# configured anywhere: it is the assumed figure below, named as such wherever it is reported.
ASSUMED_TASK_START_SECONDS = 60
ASSUMED_LAMBDA_UPDATE_SECONDS = 30  # a new image version published and ready (one `pulumi up`)
# AWS's own defaults (ELBv2 CreateTargetGroup, ECS stopTimeout, above): the "before" of a stage
# that never tuned them.
AWS_DEFAULTS = {"interval": 30, "healthy": 5, "deregistration": 300, "stop": 30}


@dataclass(frozen=True)
class Step:
    name: str
    seconds: int
    serving: bool = False  # from the end of this step on, the new release answers requests


def stack_path(target: str, rollout: Rollout) -> list[Step]:
    """The waits of one deploy of a stage, from the stack's side: for ECS the new tasks' start,
    their health checks, the canary or linear steps, the bake and the old tasks' draining; for
    Lambda the updates of the live alias the deploy workflow makes; for EKS the pods' start and
    health checks."""
    healthy = rollout.seconds_to_healthy
    if target == "lambda":
        steps = [Step("publish the new version", ASSUMED_LAMBDA_UPDATE_SECONDS, serving=True)]
        if rollout.strategy == "canary":
            steps += [
                Step(f"canary {rollout.canary_percent:g} %", rollout.canary_minutes * 60),
                Step("move the live alias", ASSUMED_LAMBDA_UPDATE_SECONDS),
            ]
        elif rollout.strategy == "linear":
            for _ in range(_linear_steps(rollout) - 1):
                steps += [
                    Step(f"linear step {rollout.linear_percent:g} %", rollout.linear_minutes * 60),
                    Step("move the live alias", ASSUMED_LAMBDA_UPDATE_SECONDS),
                ]
        return steps
    steps = [
        Step("start the new tasks (assumed)", ASSUMED_TASK_START_SECONDS),
        Step("health checks to healthy", healthy, serving=True),
    ]
    if target == "ecs" and rollout.ecs_strategy == "CANARY":
        steps.append(Step(f"canary {rollout.canary_percent:g} %", rollout.canary_minutes * 60))
    elif target == "ecs" and rollout.ecs_strategy == "LINEAR":
        steps += [
            Step(f"linear step {rollout.linear_percent:g} %", rollout.linear_minutes * 60)
            for _ in range(_linear_steps(rollout) - 1)
        ]
    if target == "ecs" and rollout.ecs_strategy != "ROLLING":
        steps.append(Step("bake", rollout.bake_minutes * 60))
    steps.append(Step("drain the old tasks", rollout.deregistration_delay))
    return steps


def _linear_steps(rollout: Rollout) -> int:
    """Steps to 100 % (the last step's bake time is not applied: botocore's ecs model)."""
    return -(-1000 // round(rollout.linear_percent * 10))  # ceil(100 / percent) in tenths
