"""The service template as Copier wants it: a git repository with a tag per template version.

The tool ships the template as plain files (templates/service plus the components in stacks/).
Copier can only update a generated repo three ways when the template is a git source with tags,
so the first use of each template version commits it into a local template repository in the
user's cache directory and tags it `v<version>`. The same content always maps to the same tag;
edited content under an unchanged version (a development checkout) gets `v<version>.postN`.

Released template versions also travel with the package: `history.bundle` beside the template
(templates/history.bundle in a checkout, bootstrap/_templates/history.bundle in a wheel) is a git
bundle with one tagged commit per release, appended by `record_release()` when a version is
released. `bootstrap update` finds the version a repo was generated from there even on a machine
whose cache never held it (docs/update.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bootstrap import __version__
from bootstrap.errors import UserError
from bootstrap.gitutil import git

if TYPE_CHECKING:
    from packaging.version import Version

_GIT_CONFIG = (
    "-c", "user.name=bootstrap", "-c", "user.email=bootstrap@localhost",
    "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null",
)  # fmt: skip
GIT_CONFIG = _GIT_CONFIG  # for other modules' throwaway repositories (no hooks, no signing)
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


def template_files(template: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(path inside the template repo, source file) for every file of this version.

    `template` replaces templates/service (a template developer's edited copy, or a test's)."""
    yield from _walk(template or template_dir(), "")
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


def cache_repo() -> Path:
    """The local template repository: every template version this machine has used, tagged."""
    return cache_root() / "template-repo"


def materialize(version: str = __version__, *, template: Path | None = None) -> TemplateRef:
    """Make sure this template version is committed and tagged in the local template repo."""
    repo = cache_repo()
    repo.mkdir(parents=True, exist_ok=True)
    files = list(template_files(template))
    digest = content_digest(files)
    with _locked(repo.parent / "template-repo.lock"):
        if not (repo / ".git").is_dir():
            git(repo, "init", "--quiet", "--initial-branch=main", config=_GIT_CONFIG)
        known = _tags_by_digest(repo)
        if digest in known:
            return TemplateRef(repo, known[digest])
        _replace_tree(repo, files)
        tag = _next_tag(version, set(known.values()))
        git(repo, "add", "--all", "--force", config=_GIT_CONFIG)  # despite template/.gitignore
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


def version_tags(source: Path) -> list[str]:
    """The `v...` tags of a git repository or bundle (empty if it is missing or unreadable)."""
    if not source.exists():
        return []
    where = source if source.is_dir() else source.parent
    try:
        listing = git(where, "ls-remote", "--tags", str(source))
    except UserError:
        return []
    names = (line.split("\t", 1)[1] for line in listing.splitlines() if "\t" in line)
    tags = {n.removeprefix("refs/tags/").removesuffix("^{}") for n in names}
    return sorted(t for t in tags if t.startswith("v"))


def history_bundle() -> Path:
    """The template history shipped with the package (it may not exist in a development checkout)."""
    return template_dir().parent / "history.bundle"


def record_release(
    bundle: Path | None = None, version: str = __version__, *, template: Path | None = None
) -> str:
    """Append this template version to the history bundle as tag `v<version>` (a release step).

    Idempotent for unchanged content; a released version whose content changed is refused, since
    repos generated from it name it by its tag.
    """
    bundle = bundle or history_bundle()
    files = list(template_files(template))
    digest = content_digest(files)
    tag = f"v{version}"
    with tempfile.TemporaryDirectory(prefix="bootstrap-history-") as tmp:
        work = Path(tmp)
        git(work, "init", "--quiet", "--initial-branch=main", config=_GIT_CONFIG)
        if bundle.is_file():
            git(work, "fetch", "--quiet", str(bundle), "refs/tags/*:refs/tags/*")
        known = _tags_by_digest(work)
        if known.get(digest) == tag:
            return tag
        if tag in known.values():
            raise UserError(
                f"template version {tag} is already in {bundle} with other content",
                "a released version cannot change: bump the version before recording a release",
            )
        latest = _latest(known.values())
        if latest:
            git(work, "reset", "--quiet", "--hard", f"refs/tags/{latest}^{{commit}}")
        _replace_tree(work, files)
        git(work, "add", "--all", "--force", config=_GIT_CONFIG)
        git(work, "commit", "--quiet", "--allow-empty", "-m", f"template {tag}", config=_GIT_CONFIG)
        git(work, "tag", "-a", tag, "-m", digest, config=_GIT_CONFIG)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        staged = bundle.with_name(bundle.name + ".tmp")
        git(work, "bundle", "create", "--quiet", str(staged), "--tags")
        os.replace(staged, bundle)
    return tag


def parse_version(tag: str) -> Version | None:
    """The PEP 440 version of a `v<version>` tag, or None for a tag that is not one."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(tag.removeprefix("v"))
    except InvalidVersion:
        return None


def version_key(tag: str) -> tuple[bool, Version, str]:
    """Sort key for `v<version>` tags: PEP 440 order, tags that are not versions first."""
    from packaging.version import Version

    parsed = parse_version(tag)
    return (parsed is not None, parsed or Version("0"), tag)


def _latest(tags: Iterable[str]) -> str | None:
    ordered = sorted(tags, key=version_key)
    return ordered[-1] if ordered else None


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
