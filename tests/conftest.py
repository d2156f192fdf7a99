"""Shared fixtures: every test runs with its own HOME, git config and no real credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bootstrap import spec as spec_mod
from bootstrap.scaffold import Scaffolder

# The local fake GitHub server (fixture `github_server`) is available to every test.
pytest_plugins = ["tests.fakes.github_server"]

# The project checkout (docs, stacks, templates), wherever a test file sits below tests/.
REPO_ROOT = Path(__file__).resolve().parents[1]

# Variables that could carry real credentials or settings into a test.
_LEAKY_PREFIXES = ("AWS_", "GITHUB_", "GH_", "PULUMI_", "GIT_", "BOOTSTRAP_", "XDG_")


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One template repo for the whole session (materialize is locked, so workers share it)."""
    return tmp_path_factory.getbasetemp().parent / "template-cache"


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, template_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("BOOTSTRAP_CACHE_DIR", str(template_cache))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Botocore must never find real credentials; moto-based tests set their own.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield home


def make_spec(**overrides: object) -> spec_mod.Spec:
    options: dict[str, object] = {
        "name": "shop",
        "owner": "acme",
        "target": "ecs",
        "stages": "dev,test,prod",
        "manual": None,
        "region": "eu-west-1",
        "backend": None,
    }
    options.update(overrides)
    return spec_mod.from_options(**options)  # type: ignore[arg-type]


def render(parent: Path, **overrides: object) -> Path:
    """Scaffold a real generated repo under `parent` and return its path."""
    spec = make_spec(**overrides)
    return Scaffolder(spec, parent / spec.name).run().path


@pytest.fixture(scope="session")
def generated_repos(tmp_path_factory: pytest.TempPathFactory, template_cache: Path) -> dict[str, Path]:
    """One rendered 3-stage repo per target, shared read-only by tests that only inspect files."""
    repos = {}
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("session-home")
        (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("BOOTSTRAP_CACHE_DIR", str(template_cache))
        for target in ("ecs", "eks", "lambda"):
            parent = tmp_path_factory.mktemp(f"generated-{target}")
            repos[target] = render(parent, target=target)
    return repos
