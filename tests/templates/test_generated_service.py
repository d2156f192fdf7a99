"""The generated repo is a product too: its own tests pass, its Dockerfile and app lint clean."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_dockerfile_passes_hadolint(generated_repos: dict[str, Path], target: str) -> None:
    done = run([str(BIN / "hadolint"), "--failure-threshold", "info", "Dockerfile"],
               generated_repos[target])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_hadolint_really_checks(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:latest\nRUN pip install flask\n")
    done = run([str(BIN / "hadolint"), "Dockerfile"], tmp_path)
    assert done.returncode != 0
    assert "DL3007" in done.stdout


def test_dockerfile_properties(generated_repos: dict[str, Path]) -> None:
    text = (generated_repos["ecs"] / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) >= 2  # multi-stage
    assert all(":" in image and not image.endswith(":latest") for image in froms)  # pinned
    assert "USER 10001" in text  # non-root
    assert "HEALTHCHECK" in text
    assert "/opt/extensions/lambda-adapter" in text  # the same image serves on Lambda


def test_generated_app_lints_clean(generated_repos: dict[str, Path]) -> None:
    repo = generated_repos["ecs"]
    done = run([str(BIN / "ruff"), "check", "--no-cache", "app"], repo)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_repo_is_clean_and_on_main(generated_repos: dict[str, Path]) -> None:
    repo = generated_repos["lambda"]
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    assert run(["git", "branch", "--show-current"], repo).stdout.strip() == "main"


@pytest.mark.slow
def test_install_and_test_in_a_fresh_venv(generated_repos: dict[str, Path], tmp_path: Path) -> None:
    """Exactly what the generated README says: pip install -e 'app[test,acceptance]' && pytest
    app; then the acceptance suite on its own against the app served. One target's repo speaks
    for all three: their app/ and acceptance/ are byte for byte the same
    (tests/templates/acceptance/test_suite.py::test_every_target_serves_the_same_app_and_suite)."""
    repo = generated_repos["ecs"]
    work = tmp_path / "repo"
    assert run(["git", "clone", "--quiet", str(repo), str(work)], tmp_path).returncode == 0
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv/bin/python"
    install = run([str(python), "-m", "pip", "install", "--quiet", "-e", "app[test,acceptance]"],
                  work, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    done = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "app"], work)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 passed" in done.stdout
    from tests.templates.acceptance.served import QUICK, serve, set_config

    set_config(work, "dev", **QUICK)
    with serve(work, python=str(python)) as url:
        suite = run([str(python), "-m", "pytest", "acceptance", "--base-url", url, "--stage", "dev"],
                    work, timeout=300)
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "acceptance passed" in suite.stdout and "10 passed" in suite.stdout
