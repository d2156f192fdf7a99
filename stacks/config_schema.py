"""The stack configuration: every key the infra program reads, declared once.

Keys live in the project's namespace (`<project>:<key>`). Each `Setting` says its type, default,
range or value table, what it means and where its value lives:

- `project`: a fact of the whole repository (the GitHub OIDC subject prefix and issuer, the trust
  subject mode, the stage list, ...). Its one owner is `.copier-answers.yml`; bootstrap renders it
  as the default of the key's declaration in `infra/Pulumi.yaml`, and no stack file sets it.
- `shared`: a setting of the shared stack, in `Pulumi.shared.yaml`.
- `stage`: a setting of each stage, in `Pulumi.<stage>.yaml`.

`infra/Pulumi.yaml` declares every key with its type, description and default (the template's
declarations are written from this table: `python -m bootstrap.config_declarations`), so the
Pulumi CLI fills defaults and checks types. What the CLI cannot check, `parse` checks for one
value (ranges, value tables, formats) and `config_checks.py` for values together (Fargate sizes,
ARNs in the stage's region, ...): the program (`stacks/settings.py`) and bootstrap
(`bootstrap/stackconfig/`) call the same functions, so `pulumi up` without bootstrap refuses
what bootstrap refuses.

No Pulumi import: the CLI reads this module cheaply, and every generated repo carries it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from . import aws_values as aws
from . import delivery
from .contract import ACCOUNT_KEY, ACCOUNT_PATTERN, GITHUB_OIDC_HOST, IMAGE_REF

Kind = Literal["string", "integer", "boolean", "number", "list"]
Scope = Literal["project", "shared", "stage"]
TARGETS = ("ecs", "eks", "lambda")
TRUST_SUBJECTS = ("environment", "branch")
ACCEPTANCE_RUN = ("auto", "always", "never")
# ECR's FindingSeverity values, most severe first (botocore's ecr model), and NONE: no gate.
SCAN_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "NONE")
# Set by bootstrap's offline runner (never in a file): plan a stage without an image.
OFFLINE_PLAN_NAMESPACE = "bootstrap"
OFFLINE_PLAN_KEY = "offlinePlan"
REGION_KEY = "aws:region"


@dataclass(frozen=True)
class Setting:
    key: str
    kind: Kind
    default: str | int | float | bool | None  # None: not set (an optional value)
    description: str
    scope: Scope
    answer: str | None = None  # project facts: the Copier answer that owns the value
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    allowed: tuple[int, ...] = ()  # a value table (e.g. CloudWatch Logs retentions)
    targets: tuple[str, ...] = TARGETS  # stage settings: the targets that read it
    required: bool = False  # must be set in the stack's own file (an emptied file lacks it)
    also: tuple[Scope, ...] = ()  # other kinds of stack that may set it too

    @property
    def scopes(self) -> tuple[Scope, ...]:
        """Every kind of stack whose file may set it."""
        return (self.scope, *self.also)

    @property
    def pulumi_type(self) -> str:
        """The type Pulumi.yaml declares (Pulumi knows string, integer, boolean and array)."""
        return {"integer": "integer", "boolean": "boolean"}.get(self.kind, "string")

    def qualified(self, project: str) -> str:
        return f"{project}:{self.key}"


class Invalid(ValueError):
    """A value the program cannot use: the problem and the fix, for the key it belongs to."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"{key}: {problem}; {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix


_NETWORKED = ("ecs", "eks", "lambda")  # lambda only with lambdaVpc (see needs_network)

SETTINGS: tuple[Setting, ...] = (
    # --- project facts: .copier-answers.yml owns them; infra/Pulumi.yaml carries them ---------
    Setting(
        "githubSubjectPrefix", "string", "",
        "The OIDC subject prefix GitHub issues for this repository (repo:OWNER@ID/REPO@ID for "
        "immutable subjects); bootstrap reads it from GitHub. Empty until GitHub is known: "
        "previews mark the trust as not yet known and a real update refuses.",
        "project", answer="github_subject_prefix",
    ),
    Setting(
        "githubOidcIssuer", "string", GITHUB_OIDC_HOST,
        "GitHub's OIDC token issuer, host and path without scheme (GitHub Enterprise Server: "
        "HOST/_services/token); the IAM OIDC provider URL and the trust condition keys use it.",
        "project", answer="github_oidc_issuer",
    ),
    Setting(
        "trustSubject", "string", "environment",
        "What the deploy roles trust: jobs in the stage's GitHub environment (environment) or "
        "workflows on the main branch (branch, for repositories without environments).",
        "project", answer="trust_subject", choices=TRUST_SUBJECTS,
    ),
    Setting(
        "stages", "list", "",
        "The stages in lifecycle order, comma-separated; the shared stack keeps each stage's "
        "current and previous release in the registry.",
        "project", answer="stages",
    ),
    Setting(
        "stateBackend", "string", "",
        "The s3:// URL of the Pulumi state (empty for other backends): the preview and CI roles "
        "may read it, each deploy role may write its own stack's state there.",
        "project", answer="backend",
    ),
    # --- the shared stack -------------------------------------------------------------------
    Setting(
        "keepReleases", "integer", 30,
        "Release images (git SHA tags) the registry keeps; older ones expire.",
        "shared", low=1, high=10000,
    ),
    Setting(
        "untaggedExpiryDays", "integer", 1,
        "Days after which untagged images expire.",
        "shared", low=1, high=3650,
    ),
    Setting(
        "oidcProviderArn", "string", None,
        "An existing IAM OIDC provider for GitHub to reuse (an account has one per URL); empty "
        "to create one. A stage in its own account may set it too: the provider of that account.",
        "shared", also=("stage",),
    ),
    Setting(
        "registryScanning", "boolean", True,
        "Manage the account's registry-wide scan-on-push setting (false leaves it alone).",
        "shared",
    ),
    Setting(
        "forceDeleteRepository", "boolean", False,
        "Let a destroy delete the registry while it still holds images (run up once after "
        "setting it).",
        "shared",
    ),
    # --- the shared stack: pull-request preview environments (stacks/pr_env.py) ---
    Setting(
        "previewTarget", "string", "lambda",
        "Where pull-request previews run (stacks pr-<number>, stacks/pr_env.py): lambda (the "
        "cheapest; the shared stack makes their deploy role), ecs (a service in the first "
        "stage's cluster, behind its load balancer; the first stage must be ecs), or none for "
        "no previews.",
        "shared", choices=("lambda", "ecs", "none"),
    ),
    Setting(
        "previewMaxActive", "integer", 5,
        "Previews that may run at once; a pull request beyond the cap gets a comment instead.",
        "shared", low=1, high=100,
    ),
    Setting(
        "previewTtlHours", "integer", 72,
        "Hours a preview may go without a deploy before the scheduled sweep destroys it.",
        "shared", low=1, high=2160,
    ),
    # --- each stage -------------------------------------------------------------------------
    Setting(
        "target", "string", "ecs",
        "The deploy target of this stage: ecs, eks or lambda.",
        "stage", choices=TARGETS, required=True,
    ),
    Setting(
        ACCOUNT_KEY, "string", None,
        "The AWS account this stage lives in (12 digits, quoted); a run with credentials of "
        "another account is refused. Unset: the shared stack's account.",
        "stage",
    ),
    Setting(
        "image", "string", None,
        "The image this stage runs, REPOSITORY@sha256:DIGEST; the deploy workflow sets it. "
        "Empty before the first build: previews show a placeholder, a real update refuses.",
        "stage",
    ),
    Setting(
        "vpcCidr", "string", "10.0.0.0/16",
        "The stage's VPC range, /16 to /24 (split in 16 subnets).",
        "stage", targets=_NETWORKED,
    ),
    Setting(
        "azCount", "integer", 2,
        "Availability zones of the stage's network (at most what the region offers).",
        "stage", low=2, high=6, targets=_NETWORKED,
    ),
    Setting(
        "natPerAz", "boolean", False,
        "A NAT gateway in every zone (production) instead of one shared NAT gateway.",
        "stage", targets=_NETWORKED,
    ),
    Setting(
        "lambdaVpc", "boolean", False,
        "Run the Lambda function in the stage's VPC (it then gets a network).",
        "stage", targets=("lambda",),
    ),
    Setting(
        "cpu", "integer", 256,
        "CPU units per ECS task or EKS pod (1024 = 1 vCPU); ECS on Fargate allows set pairs "
        "with memory.",
        "stage", low=128, high=16384, targets=("ecs", "eks"),
    ),
    Setting(
        "memory", "integer", 512,
        "MiB per ECS task, EKS pod or Lambda function.",
        "stage", low=128, high=122880,
    ),
    Setting(
        "minCapacity", "integer", 1,
        "The fewest tasks or pods autoscaling keeps.",
        "stage", low=1, high=1000, targets=("ecs", "eks"),
    ),
    Setting(
        "maxCapacity", "integer", 2,
        "The most tasks or pods autoscaling starts.",
        "stage", low=1, high=1000, targets=("ecs", "eks"),
    ),
    Setting(
        "certificateArn", "string", None,
        "An ACM certificate in the stage's region: the service answers on HTTPS.",
        "stage", targets=("ecs", "eks"),
    ),
    Setting(
        "kubernetesVersion", "string", aws.DEFAULT_KUBERNETES_VERSION,
        "The EKS cluster's Kubernetes version (one EKS offers).",
        "stage", targets=("eks",),
    ),
    Setting(
        "eksPublicEndpoint", "boolean", True,
        "Serve the EKS API on a public endpoint too (the private one is always on).",
        "stage", targets=("eks",),
    ),
    Setting(
        "eksPublicAccessCidrs", "list", "0.0.0.0/0",
        "CIDRs allowed to reach the public EKS endpoint, comma-separated.",
        "stage", targets=("eks",),
    ),
    Setting(
        "eksAdmins", "list", "",
        "IAM role or user ARNs given cluster admin through EKS access entries, besides the "
        "stage's deploy role: whoever runs pulumi up of the stage from a workstation.",
        "stage", targets=("eks",),
    ),
    Setting(
        "reservedConcurrency", "integer", 5,
        "Concurrency reserved for the Lambda function (also its ceiling); -1 for none.",
        "stage", low=-1, high=100000, targets=("lambda",),
    ),
    Setting(
        "lambdaTimeout", "integer", 30,
        "Seconds a Lambda invocation may run.",
        "stage", low=aws.LAMBDA_TIMEOUT_SECONDS[0], high=aws.LAMBDA_TIMEOUT_SECONDS[1],
        targets=("lambda",),
    ),
    Setting(
        "logRetentionDays", "integer", 14,
        "Days every log group of the stage keeps its logs (a CloudWatch Logs retention).",
        "stage", allowed=aws.LOG_RETENTION_DAYS,
    ),
    Setting(
        "latencyThresholdMs", "integer", 1000,
        "The p95 latency (ms) above which the latency alarm fires.",
        "stage", low=1, high=900000,
    ),
    Setting(
        "errorRateThreshold", "number", 5.0,
        "The share of 5xx responses (percent of requests) above which the error-rate alarm "
        "fires.",
        "stage", low=0.01, high=100,
    ),
    Setting(
        "errorCountThreshold", "integer", 5,
        "Server errors per minute above which the error alarm fires.",
        "stage", low=0, high=1000000,
    ),
    Setting(
        "alarmTopicArn", "string", None,
        "An SNS topic in the stage's region for alarm and OK notifications.",
        "stage",
    ),
    # --- the acceptance suite (acceptance/ in the generated repo; docs/acceptance-suite.md) ---
    Setting(
        "acceptanceRun", "string", "auto",
        "Whether the deploy workflow runs the acceptance suite after this stage's smoke test: "
        "auto (the stages before the first manual one), always or never.",
        "stage", choices=ACCEPTANCE_RUN,
    ),
    Setting(
        "acceptanceP95Ms", "integer", 500,
        "The p95 latency (ms) the acceptance suite's load run must stay at or under.",
        "stage", low=1, high=60000,
    ),
    Setting(
        "acceptanceErrorRate", "number", 1.0,
        "The share of failed requests (percent) the acceptance suite's load run may have at most.",
        "stage", low=0, high=100,
    ),
    Setting(
        "acceptanceMinRps", "number", 5.0,
        "The requests per second the acceptance suite's load run must reach at least.",
        "stage", low=0, high=100000,
    ),
    Setting(
        "acceptanceLoadSeconds", "integer", 20,
        "How long the acceptance suite's load run lasts (seconds).",
        "stage", low=1, high=600,
    ),
    Setting(
        "acceptanceLoadUsers", "integer", 4,
        "Concurrent users of the acceptance suite's load run, each sending its next request when "
        "the last is answered; keep it under a Lambda stage's reservedConcurrency.",
        "stage", low=1, high=200,
    ),
    Setting(
        "acceptanceExamples", "integer", 50,
        "Requests the acceptance suite's contract part generates at most per API operation.",
        "stage", low=1, high=1000,
    ),
    Setting(
        "acceptanceContractSeconds", "integer", 60,
        "The time budget (seconds) of the acceptance suite's contract part; no request is sent "
        "past it.",
        "stage", low=5, high=1800,
    ),
    # --- progressive delivery and rollout speed (stacks: ecs, lambda_fn, eks_workload, observability) ---
    Setting(
        "deployStrategy", "string", delivery.FAST["deployStrategy"],
        "How a new release takes traffic: canary (canaryPercent of the requests for "
        "canaryMinutes, then all), linear (linearPercent more every linearMinutes) or "
        "all-at-once (ECS: a rolling update; Lambda: the live alias moves at once). EKS always "
        "rolls pods.",
        "stage", choices=delivery.STRATEGIES, targets=("ecs", "lambda"),
    ),
    Setting(
        "canaryPercent", "number", delivery.FAST["canaryPercent"],
        "The share of requests (percent, 0.1 to 100) the new release takes first (canary).",
        "stage", low=delivery.CANARY_PERCENT[0], high=delivery.CANARY_PERCENT[1],
        targets=("ecs", "lambda"),
    ),
    Setting(
        "canaryMinutes", "integer", delivery.FAST["canaryMinutes"],
        "Minutes the canary share runs before all requests move (canary).",
        "stage", low=delivery.BAKE_MINUTES[0], high=delivery.BAKE_MINUTES[1],
        targets=("ecs", "lambda"),
    ),
    Setting(
        "linearPercent", "number", delivery.FAST["linearPercent"],
        "The share of requests (percent, 3 to 100) that moves to the new release at each step "
        "(linear).",
        "stage", low=delivery.LINEAR_PERCENT[0], high=delivery.LINEAR_PERCENT[1],
        targets=("ecs", "lambda"),
    ),
    Setting(
        "linearMinutes", "integer", delivery.FAST["linearMinutes"],
        "Minutes between two steps (linear).",
        "stage", low=delivery.BAKE_MINUTES[0], high=delivery.BAKE_MINUTES[1],
        targets=("ecs", "lambda"),
    ),
    Setting(
        "bakeMinutes", "integer", delivery.FAST["bakeMinutes"],
        "Minutes ECS keeps the previous release's tasks once all requests moved, rolling back "
        "on the stage's alarms until then.",
        "stage", low=delivery.BAKE_MINUTES[0], high=delivery.BAKE_MINUTES[1],
        targets=("ecs",),
    ),
    Setting(
        "alarmRollback", "boolean", True,
        "ECS rolls a deployment back by itself when the stage's 5xx-rate or latency alarm fires "
        "during it (canary, steps and bake).",
        "stage", targets=("ecs",),
    ),
    Setting(
        "lambdaStableVersion", "string", None,
        "Set by the deploy workflow while it shifts traffic: the function version that keeps "
        "the other requests of the live alias. Empty: live sends every request to the newest "
        "version.",
        "stage", targets=("lambda",),
    ),
    Setting(
        "lambdaNewVersionWeight", "number", 0.0,
        "Set by the deploy workflow with lambdaStableVersion: the share (0 to 1) of the live "
        "alias's requests that go to the newest version.",
        "stage", low=delivery.LAMBDA_WEIGHT[0], high=delivery.LAMBDA_WEIGHT[1],
        targets=("lambda",),
    ),
    Setting(
        "healthCheckIntervalSeconds", "integer", delivery.FAST["healthCheckIntervalSeconds"],
        "Seconds between two load balancer health checks of a task or pod (5 to 300).",
        "stage", low=delivery.HEALTH_CHECK_INTERVAL_SECONDS[0],
        high=delivery.HEALTH_CHECK_INTERVAL_SECONDS[1], targets=("ecs", "eks"),
    ),
    Setting(
        "healthyThreshold", "integer", delivery.FAST["healthyThreshold"],
        "Health checks in a row a new task or pod must pass before it takes requests (2 to 10).",
        "stage", low=delivery.HEALTHY_THRESHOLD[0], high=delivery.HEALTHY_THRESHOLD[1],
        targets=("ecs", "eks"),
    ),
    Setting(
        "deregistrationDelaySeconds", "integer", delivery.FAST["deregistrationDelaySeconds"],
        "Seconds the load balancer lets the requests in flight to a leaving task or pod finish "
        "(0 to 3600).",
        "stage", low=delivery.DEREGISTRATION_DELAY_SECONDS[0],
        high=delivery.DEREGISTRATION_DELAY_SECONDS[1], targets=("ecs", "eks"),
    ),
    Setting(
        "progressDeadlineSeconds", "integer", delivery.FAST["progressDeadlineSeconds"],
        "Seconds an EKS rollout may go without progress before it fails (and the update with it).",
        "stage", low=30, high=3600, targets=("eks",),
    ),
    # --- promotion gates: soak, image scan (stacks/gates.py, stacks/scan.py) ---
    Setting(
        "soakMinutes", "integer", 0,
        "Minutes a release must run in this stage (since its deployed record), with none of the "
        "stage's alarms in ALARM, before it may be promoted out of it. 0: no soak.",
        "stage", low=0, high=10080,
    ),
    Setting(
        "scanSeverity", "string", "CRITICAL",
        "The lowest severity of the registry's scan-on-push findings that stops a deploy to this "
        "stage (ECR's names: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL), less the findings "
        "security/scan-allowlist.yml accepts; NONE: no scan gate.",
        "stage", choices=SCAN_SEVERITIES,
    ),
    # --- freezes and the post-deploy alarm watch (stacks/freeze.py, stacks/watch.py) ---
    Setting(
        "freezeWindows", "string", "",
        "Deployment freezes of this stage, one window a line (or ; between them), each "
        "optionally named LABEL: first: START/END ZONE (2026-12-20T00:00/2027-01-04T00:00 "
        "Europe/Berlin), DAY HH:MM-DAY HH:MM ZONE (weekly) or daily HH:MM-HH:MM ZONE. Deploys "
        "refuse inside a window unless a reason overrides it.",
        "stage",
    ),
    Setting(
        "watchMinutes", "integer", 5,
        "Minutes the deploy workflow watches the stage's alarms after a deploy; on an alarm it "
        "rolls the stage back to the previous digest and holds the new one. 0: no watch.",
        "stage", low=0, high=30,
    ),
    # --- budget (stacks/budget.py) ---
    Setting(
        "monthlyBudget", "number", None,
        "A monthly cost budget (USD) for this stage in AWS Budgets, counting the costs tagged "
        "with the stage: alerts at 80 % and 100 % of it go to alarmTopicArn (required with it; "
        "its policy must let budgets.amazonaws.com publish). Empty: no budget. "
        "`bootstrap cost` suggests a figure.",
        "stage", low=1, high=1_000_000_000,
    ),
)  # fmt: skip

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
PROJECT_SETTINGS = tuple(s for s in SETTINGS if s.scope == "project")
SHARED_SETTINGS = tuple(s for s in SETTINGS if s.scope == "shared")
STAGE_SETTINGS = tuple(s for s in SETTINGS if s.scope == "stage")


def settings_of(stack_kind: Literal["shared", "stage"]) -> tuple[Setting, ...]:
    """What a stack of that kind reads: the project facts and its own settings."""
    own = tuple(s for s in SETTINGS if s.scope != "project" and stack_kind in s.scopes)
    return PROJECT_SETTINGS + own


def closest_key(key: str, keys: Iterable[str] | None = None) -> str | None:
    """The known key a typo most likely meant (`cpus` -> `cpu`), or None."""
    known = list(keys if keys is not None else BY_KEY)
    lowered = {k.lower(): k for k in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    found = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return found[0] if found else None


# --- one value --------------------------------------------------------------------------------


def parse(setting: Setting, raw: object) -> Any:
    """The value of `setting` from its config text (None or "" for unset: the default)."""
    key = setting.key
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    text = None if raw is None else str(raw).strip()
    if text in (None, ""):
        value: Any = setting.default
        if setting.kind == "list":
            return _split(str(value or ""))
        return value
    assert text is not None
    if setting.kind == "integer":
        value = _integer(key, text)
    elif setting.kind == "number":
        value = _number(key, text)
    elif setting.kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise Invalid(key, f"'{text}' is not true or false", "use true or false")
        return text.lower() == "true"
    elif setting.kind == "list":
        return _split(text)
    else:
        value = text
    _check_value(setting, value)
    return value


def _split(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _integer(key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Invalid(key, f"'{text}' is not a whole number", "set a number") from None


def _number(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Invalid(key, f"'{text}' is not a number", "set a number") from None
    if not math.isfinite(value):
        raise Invalid(key, f"'{text}' is not a number", "set a number")
    return value


def _check_value(setting: Setting, value: Any) -> None:
    key = setting.key
    if setting.choices and value not in setting.choices:
        raise Invalid(key, f"'{value}' is not valid", f"use one of: {', '.join(setting.choices)}")
    if setting.allowed and value not in setting.allowed:
        allowed = ", ".join(map(str, setting.allowed))
        if key == "logRetentionDays":
            raise Invalid(
                key, f"{value} is not a CloudWatch Logs retention", f"use one of {allowed}"
            )
        raise Invalid(key, f"{value} is not allowed", f"use one of {allowed}")
    if (
        setting.low is not None
        and setting.high is not None
        and not (setting.low <= value <= setting.high)
    ):
        low, high = _plain(setting.low), _plain(setting.high)
        raise Invalid(key, f"{_plain(value)} is out of range", f"use {low} to {high}")
    if key == "freezeWindows":
        from .freeze import parse_windows

        parse_windows(value, key)
    if key == ACCOUNT_KEY and not ACCOUNT_PATTERN.match(value):
        raise Invalid(
            key, f"'{value}' is not an AWS account ID",
            'write its 12 digits in quotes (e.g. "012345678901")',
        )  # fmt: skip
    if key == "image" and not IMAGE_REF.match(value):
        raise Invalid(
            key,
            f"'{value}' is not REPOSITORY@sha256:DIGEST",
            "deploy by digest (the build workflow sets it); tags are never deployed",
        )


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
