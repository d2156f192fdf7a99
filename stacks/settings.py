"""The stack configuration, read once and checked: the keys, defaults, ranges and value tables are
those of `config_schema.py` (docs/configuration.md lists them), which bootstrap checks too.

Keys live in the project's namespace (`<project>:<key>`). `infra/Pulumi.yaml` declares each one
with its default; a stack file sets what differs for that stack. A bad value stops the program
with the key, the problem and the fix; a key this program does not read is reported as a warning
(with the key it most likely meant), so a typo is never silently ignored.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from . import config_checks as checks
from . import config_schema as schema
from .aws_values import DEFAULT_KUBERNETES_VERSION, LOG_RETENTION_DAYS
from .config_schema import OFFLINE_PLAN_KEY, OFFLINE_PLAN_NAMESPACE, TARGETS, TRUST_SUBJECTS
from .contract import ACCOUNT_KEY, FOUNDATION_ONLY_ENV, IMAGE_REF, PLACEHOLDER_DIGEST, SHARED
from .delivery import Rollout

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "FOUNDATION_ONLY_ENV",
    "IMAGE_REF",
    "LOG_RETENTION_DAYS",
    "OFFLINE_PLAN_KEY",
    "OFFLINE_PLAN_NAMESPACE",
    "PLACEHOLDER_DIGEST",
    "SHARED",
    "TARGETS",
    "TRUST_SUBJECTS",
    "SharedSettings",
    "StageSettings",
    "foundation_only",
    "offline_plan",
    "real_update",
]


def _error(key: str, problem: str, fix: str) -> pulumi.RunError:
    return pulumi.RunError(f"config {key}: {problem}; {fix}")


def offline_plan() -> bool:
    """True while bootstrap's offline runner plans this program under mocks."""
    return (pulumi.Config(OFFLINE_PLAN_NAMESPACE).get(OFFLINE_PLAN_KEY) or "").lower() == "true"


def foundation_only() -> bool:
    """True for bootstrap's targeted update of a stage's foundation (its deploy role) before the
    first image exists (`contract.FOUNDATION_ONLY_ENV`): the program then declares the workload
    with the placeholder instead of refusing, and the update's targets leave it untouched."""
    import os

    return os.environ.get(FOUNDATION_ONLY_ENV) == "1"


def real_update() -> bool:
    """An `up` or `destroy` that changes real resources (not a preview, not an offline plan)."""
    return not pulumi.runtime.is_dry_run() and not offline_plan()


def _configured_keys() -> set[str]:
    """Every config key this run was given (bootstrap's runner sets them in the runtime; the
    Pulumi CLI hands them over in PULUMI_CONFIG)."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get())
    keys.update(runtime_config.get_config_env())
    return keys


def _read(project: str, kind: Literal["shared", "stage"]) -> dict[str, Any]:
    """Every setting a stack of this kind reads, parsed (defaults applied); a warning for each
    key of the project's namespace that no stack reads."""
    config = pulumi.Config(project)
    values: dict[str, Any] = {}
    for setting in schema.settings_of(kind):
        try:
            values[setting.key] = schema.parse(setting, config.get(setting.key))
        except schema.Invalid as invalid:
            raise _error(f"{project}:{invalid.key}", invalid.problem, invalid.fix) from None
    _warn_unread(project)
    return values


def _warn_unread(project: str) -> None:
    """A key of the project's namespace that no stack reads is most likely a typo. (A setting of
    the other kind of stack cannot be told apart here: infra/Pulumi.yaml's defaults give every
    stack every key. bootstrap reports those from the files.)"""
    for qualified in sorted(_configured_keys()):
        namespace, _, key = qualified.partition(":")
        if namespace != project or key in schema.BY_KEY:
            continue
        guess = schema.closest_key(key)
        hint = f" (did you mean {project}:{guess}?)" if guess else ""
        pulumi.log.warn(f"config {qualified}: this program reads no such setting{hint}")


def _report(project: str, issues: list[checks.Issue]) -> None:
    """Warnings are logged; the first error stops the program."""
    for issue in issues:
        if issue.warning:
            pulumi.log.warn(f"config {project}:{issue.key}: {issue.problem}; {issue.fix}")
    for issue in issues:
        if not issue.warning:
            raise _error(f"{project}:{issue.key}", issue.problem, issue.fix)


def _identity(values: Mapping[str, Any]) -> dict[str, str]:
    """What GitHub's OIDC tokens for this repository carry (the prefix is empty until bootstrap
    has asked GitHub)."""
    return {
        "github_subject_prefix": str(values["githubSubjectPrefix"]),
        "github_oidc_issuer": str(values["githubOidcIssuer"]),
    }


@dataclass(frozen=True)
class SharedSettings:
    project: str
    stages: tuple[str, ...]
    keep_releases: int
    untagged_expiry_days: int
    oidc_provider_arn: str | None
    registry_scanning: bool
    force_delete_repository: bool
    state_backend: str | None
    # What GitHub's OIDC tokens for this repository carry (stacks/contract.py); the prefix is empty
    # until bootstrap has asked GitHub.
    github_subject_prefix: str
    github_oidc_issuer: str

    @classmethod
    def load(cls, project: str) -> SharedSettings:
        values = _read(project, "shared")
        _report(project, checks.check_project(values) + checks.check_shared(values))
        return cls(
            project=project,
            stages=tuple(values["stages"]),
            keep_releases=values["keepReleases"],
            untagged_expiry_days=values["untaggedExpiryDays"],
            oidc_provider_arn=values["oidcProviderArn"] or None,
            registry_scanning=values["registryScanning"],
            force_delete_repository=values["forceDeleteRepository"],
            state_backend=values["stateBackend"] or None,
            **_identity(values),
        )


@dataclass(frozen=True)
class StageSettings:
    project: str
    stage: str
    target: str
    trust_subject: str
    image: str | None
    # network
    vpc_cidr: str
    az_count: int
    nat_per_az: bool
    lambda_vpc: bool
    # workload size
    cpu: int
    memory: int
    min_capacity: int
    max_capacity: int
    certificate_arn: str | None
    kubernetes_version: str
    eks_public_endpoint: bool
    eks_public_access_cidrs: tuple[str, ...]
    eks_admins: tuple[str, ...]
    reserved_concurrency: int
    lambda_timeout: int
    # logs and alarms
    log_retention_days: int
    latency_threshold_ms: int
    error_rate_threshold: float
    error_count_threshold: int
    alarm_topic_arn: str | None
    # how a release takes traffic and how fast a task or pod serves (stacks/delivery.py)
    rollout: Rollout
    # where the Pulumi state lives (the deploy role may write this stack's files there)
    state_backend: str | None
    # what GitHub's OIDC tokens carry (SharedSettings has the same two)
    github_subject_prefix: str
    github_oidc_issuer: str
    monthly_budget: float | None = None  # USD; stacks/budget.py
    # The stage's own AWS account (None: the shared stack's), and the existing GitHub OIDC
    # provider there to reuse (None: the stage makes one when its account is not the shared's).
    account: str | None = None
    oidc_provider_arn: str | None = None

    @property
    def needs_network(self) -> bool:
        return self.target != "lambda" or self.lambda_vpc

    @classmethod
    def load(cls, project: str, stage: str) -> StageSettings:
        values = _read(project, "stage")
        region = pulumi.Config("aws").get("region")
        issues = checks.check_project(values) + checks.check_stage(
            values, region=region, today=datetime.date.today()
        )
        _report(project, issues)
        return cls(
            project=project,
            stage=stage,
            target=values["target"],
            trust_subject=values["trustSubject"],
            image=values["image"] or None,
            vpc_cidr=values["vpcCidr"],
            az_count=values["azCount"],
            nat_per_az=values["natPerAz"],
            lambda_vpc=values["lambdaVpc"],
            cpu=values["cpu"],
            memory=values["memory"],
            min_capacity=values["minCapacity"],
            max_capacity=values["maxCapacity"],
            certificate_arn=values["certificateArn"] or None,
            kubernetes_version=values["kubernetesVersion"],
            eks_public_endpoint=values["eksPublicEndpoint"],
            eks_public_access_cidrs=tuple(values["eksPublicAccessCidrs"]),
            eks_admins=tuple(values["eksAdmins"]),
            reserved_concurrency=values["reservedConcurrency"],
            lambda_timeout=values["lambdaTimeout"],
            log_retention_days=values["logRetentionDays"],
            latency_threshold_ms=values["latencyThresholdMs"],
            error_rate_threshold=float(values["errorRateThreshold"]),
            error_count_threshold=values["errorCountThreshold"],
            alarm_topic_arn=values["alarmTopicArn"] or None,
            monthly_budget=values["monthlyBudget"],
            account=values[ACCOUNT_KEY] or None,
            oidc_provider_arn=values["oidcProviderArn"] or None,
            rollout=Rollout.from_config(values),
            state_backend=values["stateBackend"] or None,
            **_identity(values),
        )
