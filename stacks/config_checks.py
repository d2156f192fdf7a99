"""The stack settings that must fit together, and the formats AWS requires of them.

`check_stage`, `check_shared` and `check_project` take a stack's values (parsed by
`config_schema.parse`, defaults applied) and return what AWS would refuse (or what costs more
than it says), each as the key to change and how. The value tables come from `aws_values.py`.
The program (stacks/settings.py) and bootstrap (bootstrap/stackconfig/) call these same
functions. No Pulumi import.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import aws_values as aws
from .contract import ACCOUNT_KEY, GITHUB_OIDC_HOST
from .delivery import MINUTES_TO_ALARM


@dataclass(frozen=True)
class Issue:
    """A problem of a combination of values (or a warning): the key to change and how."""

    key: str
    problem: str
    fix: str
    warning: bool = False
    uses: tuple[str, ...] = ()  # every key the check read, when more than `key`

    @property
    def keys(self) -> tuple[str, ...]:
        return self.uses or (self.key,)


def needs_network(values: Mapping[str, Any]) -> bool:
    return values.get("target") != "lambda" or bool(values.get("lambdaVpc"))


def check_stage(
    values: Mapping[str, Any],
    *,
    region: str | None,
    today: _dt.date,
    partition: str | None = None,
) -> list[Issue]:
    """What a stage's values (parsed, defaults applied) would make AWS refuse, or cost more than
    it says. `region` is the stage's `aws:region`; `partition` (aws, aws-cn, ...) when known."""
    target = values.get("target", "ecs")
    issues: list[Issue] = []
    if target == "ecs":
        issues += _fargate(int(values["cpu"]), int(values["memory"]))
    if target == "lambda":
        issues += _lambda(int(values["memory"]), int(values["reservedConcurrency"]))
    if target == "eks":
        issues += _eks_version(str(values["kubernetesVersion"]), today)
        issues += _cidrs("eksPublicAccessCidrs", values.get("eksPublicAccessCidrs") or ())
        issues += _principals("eksAdmins", values.get("eksAdmins") or ())
    if target in ("ecs", "eks") and values["minCapacity"] > values["maxCapacity"]:
        issues.append(
            Issue(
                "minCapacity",
                f"minCapacity {values['minCapacity']} is above maxCapacity {values['maxCapacity']}",
                "raise maxCapacity or lower minCapacity",
                uses=("minCapacity", "maxCapacity"),
            )
        )
    if needs_network(values):
        issues += _vpc_cidr(str(values["vpcCidr"]))
    if values.get("certificateArn") and target in ("ecs", "eks"):
        issues += _arn_in_region(
            "certificateArn", str(values["certificateArn"]), _CERTIFICATE, region, partition,
            "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
            "request or import the certificate in {region} (ACM certificates are regional) and "
            "use that ARN",
        )  # fmt: skip
    if values.get("alarmTopicArn"):
        issues += _arn_in_region(
            "alarmTopicArn", str(values["alarmTopicArn"]), _TOPIC, region, partition,
            "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
            "use a topic in {region} (alarms notify topics of their own region)",
        )  # fmt: skip
    if values.get("monthlyBudget") is not None and not values.get("alarmTopicArn"):
        issues.append(Issue(  # stacks/budget.py: the budget's alerts go to the alarm topic
            "monthlyBudget", "a budget needs a topic for its alerts",
            "set alarmTopicArn too, or leave monthlyBudget empty", uses=("monthlyBudget", "alarmTopicArn"),
        ))  # fmt: skip
    issues += _rollout(values, target)
    issues += _oidc_provider(values, account=values.get(ACCOUNT_KEY))
    return issues


def _rollout(values: Mapping[str, Any], target: str) -> list[Issue]:
    """ECS takes percents in steps of 0.1; a Lambda alias routes to a version number (botocore's
    ecs and lambda models, stacks/delivery.py)."""
    issues: list[Issue] = []
    step = {"canary": "canaryMinutes", "linear": "linearMinutes"}.get(str(values["deployStrategy"]))
    if target in ("ecs", "lambda") and step and int(values[step]) < MINUTES_TO_ALARM:
        issues.append(
            Issue(
                step,
                f"{values[step]} minutes is too short for the stage's alarms to fire "
                f"(they need {MINUTES_TO_ALARM} minutes of data)",
                f"use at least {MINUTES_TO_ALARM}, or deployStrategy all-at-once",
                warning=True,
                uses=("deployStrategy", step),
            )
        )
    if target == "ecs":
        for key in ("canaryPercent", "linearPercent"):
            tenths = float(values[key]) * 10
            if abs(tenths - round(tenths)) > 1e-6:
                issues.append(
                    Issue(key, f"{values[key]} is not a multiple of 0.1", "round it to 0.1")
                )
    stable = values.get("lambdaStableVersion")
    if target == "lambda" and stable and not re.fullmatch(r"[0-9]{1,1024}", str(stable)):
        issues.append(
            Issue(
                "lambdaStableVersion",
                f"'{stable}' is not a function version number",
                "use a published version such as 12 (the deploy workflow sets it)",
            )
        )
    return issues


def check_shared(values: Mapping[str, Any]) -> list[Issue]:
    """What the shared stack's values would make AWS refuse."""
    return _oidc_provider(values)


def _oidc_provider(values: Mapping[str, Any], *, account: str | None = None) -> list[Issue]:
    """An existing provider to reuse must be GitHub's issuer's, in the stack's own account (a
    role trusts only a provider of its own account)."""
    arn = values.get("oidcProviderArn")
    issuer = str(values.get("githubOidcIssuer") or GITHUB_OIDC_HOST)
    if not arn:
        return []
    match = _OIDC_PROVIDER.match(str(arn))
    if not match:
        return [
            Issue(
                "oidcProviderArn",
                f"'{arn}' is not an IAM OIDC provider ARN",
                f"use arn:aws:iam::ACCOUNT:oidc-provider/{issuer}, or remove the key to "
                "create the provider",
            )
        ]
    if match.group("url") != issuer:
        return [
            Issue(
                "oidcProviderArn",
                f"'{arn}' is the provider of {match.group('url')}, not of GitHub's issuer "
                f"{issuer}",
                f"name the account's provider for {issuer}, or remove the key to create it",
            )
        ]
    if account and match.group("account") != account:
        return [
            Issue(
                "oidcProviderArn",
                f"'{arn}' is in account {match.group('account')}, but the stage lives in "
                f"account {account}",
                f"name the provider of account {account}, or remove the key to create it",
                uses=("oidcProviderArn", ACCOUNT_KEY),
            )
        ]
    return []


def check_lambda_region(
    stage: str, target: str, region: str | None, registry_region: str | None
) -> list[Issue]:
    """Lambda runs container images only from a registry in the function's own region (another
    account is fine): AWS Lambda Developer Guide, "Create a Lambda function using a container
    image"."""
    if target != "lambda" or not region or not registry_region or region == registry_region:
        return []
    return [
        Issue(
            "target",
            f"stage {stage} is a Lambda stage in {region}, but Lambda runs images only from a "
            f"registry in its own region, and this project's registry is in {registry_region}",
            f"deploy stage {stage} in {registry_region} (aws:region), or use ecs or eks for it",
        )
    ]


# Listeners per Application Load Balancer (Elastic Load Balancing, "Quotas for your Application
# Load Balancers": 50 by default): ECS previews take one each on the first stage's load balancer,
# whose own HTTP and HTTPS listeners take two.
ALB_LISTENERS = 50
STAGE_LISTENERS = 2


def check_preview_target(
    target: str, max_active: int, first_stage: str | None, first_target: str | None,
    first_account: str | None = None,
) -> list[Issue]:  # fmt: skip
    """ECS previews run in the first stage's cluster, behind its load balancer, deployed by the
    shared account's preview deploy role: the first stage must be an ECS stage of that account,
    and the previews must fit the load balancer's listeners."""
    if target != "ecs":
        return []
    if not first_stage:
        return [Issue("previewTarget", "ecs previews run in the first stage's cluster, and the "
                      "project has no stages", "set previewTarget to lambda or none")]  # fmt: skip
    if first_target != "ecs":
        return [
            Issue(
                "previewTarget",
                f"ecs previews run in the first stage's cluster, but stage {first_stage} runs on "
                f"{first_target}",
                f"set previewTarget to lambda (or none), or make {first_stage} an ecs stage",
            )
        ]
    if first_account:
        return [
            Issue(
                "previewTarget",
                f"ecs previews run in stage {first_stage}'s cluster, but {first_stage} lives in "
                f"account {first_account}, apart from the shared stack whose role deploys them",
                "set previewTarget to lambda (previews then run in the shared stack's account)",
            )
        ]
    most = ALB_LISTENERS - STAGE_LISTENERS
    if max_active > most:
        return [
            Issue(
                "previewMaxActive",
                f"{max_active} ecs previews need as many listeners on stage {first_stage}'s load "
                f"balancer, which takes {ALB_LISTENERS} (two are the stage's own)",
                f"use at most {most}",
                uses=("previewMaxActive", "previewTarget"),
            )
        ]
    return []


def check_project(values: Mapping[str, Any]) -> list[Issue]:
    """The project facts' formats (bootstrap writes them; a hand edit may break them)."""
    issues: list[Issue] = []
    prefix = str(values.get("githubSubjectPrefix") or "")
    if prefix and (not prefix.startswith("repo:") or re.search(r"\s|:$", prefix)):
        issues.append(
            Issue(
                "githubSubjectPrefix",
                f"'{prefix}' is not a subject prefix GitHub issues (repo:OWNER/REPO or "
                "repo:OWNER@ID/REPO@ID)",
                "run `bootstrap github sync`, which reads it from GitHub",
            )
        )
    issuer = str(values.get("githubOidcIssuer") or "")
    if not _ISSUER.match(issuer):
        issues.append(
            Issue(
                "githubOidcIssuer",
                f"'{issuer}' is not an issuer host (no scheme: {GITHUB_OIDC_HOST}, "
                "token.actions.SUBDOMAIN.ghe.com, or HOST/_services/token on GitHub Enterprise "
                "Server)",
                "run `bootstrap github sync`, which sets it from the repository's GitHub",
            )
        )
    for stage in values.get("stages") or ():
        if not _STAGE.match(stage):
            issues.append(
                Issue(
                    "stages",
                    f"'{stage}' is not a stage name",
                    "use lowercase letters, digits and single hyphens, starting with a letter",
                )
            )
    backend = str(values.get("stateBackend") or "")
    if backend and not _S3_URL.match(backend):
        issues.append(
            Issue(
                "stateBackend",
                f"'{backend}' is not an s3:// URL",
                "use s3://BUCKET or leave it empty",
            )
        )
    return issues


_PARTITION = r"(?P<partition>aws(?:-[a-z]+)*)"
_REGION = r"(?P<region>[a-z]+(?:-[a-z]+)+-\d+)"
_CERTIFICATE = re.compile(
    rf"^arn:{_PARTITION}:acm:{_REGION}:(?P<account>\d{{12}}):certificate/{aws.ACM_CERTIFICATE_ID}$"
)
_TOPIC = re.compile(rf"^arn:{_PARTITION}:sns:{_REGION}:(?P<account>\d{{12}}):{aws.SNS_TOPIC_NAME}$")
_OIDC_PROVIDER = re.compile(
    r"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):oidc-provider/(?P<url>\S+)$"
)
_PRINCIPAL = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)/[\w+=,.@/-]+$")
_ISSUER = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d+)?(?:/[A-Za-z0-9._~-]+)*$")
_STAGE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:[/?].*)?$")


def _fargate(cpu: int, memory: int) -> list[Issue]:
    options = aws.fargate_memory_options(cpu)
    if not options:
        sizes = ", ".join(map(str, aws.FARGATE_MEMORY))
        return [
            Issue(
                "cpu", f"cpu {cpu} is not a Fargate task size", f"use one of {sizes}",
                uses=("cpu", "memory"),
            )
        ]  # fmt: skip
    if memory in options:
        return []
    fits = [c for c in aws.FARGATE_MEMORY if memory in aws.fargate_memory_options(c)]
    also = f" (memory {memory} fits cpu {', '.join(map(str, fits))})" if fits else ""
    return [
        Issue(
            "memory",
            f"cpu {cpu} with memory {memory} is not a Fargate task size",
            f"with cpu {cpu} use memory {aws.describe_fargate_memory(cpu)}{also}",
            uses=("cpu", "memory"),
        )
    ]


def _lambda(memory: int, reserved: int) -> list[Issue]:
    issues = []
    low, high = aws.LAMBDA_MEMORY_MB
    if not low <= memory <= high:
        issues.append(
            Issue(
                "memory",
                f"memory {memory} MiB is outside Lambda's {low}-{high} MiB",
                f"use {low} to {high}",
            )
        )
    if reserved == 0:
        issues.append(
            Issue(
                "reservedConcurrency",
                "reservedConcurrency 0 would stop the function from running",
                "use a positive number, or -1 for no reservation",
            )
        )
    return issues


def _eks_version(version: str, today: _dt.date) -> list[Issue]:
    support = aws.eks_version_support(version, today)
    offered = ", ".join(aws.eks_versions_offered(today))
    if support in ("standard",):
        return []
    if support == "extended":
        ends = aws.EKS_VERSIONS[version][2]
        return [
            Issue(
                "kubernetesVersion",
                f"Kubernetes {version} is in EKS extended support until {ends} (it costs more "
                "per cluster hour)",
                f"move to a version in standard support ({offered})",
                warning=True,
            )
        ]
    if support == "ended":
        ended = aws.EKS_VERSIONS[version][2]
        problem = f"Kubernetes {version} is no longer offered by EKS (support ended {ended})"
    else:
        problem = (
            f"'{version}' is not a Kubernetes version EKS offers (as of "
            f"{aws.EKS_VERSIONS_AS_OF}: {', '.join(aws.EKS_VERSIONS)})"
        )
    return [Issue("kubernetesVersion", problem, f"use one of {offered}")]


def _vpc_cidr(cidr: str) -> list[Issue]:
    low, high = aws.VPC_PREFIX_USABLE
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return [
            Issue("vpcCidr", f"'{cidr}' is not a CIDR block", "use a range such as 10.0.0.0/16")
        ]
    if network.version != 4:
        return [Issue("vpcCidr", f"{cidr} is not an IPv4 range", "use a range such as 10.0.0.0/16")]
    if str(network) != cidr:
        return [Issue("vpcCidr", f"{cidr} has host bits set", f"use {network}")]
    if not low <= network.prefixlen <= high:
        aws_low, aws_high = aws.VPC_PREFIX_AWS
        why = (
            f"AWS allows /{aws_low} to /{aws_high}"
            if not aws_low <= network.prefixlen <= aws_high
            else f"the stage splits it in 16 subnets of at least /{aws_high}"
        )
        return [
            Issue(
                "vpcCidr",
                f"{cidr} is a /{network.prefixlen} ({why})",
                f"use a /{low} to /{high} range",
            )
        ]
    if (
        network.is_loopback or network.is_link_local or network.is_multicast
        or network.is_reserved or network.is_unspecified
    ):  # fmt: skip
        return [
            Issue(
                "vpcCidr",
                f"{cidr} is not a range a VPC can use (loopback, link-local, multicast or reserved)",
                "use a private range such as 10.0.0.0/16",
            )
        ]
    return []


def _cidrs(key: str, cidrs: Iterable[str]) -> list[Issue]:
    issues = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            issues.append(
                Issue(key, f"'{cidr}' is not a CIDR block", "use ranges such as 203.0.113.0/24")
            )
            continue
        if str(network) != cidr:
            issues.append(Issue(key, f"{cidr} has host bits set", f"use {network}"))
    return issues


def _principals(key: str, arns: Iterable[str]) -> list[Issue]:
    """IAM role or user ARNs, each once: what an EKS access entry accepts (botocore 1.44.8,
    eks CreateAccessEntry `principalArn`: one entry per ARN, no STS session principals)."""
    issues = []
    seen: set[str] = set()
    for arn in arns:
        if not _PRINCIPAL.match(arn):
            issues.append(
                Issue(
                    key,
                    f"'{arn}' is not an IAM role or user ARN (EKS access entries take no STS "
                    "session ARNs)",
                    "use arn:aws:iam::ACCOUNT:role/NAME (for an assumed role, its role's ARN)",
                )
            )
        elif arn in seen:
            issues.append(Issue(key, f"'{arn}' is listed twice", "list each principal once"))
        seen.add(arn)
    return issues


def _arn_in_region(
    key: str,
    arn: str,
    pattern: re.Pattern[str],
    region: str | None,
    partition: str | None,
    shape: str,
    fix: str,
) -> list[Issue]:
    match = pattern.match(arn)
    if not match:
        return [Issue(key, f"'{arn}' is not {shape}", "copy the ARN from the AWS console or CLI")]
    if region and match.group("region") != region:
        return [
            Issue(
                key,
                f"'{arn}' is in {match.group('region')}, but the stage runs in {region}",
                fix.format(region=region),
            )
        ]
    if partition and match.group("partition") != partition:
        return [
            Issue(
                key,
                f"'{arn}' names partition {match.group('partition')}, but {region} is in {partition}",
                f"use the ARN as the {partition} partition writes it (arn:{partition}:...)",
            )
        ]
    return []
