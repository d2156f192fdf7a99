"""The calls stages in other accounts make on the tooling account's resources, judged by both
sides (evaluator.authorize: the caller's identity policies and boundary, and the resource's own
policy), and the calls those accounts must be refused.

The tooling account holds the registry (the shared stack's ECR repository, its policy and a
customer managed key when there is one) and the Pulumi state (the S3 bucket, whose policy
`bootstrap.backend` writes). From each stage account:

- its deploy role: every call of its IAM coverage (coverage.deploy_role) that lands in the tooling
  account: the scan gate and the release tags on the repository, its own stack's state objects
  and the shared stack's checkpoint (the StackReference); a Lambda stage's deploy role also reads
  the image it creates the function from (Lambda Developer Guide, "Amazon ECR permissions");
- its workload's pulls: an ECS task execution role pulls (with its permissions boundary); Lambda
  pulls with its service principal, `aws:SourceArn` naming the stage's function;
- KMS decrypt through ECR for each puller, when the registry uses a customer managed key;
- refused: any principal of that account, whatever its own policies allow, writing the registry
  (its deploy role: only the release tags), touching another stage's state, writing the shared
  stack's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from stacks import contract
from stacks.ecr import MARK_RELEASE_ACTIONS

from . import coverage, iam_definition
from .evaluator import Principal, Request, Target, Verdict, authorize, describe_verdict
from .model import StackModel
from .projects import PROJECT, Project

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
PULLS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
LAMBDA_PULLS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# Everything a principal may be granted in its own account: the resource side alone decides.
EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Check:
    principal: Principal
    request: Request
    target: Target
    origin: str
    allowed: bool  # what must happen: allowed (a call the stage makes) or refused


@dataclass
class Report:
    checks: list[tuple[Check, Verdict]] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # what could not be turned into checks

    def wrong(self) -> list[tuple[Check, Verdict]]:
        return [(c, v) for c, v in self.checks if v.allowed is not c.allowed or v.unknown]

    def failures(self) -> list[str]:
        lines = [
            f"{'refused' if check.allowed else 'allowed'}, must be "
            f"{'allowed' if check.allowed else 'refused'}: "
            f"{describe_verdict(check.request, check.principal, verdict)} <- {check.origin}"
            for check, verdict in self.wrong()
        ]
        return lines + [f"cannot check: {gap}" for gap in self.gaps]

    def figures(self) -> dict[str, int]:
        required = [v for c, v in self.checks if c.allowed]
        refused = [v for c, v in self.checks if not c.allowed]
        return {
            "checks": len(self.checks),
            "must allow": len(required),
            "allowed": sum(v.allowed for v in required),
            "must refuse": len(refused),
            "refused": sum(not v.allowed for v in refused),
        }


# ----------------------------------------------------------------------------- the tooling side


@dataclass(frozen=True)
class Tooling:
    account: str
    repository_arn: str
    repository: Target
    keys: dict[str, Target]  # the registry's customer managed key (its ARN) -> its key policy
    key_named: str | None  # the key the repository's encryption names (None: ECR's AWS managed)
    bucket: str | None  # the state bucket, on an S3 backend
    state: Target | None
    prefix: str  # the backend URL's path, with a trailing slash, or ""


def tooling(project: Project) -> Tooling:
    """The shared stack's registry and its policies, and the state bucket's policy as
    `bootstrap` (bootstrap.backend) writes it for the project's foreign stages."""
    shared = coverage.model(project, contract.SHARED)
    repository_arn = str(project.plans[contract.SHARED].outputs.get("repositoryArn", ""))
    name = repository_arn.rpartition("/")[2]
    policies = [
        json.loads(r.inputs["policy"])
        for r in shared.resources
        if r.type == "aws:ecr/repositoryPolicy:RepositoryPolicy"
        and r.inputs.get("repository") == name
    ]
    key_named = _registry_key(shared, name)
    keys = {
        r.arns[0]: Target(shared.account, (json.loads(r.inputs["policy"]),), key_policy=True)
        for r in (shared.lookup(key_named) if key_named else [])
        if r.type == "aws:kms/key:Key" and r.arns and r.inputs.get("policy")
    }
    bucket, prefix = _bucket(project.state_backend)
    state = None
    if bucket is not None:
        state = Target(shared.account, (state_bucket_policy(project, shared.account),))
    return Tooling(
        shared.account,
        repository_arn,
        Target(shared.account, tuple(policies)),
        keys,
        key_named,
        bucket,
        state,
        prefix,
    )


def _registry_key(shared: StackModel, repository: str) -> str | None:
    for resource in shared.resources:
        if resource.type == "aws:ecr/repository:Repository" and resource.inputs.get("name") == (
            repository
        ):
            for encryption in resource.inputs.get("encryptionConfigurations") or []:
                if encryption.get("kmsKey"):
                    return str(encryption["kmsKey"])
    return None


def _bucket(backend: str | None) -> tuple[str | None, str]:
    if not backend or not backend.startswith("s3://"):
        return None, ""
    from urllib.parse import urlparse

    parsed = urlparse(backend)
    path = parsed.path.strip("/")
    return parsed.netloc, f"{path}/" if path else ""


def state_bucket_policy(project: Project, tooling_account: str) -> dict[str, Any]:
    """The bucket policy `bootstrap` writes: TLS only, and each foreign stage's own state."""
    from bootstrap.backend import StateAccess, state_access_statements, tls_statement

    bucket, _ = _bucket(project.state_backend)
    assert bucket is not None and project.state_backend is not None
    foreign = {
        s: a for s, a in project.accounts.items() if s in project.stages and a != tooling_account
    }
    access = StateAccess(PROJECT, foreign)
    statements = [tls_statement(bucket), *state_access_statements(project.state_backend, access)]
    return {"Version": "2012-10-17", "Statement": statements}


# ----------------------------------------------------------------------------- the stage side


def documents_of(stack: StackModel, role: Any) -> list[dict[str, Any]]:
    return [
        json.loads(r.inputs["policy"])
        for r in stack.resources
        if r.type == coverage.ROLE_POLICY and r.inputs.get("role") in (role.physical_id, role.name)
    ]


def boundary_of(stack: StackModel, role: Any) -> list[dict[str, Any]] | None:
    arn = role.inputs.get("permissionsBoundary")
    if not arn:
        return None
    found = [r for r in stack.lookup(str(arn)) if r.type == POLICY]
    # A boundary the stack does not define (managed elsewhere) allows nothing we can see.
    return [json.loads(found[0].inputs["policy"])] if found else [{"Statement": []}]


def managed_policies(stack: StackModel, role: Any) -> list[str]:
    """Policies attached to the role by ARN (AWS managed ones have no document in the plan)."""
    return [
        str(r.inputs.get("policyArn"))
        for r in stack.resources
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        and r.inputs.get("role") in (role.physical_id, role.name)
    ]


def role_principal(stack: StackModel, role: Any) -> Principal:
    return Principal.role(role.arns[0], documents_of(stack, role), boundary_of(stack, role))


def deploy_principal(project: Project, stage: str) -> Principal | None:
    stack = coverage.model(project, stage)
    name = contract.deploy_role_name(PROJECT, stage)
    roles = [r for r in stack.resources if r.type == ROLE and r.inputs.get("name") == name]
    return role_principal(stack, roles[0]) if roles and roles[0].arns else None


def execution_roles(stack: StackModel) -> Iterator[Any]:
    """The roles ECS pulls a task's image with (each task definition's execution role)."""
    for definition in stack.resources:
        if definition.type != "aws:ecs/taskDefinition:TaskDefinition":
            continue
        arn = definition.inputs.get("executionRoleArn")
        for role in stack.lookup(str(arn)) if arn else []:
            if role.type == ROLE and role.arns:
                yield role


def functions(stack: StackModel) -> list[str]:
    return [
        r.arns[0] for r in stack.resources if r.type == "aws:lambda/function:Function" and r.arns
    ]


# ----------------------------------------------------------------------------- the checks


def checks(project: Project, side: Tooling) -> tuple[list[Check], list[str]]:
    found: list[Check] = []
    gaps: list[str] = []
    if side.key_named and not side.keys:
        gaps.append(f"the registry's key {side.key_named} is not in the shared stack's plan")
    for stage in project.stages:
        stack = coverage.model(project, stage)
        foreign = stack.account != side.account
        deploy = deploy_principal(project, stage)
        if deploy is None:
            gaps.append(f"{stage}: no deploy role in the plan")
            continue
        found += _deploy_calls(project, side, stage, deploy)
        for role in execution_roles(stack):
            principal = role_principal(stack, role)
            origin = f"{stage}: ECS pulls the image as {role.name}"
            found += _pulls(side, principal, PULLS, origin)
            gaps += [
                f"{origin}: attached policy {arn} not evaluated"
                for arn in managed_policies(stack, role)
            ]
        for function in functions(stack):
            found += _lambda_pulls(side, stack, function, f"{stage}: Lambda pulls for {function}")
        if foreign:
            found += _refusals(project, side, stage, stack.account, deploy)
    return found, gaps


def _target_of(side: Tooling, arn: str) -> Target | None:
    if arn == side.repository_arn:
        return side.repository
    if side.bucket and arn.split("/", maxsplit=1)[0] == f"arn:aws:s3:::{side.bucket}":
        return side.state
    return side.keys.get(arn)


def _deploy_calls(project: Project, side: Tooling, stage: str, deploy: Principal) -> list[Check]:
    """The deploy role's calls (its IAM coverage) that land in the tooling account."""
    report = _deploy_report(project, stage, deploy)
    others = [
        f"{side.prefix}.pulumi/stacks/{PROJECT}/{s}.json" for s in project.stages if s != stage
    ]
    found = []
    for call in report.required:
        target = _target_of(side, call.resource)
        # coverage.py lets `pulumi stack output` read every stack; the deploy scripts name their
        # own (`--stack "$STACK"`): another stage's state is among the refusals instead.
        if target is None or any(call.resource.endswith(o) for o in others):
            continue
        context = call.context_dict()
        if call.action == "s3:ListBucket":
            # The DIY backend lists the stack's lock directory before it locks (pulumi
            # pkg/backend/diy/lock.go checkForLock: listBucket(stackLockDir), prefix `dir/`).
            context["s3:prefix"] = f"{side.prefix}.pulumi/locks/organization/{PROJECT}/{stage}/"
        found.append(
            Check(deploy, Request(call.action, call.resource, context), target, call.origin, True)
        )
    if any(
        r.type == "aws:lambda/function:Function" for r in coverage.model(project, stage).resources
    ):
        origin = f"{stage}: lambda:CreateFunction / UpdateFunctionCode read the image"
        found += _pulls(side, deploy, LAMBDA_PULLS, origin)
    return found


_DEPLOY_REPORTS: dict[tuple[int, str], coverage.RoleReport] = {}


def _deploy_report(project: Project, stage: str, deploy: Principal) -> coverage.RoleReport:
    """The deploy role's IAM coverage (the same for every tooling side: computed once)."""
    key = (id(project.plans[stage]), stage)
    if key not in _DEPLOY_REPORTS:
        _DEPLOY_REPORTS[key] = coverage.deploy_role(
            project, stage, [dict(d) for d in deploy.identity]
        )
    return _DEPLOY_REPORTS[key]


def _pulls(
    side: Tooling, principal: Principal, actions: tuple[str, ...], origin: str
) -> list[Check]:
    found = [
        Check(principal, Request(a, side.repository_arn), side.repository, origin, True)
        for a in actions
    ]
    found += _decrypts(side, principal, origin)
    return found


def _decrypts(side: Tooling, principal: Principal, origin: str) -> list[Check]:
    """ECR decrypts a layer encrypted with a customer managed key as the caller, through ECR."""
    region = side.repository_arn.split(":")[3]
    context = {"kms:viaservice": f"ecr.{region}.amazonaws.com"}
    return [
        Check(principal, Request("kms:Decrypt", arn, context), key, f"{origin} (its key)", True)
        for arn, key in side.keys.items()
    ]


def _lambda_pulls(side: Tooling, stack: StackModel, function: str, origin: str) -> list[Check]:
    lambda_service = Principal.aws_service("lambda.amazonaws.com")
    context = {"aws:sourcearn": function, "aws:sourceaccount": stack.account}
    return [
        Check(
            lambda_service, Request(a, side.repository_arn, context), side.repository, origin, True
        )
        for a in LAMBDA_PULLS
    ]


@cache
def registry_writes() -> tuple[str, ...]:
    """Every ECR action on a repository that changes it (AWS's access levels Write, Permissions
    management and Tagging, in parliament's iam_definition.json)."""
    data = json.loads(iam_definition.source_path().read_text())
    ecr = next(service for service in data if service["prefix"] == "ecr")
    return tuple(
        sorted(
            f"ecr:{p['privilege']}"
            for p in ecr["privileges"]
            if p["access_level"] in ("Write", "Permissions management", "Tagging")
            and any(r["resource_type"].startswith("repository") for r in p["resource_types"])
        )
    )


def _refusals(
    project: Project, side: Tooling, stage: str, account: str, deploy: Principal
) -> list[Check]:
    """What the stage's account must not do here, whatever its own IAM policies allow."""
    anyone = Principal.role(f"arn:aws:iam::{account}:role/any-role-of-{stage}", [EVERYTHING])
    unbounded_deploy = Principal.role(str(deploy.arn), [EVERYTHING])
    found = []
    for action in registry_writes():
        request = Request(action, side.repository_arn)
        origin = f"{stage}'s account writes the registry"
        found.append(Check(anyone, request, side.repository, origin, False))
        if action not in MARK_RELEASE_ACTIONS:
            origin = f"{stage}'s deploy role writes the registry beyond its release tags"
            found.append(Check(unbounded_deploy, request, side.repository, origin, False))
    if side.state is None or side.bucket is None:
        return found
    root = f"arn:aws:s3:::{side.bucket}/{side.prefix}.pulumi"
    for other in [contract.SHARED, *project.stages]:
        if other == stage:
            continue
        objects = _stack_objects(root, other)
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            for arn in objects:
                if other == contract.SHARED and action == "s3:GetObject" and "/stacks/" in arn:
                    continue  # reading the shared stack's checkpoint: the StackReference
                origin = f"{stage}'s account on the state of {other}"
                found.append(Check(anyone, Request(action, arn), side.state, origin, False))
    return found


def _stack_objects(root: str, stack: str) -> list[str]:
    return [
        f"{root}/stacks/{PROJECT}/{stack}.json",
        f"{root}/stacks/{PROJECT}/{stack}.json.bak",
        f"{root}/history/{PROJECT}/{stack}/{stack}-1767225600000000000.checkpoint.json",
        f"{root}/backups/{PROJECT}/{stack}/{stack}.1767225600000000000.json",
        f"{root}/locks/organization/{PROJECT}/{stack}/0a1b2c3d.json",
    ]


def run(project: Project, side: Tooling | None = None) -> Report:
    side = side or tooling(project)
    found, gaps = checks(project, side)
    report = Report(gaps=gaps)
    unique: dict[tuple[Any, ...], Check] = {}
    for check in found:
        key = (
            check.principal.label(),
            check.request.action,
            check.request.resource,
            tuple(sorted(check.request.context.items())),
            check.allowed,
        )
        unique.setdefault(key, check)
    for check in unique.values():
        report.checks.append((check, authorize(check.request, check.principal, check.target)))
    return report
