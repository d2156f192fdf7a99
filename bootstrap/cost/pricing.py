"""Pricing a plan: each billed resource type becomes cost components.

Quantities come from the plan's inputs wherever it says them (NAT gateways, subnets per load
balancer, task cpu/memory and count, function memory and architecture, log retention, alarm
metrics, the registry's lifecycle policy); the rest comes from the stage's usage, named as an
assumption. Resources AWS does not bill (IAM, security groups, subnets, routes, the VPC) are left
out. Works on anything shaped like a plan: `.stack`, `.resources` with type, name, inputs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bootstrap.cost import catalog
from bootstrap.cost.prices import PriceBook
from bootstrap.cost.report import EKS_CLUSTER_HOURS, NAT_HOURS, Component, ResourceCost
from bootstrap.cost.usage import StageUsage

HOURS = Decimal(catalog.HOURS_PER_MONTH)
SECONDS = HOURS * 3600
DAYS_PER_MONTH = Decimal(365) / 12
MIB_PER_GIB = Decimal(1024)
CPU_UNITS = Decimal(1024)  # ECS counts a vCPU as 1024 units
FARGATE_FREE_STORAGE_GB = 20  # every Fargate task gets 20 GiB of ephemeral storage at no charge


@dataclass(frozen=True)
class Context:
    """One stack being priced: its resources, region, rates and usage."""

    stack: str
    region: str
    resources: list[Any]
    prices: PriceBook
    usage: StageUsage

    def of_type(self, type_: str) -> list[Any]:
        return [r for r in self.resources if r.type == type_]

    def component(
        self,
        name: str,
        key: str,
        quantity: Decimal | float | int | None,
        *,
        assumption: str | None = None,
        note: str | None = None,
    ) -> Component:
        rate = self.prices.rate(self.region, key)
        if rate is None:
            note = "; ".join(
                n for n in (note, "unpriced: " + self.prices.why_unknown(self.region, key)) if n
            )
        amount = None if quantity is None else Decimal(str(quantity))
        return Component(
            name,
            catalog.unit(key),
            amount,
            rate.usd if rate else None,
            key,
            rate.source if rate else None,
            assumption,
            note,
        )


def _inputs(resource: Any) -> dict[str, Any]:
    return dict(getattr(resource, "inputs", None) or {})


def _decimal(value: float | int | None) -> Decimal:
    """A plain Decimal: 1.0 becomes 1, so figures print as the plan wrote them."""
    number = Decimal(str(value or 0))
    return number.to_integral_value() if number == number.to_integral_value() else number


def _number(value: Any, default: float | None = None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# --- network ----------------------------------------------------------------------------------


def nat_gateway(ctx: Context, resource: Any) -> list[Component]:
    gateways = max(len(ctx.of_type(resource.type)), 1)
    total = ctx.usage.number("nat_gb_processed") or 0.0
    share = Decimal(str(total)) / gateways
    assumption = ctx.usage.assumption("nat_gb_processed")
    if gateways > 1:
        assumption += f", split over {gateways} gateways"
    return [
        ctx.component(NAT_HOURS, "ec2.nat_gateway_hours", HOURS),
        ctx.component("NAT data processed", "ec2.nat_gateway_gb", share, assumption=assumption),
    ]


def elastic_ip(ctx: Context, resource: Any) -> list[Component]:
    return [
        ctx.component(
            "public IPv4 address", "vpc.public_ipv4_hours", HOURS, note="in use all month"
        )
    ]


def _public_subnets(ctx: Context) -> int:
    subnets = ctx.of_type("aws:ec2/subnet:Subnet")
    public = [
        s for s in subnets
        if (_inputs(s).get("tags") or {}).get("kubernetes.io/role/elb") == "1"
        or (_inputs(s).get("tags") or {}).get("tier") == "public"
    ]  # fmt: skip
    return len(public)


def _alb(ctx: Context, zones: int, internet_facing: bool, how: str) -> list[Component]:
    lcu = ctx.usage.number("alb_lcu") or 0.0
    components = [
        ctx.component("load balancer hours", "elb.alb_hours", HOURS),
        ctx.component(
            "load balancer capacity units",
            "elb.alb_lcu_hours",
            Decimal(str(lcu)) * HOURS,
            assumption=ctx.usage.assumption("alb_lcu") + " all month",
        ),
    ]
    if internet_facing:
        components.append(
            ctx.component(
                "load balancer public IPv4 addresses",
                "vpc.public_ipv4_hours",
                HOURS * zones,
                note=f"one per zone: {zones} ({how})",
            )
        )
    return components


def load_balancer(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    if inputs.get("loadBalancerType", "application") != "application":
        return [
            Component(
                f"{inputs.get('loadBalancerType')} load balancer", "hours", None, None,
                note="only application load balancers are estimated",
            )
        ]  # fmt: skip
    zones = len(inputs.get("subnets") or inputs.get("subnetMappings") or [])
    return _alb(ctx, zones, not inputs.get("internal", False), "the load balancer's subnets")


def ingress(ctx: Context, resource: Any) -> list[Component]:
    """An Ingress of EKS Auto Mode's ALB class: Auto Mode makes one application load balancer."""
    spec = _inputs(resource).get("spec") or {}
    class_name = spec.get("ingressClassName")
    classes = {
        (_inputs(c).get("metadata") or {}).get("name"): c
        for c in ctx.of_type("kubernetes:networking.k8s.io/v1:IngressClass")
    }
    ingress_class = classes.get(class_name)
    if ingress_class is None or (_inputs(ingress_class).get("spec") or {}).get("controller") != (
        "eks.amazonaws.com/alb"
    ):
        return []
    params_name = ((_inputs(ingress_class).get("spec") or {}).get("parameters") or {}).get("name")
    scheme = "internal"
    for params in ctx.of_type("kubernetes:eks.amazonaws.com/v1:IngressClassParams"):
        if (_inputs(params).get("metadata") or {}).get("name") == params_name:
            scheme = (_inputs(params).get("spec") or {}).get("scheme") or "internal"
    zones = _public_subnets(ctx)
    return _alb(ctx, zones, scheme == "internet-facing", "the stage's public subnets")


# --- compute ----------------------------------------------------------------------------------


def _task_definition(ctx: Context, service: Any) -> dict[str, Any]:
    definitions = ctx.of_type("aws:ecs/taskDefinition:TaskDefinition")
    wanted = str(_inputs(service).get("taskDefinition") or "")
    family = wanted.rsplit("/", 1)[-1].split(":", 1)[0]
    for definition in definitions:
        if _inputs(definition).get("family") == family:
            return _inputs(definition)
    return _inputs(definitions[0]) if len(definitions) == 1 else {}


def fargate_service(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    if inputs.get("launchType", "FARGATE") != "FARGATE":
        return []
    task = _task_definition(ctx, resource)
    cpu, memory = _number(task.get("cpu")), _number(task.get("memory"))
    if cpu is None or memory is None:
        return [
            Component("Fargate tasks", "tasks", None, None, note="the task definition's cpu and memory are not known")
        ]  # fmt: skip
    override = ctx.usage.number("average_tasks")
    tasks = _decimal(override if override is not None else _number(inputs.get("desiredCount"), 1))
    assumption = (
        ctx.usage.assumption("average_tasks")
        if override is not None
        else f"{tasks} task(s) of {cpu:g} CPU units and {memory:g} MiB (desiredCount = "
        "minCapacity, from the plan)"
    )
    arm = (task.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64"
    prefix = "fargate.arm_" if arm else "fargate."
    arch = "ARM" if arm else "x86"
    components = [
        ctx.component(
            f"Fargate vCPU ({arch})",
            prefix + "vcpu_hours",
            tasks * Decimal(str(cpu)) / CPU_UNITS * HOURS,
            assumption=assumption,
        ),
        ctx.component(
            f"Fargate memory ({arch})",
            prefix + "gb_hours",
            tasks * Decimal(str(memory)) / MIB_PER_GIB * HOURS,
            assumption=assumption,
        ),
    ]
    storage = _number((task.get("ephemeralStorage") or {}).get("sizeInGib"), 0) or 0
    if storage > FARGATE_FREE_STORAGE_GB:
        components.append(
            ctx.component(
                "Fargate ephemeral storage",
                "fargate.storage_gb_hours",
                tasks * Decimal(str(storage - FARGATE_FREE_STORAGE_GB)) * HOURS,
                note=f"above the {FARGATE_FREE_STORAGE_GB} GiB every task gets",
            )
        )
    return components


def ecs_cluster(ctx: Context, resource: Any) -> list[Component]:
    settings = _inputs(resource).get("settings") or []
    insights = any(
        s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
        for s in settings
        if isinstance(s, dict)
    )
    if not insights:
        return []
    return [
        Component(
            "Container Insights metrics and performance logs", "metrics", None, None,
            note="billed as CloudWatch custom metrics and log ingestion per cluster, service "
            "and task",
        )
    ]  # fmt: skip


_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_GIB = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "k": 1e3 / 2**30,
               "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30, None: 1 / 2**30}  # fmt: skip


def _cpu(value: Any) -> float:
    match = _CPU.match(str(value or "0"))
    return 0.0 if not match else float(match.group(1)) / (1000 if match.group(2) else 1)


def _memory_gib(value: Any) -> float:
    match = _MEMORY.match(str(value or "0"))
    return 0.0 if not match else float(match.group(1)) * _MEMORY_GIB[match.group(2)]


def pod_requests(ctx: Context) -> tuple[float, float]:
    """(vCPUs, GiB) the stage's Deployments request at their replica count."""
    cpu = memory = 0.0
    for deployment in ctx.of_type("kubernetes:apps/v1:Deployment"):
        spec = _inputs(deployment).get("spec") or {}
        replicas = _number(spec.get("replicas"), 1) or 0
        for container in ((spec.get("template") or {}).get("spec") or {}).get("containers") or []:
            requests = (container.get("resources") or {}).get("requests") or {}
            cpu += replicas * _cpu(requests.get("cpu"))
            memory += replicas * _memory_gib(requests.get("memory"))
    return cpu, memory


def eks_cluster(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    components = [ctx.component(EKS_CLUSTER_HOURS, "eks.cluster_hours", HOURS)]
    if (inputs.get("upgradePolicy") or {}).get("supportType") == "EXTENDED":
        components.append(
            Component("EKS extended support", "hours", HOURS, None,
                      note="unpriced: a version past standard support is billed extra per hour")
        )  # fmt: skip
    if not (inputs.get("computeConfig") or {}).get("enabled"):
        return components
    instance = ctx.usage.text("eks_node_instance_type")
    nodes, how = _auto_mode_nodes(ctx, instance)
    type_assumption = ctx.usage.assumption("eks_node_instance_type")
    components += [
        ctx.component(
            "EKS Auto Mode nodes",
            catalog.INSTANCE_HOURS + instance,
            HOURS * nodes,
            assumption=f"{how}; {type_assumption}",
        ),
        ctx.component(
            "EKS Auto Mode management fee",
            catalog.AUTOMODE_FEE + instance,
            HOURS * nodes,
            assumption=f"{how}; {type_assumption}",
        ),
    ]
    return components


def _auto_mode_nodes(ctx: Context, instance: str) -> tuple[int, str]:
    given = ctx.usage.number("eks_nodes")
    if given is not None:
        nodes = math.ceil(given)
        return nodes, ctx.usage.assumption("eks_nodes", str(nodes))
    cpu, memory = pod_requests(ctx)
    shape = catalog.instance_shape(instance)
    if shape is None:
        return 1, f"1 node: the shape of {instance} is not known (set eks_nodes)"
    vcpus, gib = shape
    nodes = max(1, math.ceil(max(cpu / vcpus, memory / gib)))
    return nodes, (
        f"{nodes} node(s) for the pods' requests of {cpu:g} vCPU and {memory:g} GiB "
        f"({instance}: {vcpus} vCPU, {gib} GiB)"
    )


def lambda_function(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    memory = _decimal(_number(inputs.get("memorySize"), 128))
    arm = "arm64" in (inputs.get("architectures") or [])
    prefix = "lambda.arm_" if arm else "lambda."
    requests = Decimal(str(ctx.usage.number("requests_per_month") or 0))
    duration = Decimal(str(ctx.usage.number("lambda_duration_ms") or 0))
    gb_seconds = requests * duration / 1000 * memory / MIB_PER_GIB
    arch = "arm64" if arm else "x86_64"
    return [
        ctx.component(
            f"Lambda requests ({arch})",
            prefix + "requests",
            requests,
            assumption=ctx.usage.assumption("requests_per_month"),
            note="the monthly free tier is not deducted",
        ),
        ctx.component(
            f"Lambda duration ({arch})",
            prefix + "gb_seconds",
            gb_seconds,
            assumption=f"{ctx.usage.assumption('lambda_duration_ms')} per request at {memory} MB "
            "(memorySize, from the plan)",
            note="reserved concurrency is free; the free tier is not deducted",
        ),
    ]


def provisioned_concurrency(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    name = inputs.get("functionName")
    functions = [
        f for f in ctx.of_type("aws:lambda/function:Function") if _inputs(f).get("name") == name
    ]
    function = _inputs(functions[0]) if functions else {}
    memory = _decimal(_number(function.get("memorySize"), 128))
    arm = "arm64" in (function.get("architectures") or [])
    executions = _decimal(_number(inputs.get("provisionedConcurrentExecutions"), 0))
    return [
        ctx.component(
            "Lambda provisioned concurrency",
            "lambda.arm_provisioned_gb_seconds" if arm else "lambda.provisioned_gb_seconds",
            executions * memory / MIB_PER_GIB * SECONDS,
            assumption=f"{executions} execution(s) x {memory} MB all month (from the plan)",
            note="requests it serves are billed at the provisioned duration rate (not shown)",
        )
    ]


# --- logs, alarms, dashboards ----------------------------------------------------------------


def _log_group_kind(ctx: Context, name: str) -> str:
    for flow_log in ctx.of_type("aws:ec2/flowLog:FlowLog"):
        destination = str(_inputs(flow_log).get("logDestination") or "")
        if destination.endswith(f":log-group:{name}") or destination.endswith(
            f":log-group:{name}:*"
        ):
            return "flow"
    if re.fullmatch(r"/aws/eks/[^/]+/cluster", name):
        return "control_plane"
    return "app"


def log_group(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    name = str(inputs.get("name") or resource.name)
    kind = _log_group_kind(ctx, name)
    key = {"flow": "flow_log_gb", "control_plane": "control_plane_log_gb", "app": "log_gb"}[kind]
    monthly_gb = Decimal(str(ctx.usage.number(key) or 0))
    retention = _number(inputs.get("retentionInDays"))
    components = []
    if kind != "flow":  # flow logs are billed on delivery (the FlowLog resource)
        components.append(
            ctx.component(
                "log ingestion", "logs.ingestion_gb", monthly_gb,
                assumption=ctx.usage.assumption(key),
            )
        )  # fmt: skip
    if retention:
        kept = monthly_gb * Decimal(str(retention)) / DAYS_PER_MONTH
        note = (
            f"steady state: {retention:g} days kept (retentionInDays, from the plan), uncompressed"
        )
    else:
        kept = monthly_gb * 12
        note = "never expires: grows every month; shown after a year"
    components.append(
        ctx.component(
            "log storage", "logs.storage_gb_months", kept,
            assumption=ctx.usage.assumption(key), note=note,
        )
    )  # fmt: skip
    return components


def flow_log(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    if inputs.get("logDestinationType", "cloud-watch-logs") != "cloud-watch-logs":
        return [
            Component("flow log delivery", "GB", None, None, note="only delivery to CloudWatch Logs is estimated")
        ]  # fmt: skip
    return [
        ctx.component(
            "flow log delivery (vended logs)",
            "logs.vended_gb",
            Decimal(str(ctx.usage.number("flow_log_gb") or 0)),
            assumption=ctx.usage.assumption("flow_log_gb"),
        )
    ]


def metric_alarm(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    queries = inputs.get("metricQueries") or []
    metrics: list[dict[str, Any]] = [
        q["metric"] for q in queries if isinstance(q, dict) and isinstance(q.get("metric"), dict)
    ]
    periods = [_number(m.get("period"), 60) for m in metrics] or [_number(inputs.get("period"), 60)]
    high_resolution = min(p or 60 for p in periods) < 60
    count = len(metrics) or 1
    return [
        ctx.component(
            f"alarm metrics ({'high' if high_resolution else 'standard'} resolution)",
            "cloudwatch.alarm_high_res_metric_months" if high_resolution else "cloudwatch.alarm_metric_months",
            count,
            note=f"{count} metric(s) in the alarm, from the plan",
        )
    ]  # fmt: skip


def dashboard(ctx: Context, resource: Any) -> list[Component]:
    return [
        ctx.component(
            "dashboard", "cloudwatch.dashboard_months", 1,
            note="the first 3 dashboards of an account are free (not deducted)",
        )
    ]  # fmt: skip


# --- registry, keys ---------------------------------------------------------------------------


def _images_kept(ctx: Context, repository: str) -> int | None:
    for policy in ctx.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        inputs = _inputs(policy)
        if inputs.get("repository") not in (repository, None):
            continue
        try:
            rules = json.loads(str(inputs.get("policy") or "{}")).get("rules") or []
        except ValueError:
            return None
        counts = [
            int(rule["selection"]["countNumber"])
            for rule in rules
            if (rule.get("selection") or {}).get("countType") == "imageCountMoreThan"
        ]
        return max(counts) if counts else None
    return None


def ecr_repository(ctx: Context, resource: Any) -> list[Component]:
    inputs = _inputs(resource)
    size = Decimal(str(ctx.usage.number("image_gb") or 0))
    given = ctx.usage.number("images_kept")
    kept = given if given is not None else _images_kept(ctx, str(inputs.get("name") or ""))
    if kept is None:
        return [Component("image storage", "GB-months", None, None, note="no lifecycle policy says how many images are kept (set images_kept)")]  # fmt: skip
    how = (
        ctx.usage.assumption("images_kept")
        if given is not None
        else f"{kept:g} images (the lifecycle policy's largest count, from the plan)"
    )
    return [
        ctx.component(
            "image storage",
            "ecr.storage_gb_months",
            Decimal(str(kept)) * size,
            assumption=f"{how} x {ctx.usage.assumption('image_gb')}",
            note="layers shared between images are stored once, so this is an upper bound",
        )
    ]


def kms_key(ctx: Context, resource: Any) -> list[Component]:
    return [
        ctx.component("KMS key", "kms.key_months", 1, note="requests are billed apart (not shown)")
    ]


PRICERS: dict[str, Callable[[Context, Any], list[Component]]] = {
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": elastic_ip,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": load_balancer,
    "kubernetes:networking.k8s.io/v1:Ingress": ingress,
    "aws:ecs/service:Service": fargate_service,
    "aws:ecs/cluster:Cluster": ecs_cluster,
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:lambda/function:Function": lambda_function,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": provisioned_concurrency,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:ecr/repository:Repository": ecr_repository,
    "aws:kms/key:Key": kms_key,
}


def price_resources(ctx: Context) -> list[ResourceCost]:
    """The billed resources of a stack, in a stable order (type, then name)."""
    priced = []
    for resource in sorted(ctx.resources, key=lambda r: (r.type, r.name)):
        pricer = PRICERS.get(resource.type)
        components = pricer(ctx, resource) if pricer else []
        if components:
            priced.append(ResourceCost(resource.name, resource.type, tuple(components)))
    return priced
