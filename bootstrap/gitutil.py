"""Thin helpers around the git CLI (the one outside tool every command needs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bootstrap.errors import ToolMissingError, UserError

# Identity used only when the user has none configured, so a first commit never fails.
FALLBACK_IDENTITY = ("-c", "user.name=bootstrap", "-c", "user.email=bootstrap@localhost")


def git(cwd: Path, *args: str, config: tuple[str, ...] = ()) -> str:
    """Run git and return stdout; a failure becomes a UserError naming the git command."""
    if shutil.which("git") is None:
        raise ToolMissingError("git is not installed", "install git (e.g. apt-get install git)")
    result = subprocess.run(
        ["git", *config, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise UserError(
            f"git {args[0]} failed in {cwd}: {detail[-1] if detail else result.returncode}",
            "check the repository with git status",
        )
    return result.stdout


def identity_config(cwd: Path) -> tuple[str, ...]:
    """The fallback identity, unless the user has one."""
    found = subprocess.run(
        ["git", "config", "--get", "user.email"], cwd=cwd, capture_output=True, check=False
    )
    return () if found.returncode == 0 and found.stdout.strip() else FALLBACK_IDENTITY


def is_dirty(cwd: Path) -> bool:
    return bool(git(cwd, "status", "--porcelain").strip())


def head(cwd: Path) -> str:
    return git(cwd, "rev-parse", "HEAD").strip()
