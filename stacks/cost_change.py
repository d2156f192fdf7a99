"""The monthly cost change a pull request makes, for the preview comment (preview.yml).

The generated repository prices its own previews: the preview job runs `pulumi preview --json
--show-sames` for every stack the pull request changes and calls

    python -m stacks.cost_change --region REGION STACK=PREVIEW.json ...

from `infra/`, which prints a Markdown section: each stack's fixed monthly charges before and
after the change, and the resources that make the difference. Standard library only.

`pulumi preview --json` prints Pulumi's preview digest (pkg/display/json.go `PreviewDigest`):
`{"config": {...}, "steps": [{"op", "urn", "oldState": {"type", "inputs", ...}, "newState":
{...}}], "changeSummary": {...}}`; with `--show-sames` unchanged resources are steps too, so
both totals are whole. A resource is priced from its old inputs before and its new inputs after.

Only charges the plan fixes are priced (hours of NAT gateways, public IPv4 addresses, application
load balancers, EKS clusters, Fargate tasks at their desired count, alarms, dashboards, KMS keys,
Lambda provisioned concurrency); EKS Auto Mode nodes and what traffic and logs add are not, and
the comment says so.
`bootstrap cost` in a checkout gives the whole estimate. The rates are on-demand list prices per
region in `cost_rates.json` beside this module (written from bootstrap's price snapshot, with
their sources and dates); tests/stacks/test_cost_change.py keeps these figures equal to
`bootstrap cost`'s for the same charges.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

RATES = Path(__file__).with_name("cost_rates.json")
# For the IAM coverage checker (tests/contracts/workflows.py): this command calls no AWS API.
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {"cost_change": ()}
HOURS = Decimal(730)  # a month, as AWS's pricing pages count it
SECONDS = HOURS * 3600
CPU_UNITS = Decimal(1024)
MIB_PER_GIB = Decimal(1024)
FARGATE_FREE_STORAGE_GB = 20
MARKER = "<!-- cost-change -->"
# What `pulumi preview --json` shows for a value known only after the update.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class Charge:
    resource: str
    type: str
    name: str  # e.g. "NAT gateway hours"
    key: str  # the rate's key in cost_rates.json
    quantity: Decimal  # per month


class Rates:
    def __init__(self, document: Mapping[str, Any], region: str) -> None:
        self.region = region
        self.rates = {
            key: Decimal(str(usd))
            for key, (usd, _source) in (document.get("rates", {}).get(region) or {}).items()
        }
        used = {source for _usd, source in (document.get("rates", {}).get(region) or {}).values()}
        sources = document.get("sources") or {}
        dates = sorted(str(sources[s]["published"]) for s in used if sources.get(s, {}).get("published"))
        self.published = dates[0] if dates else None

    @classmethod
    def load(cls, region: str, path: Path = RATES) -> Rates:
        return cls(json.loads(path.read_text()), region)

    def monthly(self, charge: Charge) -> Decimal | None:
        rate = self.rates.get(charge.key)
        return None if rate is None else charge.quantity * rate


# --- charges per resource type ----------------------------------------------------------------


def _number(value: Any, default: float | None = None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _dec(value: float | int) -> Decimal:
    number = Decimal(str(value))
    return number.to_integral_value() if number == number.to_integral_value() else number


def _nat(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    return [("NAT gateway hours", "ec2.nat_gateway_hours", HOURS)]


def _eip(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    return [("public IPv4 address", "vpc.public_ipv4_hours", HOURS)]


def _load_balancer(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    if r.inputs.get("loadBalancerType", "application") != "application":
        return []
    charges = [("load balancer hours", "elb.alb_hours", HOURS)]
    if not r.inputs.get("internal", False):
        zones = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or [])
        charges.append(("load balancer public IPv4 addresses", "vpc.public_ipv4_hours", HOURS * zones))
    return charges


def _task_definition(service: Resource, stack: list[Resource]) -> Mapping[str, Any]:
    definitions = [r for r in stack if r.type == "aws:ecs/taskDefinition:TaskDefinition"]
    family = str(service.inputs.get("taskDefinition") or "").rsplit("/", 1)[-1].split(":", 1)[0]
    for definition in definitions:
        if definition.inputs.get("family") == family:
            return definition.inputs
    return definitions[0].inputs if len(definitions) == 1 else {}


def _fargate(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    if r.inputs.get("launchType", "FARGATE") != "FARGATE":
        return []
    task = _task_definition(r, stack)
    cpu, memory = _number(task.get("cpu")), _number(task.get("memory"))
    if cpu is None or memory is None:
        return []
    tasks = _dec(_number(r.inputs.get("desiredCount"), 1) or 0)
    arm = (task.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64"
    prefix, arch = ("fargate.arm_", "ARM") if arm else ("fargate.", "x86")
    charges = [
        (f"Fargate vCPU ({arch})", prefix + "vcpu_hours", tasks * Decimal(str(cpu)) / CPU_UNITS * HOURS),
        (f"Fargate memory ({arch})", prefix + "gb_hours", tasks * Decimal(str(memory)) / MIB_PER_GIB * HOURS),
    ]
    storage = _number((task.get("ephemeralStorage") or {}).get("sizeInGib"), 0) or 0
    if storage > FARGATE_FREE_STORAGE_GB:
        extra = Decimal(str(storage - FARGATE_FREE_STORAGE_GB))
        charges.append(("Fargate ephemeral storage", "fargate.storage_gb_hours", tasks * extra * HOURS))
    return charges


def _eks(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    return [("EKS cluster hours", "eks.cluster_hours", HOURS)]


def _alarm(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    queries = r.inputs.get("metricQueries") or []
    metrics = [q["metric"] for q in queries if isinstance(q, dict) and isinstance(q.get("metric"), dict)]
    periods = [_number(m.get("period"), 60) for m in metrics] or [_number(r.inputs.get("period"), 60)]
    high = min(p or 60 for p in periods) < 60
    key = "cloudwatch.alarm_high_res_metric_months" if high else "cloudwatch.alarm_metric_months"
    return [(f"alarm metrics ({'high' if high else 'standard'} resolution)", key, Decimal(len(metrics) or 1))]


def _dashboard(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    return [("dashboard", "cloudwatch.dashboard_months", Decimal(1))]


def _kms(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    return [("KMS key", "kms.key_months", Decimal(1))]


def _provisioned(r: Resource, stack: list[Resource]) -> list[tuple[str, str, Decimal]]:
    name = r.inputs.get("functionName")
    functions = [f for f in stack if f.type == "aws:lambda/function:Function" and f.inputs.get("name") == name]
    function = functions[0].inputs if functions else {}
    memory = _dec(_number(function.get("memorySize"), 128) or 128)
    arm = "arm64" in (function.get("architectures") or [])
    executions = _dec(_number(r.inputs.get("provisionedConcurrentExecutions"), 0) or 0)
    key = "lambda.arm_provisioned_gb_seconds" if arm else "lambda.provisioned_gb_seconds"
    return [("Lambda provisioned concurrency", key, executions * memory / MIB_PER_GIB * SECONDS)]


PRICED: dict[str, Callable[[Resource, list[Resource]], list[tuple[str, str, Decimal]]]] = {
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/eip:Eip": _eip,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:ecs/service:Service": _fargate,
    "aws:eks/cluster:Cluster": _eks,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:kms/key:Key": _kms,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
}
KEYS = (
    "ec2.nat_gateway_hours", "vpc.public_ipv4_hours", "elb.alb_hours", "fargate.vcpu_hours",
    "fargate.gb_hours", "fargate.arm_vcpu_hours", "fargate.arm_gb_hours",
    "fargate.storage_gb_hours", "eks.cluster_hours", "cloudwatch.alarm_metric_months",
    "cloudwatch.alarm_high_res_metric_months", "cloudwatch.dashboard_months", "kms.key_months",
    "lambda.provisioned_gb_seconds", "lambda.arm_provisioned_gb_seconds",
)  # fmt: skip


def charges(resources: Iterable[Resource]) -> list[Charge]:
    """The fixed monthly charges of a stack's resources (those of PRICED types)."""
    stack = list(resources)
    found = []
    for r in sorted(stack, key=lambda x: (x.type, x.name)):
        pricer = PRICED.get(r.type)
        for name, key, quantity in pricer(r, stack) if pricer else []:
            found.append(Charge(r.name, r.type, name, key, quantity))
    return found


# --- a preview's before and after -------------------------------------------------------------

_BEFORE_ONLY = {"delete", "delete-replaced", "discard"}
_AFTER_ONLY = {"create", "create-replacement", "import"}
_NEITHER = {"read", "refresh", "remove-pending-replace"}


def _resource(state: Mapping[str, Any], urn: str) -> Resource:
    return Resource(str(state.get("type") or ""), urn.rsplit("::", 1)[-1], state.get("inputs") or {})


def before_and_after(digest: Mapping[str, Any]) -> tuple[list[Resource], list[Resource]]:
    """The stack's resources before and after, from `pulumi preview --json --show-sames`."""
    before: list[Resource] = []
    after: list[Resource] = []
    for step in digest.get("steps") or []:
        op, urn = str(step.get("op") or ""), str(step.get("urn") or "")
        if op in _NEITHER:
            continue
        old, new = step.get("oldState"), step.get("newState")
        if old and op not in _AFTER_ONLY:
            before.append(_resource(old, urn))
        if new and op not in _BEFORE_ONLY:
            after.append(_resource(new, urn))
    return before, after


@dataclass(frozen=True)
class StackChange:
    stack: str
    before: Decimal
    after: Decimal
    resources: tuple[tuple[str, Decimal], ...]  # resource name -> its change, largest first
    unpriced: tuple[str, ...]  # rate keys the region has no rate for

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


def _totals(found: list[Charge], rates: Rates) -> tuple[Decimal, dict[str, Decimal], set[str]]:
    total = Decimal(0)
    per_resource: dict[str, Decimal] = {}
    missing: set[str] = set()
    for charge in found:
        monthly = rates.monthly(charge)
        if monthly is None:
            missing.add(charge.key)
            continue
        total += monthly
        per_resource[charge.resource] = per_resource.get(charge.resource, Decimal(0)) + monthly
    return total, per_resource, missing


def stack_change(stack: str, digest: Mapping[str, Any], rates: Rates) -> StackChange:
    before, after = before_and_after(digest)
    total_before, old, missing_before = _totals(charges(before), rates)
    total_after, new, missing_after = _totals(charges(after), rates)
    deltas = {n: new.get(n, Decimal(0)) - old.get(n, Decimal(0)) for n in {*old, *new}}
    changed = sorted(
        ((n, d) for n, d in deltas.items() if d.quantize(Decimal("0.01")) != 0),
        key=lambda item: (-abs(item[1]), item[0]),
    )
    return StackChange(
        stack, total_before, total_after, tuple(changed), tuple(sorted(missing_before | missing_after))
    )


# --- the comment ------------------------------------------------------------------------------


def money(value: Decimal, sign: bool = False) -> str:
    cents = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    prefix = ("+" if cents >= 0 else "-") if sign else ("-" if cents < 0 else "")
    return f"{prefix}${abs(cents):,}"


def markdown(changes: list[StackChange], rates: Rates, top: int = 5) -> str:
    lines = [
        MARKER,
        "### Monthly cost change",
        "",
        "| stack | before | after | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {c.stack} | {money(c.before)} | {money(c.after)} | **{money(c.delta, sign=True)}** |"
        for c in changes
    ]
    for c in changes:
        if c.resources:
            parts = ", ".join(f"{name} {money(d, sign=True)}" for name, d in c.resources[:top])
            lines += ["", f"{c.stack}: {parts}"]
        if c.unpriced:
            lines += ["", f"{c.stack}: no {rates.region} rate for {', '.join(c.unpriced)} (not counted)"]
    dated = f" of {rates.published}" if rates.published else ""
    lines += [
        "",
        f"Fixed monthly charges at AWS on-demand list prices{dated} for {rates.region} (hours of "
        "NAT gateways, load balancers, EKS clusters and Fargate tasks, public IPv4 addresses, "
        "alarms, dashboards, KMS keys); EKS Auto Mode nodes, traffic, logs and storage are not "
        "included. "
        "`bootstrap cost --all` gives the whole estimate.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.cost_change", description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True, help="the stacks' region (aws:region)")
    parser.add_argument("previews", nargs="+", metavar="STACK=FILE", help="`pulumi preview --json --show-sames` output")
    args = parser.parse_args(argv)
    changes = []
    for item in args.previews:
        stack, sep, path = item.partition("=")
        if not sep:
            parser.error(f"{item}: expected STACK=FILE")
        try:
            digest = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            print(f"error: {path}: not a preview's JSON ({exc})", file=sys.stderr)
            return 2
        region = str((digest.get("config") or {}).get("aws:region") or args.region)
        changes.append(stack_change(stack, digest, Rates.load(region)))
    print(markdown(changes, Rates.load(args.region)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
