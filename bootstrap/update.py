"""`bootstrap update`: bring a generated repo up to a newer template version, keeping the user's
edits, with Copier's three-way merge. All or nothing (DESIGN.md, principle 7).

Copier needs the template version that generated the repo (`_commit` in `.copier-answers.yml`)
and the new one in one git source. The old version is looked up, in order, in the template
repository the repo names (`_src_path`), the local template cache, and the template history
shipped with the package; failing those it is rebuilt from the repo's own first commit, the
pristine render made by `bootstrap new` (docs/update.md).

The merge runs in a temporary clone of the repo; only its result, as one `git apply` (atomic),
reaches the user's working tree, and any failure after that restores the touched paths.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bootstrap import __version__
from bootstrap import template as tpl
from bootstrap.errors import TargetExistsError, UserError
from bootstrap.gitutil import git, identity_config
from bootstrap.repo import ANSWERS_FILE, read_answers

# A git repository with `v<version>` tags to update from instead of the installed template
# (a template developer's checkout, or the tests' template versions).
TEMPLATE_REPO_ENV = "BOOTSTRAP_TEMPLATE_REPO"

# How `bootstrap new` names its commit: the root commit that is a pristine render.
_SCAFFOLD_PREFIX = "Scaffold "
_SCAFFOLD_MARK = " with bootstrap "

# The template rebuilt from a pristine render: every file is copied verbatim (no file has the
# template suffix and no name holds the delimiters), the answers file included.
_VERBATIM_CONFIG = """\
# Rebuilt by `bootstrap update` from the repository's first commit (a pristine render).
_subdirectory: template
_templates_suffix: .bootstrap-verbatim
_preserve_symlinks: true
_answers_file: .copier-answers.yml
_envops:
  block_start_string: "\u27e6%"
  block_end_string: "%\u27e7"
  variable_start_string: "\u27e6\u27e6"
  variable_end_string: "\u27e7\u27e7"
  comment_start_string: "\u27e6#"
  comment_end_string: "#\u27e7"
"""

Status = Literal["up-to-date", "dry-run", "updated", "committed", "conflicts"]
ChangeKind = Literal["added", "modified", "deleted"]
_KINDS: dict[str, ChangeKind] = {"A": "added", "M": "modified", "D": "deleted", "T": "modified"}


@dataclass(frozen=True)
class Found:
    """Where one template version was found."""

    tag: str
    kind: str  # installed, override, recorded, cache, history, repo-history
    location: Path | None  # a git repo or bundle holding the tag; None when rebuilt
    commit: str | None = None  # repo-history: the pristine render commit


@dataclass(frozen=True)
class Change:
    path: str  # relative to the top of the git repository
    change: ChangeKind


@dataclass
class UpdateResult:
    repo: Path
    old: str
    new: str
    status: Status
    old_source: str = ""
    new_source: str = ""
    changes: list[Change] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    commit: str | None = None
    diff: str = ""
    top: Path | None = None
    orig: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": str(self.repo),
            "status": self.status,
            "from": self.old,
            "to": self.new,
            "old_source": self.old_source,
            "new_source": self.new_source,
            "changes": [{"path": c.path, "change": c.change} for c in self.changes],
            "conflicts": self.conflicts,
            "commit": self.commit,
            **({"diff": self.diff} if self.status == "dry-run" else {}),
        }


def template_info(repo: Path) -> dict[str, Any]:
    """The template and tool versions recorded in a generated repo, for `bootstrap status`."""
    answers = read_answers(repo)
    ref = str(answers.get("_commit") or "")
    recorded = tpl.parse_version(ref) if ref else None
    installed = tpl.parse_version(__version__)
    return {
        "template": ref or None,
        "template_version": str(recorded) if recorded else None,
        "tool_version": answers.get("tool_version"),
        "installed_tool_version": __version__,
        "update_available": bool(recorded and installed and installed > recorded),
    }


def update(
    repo: Path,
    *,
    to: str | None = None,
    dry_run: bool = False,
    commit: bool = False,
    template_repo: Path | None = None,
) -> UpdateResult:
    """Update `repo` to template version `to` (default: the installed tool's).

    `commit=True` commits an update that merged without conflicts. Conflicts are left marked in
    the files (and as unmerged index entries); the result's status says so.
    """
    repo = repo.resolve()
    top, sub = _git_location(repo)
    answers = read_answers(repo)
    old_tag = str(answers.get("_commit") or "")
    if not old_tag:
        raise UserError(
            f"{repo / ANSWERS_FILE} does not record the template version (_commit)",
            "restore it from git history (git log -p -- .copier-answers.yml)",
        )
    override = template_repo or _env_template_repo()
    sources = _sources(answers, override)
    new = _resolve_target(to, sources, override)
    result = UpdateResult(repo, old_tag, new.tag, "up-to-date", new_source=new.kind, top=top)
    if new.tag == old_tag:
        return result
    _check_clean(top, sub, repo)
    result.orig = orig = git(top, "rev-parse", "HEAD").strip()
    _check_direction(old_tag, new.tag)
    old = _find_old(old_tag, sources, top, sub)
    result.old_source = old.kind

    with tempfile.TemporaryDirectory(prefix="bootstrap-update-") as tmp:
        source = Path(tmp) / "template"
        _assemble_source(source, old, new, top)
        work = Path(tmp) / "work"
        _clone(top, work, orig)
        _run_copier(work / sub, source, new)
        unmerged = _unmerged(work)
        result.conflicts = sorted({path for *_, path in unmerged})
        spec = sub or "."
        _run(work, "add", "--all", "--", spec)  # like `new`: ignored files stay out
        result.changes = _changes(work, orig, spec)
        if dry_run:
            result.status = "dry-run"
            diff = _run(work, "diff", *_DIFF_OPTS, "--cached", orig, "--", spec)
            result.diff = diff.decode(errors="replace")
            return result
        patch = _run(
            work, "diff", *_DIFF_OPTS, "--cached", "--binary", "--full-index", orig, "--", spec
        )
        blobs = {sha: _run(work, "cat-file", "blob", sha) for _, sha, _, _ in unmerged}
        _apply(top, sub, orig, patch, unmerged, blobs, result.changes)

    result.status = "conflicts" if result.conflicts else "updated"
    if commit and not result.conflicts:
        try:
            commit_update(result)
        except BaseException:
            _restore(top, orig, result.changes)  # all or nothing: no half-done update is left
            raise
    return result


def commit_update(result: UpdateResult) -> str:
    """Commit an applied update that has no conflicts; on failure the update stays uncommitted."""
    assert result.top is not None and result.status == "updated"
    paths = [c.path for c in result.changes]
    _run(result.top, "add", "--all", "--", *paths)
    message = f"Update template {result.old} to {result.new} (bootstrap {__version__})"
    git(result.top, "commit", "--quiet", "--no-verify", "-m", message,
        config=identity_config(result.top))  # fmt: skip
    result.commit = git(result.top, "rev-parse", "HEAD").strip()
    result.status = "committed"
    return result.commit


# --- finding the repository and the template versions ---------------------------------------


def _git_location(repo: Path) -> tuple[Path, str]:
    """The top of the git repository holding `repo`, and `repo` relative to it ('' if the top)."""
    try:
        top = Path(git(repo, "rev-parse", "--show-toplevel").strip()).resolve()
        git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    except UserError:
        raise UserError(
            f"{repo} has no git history, which `bootstrap update` needs to merge",
            "commit it first (`git init && git add -A && git commit -m 'Initial commit'`)",
        ) from None
    sub = repo.relative_to(top).as_posix()
    return top, "" if sub == "." else sub


def _check_clean(top: Path, sub: str, repo: Path) -> None:
    status = git(top, "status", "--porcelain", "--untracked-files=all", "--", sub or ".")
    if status.strip():
        files = [line[3:] for line in status.splitlines()]
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        raise TargetExistsError(
            f"{repo} has uncommitted changes ({shown}); nothing was changed",
            "commit or stash them, then run `bootstrap update` again",
        )


def _env_template_repo() -> Path | None:
    value = os.environ.get(TEMPLATE_REPO_ENV)
    return Path(value).expanduser().resolve() if value else None


def _sources(answers: dict[str, object], override: Path | None) -> list[tuple[str, Path]]:
    """Where template versions are looked up, in order; only local paths, never the network."""
    candidates: list[tuple[str, Path]] = []
    if override is not None:
        candidates.append(("override", override))
    recorded = answers.get("_src_path")
    if isinstance(recorded, str) and recorded and Path(recorded).is_absolute():
        candidates.append(("recorded", Path(recorded)))
    candidates += [("cache", tpl.cache_repo()), ("history", tpl.history_bundle())]
    seen: set[Path] = set()
    unique = []
    for kind, path in candidates:
        if path.exists() and path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((kind, path))
    return unique


def _as_tag(version: str) -> str:
    return version if version.startswith("v") else f"v{version}"


def _resolve_target(
    to: str | None, sources: list[tuple[str, Path]], override: Path | None
) -> Found:
    if to is None:
        if override is None:
            ref = tpl.materialize()
            return Found(ref.ref, "installed", ref.path)
        tags = tpl.version_tags(override)
        if not tags:
            raise UserError(
                f"{override} has no v<version> tags to update to",
                f"tag a template version there (git tag v1.0.0), or unset {TEMPLATE_REPO_ENV}",
            )
        return Found(max(tags, key=tpl.version_key), "override", override)
    tag = _as_tag(to)
    if override is None and tag == f"v{__version__}":
        ref = tpl.materialize()
        return Found(ref.ref, "installed", ref.path)
    for kind, location in sources:
        if tag in tpl.version_tags(location):
            return Found(tag, kind, location)
    known = sorted({t for _, loc in sources for t in tpl.version_tags(loc)}, key=tpl.version_key)
    raise UserError(
        f"template version {tag} is not available on this machine"
        f" (available: {', '.join(known) or 'none'})",
        f"install bootstrap-pipeline=={tag.removeprefix('v')} and run `bootstrap update` without --to",
    )


def _check_direction(old: str, new: str) -> None:
    old_v, new_v = tpl.parse_version(old), tpl.parse_version(new)
    if old_v is not None and new_v is not None and new_v < old_v:
        raise UserError(
            f"the repo is at template {old}, newer than {new}; downgrades are not supported",
            "upgrade bootstrap (pip install -U bootstrap-pipeline) or pass --to a newer version",
        )


def _find_old(tag: str, sources: list[tuple[str, Path]], top: Path, sub: str) -> Found:
    for kind, location in sources:
        if tag in tpl.version_tags(location):
            return Found(tag, kind, location)
    root = _pristine_render(top, sub, tag)
    if root is not None:
        return Found(tag, "repo-history", None, root)
    raise UserError(
        f"template {tag}, which generated this repo, is not available on this machine, and the "
        "repo's first commit is not its pristine render",
        f"install bootstrap-pipeline=={tag.removeprefix('v')}, run `bootstrap update` once "
        "(it caches that template version), then upgrade and update again",
    )


def _pristine_render(top: Path, sub: str, tag: str) -> str | None:
    """The root commit made by `bootstrap new` for template `tag`, if it is untouched."""
    import yaml

    if sub:
        return None  # a generated repo inside another repository has no render commit of its own
    for root in git(top, "rev-list", "--max-parents=0", "HEAD").split():
        log = git(top, "log", "-1", "--format=%s%n%ad%n%cd", "--date=raw", root).splitlines()
        subject, authored, committed = [*log, "", ""][:3]
        if not (subject.startswith(_SCAFFOLD_PREFIX) and _SCAFFOLD_MARK in subject):
            continue
        if authored != committed:
            continue  # amended or rewritten: no longer a pristine render
        try:
            data = yaml.safe_load(git(top, "show", f"{root}:{ANSWERS_FILE}"))
        except (UserError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("_commit") == tag:
            return root
    return None


# --- the merge, in temporary directories ---------------------------------------------------------


def _assemble_source(dest: Path, old: Found, new: Found, top: Path) -> None:
    """One git repository holding both versions as tags, which is what Copier updates from."""
    dest.mkdir()
    git(dest, "init", "--quiet", "--initial-branch=main", config=tpl.GIT_CONFIG)
    if old.location is None:
        assert old.commit is not None
        _rebuild_from_render(dest, top, old.commit, old.tag)
    for found in (old, new):
        if found.location is not None:
            refspec = f"+refs/tags/{found.tag}:refs/tags/{found.tag}"
            _run(dest, "fetch", "--quiet", "--no-tags", str(found.location), refspec)
    _run(dest, "checkout", "--quiet", "--force", "-B", "main", f"refs/tags/{new.tag}^{{commit}}")


def _rebuild_from_render(dest: Path, top: Path, commit: str, tag: str) -> None:
    """A template that renders exactly the files of `commit` (whatever the answers)."""
    files = dest / "template"
    files.mkdir()
    index = dest / ".git" / "render-index"
    env = {"GIT_INDEX_FILE": str(index)}  # never the user's index
    _run(top, "read-tree", commit, env=env)
    _run(top, "checkout-index", "--all", "--force", f"--prefix={files}/", env=env)
    index.unlink()
    (dest / "copier.yml").write_text(_VERBATIM_CONFIG, encoding="utf-8")
    git(dest, "add", "--all", "--force", config=tpl.GIT_CONFIG)
    message = f"template {tag}, rebuilt from the pristine render {commit}"
    git(dest, "commit", "--quiet", "--no-verify", "-m", message, config=tpl.GIT_CONFIG)
    git(dest, "tag", "-a", tag, "-m", message, config=tpl.GIT_CONFIG)


def _clone(top: Path, work: Path, orig: str) -> None:
    """A throwaway clone at `orig` that borrows the repo's objects (no copy, no hooks)."""
    git(top.parent, "clone", "--quiet", "--shared", "--no-checkout", str(top), str(work),
        config=tpl.GIT_CONFIG)  # fmt: skip
    git(work, "checkout", "--quiet", "--detach", orig, config=tpl.GIT_CONFIG)


def _run_copier(work_repo: Path, source: Path, new: Found) -> None:
    import copier
    from jinja2 import TemplateError
    from plumbum import ProcessExecutionError

    answers = work_repo / ANSWERS_FILE
    _set_src_path(answers, str(source))
    git(work_repo, "commit", "--quiet", "--no-verify", "-am", "point at the update source",
        config=tpl.GIT_CONFIG)  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copier.run_update(
                work_repo,
                data={"tool_version": __version__},
                vcs_ref=new.tag,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                conflict="inline",
                context_lines=3,
                unsafe=True,  # the template's own Jinja extension (bootstrap.template_context)
                quiet=True,
            )
    except (copier.errors.CopierError, ProcessExecutionError, TemplateError) as exc:
        detail = str(exc).strip().splitlines()
        raise UserError(
            f"the template merge failed ({detail[-1] if detail else type(exc).__name__}); "
            "nothing was changed",
            "run again with --verbose and report it",
        ) from exc
    assert new.location is not None
    _set_src_path(answers, str(new.location))


def _set_src_path(answers: Path, value: str) -> None:
    """Point `_src_path` in the answers file at `value`, leaving every other line as it is."""
    import yaml

    line = yaml.safe_dump({"_src_path": value}, default_flow_style=False, width=10**6).strip()
    lines = answers.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, text in enumerate(lines):
        if text.startswith("_src_path:"):
            lines[index] = line + "\n"
            break
    else:
        lines.append(line + "\n")
    answers.write_text("".join(lines), encoding="utf-8")


_DIFF_OPTS = ("--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
              "--src-prefix=a/", "--dst-prefix=b/")  # fmt: skip


def _unmerged(work: Path) -> list[tuple[str, str, str, str]]:
    """(mode, blob, stage, path) of the unmerged index entries Copier left for conflicts."""
    entries = []
    for record in _run(work, "ls-files", "--unmerged", "-z").decode().split("\0"):
        if "\t" in record:
            meta, path = record.split("\t", 1)
            mode, sha, stage = meta.split()
            entries.append((mode, sha, stage, path))
    return entries


def _changes(work: Path, orig: str, spec: str) -> list[Change]:
    fields = _run(work, "diff", "--cached", "--name-status", "-z", "--no-renames", orig, "--", spec)
    items = fields.decode().split("\0")
    return [
        Change(path, _KINDS.get(status[:1], "modified"))
        for status, path in zip(items[0::2], items[1::2], strict=False)
        if status
    ]


# --- applying the result to the user's repository ------------------------------------------------


def _apply(
    top: Path,
    sub: str,
    orig: str,
    patch: bytes,
    unmerged: list[tuple[str, str, str, str]],
    blobs: dict[str, bytes],
    changes: list[Change],
) -> None:
    """Apply the merged result to the working tree; restore the touched paths on any failure."""
    if git(top, "rev-parse", "HEAD").strip() != orig:
        raise UserError(
            f"{top} moved to another commit while updating; nothing was changed",
            "run `bootstrap update` again",
        )
    _check_clean(top, sub, top / sub)
    if not patch.strip():
        return
    # `git apply` checks every hunk before writing anything: it applies all or nothing.
    _run(top, "apply", "--whitespace=nowarn", "-", stdin=patch)
    try:
        if unmerged:
            for blob in blobs.values():
                _run(top, "hash-object", "-w", "--stdin", stdin=blob)
            lines = []
            for path in dict.fromkeys(path for *_, path in unmerged):
                lines.append(f"0 {'0' * 40}\t{path}")
            lines += [f"{mode} {sha} {stage}\t{path}" for mode, sha, stage, path in unmerged]
            _run(top, "update-index", "-z", "--index-info", stdin="\0".join(lines).encode() + b"\0")
    except BaseException:
        _restore(top, orig, changes)
        raise


def _restore(top: Path, orig: str, changes: list[Change]) -> None:
    """Put the touched paths back as they were at `orig` (the tree was clean before)."""
    existing = [c.path for c in changes if c.change != "added"]
    added = [c.path for c in changes if c.change == "added"]
    if existing:
        _run(top, "checkout", orig, "--", *existing, check=False)
    if added:
        _run(top, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", *added, check=False)
        for path in added:
            (top / path).unlink(missing_ok=True)


def _run(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """git with bytes in and out, literal pathspecs, and a one-line UserError on failure."""
    full_env = {**os.environ, "GIT_LITERAL_PATHSPECS": "1", **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, env=full_env, check=False
    )
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UserError(
            f"git {args[0]} failed in {cwd}: {detail[-1] if detail else proc.returncode}",
            "check the repository with git status",
        )
    return proc.stdout
