"""Plain-data views of a StackPlan: resources by type, their policy documents, parliament."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bootstrap.offline import PlannedResource, StackPlan
from tests.conftest import set_config

PROJECT = "shop"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
# What GitHub answers for a repository with immutable subjects (github.com), and for one on GitHub
# Enterprise Server (names, and its own issuer).
PREFIX = "repo:acme@1010/shop@2020"
ISSUER = "token.actions.githubusercontent.com"
GHES_ISSUER = "ghe.example.com/_services/token"
GHES_PREFIX = "repo:acme/shop"
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0e2a1f36-8d3b-4c5e-9f7a-1b2c3d4e5f60"
DIGEST_REF = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+@sha256:[0-9a-f]{64}$")
PLACEHOLDER = "sha256:" + "0" * 64
REAL_DIGEST = "sha256:" + "ab12" * 16
REPOSITORY_URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}"
SEVERE = ("MEDIUM", "HIGH", "CRITICAL")

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def one(plan: StackPlan, type_: str) -> PlannedResource:
    found = plan.of_type(type_)
    assert len(found) == 1, f"{plan.stack}: expected one {type_}, found {[r.name for r in found]}"
    return found[0]


def types(plan: StackPlan) -> set[str]:
    return {r.type for r in plan.resources}


def count(plan: StackPlan, type_: str) -> int:
    return len(plan.of_type(type_))


def by_urn(plan: StackPlan) -> dict[str, PlannedResource]:
    return {r.urn: r for r in plan.resources}


def component_of(plan: StackPlan, resource: PlannedResource) -> PlannedResource | None:
    """The nearest ancestor that is a component (bootstrap:index:*)."""
    urns = by_urn(plan)
    parent = urns.get(resource.parent or "")
    while parent is not None and not parent.type.startswith("bootstrap:"):
        parent = urns.get(parent.parent or "")
    return parent


def stage_config(
    target: str,
    stage: str = "dev",
    *,
    last: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """A stage stack's config as the template renders it (keys qualified) once GitHub is known,
    plus overrides (None removes a key)."""
    config: dict[str, Any] = {
        "aws:region": REGION,
        f"{PROJECT}:githubSubjectPrefix": PREFIX,
        f"{PROJECT}:target": target,
        f"{PROJECT}:trustSubject": "environment",
        f"{PROJECT}:azCount": 3 if last else 2,
        f"{PROJECT}:natPerAz": last,
        f"{PROJECT}:cpu": 1024 if last else 256,
        f"{PROJECT}:memory": 2048 if last else 512,
        f"{PROJECT}:minCapacity": 2 if last else 1,
        f"{PROJECT}:maxCapacity": 10 if last else 2,
        f"{PROJECT}:reservedConcurrency": 50 if last else 5,
        f"{PROJECT}:logRetentionDays": 90 if last else 14,
    }
    return set_config(config, overrides, PROJECT)


def shared_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "aws:region": REGION,
        f"{PROJECT}:githubSubjectPrefix": PREFIX,
        f"{PROJECT}:stages": "dev,test,prod",
        f"{PROJECT}:keepReleases": 30,
    }
    return set_config(config, overrides, PROJECT)


def trust_condition(role: PlannedResource) -> dict[str, Any]:
    """The condition of a GitHub role's one trust statement."""
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return statement["Condition"]


# ------------------------------------------------------------------------------ policies


@dataclass(frozen=True)
class PolicyDocument:
    label: str  # "<stack>/<resource name>"
    kind: str  # identity | resource | trust
    document: dict[str, Any]
    # Resource and trust policies apply to the resource they are attached to; parliament needs
    # it spelled out (it reads every statement without a Resource as malformed).
    implicit_resource: str | None = None

    @property
    def statements(self) -> list[dict[str, Any]]:
        statements = self.document["Statement"]
        return statements if isinstance(statements, list) else [statements]


def policy_documents(plan: StackPlan) -> Iterator[PolicyDocument]:
    """Every IAM policy document the plan creates, parsed from the recorded inputs."""
    for resource in plan.resources:
        label = f"{plan.stack}/{resource.name}"
        if resource.type in (ROLE_POLICY, MANAGED_POLICY):
            yield PolicyDocument(label, "identity", json.loads(resource.inputs["policy"]))
        elif resource.type == ROLE:
            role_arn = f"arn:aws:iam::{ACCOUNT}:role/{resource.name}"
            yield PolicyDocument(
                label, "trust", json.loads(resource.inputs["assumeRolePolicy"]), role_arn
            )
        elif resource.type == "aws:ecr/repositoryPolicy:RepositoryPolicy":
            repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{resource.inputs['repository']}"
            yield PolicyDocument(label, "resource", json.loads(resource.inputs["policy"]), repository)


# Parliament's IAM database predates GitHub's OIDC provider: it knows only SAML and a few web
# identity providers as federated principals, and only their condition keys. These two findings are
# allowed, and only for exactly GitHub's issuers (github.com's, or a GitHub Enterprise Server's
# `HOST/_services/token`) and their `aud`/`sub` keys on AssumeRoleWithWebIdentity (the trust tests
# assert those conditions exactly).
_GITHUB_ISSUER = r"(token\.actions\.githubusercontent\.com|[a-z0-9.-]+/_services/token)"
_GITHUB_PROVIDER = re.compile(rf"^arn:aws:iam::\d{{12}}:oidc-provider/{_GITHUB_ISSUER}$")
_GITHUB_KEYS = re.compile(
    rf"^Unknown condition {_GITHUB_ISSUER}:(aud|sub) for action sts:AssumeRoleWithWebIdentity$"
)


def _parliament_gap(doc: PolicyDocument, issue: str, detail: str) -> bool:
    if doc.kind != "trust":
        return False
    if issue == "UNKNOWN_FEDERATION_SOURCE":
        return bool(_GITHUB_PROVIDER.match(detail))
    if issue == "UNKNOWN_CONDITION_FOR_ACTION":
        return bool(_GITHUB_KEYS.match(detail))
    return False


def parliament_findings(doc: PolicyDocument) -> list[str]:
    """Parliament's findings of medium or higher severity, as 'ISSUE: detail' strings."""
    from parliament import analyze_policy_string, enhance_finding

    document = json.loads(json.dumps(doc.document))
    if doc.implicit_resource:
        for statement in document["Statement"]:
            statement.setdefault("Resource", doc.implicit_resource)
    policy = analyze_policy_string(json.dumps(document))
    severe = []
    for finding in policy.findings:
        enhance_finding(finding)
        if finding.severity not in SEVERE:
            continue
        if _parliament_gap(doc, finding.issue, str(finding.detail)):
            continue
        severe.append(f"{finding.issue}: {finding.detail}")
    return severe


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else list(value)


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Resource", [])
    return [value] if isinstance(value, str) else list(value)


def container_definitions(plan: StackPlan) -> list[dict[str, Any]]:
    task = one(plan, "aws:ecs/taskDefinition:TaskDefinition")
    return json.loads(task.inputs["containerDefinitions"])
