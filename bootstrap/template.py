"""The service template as Copier wants it: a git repository with a tag per template version.

The tool ships the template as plain files (templates/service plus the components in stacks/).
Copier can only update a generated repo three ways when the template is a git source with tags,
so the first use of each template version commits it into a local template repository in the
user's cache directory and tags it `v<version>`. The same content always maps to the same tag;
edited content under an unchanged version (a development checkout) gets `v<version>.postN`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bootstrap import __version__
from bootstrap.gitutil import git

_GIT_CONFIG = (
    "-c", "user.name=bootstrap", "-c", "user.email=bootstrap@localhost",
    "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null",
)  # fmt: skip
_IGNORED = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


@dataclass(frozen=True)
class TemplateRef:
    path: Path  # a git repository Copier can clone
    ref: str  # the tag of this version


def template_dir() -> Path:
    """templates/service: packaged inside bootstrap/ in a wheel, beside it in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_templates" / "service", here.parent / "templates" / "service"):
        if (candidate / "copier.yml").is_file():
            return candidate
    raise FileNotFoundError("the service template is missing from this installation")


def components_dir() -> Path:
    """The stacks package: the single source of the components every generated repo copies."""
    import stacks

    return Path(stacks.__file__).resolve().parent


def cache_root() -> Path:
    override = os.environ.get("BOOTSTRAP_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("bootstrap"))


def template_files() -> Iterator[tuple[str, Path]]:
    """(path inside the template repo, source file) for every file of this version."""
    yield from _walk(template_dir(), "")
    yield from _walk(components_dir(), "template/infra/stacks/")


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not _IGNORED.intersection(rel.parts) and path.suffix != ".pyc":
            yield prefix + rel.as_posix(), path


def content_digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def materialize(version: str = __version__) -> TemplateRef:
    """Make sure this template version is committed and tagged in the local template repo."""
    repo = cache_root() / "template-repo"
    repo.mkdir(parents=True, exist_ok=True)
    files = list(template_files())
    digest = content_digest(files)
    with _locked(repo.parent / "template-repo.lock"):
        if not (repo / ".git").is_dir():
            git(repo, "init", "--quiet", "--initial-branch=main", config=_GIT_CONFIG)
        known = _tags_by_digest(repo)
        if digest in known:
            return TemplateRef(repo, known[digest])
        _replace_tree(repo, files)
        tag = _next_tag(version, set(known.values()))
        git(repo, "add", "--all", config=_GIT_CONFIG)
        git(repo, "commit", "--quiet", "--allow-empty", "-m", f"template {tag}", config=_GIT_CONFIG)
        git(repo, "tag", "-a", tag, "-m", digest, config=_GIT_CONFIG)
        return TemplateRef(repo, tag)


def _tags_by_digest(repo: Path) -> dict[str, str]:
    if not git(repo, "tag", "--list").strip():
        return {}
    listing = git(repo, "for-each-ref", "refs/tags", "--format=%(refname:short) %(contents:subject)")
    pairs = (line.split(" ", 1) for line in listing.splitlines() if " " in line)
    return {digest.strip(): tag for tag, digest in pairs}


def _next_tag(version: str, taken: set[str]) -> str:
    tag = f"v{version}"
    post = 0
    while tag in taken:
        post += 1
        tag = f"v{version}.post{post}"
    return tag


def _replace_tree(repo: Path, files: list[tuple[str, Path]]) -> None:
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for name, source in files:
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


class _locked:
    """An exclusive file lock, so parallel runs (and test workers) share one template repo."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.handle = self.path.open("w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
