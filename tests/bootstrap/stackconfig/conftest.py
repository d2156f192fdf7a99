"""Writable copies of the session's generated repos."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def repo_of(generated_repos: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    """A private copy of the generated 3-stage repo of a target (the session's stay read-only)."""

    def copy(target: str = "ecs") -> Path:
        dest = tmp_path / target / "shop"
        if not dest.exists():
            shutil.copytree(generated_repos[target], dest, symlinks=True, ignore=_heavy)
        return dest

    return copy


def _heavy(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in (".git", "app", "__pycache__")]
