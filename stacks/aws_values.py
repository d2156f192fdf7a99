"""The value tables AWS enforces on the stack settings, each with the source it was read from.

Pure data and small lookups, no Pulumi: the program's settings and bootstrap's validation
(`bootstrap/stackconfig/`) both check against these tables, so `pulumi up` without bootstrap
refuses what AWS would refuse, and bootstrap says so before any cloud call. docs/configuration.md
lists every table; docs/sources.md records the sources. Tests in tests/bootstrap/stackconfig/ re-read the
machine-readable sources (botocore's models) and fail when a table drifts from them.
"""

from __future__ import annotations

import datetime as _dt

# --- Fargate task sizes ---------------------------------------------------------------------
# CPU units -> the memory (MiB) a Fargate task of that size may have: (lowest, highest, step).
# Source: botocore 1.44.8, data/ecs/2014-11-13/service-2.json, RegisterTaskDefinitionRequest
# `memory` ("If using the Fargate launch type ... you must use one of the following values").
FARGATE_MEMORY: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 512),  # 512, 1024, 2048: the only span that is not evenly stepped
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),  # Linux platform 1.4.0 or later
    16384: (32768, 122880, 8192),  # Linux platform 1.4.0 or later
}


def fargate_memory_options(cpu: int) -> tuple[int, ...]:
    """Every memory size (MiB) Fargate accepts with `cpu` units; () for a CPU it does not offer."""
    if cpu not in FARGATE_MEMORY:
        return ()
    if cpu == 256:
        return (512, 1024, 2048)
    low, high, step = FARGATE_MEMORY[cpu]
    return tuple(range(low, high + 1, step))


def describe_fargate_memory(cpu: int) -> str:
    """`2048-8192 MiB in steps of 1024` (or the list, for 0.25 vCPU)."""
    options = fargate_memory_options(cpu)
    if cpu == 256:
        return ", ".join(map(str, options)) + " MiB"
    low, high, step = FARGATE_MEMORY[cpu]
    return f"{low}-{high} MiB in steps of {step}"


# --- CloudWatch Logs retention --------------------------------------------------------------
# Source: botocore 1.44.8, data/logs/2014-03-28/service-2.json, PutRetentionPolicy
# `retentionInDays` ("Possible values are: 1, 3, 5, ...").
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

# --- Lambda function limits -----------------------------------------------------------------
# Source: AWS Lambda Developer Guide, "Lambda quotas" (docs.aws.amazon.com/lambda/latest/dg/
# gettingstarted-limits.html, as stored 2026): "a single function can use up to 10,240 MB of
# memory", "up to 15 minutes in a single invocation"; the lower bounds from botocore 1.44.8,
# data/lambda/2015-03-31/service-2.json, CreateFunction `MemorySize` (min 128), `Timeout` (min 1).
# (botocore's shapes allow more - MemorySize up to 32768, Timeout up to 5400 - for Lambda
# Managed Instances and accelerators, which these stacks do not use.)
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_TIMEOUT_SECONDS = (1, 900)

# --- VPC sizes ------------------------------------------------------------------------------
# Source: Amazon EC2 API Reference, CreateVpc (and the VPC User Guide, "VPC CIDR blocks"): "The
# allowed block size is between a /16 netmask (65,536 IP addresses) and /28 netmask (16 IP
# addresses)". The stacks split a stage's VPC in 16 subnets, each at least a /28, so they need a
# /24 or larger.
VPC_PREFIX_AWS = (16, 28)
VPC_PREFIX_USABLE = (16, 24)

# --- SNS topic names ------------------------------------------------------------------------
# Source: botocore 1.44.8, data/sns/2010-03-31/service-2.json, CreateTopic `Name`: "only
# uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between
# 1 and 256 characters long"; a FIFO topic's name ends with `.fifo`.
SNS_TOPIC_NAME = r"[A-Za-z0-9_-]{1,256}(?:\.fifo)?"

# --- ACM certificate ARNs -------------------------------------------------------------------
# Source: botocore 1.44.8, data/acm/2015-12-08/service-2.json, DescribeCertificate
# `CertificateArn`: "arn:aws:acm:region:123456789012:certificate/12345678-1234-...". ACM
# certificates are regional: a load balancer uses one from its own region (ACM User Guide,
# "Supported Regions").
ACM_CERTIFICATE_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# --- EKS Kubernetes versions ----------------------------------------------------------------
# version -> (released on EKS, end of standard support, end of extended support).
# Source: endoflife.date, products/amazon-eks.md at commit a70eca337600e7d721dc48112c271f98661d208b
# (2026-08-22), itself read from AWS's "Understand the Kubernetes version lifecycle on EKS" page.
# A version can be used for new clusters until its end of extended support.
EKS_VERSIONS_AS_OF = _dt.date(2026, 8, 22)
EKS_VERSIONS: dict[str, tuple[_dt.date, _dt.date, _dt.date]] = {
    "1.36": (_dt.date(2026, 6, 2), _dt.date(2027, 8, 2), _dt.date(2028, 8, 2)),
    "1.35": (_dt.date(2026, 1, 28), _dt.date(2027, 3, 27), _dt.date(2028, 3, 27)),
    "1.34": (_dt.date(2025, 10, 6), _dt.date(2026, 12, 2), _dt.date(2027, 12, 2)),
    "1.33": (_dt.date(2025, 5, 28), _dt.date(2026, 7, 29), _dt.date(2027, 7, 29)),
    "1.32": (_dt.date(2025, 1, 25), _dt.date(2026, 3, 23), _dt.date(2027, 3, 23)),
    "1.31": (_dt.date(2024, 9, 26), _dt.date(2025, 11, 26), _dt.date(2026, 11, 26)),
    "1.30": (_dt.date(2024, 5, 23), _dt.date(2025, 7, 23), _dt.date(2026, 7, 23)),
    "1.29": (_dt.date(2024, 1, 23), _dt.date(2025, 3, 23), _dt.date(2026, 3, 23)),
}
DEFAULT_KUBERNETES_VERSION = "1.35"  # in standard support until 2027-03-27


def eks_versions_offered(today: _dt.date) -> list[str]:
    """The versions a new cluster may use on `today`, newest first."""
    return [v for v, (released, _, ended) in EKS_VERSIONS.items() if released <= today <= ended]


def eks_version_support(version: str, today: _dt.date) -> str:
    """`standard`, `extended` (costs more per cluster hour), `ended`, `future` or `unknown`."""
    if version not in EKS_VERSIONS:
        return "unknown"
    released, standard_end, extended_end = EKS_VERSIONS[version]
    if today < released:
        return "future"
    if today <= standard_end:
        return "standard"
    if today <= extended_end:
        return "extended"
    return "ended"
