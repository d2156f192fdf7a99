"""The stack configuration, read once and validated: every key is documented in docs/stacks.md.

Keys live in the project's namespace (`<project>:<key>` in `Pulumi.<stack>.yaml`). Defaults are
the small, cheap sizes of an early stage; the generated `Pulumi.<stage>.yaml` of the last stage sets
production sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from .contract import GITHUB_OIDC_HOST

TARGETS = ("ecs", "eks", "lambda")
TRUST_SUBJECTS = ("environment", "branch")
SHARED = "shared"
DEFAULT_KUBERNETES_VERSION = "1.35"  # the newest EKS version in standard support
# The digest of "no image built yet": previews show the workload with it, `up` refuses it.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
IMAGE_REF = re.compile(r"^(?P<repository>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
# Set (by bootstrap's offline runner) to plan a stage without an image outside a preview.
OFFLINE_PLAN_KEY = "offlinePlan"
OFFLINE_PLAN_NAMESPACE = "bootstrap"


def _error(key: str, problem: str, fix: str) -> pulumi.RunError:
    return pulumi.RunError(f"config {key}: {problem}; {fix}")


def _choice(config: pulumi.Config, key: str, choices: tuple[str, ...], default: str) -> str:
    value = config.get(key) or default
    if value not in choices:
        raise _error(
            f"{config.name}:{key}", f"'{value}' is not valid", f"use one of: {', '.join(choices)}"
        )
    return value


def _int(config: pulumi.Config, key: str, default: int, low: int, high: int) -> int:
    raw = config.get(key)
    try:
        value = default if raw in (None, "") else int(str(raw))
    except ValueError:
        raise _error(
            f"{config.name}:{key}", f"'{raw}' is not a whole number", "set a number"
        ) from None
    if not low <= value <= high:
        raise _error(f"{config.name}:{key}", f"{value} is out of range", f"use {low} to {high}")
    return value


def _bool(config: pulumi.Config, key: str, default: bool) -> bool:
    raw = config.get(key)
    if raw in (None, ""):
        return default
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise _error(f"{config.name}:{key}", f"'{raw}' is not true or false", "use true or false")


def _list(config: pulumi.Config, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = config.get(key)
    if raw is None:
        return default
    return tuple(item.strip() for item in str(raw).split(",") if item.strip())


def offline_plan() -> bool:
    """True while bootstrap's offline runner plans this program under mocks."""
    return (pulumi.Config(OFFLINE_PLAN_NAMESPACE).get(OFFLINE_PLAN_KEY) or "").lower() == "true"


# Set by bootstrap for a targeted update of a stage's foundation (its deploy role) before the
# first image exists: the program then declares the workload with the placeholder instead of
# refusing, and the update's targets leave the workload untouched.
FOUNDATION_ONLY_ENV = "BOOTSTRAP_FOUNDATION_ONLY"


def foundation_only() -> bool:
    import os

    return os.environ.get(FOUNDATION_ONLY_ENV) == "1"


def real_update() -> bool:
    """An `up` or `destroy` that changes real resources (not a preview, not an offline plan)."""
    return not pulumi.runtime.is_dry_run() and not offline_plan()


@dataclass(frozen=True)
class SharedSettings:
    project: str
    owner: str
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
        config = pulumi.Config(project)
        return cls(
            project=project,
            owner=(config.get("owner") or "").strip(),
            stages=_list(config, "stages", ()),
            keep_releases=_int(config, "keepReleases", 30, 1, 10000),
            untagged_expiry_days=_int(config, "untaggedExpiryDays", 1, 1, 3650),
            oidc_provider_arn=config.get("oidcProviderArn") or None,
            registry_scanning=_bool(config, "registryScanning", True),
            force_delete_repository=_bool(config, "forceDeleteRepository", False),
            state_backend=config.get("stateBackend") or None,
            **_github_identity(config),
        )


def _github_identity(config: pulumi.Config) -> dict[str, str]:
    return {
        "github_subject_prefix": (config.get("githubSubjectPrefix") or "").strip(),
        "github_oidc_issuer": (config.get("githubOidcIssuer") or GITHUB_OIDC_HOST).strip(),
    }


@dataclass(frozen=True)
class StageSettings:
    project: str
    stage: str
    target: str
    manual: bool
    trust_subject: str
    owner: str
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
    reserved_concurrency: int
    lambda_timeout: int
    # logs and alarms
    log_retention_days: int
    latency_threshold_ms: int
    error_rate_threshold: float
    error_count_threshold: int
    alarm_topic_arn: str | None
    # where the Pulumi state lives (the deploy role may write this stack's files there)
    state_backend: str | None
    # what GitHub's OIDC tokens carry (SharedSettings has the same two)
    github_subject_prefix: str
    github_oidc_issuer: str

    @property
    def needs_network(self) -> bool:
        return self.target != "lambda" or self.lambda_vpc

    @classmethod
    def load(cls, project: str, stage: str) -> StageSettings:
        config = pulumi.Config(project)
        image = (config.get("image") or "").strip() or None
        if image is not None and not IMAGE_REF.match(image):
            raise _error(
                f"{project}:image",
                f"'{image}' is not REPOSITORY@sha256:DIGEST",
                "deploy by digest (the build workflow sets it); tags are never deployed",
            )
        retention = _int(config, "logRetentionDays", 14, 1, 3653)
        if retention not in LOG_RETENTION_DAYS:
            raise _error(
                f"{project}:logRetentionDays",
                f"{retention} is not a CloudWatch Logs retention",
                f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )
        threshold_raw = config.get("errorRateThreshold")
        try:
            error_rate = float(threshold_raw) if threshold_raw else 5.0
        except ValueError:
            raise _error(
                f"{project}:errorRateThreshold",
                f"'{threshold_raw}' is not a number",
                "set a percentage",
            ) from None
        return cls(
            project=project,
            stage=stage,
            target=_choice(config, "target", TARGETS, "ecs"),
            manual=_bool(config, "manual", False),
            trust_subject=_choice(config, "trustSubject", TRUST_SUBJECTS, "environment"),
            owner=(config.get("owner") or "").strip(),
            image=image,
            vpc_cidr=config.get("vpcCidr") or "10.0.0.0/16",
            az_count=_int(config, "azCount", 2, 2, 6),
            nat_per_az=_bool(config, "natPerAz", False),
            lambda_vpc=_bool(config, "lambdaVpc", False),
            cpu=_int(config, "cpu", 256, 256, 16384),
            memory=_int(config, "memory", 512, 128, 122880),
            min_capacity=_int(config, "minCapacity", 1, 1, 1000),
            max_capacity=_int(config, "maxCapacity", 2, 1, 1000),
            certificate_arn=config.get("certificateArn") or None,
            kubernetes_version=config.get("kubernetesVersion") or DEFAULT_KUBERNETES_VERSION,
            eks_public_endpoint=_bool(config, "eksPublicEndpoint", True),
            eks_public_access_cidrs=_list(config, "eksPublicAccessCidrs", ("0.0.0.0/0",)),
            reserved_concurrency=_int(config, "reservedConcurrency", 5, -1, 100000),
            lambda_timeout=_int(config, "lambdaTimeout", 30, 1, 900),
            log_retention_days=retention,
            latency_threshold_ms=_int(config, "latencyThresholdMs", 1000, 1, 900000),
            error_rate_threshold=error_rate,
            error_count_threshold=_int(config, "errorCountThreshold", 5, 0, 1000000),
            alarm_topic_arn=config.get("alarmTopicArn") or None,
            state_backend=config.get("stateBackend") or None,
            **_github_identity(config),
        )
