"""The usage types this tool prices: one key per rate, its unit, and where AWS's Price List offer
files keep it (offer code, product family, usage type without its region prefix, attributes).

Keys are ours and stable (`fargate.vcpu_hours`); the snapshot (`prices.json`) and the cache map
region -> key -> rate. Two families are keyed per EC2 instance type: `ec2.instance_hours.<type>`
(on-demand Linux) and `eks.automode_fee_hours.<type>` (the EKS Auto Mode management fee).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HOURS_PER_MONTH = 730  # AWS's own monthly figure (8,760 hours / 12)
INSTANCE_HOURS = "ec2.instance_hours."
AUTOMODE_FEE = "eks.automode_fee_hours."
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[0-9]*x?(?:nano|micro|small|medium|large|metal)$")


@dataclass(frozen=True)
class UsageType:
    key: str
    unit: str  # what the quantity counts; the rate is USD per one of it
    offer: str  # the offer code of the Price List (AmazonEC2, AWSLambda, ...)
    usagetype: str  # regex for the `usagetype` attribute, region prefix excluded
    family: str | None = None  # the product's `productFamily`, when it tells products apart
    attributes: tuple[tuple[str, str], ...] = ()  # further exact attribute values

    def matches(self, product: dict) -> bool:
        attributes = {str(k).lower(): str(v) for k, v in (product.get("attributes") or {}).items()}
        if self.family and product.get("productFamily") != self.family:
            return False
        usagetype = attributes.get("usagetype", "")
        if not re.fullmatch(rf"(?:[A-Z0-9]+-)?{self.usagetype}", usagetype):
            return False
        return all(attributes.get(k.lower()) == v for k, v in self.attributes)


def _fixed(*types: UsageType) -> dict[str, UsageType]:
    return {t.key: t for t in types}


USAGE_TYPES = _fixed(
    UsageType("ec2.nat_gateway_hours", "hours", "AmazonEC2", r"NatGateway-Hours", "NAT Gateway"),
    UsageType("ec2.nat_gateway_gb", "GB", "AmazonEC2", r"NatGateway-Bytes", "NAT Gateway"),
    UsageType("vpc.public_ipv4_hours", "hours", "AmazonVPC", r"PublicIPv4:InUseAddress"),
    UsageType(
        "elb.alb_hours", "hours", "AWSELB", r"LoadBalancerUsage", "Load Balancer-Application"
    ),
    UsageType("elb.alb_lcu_hours", "LCU-hours", "AWSELB", r"LCUUsage", "Load Balancer-Application"),
    UsageType("fargate.vcpu_hours", "vCPU-hours", "AmazonECS", r"Fargate-vCPU-Hours:perCPU"),
    UsageType("fargate.gb_hours", "GB-hours", "AmazonECS", r"Fargate-GB-Hours"),
    UsageType(
        "fargate.arm_vcpu_hours", "vCPU-hours", "AmazonECS", r"Fargate-ARM-vCPU-Hours:perCPU"
    ),
    UsageType("fargate.arm_gb_hours", "GB-hours", "AmazonECS", r"Fargate-ARM-GB-Hours"),
    UsageType(
        "fargate.storage_gb_hours", "GB-hours", "AmazonECS", r"Fargate-EphemeralStorage-GB-Hours"
    ),
    UsageType("eks.cluster_hours", "hours", "AmazonEKS", r"AmazonEKS-Hours:perCluster"),
    UsageType("lambda.requests", "requests", "AWSLambda", r"Request"),
    UsageType("lambda.arm_requests", "requests", "AWSLambda", r"Request-ARM"),
    UsageType("lambda.gb_seconds", "GB-seconds", "AWSLambda", r"Lambda-GB-Second"),
    UsageType("lambda.arm_gb_seconds", "GB-seconds", "AWSLambda", r"Lambda-GB-Second-ARM"),
    UsageType(
        "lambda.provisioned_gb_seconds",
        "GB-seconds",
        "AWSLambda",
        r"Lambda-Provisioned-Concurrency",
    ),
    UsageType(
        "lambda.arm_provisioned_gb_seconds",
        "GB-seconds",
        "AWSLambda",
        r"Lambda-Provisioned-Concurrency-ARM",
    ),
    UsageType(
        "lambda.provisioned_duration_gb_seconds",
        "GB-seconds",
        "AWSLambda",
        r"Lambda-Provisioned-GB-Second",
    ),
    UsageType(
        "lambda.arm_provisioned_duration_gb_seconds",
        "GB-seconds",
        "AWSLambda",
        r"Lambda-Provisioned-GB-Second-ARM",
    ),
    UsageType("logs.ingestion_gb", "GB", "AmazonCloudWatch", r"DataProcessing-Bytes"),
    UsageType("logs.storage_gb_months", "GB-months", "AmazonCloudWatch", r"TimedStorage-ByteHrs"),
    UsageType("logs.vended_gb", "GB", "AmazonCloudWatch", r"VendedLog-Bytes"),
    UsageType(
        "cloudwatch.alarm_metric_months",
        "alarm metrics",
        "AmazonCloudWatch",
        r"CW:AlarmMonitorUsage",
    ),
    UsageType(
        "cloudwatch.alarm_high_res_metric_months",
        "alarm metrics",
        "AmazonCloudWatch",
        r"CW:HighResAlarmMonitorUsage",
    ),
    UsageType(
        "cloudwatch.dashboard_months",
        "dashboards",
        "AmazonCloudWatch",
        r"DashboardsUsageHour-Basic",
    ),
    UsageType("cloudwatch.metric_months", "metrics", "AmazonCloudWatch", r"CW:MetricMonitorUsage"),
    UsageType("ecr.storage_gb_months", "GB-months", "AmazonECR", r"TimedStorage-ByteHrs"),
    UsageType("kms.key_months", "keys", "awskms", r"KMS-Keys"),
)


def usage_type(key: str) -> UsageType:
    """The usage type of a key, including the per-instance-type families."""
    if key in USAGE_TYPES:
        return USAGE_TYPES[key]
    if key.startswith(INSTANCE_HOURS):
        instance = key.removeprefix(INSTANCE_HOURS)
        return UsageType(
            key,
            "instance-hours",
            "AmazonEC2",
            r"BoxUsage:" + re.escape(instance),
            "Compute Instance",
            (
                ("instanceType", instance),
                ("operatingSystem", "Linux"),
                ("tenancy", "Shared"),
                ("preInstalledSw", "NA"),
                ("capacitystatus", "Used"),
            ),
        )
    if key.startswith(AUTOMODE_FEE):
        instance = key.removeprefix(AUTOMODE_FEE)
        return UsageType(
            key,
            "instance-hours",
            "AmazonEKS",
            r".+",
            None,
            (("instanceType", instance), ("operation", "EKSAutoUsage")),
        )
    raise KeyError(key)


def unit(key: str) -> str:
    return usage_type(key).unit


# EKS Auto Mode nodes: EC2's naming gives the shape of the c, m and r families (a `large` has two
# vCPUs, an `Nxlarge` 4N; c has 2 GiB per vCPU, m 4 GiB and r 8 GiB).
_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}


def instance_shape(instance: str) -> tuple[int, int] | None:
    """(vCPUs, GiB of memory) of a c, m or r instance type, or None when the name does not say."""
    family, _, size = instance.partition(".")
    ratio = _GIB_PER_VCPU.get(family[:1])
    if ratio is None:
        return None
    if size == "large":
        vcpus = 2
    elif size == "xlarge":
        vcpus = 4
    elif size.endswith("xlarge") and size.removesuffix("xlarge").isdigit():
        vcpus = 4 * int(size.removesuffix("xlarge"))
    else:
        return None
    return vcpus, vcpus * ratio
