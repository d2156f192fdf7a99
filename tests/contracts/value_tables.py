"""Values AWS accepts, from independent sources read at test time (never typed in from memory):

- CloudWatch Logs retention days, CloudWatch alarm periods and the Fargate cpu/memory pairs: the
  documentation in botocore's service models (logs PutRetentionPolicy `retentionInDays`,
  cloudwatch PutMetricAlarm `Period`, ecs RegisterTaskDefinition `memory`);
- ECR lifecycle policy rules: moto's implementation of ECR's lifecycle policy validation.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any


def _doc(service: str, operation: str, member: str) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    text: str = model.operation_model(operation).input_shape.members[member].documentation
    return re.sub(r"<[^>]+>", "", text)


@cache
def retention_days() -> frozenset[int]:
    text = _doc("logs", "PutRetentionPolicy", "retentionInDays")
    values = text.split("Possible values are:", 1)[1].split(".", 1)[0]
    return frozenset(int(v) for v in re.findall(r"\d+", values))


@cache
def _period_rule() -> tuple[frozenset[int], int]:
    text = _doc("cloudwatch", "PutMetricAlarm", "Period")
    match = re.search(r"Valid values are ([\d, ]+), and any multiple of (\d+)", text)
    assert match, f"botocore's PutMetricAlarm Period documentation changed: {text[:200]}"
    return frozenset(int(v) for v in re.findall(r"\d+", match.group(1))), int(match.group(2))


def valid_period(period: int) -> bool:
    listed, multiple = _period_rule()
    return period in listed or (period > 0 and period % multiple == 0)


@cache
def fargate_memory() -> dict[int, frozenset[int]]:
    """cpu units -> the memory (MiB) Fargate accepts with it."""
    text = _doc("ecs", "RegisterTaskDefinition", "memory")
    table: dict[int, frozenset[int]] = {}
    body = text.split("following values.", 1)[1]
    for chunk, cpu in re.findall(r"(.*?)- Available cpu values: (\d+)", body, re.S):
        between = re.search(
            r"Between (\d+) ?(?:\(\d+ GB\)|GB) and (\d+) ?(?:\(\d+ GB\)|GB) in "
            r"(?:increments of )?(\d+) ?(?:\(\d+ GB\)|GB)",
            chunk,
        )
        if between:
            low, high, step = (int(v) for v in between.groups())
            if low < 1024:  # "Between 16 GB and 60 GB in 4 GB increments": GB, not MiB
                low, high, step = low * 1024, high * 1024, step * 1024
            table[int(cpu)] = frozenset(range(low, high + 1, step))
        else:
            table[int(cpu)] = frozenset(int(v) for v in re.findall(r"(\d+) \(", chunk))
    return table


def lifecycle_policy_problem(policy_text: str) -> str | None:
    from moto.ecr.policy_validation import EcrLifecyclePolicyValidator

    try:
        EcrLifecyclePolicyValidator(policy_text).validate()
    except Exception as exc:  # moto raises its InvalidParameterException  # noqa: BLE001
        return str(exc)
    return None


def versions() -> str:
    from importlib.metadata import version

    return f"botocore {version('botocore')}, moto {version('moto')}"


def check(token: str, inputs: dict[str, Any]) -> list[str]:
    """Values of one resource that AWS would refuse."""
    problems: list[str] = []
    if token == "aws:cloudwatch/logGroup:LogGroup":
        days = inputs.get("retentionInDays")
        if days is not None and days not in retention_days():
            problems.append(f"retentionInDays {days} is not one of {sorted(retention_days())}")
    elif token == "aws:cloudwatch/metricAlarm:MetricAlarm":
        periods = [inputs.get("period")] + [
            (q.get("metric") or {}).get("period") for q in _json(inputs.get("metricQueries")) or []
        ]
        for period in [p for p in periods if p is not None]:
            if not valid_period(int(period)):
                problems.append(f"period {period} is not 10, 20, 30 or a multiple of 60")
    elif token == "aws:ecs/taskDefinition:TaskDefinition":
        if "FARGATE" in (inputs.get("requiresCompatibilities") or []):
            cpu, memory = int(inputs.get("cpu", 0)), int(inputs.get("memory", 0))
            allowed = fargate_memory().get(cpu)
            if allowed is None:
                problems.append(f"cpu {cpu} is not a Fargate size ({sorted(fargate_memory())})")
            elif memory not in allowed:
                problems.append(
                    f"memory {memory} does not go with cpu {cpu} ({min(allowed)}-{max(allowed)})"
                )
    elif token == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
        problem = lifecycle_policy_problem(str(inputs.get("policy")))
        if problem:
            problems.append(problem)
    return problems


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
