"""Template versions as tagged git repositories, and repos generated from them.

The small template keeps the real template's copier.yml (questions, delimiters, subdirectory,
answers file), so the repos it renders look to `bootstrap update` like real generated repos.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bootstrap.template import template_dir
from tests.conftest import git

ANSWERS_TEMPLATE = "[[ _copier_conf.answers_file ]].jinja"

ANSWERS = {
    "project_name": "shop",
    "owner": "acme",
    "target": "ecs",
    "stages": [
        {"name": "dev", "manual": False, "target": "ecs"},
        {"name": "prod", "manual": True, "target": "ecs"},
    ],
    "region": "eu-west-1",
    "backend": "",
    "trust_subject": "environment",
    "tool_version": "0.1.0",
}

MAIN_V1 = '''"""The [[ project_name ]] service."""

GREETING = "hello"


def handler():
    return GREETING


def health():
    return "ok"
'''
MAIN_V2 = MAIN_V1.replace('GREETING = "hello"', 'GREETING = "hello from v2"')
USER_FUNCTION = '\n\ndef extra():\n    return "added by the user"\n'

INFRA_V1 = '''"""Infra program of [[ project_name ]]."""

SIZE = "small"
'''
INFRA_V2 = INFRA_V1.replace('SIZE = "small"', 'SIZE = "medium"')

WORKFLOW = "name: build [[ project_name ]]\non: push\njobs: {}\n"


def v1_files() -> dict[str, str]:
    return {
        ANSWERS_TEMPLATE: (template_dir() / "template" / ANSWERS_TEMPLATE).read_text(),
        "app/main.py.jinja": MAIN_V1,
        "app/retired.txt": "the template drops this file in v2\n",
        "infra/__main__.py.jinja": INFRA_V1,
        ".github/workflows/build.yml.jinja": WORKFLOW,
    }


def v2_files() -> dict[str, str]:
    files = v1_files()
    del files["app/retired.txt"]
    files["app/main.py.jinja"] = MAIN_V2
    files["infra/__main__.py.jinja"] = INFRA_V2
    files["app/NEW_IN_V2.md"] = "a file the template added in v2\n"
    return files


def build_template(path: Path, versions: list[tuple[str, dict[str, str]]]) -> Path:
    """A template repository with one commit and annotated tag per (tag, files)."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    copier_yml = (template_dir() / "copier.yml").read_text()
    for tag, files in versions:
        for child in path.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        (path / "copier.yml").write_text(copier_yml)
        for name, text in files.items():
            target = path / "template" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(path, "add", "--all")
        git(path, "commit", "--quiet", "-m", f"template {tag}")
        git(path, "tag", "-a", tag, "-m", tag)
    return path


def generate(template: Path, tag: str, dest: Path) -> Path:
    """Render like `bootstrap new` does: copier copy, then one commit named like scaffold's."""
    import copier

    copier.run_copy(
        str(template),
        dest,
        data=dict(ANSWERS),
        vcs_ref=tag,
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=True,  # the template's own Jinja extension
    )
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "Scaffold shop with bootstrap 0.1.0")
    return dest


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)


def snapshot(repo: Path) -> dict[str, object]:
    """Everything `nothing was changed` promises: files, HEAD, index and status."""
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    return {
        "files": files,
        "head": git(repo, "rev-parse", "HEAD"),
        "index": git(repo, "ls-files", "--stage"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
    }


@pytest.fixture
def template_v1_v2(tmp_path: Path) -> Path:
    return build_template(tmp_path / "template", [("v1.0.0", v1_files()), ("v2.0.0", v2_files())])


@pytest.fixture
def generated(tmp_path: Path, template_v1_v2: Path) -> Path:
    """A repo generated from v1.0.0, updated from the two-version template repo."""
    return generate(template_v1_v2, "v1.0.0", tmp_path / "shop")


def edit_without_overlap(repo: Path) -> None:
    """A user change in a file the template also changes, far from the template's lines."""
    main = repo / "app" / "main.py"
    main.write_text(main.read_text() + USER_FUNCTION)


def edit_with_conflict(repo: Path) -> None:
    """A user change on the very line the template changes."""
    infra = repo / "infra" / "__main__.py"
    infra.write_text(infra.read_text().replace('SIZE = "small"', 'SIZE = "large"'))
