"""One value (`config_schema.parse`) and values together (`config_checks`): every refusal names
the key, the problem and a fix that would pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from stacks import config_checks as checks
from stacks import config_schema as schema

TODAY = dt.date(2026, 12, 1)
REGION = "eu-west-1"
CERT = f"arn:aws:acm:{REGION}:123456789012:certificate/12345678-1234-1234-1234-123456789012"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:alerts"


def stage(**values: Any) -> dict[str, Any]:
    """A stage's parsed values: the defaults, with `values` over them."""
    parsed = {s.key: schema.parse(s, None) for s in schema.settings_of("stage")}
    parsed.update(values)
    return parsed


def issues(**values: Any) -> list[checks.Issue]:
    return checks.check_stage(stage(**values), region=REGION, today=TODAY, partition="aws")


def only(found: list[checks.Issue]) -> checks.Issue:
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("key", "raw", "problem", "fix"),
    [
        ("target", "k8s", "'k8s' is not valid", "ecs, eks, lambda"),
        ("minCapacity", "two", "'two' is not a whole number", "set a number"),
        ("natPerAz", "yes", "'yes' is not true or false", "use true or false"),
        ("logRetentionDays", "10", "10 is not a CloudWatch Logs retention", "1, 3, 5, 7, 14"),
        ("azCount", "9", "9 is out of range", "use 2 to 6"),
        ("lambdaTimeout", "1800", "1800 is out of range", "use 1 to 900"),
        ("errorRateThreshold", "nan", "'nan' is not a number", "set a number"),
        ("image", "repo:latest", "not REPOSITORY@sha256:DIGEST", "tags are never deployed"),
        ("trustSubject", "tag", "'tag' is not valid", "environment, branch"),
    ],
)
def test_one_bad_value(key: str, raw: str, problem: str, fix: str) -> None:
    with pytest.raises(schema.Invalid) as caught:
        schema.parse(schema.BY_KEY[key], raw)
    assert caught.value.key == key
    assert problem in caught.value.problem and fix in caught.value.fix


def test_values_parse_as_the_program_reads_them() -> None:
    assert schema.parse(schema.BY_KEY["cpu"], None) == 256  # the default
    assert schema.parse(schema.BY_KEY["natPerAz"], "TRUE") is True
    assert schema.parse(schema.BY_KEY["errorRateThreshold"], "1") == 1.0
    assert schema.parse(schema.BY_KEY["eksPublicAccessCidrs"], " 10.0.0.0/8, ,192.0.2.0/24") == (
        "10.0.0.0/8",
        "192.0.2.0/24",
    )
    assert schema.parse(schema.BY_KEY["certificateArn"], "") is None


def test_a_typo_is_matched_to_the_key_it_meant() -> None:
    assert schema.closest_key("cpus") == "cpu"
    assert schema.closest_key("CPU") == "cpu"
    assert schema.closest_key("logRetention") == "logRetentionDays"
    assert schema.closest_key("nothingLikeIt") is None


def test_the_defaults_pass_every_check() -> None:
    for target in schema.TARGETS:
        assert [i for i in issues(target=target) if not i.warning] == []


@pytest.mark.parametrize(
    ("cpu", "memory", "fix"),
    [
        (1024, 3000, "with cpu 1024 use memory 2048-8192 MiB in steps of 1024"),
        (256, 1536, "with cpu 256 use memory 512, 1024, 2048 MiB"),
        (8192, 18432, "with cpu 8192 use memory 16384-61440 MiB in steps of 4096"),
        (512, 8192, "(memory 8192 fits cpu 1024, 2048, 4096)"),
    ],
)
def test_fargate_pairs_outside_aws_table(cpu: int, memory: int, fix: str) -> None:
    issue = only(issues(target="ecs", cpu=cpu, memory=memory))
    assert issue.key == "memory" and f"cpu {cpu} with memory {memory}" in issue.problem
    assert fix in issue.fix


def test_fargate_pairs_in_the_table_pass() -> None:
    for cpu, memory in ((256, 512), (1024, 8192), (8192, 16384), (8192, 61440), (16384, 122880)):
        assert issues(target="ecs", cpu=cpu, memory=memory) == []
    assert issues(target="eks", cpu=300, memory=3000) == []  # pods are not Fargate tasks
    assert only(issues(target="ecs", cpu=300)).problem == "cpu 300 is not a Fargate task size"


def test_lambda_limits() -> None:
    assert "outside Lambda's 128-10240 MiB" in only(issues(target="lambda", memory=20480)).problem
    assert only(issues(target="lambda", reservedConcurrency=0)).key == "reservedConcurrency"
    assert issues(target="lambda", reservedConcurrency=-1) == []


def test_eks_versions_aws_offers() -> None:
    unknown = only(issues(target="eks", kubernetesVersion="1.99"))
    assert "'1.99' is not a Kubernetes version EKS offers (as of 2026-08-22" in unknown.problem
    assert unknown.fix == "use one of 1.36, 1.35, 1.34, 1.33, 1.32"
    ended = only(issues(target="eks", kubernetesVersion="1.30"))
    assert "no longer offered by EKS (support ended 2026-07-23)" in ended.problem
    extended = only(issues(target="eks", kubernetesVersion="1.33"))
    assert extended.warning and "extended support until 2027-07-29" in extended.problem
    assert issues(target="eks", kubernetesVersion="1.35") == []
    assert issues(target="ecs", kubernetesVersion="1.99") == []  # ECS stages do not read it


@pytest.mark.parametrize(
    ("cidr", "problem", "fix"),
    [
        ("10.0.0/16", "'10.0.0/16' is not a CIDR block", "10.0.0.0/16"),
        ("10.0.0.1/16", "10.0.0.1/16 has host bits set", "use 10.0.0.0/16"),
        ("10.0.0.0/8", "is a /8 (AWS allows /16 to /28)", "use a /16 to /24 range"),
        (
            "10.0.0.0/27",
            "is a /27 (the stage splits it in 16 subnets of at least /28)",
            "/16 to /24",
        ),
        ("10.0.0.0/30", "is a /30 (AWS allows /16 to /28)", "/16 to /24"),
        ("127.0.0.0/16", "not a range a VPC can use", "private range"),
        ("fd00::/56", "not an IPv4 range", "10.0.0.0/16"),
    ],
)
def test_vpc_cidrs(cidr: str, problem: str, fix: str) -> None:
    issue = only(issues(target="ecs", vpcCidr=cidr))
    assert issue.key == "vpcCidr" and problem in issue.problem and fix in issue.fix


def test_a_lambda_stage_without_a_network_does_not_read_the_cidr() -> None:
    assert issues(target="lambda", vpcCidr="bad") == []
    assert only(issues(target="lambda", lambdaVpc=True, vpcCidr="bad")).key == "vpcCidr"


def test_certificates_must_be_acm_arns_of_the_stages_region() -> None:
    assert issues(certificateArn=CERT) == []
    malformed = only(issues(certificateArn="arn:aws:acm:eu-west-1:123:certificate/x"))
    assert "is not an ACM certificate ARN" in malformed.problem
    elsewhere = only(issues(certificateArn=CERT.replace(REGION, "us-east-1")))
    assert "is in us-east-1, but the stage runs in eu-west-1" in elsewhere.problem
    assert "request or import the certificate in eu-west-1" in elsewhere.fix
    partition = only(issues(certificateArn=CERT.replace("arn:aws:", "arn:aws-cn:")))
    assert "names partition aws-cn, but eu-west-1 is in aws" in partition.problem
    assert issues(target="lambda", certificateArn="nonsense") == []  # lambda has no listener


def test_alarm_topics_must_be_sns_arns_of_the_stages_region() -> None:
    assert issues(alarmTopicArn=TOPIC) == []
    assert (
        "is not an SNS topic ARN"
        in only(issues(alarmTopicArn="arn:aws:sns:eu-west-1:alerts")).problem
    )
    elsewhere = only(issues(alarmTopicArn=TOPIC.replace(REGION, "us-west-2")))
    assert elsewhere.key == "alarmTopicArn" and "is in us-west-2" in elsewhere.problem
    assert "use a topic in eu-west-1" in elsewhere.fix


def test_capacity_bounds_and_eks_admins() -> None:
    assert only(issues(minCapacity=5, maxCapacity=2)).uses == ("minCapacity", "maxCapacity")
    admins = ("arn:aws:sts::123456789012:assumed-role/admin/me",)
    assert "not an IAM role or user ARN" in only(issues(target="eks", eksAdmins=admins)).problem


def test_shared_and_project_values() -> None:
    shared = {s.key: schema.parse(s, None) for s in schema.settings_of("shared")}
    assert checks.check_shared(shared) == [] and checks.check_project(shared) == []
    other = "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token"
    problem = only(checks.check_shared({**shared, "oidcProviderArn": other})).problem
    assert "not of GitHub's issuer token.actions.githubusercontent.com" in problem
    assert (
        "not an IAM OIDC provider ARN"
        in only(checks.check_shared({**shared, "oidcProviderArn": "x"})).problem
    )
    assert (
        only(checks.check_project({**shared, "githubOidcIssuer": "https://x"})).key
        == "githubOidcIssuer"
    )
    assert (
        only(checks.check_project({**shared, "githubSubjectPrefix": "acme/shop"})).key
        == "githubSubjectPrefix"
    )
    assert checks.check_project({**shared, "githubSubjectPrefix": "repo:acme@1/shop@2"}) == []
    assert only(checks.check_project({**shared, "stages": ("dev", "Prod")})).key == "stages"
    assert only(checks.check_project({**shared, "stateBackend": "gs://x"})).key == "stateBackend"
