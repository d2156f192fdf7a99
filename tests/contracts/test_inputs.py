"""Every planned resource's inputs as the provider schema, the AWS API and Kubernetes accept them,
and a planted defect per checker proving it reports."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bootstrap.offline import PlannedResource

from . import api_shapes, k8s_schema, sdk_schema, value_tables
from .projects import Project


def _aws(projects: dict[str, Project]) -> Iterator[tuple[str, PlannedResource]]:
    for label, project in projects.items():
        for stack, plan in project.plans.items():
            for resource in plan.resources:
                if resource.type.startswith("aws:") and resource.custom:
                    yield f"{label}/{stack}/{resource.name}", resource


def test_inputs_match_the_sdk_schema(projects: dict[str, Project]) -> None:
    problems = [
        f"{where}: {p}" for where, r in _aws(projects) for p in sdk_schema.check(r.type, r.inputs)
    ]
    assert not problems, "\n".join(problems)


def test_api_calls_pass_botocores_validator(projects: dict[str, Project]) -> None:
    problems, checked = [], 0
    for where, resource in _aws(projects):
        found = api_shapes.check(resource.type, resource.inputs)
        if found is not None:
            checked += 1
            problems += [f"{where}: {p}" for p in found]
    assert checked > 100
    assert not problems, "\n".join(problems)


def test_values_are_in_aws_value_tables(projects: dict[str, Project]) -> None:
    problems = [
        f"{where}: {p}" for where, r in _aws(projects) for p in value_tables.check(r.type, r.inputs)
    ]
    assert not problems, "\n".join(problems)


def test_kubernetes_objects_match_the_cluster_versions_schema(projects: dict[str, Project]) -> None:
    problems, checked, custom = [], 0, set()
    for project in projects.values():
        for plan in project.plans.values():
            version = k8s_schema.cluster_version(plan)
            for resource in plan.resources:
                if not (resource.type.startswith("kubernetes:") and resource.custom):
                    continue
                assert version, f"{plan.stack}: Kubernetes objects without an EKS cluster version"
                found, was_checked = k8s_schema.check(k8s_schema.manifest(resource.inputs), version)
                problems += found
                checked += was_checked
                if not was_checked:
                    custom.add(resource.type)
    assert checked >= 12
    # Only the EKS Auto Mode custom resource has no published schema.
    assert custom == {"kubernetes:eks.amazonaws.com/v1:IngressClassParams"}
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- planted defects


def test_an_unknown_input_key_is_reported() -> None:
    problems = sdk_schema.check("aws:ecs/service:Service", {"name": "x", "desiredCounts": 1})
    assert len(problems) == 1 and problems[0].startswith("desiredCounts: not an input")
    nested = sdk_schema.check(
        "aws:ecs/service:Service", {"deploymentCircuitBreaker": {"enabled": True}}
    )
    assert nested and nested[0].startswith("deploymentCircuitBreaker.enabled: not an input")
    typed = sdk_schema.check("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": "fourteen"})
    assert typed and "expected int" in typed[0]


def test_a_malformed_api_call_is_reported() -> None:
    problems = api_shapes.check(
        "aws:lambda/function:Function", {"name": "f", "role": "r", "memorySize": "big"}
    )
    assert problems and any("MemorySize" in p for p in problems)
    unknown = api_shapes.check(
        "aws:lb/listener:Listener",
        {
            "loadBalancerArn": "arn",
            "defaultActions": json.dumps([{"type": "forward", "bogus": 1}]),
            "port": 0,
        },
    )
    assert unknown and any("Port" in p for p in unknown)


@pytest.mark.parametrize(
    ("token", "inputs", "expected"),
    [
        ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 10}, "retentionInDays 10"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"period": 45}, "period 45"),
        (
            "aws:ecs/taskDefinition:TaskDefinition",
            {"requiresCompatibilities": ["FARGATE"], "cpu": "1024", "memory": "3000"},
            "memory 3000 does not go with cpu 1024",
        ),
        (
            "aws:ecs/taskDefinition:TaskDefinition",
            {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "1536"},
            "memory 1536 does not go with cpu 256",
        ),
        (
            "aws:ecr/lifecyclePolicy:LifecyclePolicy",
            {
                "policy": json.dumps(
                    {
                        "rules": [
                            {
                                "rulePriority": 1,
                                "selection": {
                                    "tagStatus": "tagged",
                                    "countType": "imageCountMoreThan",
                                    "countNumber": 3,
                                },
                                "action": {"type": "delete"},
                            }
                        ]
                    }
                )
            },
            "Lifecycle policy validation failure",
        ),
    ],
)
def test_an_out_of_range_value_is_reported(token: str, inputs: dict, expected: str) -> None:
    problems = value_tables.check(token, inputs)
    assert problems and expected in problems[0]


def test_a_malformed_kubernetes_object_is_reported() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "x", "ports": [{"containerPort": "http"}]}
                    ]
                }
            },
            "replica": 2,
        },
    }
    problems, checked = k8s_schema.check(deployment, "1.35.0")
    assert checked and problems
