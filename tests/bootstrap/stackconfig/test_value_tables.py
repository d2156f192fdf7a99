"""The value tables (stacks/aws_values.py) against the sources they were read from, and a planted
break per table proving the comparison can fail.

botocore is installed, so its service models are re-read here: the Fargate sizes and the
CloudWatch Logs retentions are parsed from the model's own documentation text, the Lambda lower
bounds from its shapes. The EKS calendar comes from endoflife.date (not installable): its dates
are checked for the shape AWS publishes (14 months of standard support, 12 of extended).
"""

from __future__ import annotations

import datetime as dt
import re

import botocore
import botocore.session
import pytest

from stacks import aws_values as aws

BOTOCORE = botocore.__version__


@pytest.fixture(scope="module")
def session() -> botocore.session.Session:
    return botocore.session.get_session()


def _text(documentation: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", documentation).split())


_CLAUSE = re.compile(
    r"(?P<memory>(?:\d+ \([\d.]+ GB\),? ?)+|Between .+? increments(?: of \d+ \(\d+ GB\))?)"
    r" - Available cpu values: (?P<cpu>\d+)"
)
# A quantity as the documentation writes it: "4096 (4 GB)" is MiB, "16 GB" (or "32GB") is GiB.
_QUANTITY = re.compile(r"(\d+)\s*(\([\d.]+ GB\)|GB)")


def fargate_table_from_botocore(session: botocore.session.Session) -> dict[int, tuple[int, ...]]:
    """cpu -> allowed memory (MiB), read from RegisterTaskDefinition's `memory` documentation."""
    operation = session.get_service_model("ecs").operation_model("RegisterTaskDefinition")
    text = _text(operation.input_shape.members["memory"].documentation)
    table: dict[int, tuple[int, ...]] = {}
    for clause in _CLAUSE.finditer(text):
        sizes = [
            int(n) * 1024 if unit == "GB" else int(n)
            for n, unit in _QUANTITY.findall(clause["memory"])
        ]
        if clause["memory"].startswith("Between"):
            low, high, step = sizes
            sizes = list(range(low, high + 1, step))
        table[int(clause["cpu"])] = tuple(sizes)
    return table


def fargate_differences(source: dict[int, tuple[int, ...]]) -> list[str]:
    ours = {cpu: aws.fargate_memory_options(cpu) for cpu in aws.FARGATE_MEMORY}
    problems = [f"cpu {cpu}: table {ours.get(cpu)} != botocore {source.get(cpu)}" for cpu in sorted(set(ours) | set(source)) if ours.get(cpu) != source.get(cpu)]  # fmt: skip
    return problems


def test_fargate_sizes_are_botocores(session) -> None:  # type: ignore[no-untyped-def]
    source = fargate_table_from_botocore(session)
    assert set(source) == {256, 512, 1024, 2048, 4096, 8192, 16384}, (BOTOCORE, source)
    assert source[8192] == tuple(range(16384, 61441, 4096))  # 16-60 GB in 4 GB steps
    assert fargate_differences(source) == []


def test_a_planted_fargate_break_is_reported(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(aws.FARGATE_MEMORY, 1024, (2048, 9216, 1024))  # one size too many
    problems = fargate_differences(fargate_table_from_botocore(session))
    assert len(problems) == 1 and problems[0].startswith("cpu 1024:")


def log_retentions_from_botocore(session: botocore.session.Session) -> tuple[int, ...]:
    model = session.get_service_model("logs").operation_model("PutRetentionPolicy")
    text = _text(model.input_shape.members["retentionInDays"].documentation)
    listed = re.search(r"Possible values are: ([\d, and]+)\.", text)
    assert listed, text
    return tuple(int(n) for n in re.findall(r"\d+", listed.group(1)))


def test_log_retentions_are_botocores(session) -> None:  # type: ignore[no-untyped-def]
    assert log_retentions_from_botocore(session) == aws.LOG_RETENTION_DAYS


def test_a_planted_retention_break_is_reported(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(aws, "LOG_RETENTION_DAYS", (*aws.LOG_RETENTION_DAYS, 4000))
    assert log_retentions_from_botocore(session) != aws.LOG_RETENTION_DAYS


def lambda_bounds_outside_botocore(session: botocore.session.Session) -> list[str]:
    """Our Lambda limits must lie inside what botocore's shapes accept."""
    members = (
        session.get_service_model("lambda").operation_model("CreateFunction").input_shape.members
    )
    problems = []
    for name, (low, high) in (
        ("MemorySize", aws.LAMBDA_MEMORY_MB),
        ("Timeout", aws.LAMBDA_TIMEOUT_SECONDS),
    ):
        shape = members[name].metadata
        if low < shape.get("min", low) or high > shape.get("max", high):
            problems.append(f"{name} {low}-{high} is outside botocore's {shape}")
    return problems


def test_lambda_limits_lie_within_botocores_shapes(session) -> None:  # type: ignore[no-untyped-def]
    assert lambda_bounds_outside_botocore(session) == []


def test_a_planted_lambda_break_is_reported(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(aws, "LAMBDA_MEMORY_MB", (64, 10240))
    assert lambda_bounds_outside_botocore(session) == [
        "MemorySize 64-10240 is outside botocore's {'min': 128, 'max': 32768}"
    ]


def test_arn_shapes_follow_botocores_documentation(session) -> None:  # type: ignore[no-untyped-def]
    acm = session.get_service_model("acm").operation_model("DescribeCertificate")
    example = re.search(
        r"arn:aws:acm:region:\d{12}:certificate/(\S+?)<",
        acm.input_shape.members["CertificateArn"].documentation,
    )
    assert example and re.fullmatch(aws.ACM_CERTIFICATE_ID, example.group(1))
    topic = _text(
        session.get_service_model("sns")
        .operation_model("CreateTopic")
        .input_shape.members["Name"]
        .documentation
    )
    assert "between 1 and 256 characters" in topic and ".fifo" in topic
    assert re.fullmatch(aws.SNS_TOPIC_NAME, "alerts_prod-1") and re.fullmatch(
        aws.SNS_TOPIC_NAME, "a.fifo"
    )
    assert not re.fullmatch(aws.SNS_TOPIC_NAME, "bad.name") and not re.fullmatch(
        aws.SNS_TOPIC_NAME, "x" * 257
    )


def eks_calendar_problems() -> list[str]:
    problems = []
    for version, (released, standard_end, extended_end) in aws.EKS_VERSIONS.items():
        standard = (standard_end - released).days
        extended = (extended_end - standard_end).days
        if not 395 <= standard <= 460 or not 360 <= extended <= 370:
            problems.append(f"{version}: {standard} days standard, {extended} days extended")
    return problems


def test_the_eks_calendar_has_the_shape_aws_publishes() -> None:
    assert eks_calendar_problems() == []
    versions = list(aws.EKS_VERSIONS)
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    default = aws.DEFAULT_KUBERNETES_VERSION
    assert aws.eks_version_support(default, aws.EKS_VERSIONS_AS_OF) == "standard"


def test_a_planted_calendar_break_is_reported(monkeypatch) -> None:
    released, standard, _ = aws.EKS_VERSIONS["1.35"]
    monkeypatch.setitem(
        aws.EKS_VERSIONS, "1.35", (released, standard, standard + dt.timedelta(days=30))
    )
    assert eks_calendar_problems() == ["1.35: 423 days standard, 30 days extended"]


def test_versions_offered_follow_the_date() -> None:
    assert aws.eks_versions_offered(dt.date(2026, 8, 22)) == [
        "1.36",
        "1.35",
        "1.34",
        "1.33",
        "1.32",
        "1.31",
    ]
    assert "1.31" not in aws.eks_versions_offered(dt.date(2026, 12, 1))
    assert aws.eks_version_support("1.33", dt.date(2026, 12, 1)) == "extended"
    assert aws.eks_version_support("1.30", dt.date(2026, 12, 1)) == "ended"
    assert aws.eks_version_support("1.99", dt.date(2026, 12, 1)) == "unknown"
