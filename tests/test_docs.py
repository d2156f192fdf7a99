"""The docs stay true: every file and Python name they point to exists, and every figure they
quote is the one the tests measure."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCS = sorted((REPO_ROOT / "docs").glob("*.md")) + [
    REPO_ROOT / "README.md",
    REPO_ROOT / "CONTRIBUTING.md",
]
# A path of this checkout, in prose or backquotes (`infra/...` and `.github/...` are the
# generated repo's; `<...>`, `*` and `{...}` are patterns).
_PATH = re.compile(r"(?<![\w/.-])((?:bootstrap|stacks|tests|templates|bench|scripts|docs)/[\w./-]*)")
_NAME = re.compile(r"`((?:bootstrap|stacks)(?:\.[A-Za-z_]\w*)+)")
# Made when a release is recorded (docs/update.md), not kept in the checkout.
_FILE_ENDINGS = {"md", "py", "json", "yml", "yaml", "sh"}  # `stacks.md` is a file, not a name
_MADE_AT_RELEASE = {"bootstrap/_templates/history.bundle", "templates/history.bundle"}


def _text(doc: Path) -> str:
    return doc.read_text()


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of the longest module prefix that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                found = getattr(found, attribute)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_and_name_a_doc_names_exists(doc: Path) -> None:
    text = _text(doc)
    missing = [
        path
        for match in _PATH.finditer(text)
        if (path := match.group(1).rstrip(".,:;")) not in _MADE_AT_RELEASE
        and not (REPO_ROOT / path).exists()
    ]
    names = [n for n in _NAME.findall(text) if n.rsplit(".", 1)[-1] not in _FILE_ENDINGS]
    missing += [f"`{name}`" for name in names if not _resolves(name)]
    assert missing == [], f"{doc.name} names what does not exist"


def test_a_missing_path_or_name_is_found() -> None:
    """The check itself can fail."""
    assert not (REPO_ROOT / "bootstrap/mockrun.py").exists()
    assert _PATH.findall("see bootstrap/mockrun.py, and") == ["bootstrap/mockrun.py"]
    assert not _resolves("bootstrap.lifecycle.no_such_function")
    assert _resolves("bootstrap.lifecycle.workload_only_hint")


# --- the figures ----------------------------------------------------------------------------------


def _row(text: str, first_cell: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell}"))
    return [cell.strip(" *") for cell in line.strip("|").split("|")]


def test_the_write_counts_are_the_measured_ones() -> None:
    from tests.bootstrap.github.conftest import FRESH_WRITES
    from tests.bootstrap.provision.conftest import (
        ARCHIVE_WRITES,
        GITHUB_WRITES,
        PULUMI_UPS,
        RENAME_UPS,
        S3_WRITES,
        STAGES,
    )

    provision = _text(REPO_ROOT / "docs/provision.md")
    full = [GITHUB_WRITES, S3_WRITES, PULUMI_UPS, GITHUB_WRITES + S3_WRITES + PULUMI_UPS]
    assert _row(provision, "full run")[1:] == [str(n) for n in full]
    drifted = provision.replace(f"| {GITHUB_WRITES} | {S3_WRITES} |", f"| {GITHUB_WRITES + 1} | {S3_WRITES} |")
    assert _row(drifted, "full run")[1:] != [str(n) for n in full]  # a drifted figure is seen
    assert _row(provision, "resumed no-op run")[1:] == ["0", "0", "0", "0"]
    assert _row(provision, "after a rename")[1:4] == ["0", "0", str(RENAME_UPS)]
    assert f'"total": {full[-1]}' in provision
    assert f"{ARCHIVE_WRITES} writes for {len(STAGES)} stages" in provision
    github = _text(REPO_ROOT / "docs/github.md")
    assert f"makes {FRESH_WRITES} API writes" in github
    assert 8 + 6 * len(STAGES) == FRESH_WRITES  # the formula both docs give
    assert "`8 + 6 × stages`" in provision and "`8 + 6 × stages`" in github


def test_the_workflow_test_matrix_is_the_one_quoted() -> None:
    from tests.templates.workflows.conftest import CASES

    workflows = _text(REPO_ROOT / "docs/workflows.md")
    assert f"{len(CASES)} rendered repositories" in workflows
    assert f"all {5 * len(CASES)} workflow files" in workflows


def test_the_readme_names_every_command() -> None:
    """The README's command table lists every command the CLI has, and no other."""
    from bootstrap.cli import app

    readme = _text(REPO_ROOT / "README.md")
    listed = set(re.findall(r"^\| `bootstrap ([a-z]+)", readme, re.M))
    commands = {command.name for command in app.registered_commands}
    groups = {group.name for group in app.registered_groups}
    assert listed == commands | groups
