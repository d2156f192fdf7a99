"""What `new` tells a user to do next works as printed, and the owner can be set later without
credentials (`bootstrap github owner`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bootstrap.cli import app
from bootstrap.errors import ExitCode
from bootstrap.repo import load_spec
from tests.conftest import git

runner = CliRunner()
PIP_SHIM = """#!/bin/sh
# Stands for the install (which tests/templates/test_generated_service.py runs for real, from the index):
# records what it was asked and checks that pip itself accepts the arguments.
printf '%s\\n' "$*" > "$PIP_ARGS"
exec "$PYTHON" -m pip "$@" --dry-run --no-deps --no-index --no-build-isolation --help > /dev/null
"""


def next_commands(stdout: str) -> list[str]:
    """The commands of the `next:` lines: in backquotes, or written out as `cd X && ...`."""
    commands = []
    for line in stdout.splitlines():
        if line.strip().startswith("next:"):
            commands += re.findall(r"`([^`]+)`", line)
            commands += re.findall(r"(?<!`)(cd \S+ && bootstrap [^(`]+?)(?: \(|$)", line)
    return commands


def test_every_next_step_of_new_works_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    created = runner.invoke(app, ["new", "shop", "--yes"])
    assert created.exit_code == 0, created.output
    repo = tmp_path / "shop"
    ran = set()
    for command in next_commands(created.stdout):
        where, _, rest = command.rpartition(" && ") if "cd " in command else ("", "", command)
        if not rest.startswith("bootstrap "):
            run_shell(command, tmp_path)
            ran.add("pytest")
            continue
        args = [a.replace("OWNER", "acme") for a in shlex.split(rest)[1:]]
        monkeypatch.chdir(repo if where == "cd shop" else tmp_path)
        result = runner.invoke(app, args)
        monkeypatch.chdir(tmp_path)
        ran.add(" ".join(args[:2]))
        if args[0] in ("provision", "doctor"):  # printed as needing credentials: it names them
            assert result.exit_code == ExitCode.CREDENTIALS, result.output
            assert "GITHUB_TOKEN" in result.output and "pulumi" in result.output
        else:
            assert result.exit_code == 0, (command, result.output)
    assert ran == {
        "preview --offline", "cost --all", "github owner", "provision", "doctor", "pytest"
    }
    assert load_spec(repo).owner == "acme"
    assert git(repo, "status", "--porcelain") == ""


def run_shell(command: str, cwd: Path) -> None:
    """The tests step in a shell, as typed: `pip` is the shim above, `pytest` the real one."""
    shims = cwd / "shims"
    shims.mkdir()
    (shims / "pip").write_text(PIP_SHIM)
    (shims / "pip").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "PIP_ARGS": str(cwd / "pip-args"),
        "PYTHONPATH": str(cwd / "shop/app/src"),  # what the editable install provides
    }
    done = subprocess.run(
        ["bash", "-c", command + " -q -p no:cacheprovider"], cwd=cwd, env=env,
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
    assert (cwd / "pip-args").read_text().split() == ["install", "-e", "app[test]"]


# --- the owner, later ----------------------------------------------------------------------------


@pytest.fixture
def ownerless(tmp_path: Path) -> Path:
    from tests.conftest import render

    return render(tmp_path, owner=None)


def test_owner_is_shown_set_and_kept(ownerless: Path) -> None:
    shown = runner.invoke(app, ["github", "owner", "--repo", str(ownerless), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["owner"] is None

    head = git(ownerless, "rev-parse", "HEAD")
    set_ = runner.invoke(app, ["github", "owner", "Acme-Corp", "--repo", str(ownerless), "--json"])
    assert set_.exit_code == 0, set_.output
    document = json.loads(set_.stdout)
    assert document["ok"] is True and document["owner"] == "Acme-Corp"
    assert document["commit"] == git(ownerless, "rev-parse", "HEAD") != head
    answers = yaml.safe_load((ownerless / ".copier-answers.yml").read_text())
    assert answers["owner"] == "Acme-Corp"
    assert git(ownerless, "status", "--porcelain") == ""

    again = runner.invoke(app, ["github", "owner", "acme-corp", "--repo", str(ownerless)])
    assert again.exit_code == 0 and "GitHub owner Acme-Corp" in again.stdout
    assert git(ownerless, "rev-list", "--count", "HEAD") == "2"  # no second commit


def test_owner_of_a_repository_already_on_github_is_githubs(ownerless: Path) -> None:
    record = ownerless / ".bootstrap/github.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"repository": "octo/shop"}))
    result = runner.invoke(app, ["github", "owner", "acme", "--repo", str(ownerless)])
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "already on GitHub as octo/shop" in result.stderr
    assert load_spec(ownerless).owner is None


def test_a_low_layer_fix_gets_the_command_to_rerun_from_the_command_layer(ownerless: Path) -> None:
    (ownerless / "app/NOTES.md").write_text("mine\n")
    result = runner.invoke(app, ["github", "owner", "acme", "--repo", str(ownerless)])
    assert result.exit_code == ExitCode.IN_THE_WAY, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.endswith(
        "has uncommitted changes (app/NOTES.md): commit or stash them; "
        f"then run `bootstrap github owner acme --repo {ownerless}` again"
    )
    assert "github sync" not in line  # the low layer no longer names a command of its own
