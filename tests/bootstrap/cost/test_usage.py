"""Usage files: defaults per stage, overrides, and every kind of bad input as one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.cost.usage import KEYS, Usage, UsageFileError, load_usage
from tests.conftest import REPO_ROOT

STACKS = ["shared", "dev", "test", "prod"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "usage.yml"
    path.write_text(text)
    return path


def test_defaults_differ_for_production() -> None:
    usage = Usage()
    early, production = (
        usage.for_stack("dev", production=False),
        usage.for_stack("prod", production=True),
    )
    assert early.number("nat_gb_processed") == 5 and production.number("nat_gb_processed") == 50
    assert early.number("average_tasks") is None  # from the plan
    assert "early-stage default" in early.assumption("log_gb")
    assert "production default" in production.assumption("log_gb")


def test_file_overrides_all_then_stage(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "all:\n  log_gb: 3\n  eks_node_instance_type: m6i.large\n"
        "stages:\n  prod:\n    log_gb: 30\n",
    )
    usage = load_usage(path, STACKS)
    dev, prod = usage.for_stack("dev", production=False), usage.for_stack("prod", production=True)
    assert dev.number("log_gb") == 3 and prod.number("log_gb") == 30
    assert prod.text("eks_node_instance_type") == "m6i.large"
    assert prod.assumption("log_gb") == "30 GB/month (log_gb, usage file)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all:\n  nat_gb: 5\n", "unknown usage key 'all.nat_gb'"),
        ("stages:\n  prod:\n    log_gb: -1\n", "stages.prod.log_gb is -1, which is negative"),
        ("stages:\n  prod:\n    log_gb: lots\n", "stages.prod.log_gb is 'lots', not a number"),
        ("stages:\n  prod:\n    log_gb: true\n", "stages.prod.log_gb is True, not a number"),
        ("stages:\n  qa:\n    log_gb: 1\n", "stages.qa: no stack 'qa' in this project"),
        ("traffic:\n  log_gb: 1\n", "unknown section 'traffic'"),
        ("all:\n  eks_node_instance_type: 4\n", "not an EC2 instance type"),
        ("all: [1, 2\n", "is not valid YAML"),
        ("- 1\n", "is not a mapping"),
    ],
)
def test_bad_usage_files(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UsageFileError) as caught:
        load_usage(path, STACKS)
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and caught.value.exit_code == 2 and caught.value.fix


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageFileError, match="does not exist: give the path"):
        load_usage(tmp_path / "nope.yml", STACKS)


def test_every_key_documented() -> None:
    docs = (REPO_ROOT / "docs" / "cost.md").read_text()
    for key in KEYS:
        assert f"`{key}`" in docs, key
