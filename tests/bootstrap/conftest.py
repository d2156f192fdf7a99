"""Fixtures of the deploy tests: moto for AWS, copies of generated repos, the recording seam."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap import automation
from bootstrap.cli import app
from bootstrap.repo import load_spec
from tests.fakes.stack_ops import RecordingOps

ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with credentials that only moto accepts."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield


@pytest.fixture
def repo_copy(generated_repos: dict[str, Path], tmp_path: Path) -> Callable[..., Path]:
    """A private, writable copy of a generated repo (the session's repos stay read-only)."""

    def copy(target: str = "ecs") -> Path:
        dest = tmp_path / f"{target}-repo" / "shop"
        shutil.copytree(generated_repos[target], dest, symlinks=True)
        return dest

    return copy


class Seam:
    """The recording seam installed for the commands, and a runner for them."""

    def __init__(self, repo: Path, ops: RecordingOps) -> None:
        self.repo = repo
        self.ops = ops
        self.runner = CliRunner()

    def run(self, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return self.runner.invoke(app, [*args, "--repo", str(self.repo)], input=input)


@pytest.fixture
def seam(repo_copy: Callable[..., Path]) -> Iterator[Seam]:
    repo = repo_copy("ecs")
    ops = RecordingOps(load_spec(repo))
    with automation.use_ops(lambda *_: ops):
        yield Seam(repo, ops)


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    """The error a command printed: exactly one line on stderr, no traceback."""
    text = result.stderr.strip()
    assert "Traceback" not in result.output, result.output
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, text
    return lines[0]
