"""The generated repo's own infra tests (infra/tests, Pulumi's mocks, no bootstrap) pass, once per
target, run as a user runs them: `pytest infra/tests` from the repository."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_generated_infra_tests_pass(generated_repos, target):
    repo = generated_repos[target]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "infra/tests", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "warning" not in result.stdout.splitlines()[-1]
