"""Shared fixtures: every test runs with its own HOME, git config and no real credentials."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bootstrap import spec as spec_mod
from bootstrap.scaffold import Scaffolder

# The local fake GitHub server (fixture `github_server`) is available to every test.
pytest_plugins = ["tests.fakes.github_server"]

# The project checkout (docs, stacks, templates), wherever a test file sits below tests/.
REPO_ROOT = Path(__file__).resolve().parents[1]

# Variables that could carry real credentials or settings into a test.
_LEAKY_PREFIXES = ("AWS_", "GITHUB_", "GH_", "PULUMI_", "GIT_", "BOOTSTRAP_", "XDG_")


# The longest tests (`pytest --durations=20`), started first: with two workers, a test of half a
# minute collected last would run alone at the end while the other worker idles.
_LONGEST = (
    "tests/templates/test_generated_service.py::test_install_and_test_in_a_fresh_venv",
    "tests/bootstrap/commands/test_next_steps.py::test_every_next_step_of_new_works_as_printed",
    "tests/templates/acceptance/test_suite.py::test_the_suite_passes_against_the_app_of_every_target",
    "tests/bootstrap/provision/test_flow.py::test_a_rename_after_provisioning_moves_every_role_s_trust",
    "tests/bootstrap/provision/test_accounts.py::test_a_stage_in_its_own_account_end_to_end_then_a_no_op_run",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {nodeid: index for index, nodeid in enumerate(_LONGEST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))


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


def git(repo: Path, *args: str) -> str:
    """git's output in `repo` (a test's look at a repository; it must succeed)."""
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


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


def set_config(config: dict[str, Any], changes: Mapping[str, Any], project: str = "shop") -> dict[str, Any]:
    """Set (or, with None, remove) stack config keys; keys without a namespace are `project`'s."""
    for key, value in changes.items():
        qualified = key if ":" in key else f"{project}:{key}"
        if value is None:
            config.pop(qualified, None)
        else:
            config[qualified] = value
    return config


def mixed_spec(**overrides: object) -> spec_mod.Spec:
    """A project whose stages run on different targets (dev lambda, test eks, prod ecs), with
    its state in S3."""
    stages = (
        spec_mod.Stage(name="dev", manual=False, target=spec_mod.Target.LAMBDA),
        spec_mod.Stage(name="test", manual=False, target=spec_mod.Target.EKS),
        spec_mod.Stage(name="prod", manual=True, target=spec_mod.Target.ECS),
    )
    options: dict[str, object] = {
        "name": "shop",
        "owner": "acme",
        "target": "ecs",
        "stages": stages,
        "region": "eu-west-1",
        "backend": "s3://acme-pulumi-state/infra",
        "trust_subject": "environment",
    }
    options.update(overrides)
    return spec_mod.build(**options)  # type: ignore[arg-type]


def isolated_git(patch: pytest.MonkeyPatch, home: Path, template_cache: Path) -> None:
    """For renders in session- and module-scoped fixtures (which have no `monkeypatch`): a git
    identity of the tests' own, and the session's template cache."""
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    patch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    patch.setenv("BOOTSTRAP_CACHE_DIR", str(template_cache))


def render(parent: Path, **overrides: object) -> Path:
    """Scaffold a real generated repo under `parent` and return its path."""
    spec = make_spec(**overrides)
    return Scaffolder(spec, parent / spec.name).run().path


@pytest.fixture(scope="session")
def generated_repos(tmp_path_factory: pytest.TempPathFactory, template_cache: Path) -> dict[str, Path]:
    """One rendered 3-stage repo per target, shared read-only by tests that only inspect files."""
    repos = {}
    with pytest.MonkeyPatch.context() as patch:
        isolated_git(patch, tmp_path_factory.mktemp("session-home"), template_cache)
        for target in ("ecs", "eks", "lambda"):
            parent = tmp_path_factory.mktemp(f"generated-{target}")
            repos[target] = render(parent, target=target)
    return repos
