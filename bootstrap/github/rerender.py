"""Local changes made by provisioning, all committed and free of secrets.

1. A changed Copier answer (`github_subject_prefix` and `github_oidc_issuer` as GitHub tells them,
   `trust_subject` when GitHub has no environments for the repository, `owner` when the repo was
   generated without one or was transferred, `backend` when provisioning picks one) is applied
   the way Copier applies any changed answer: `copier update` at the repo's *own* template
   version with the new values. So everything rendered from those answers changes together:
   `.copier-answers.yml`, the stacks' facts in `infra/Pulumi.yaml`, the workflows and the
   README; the user's own edits are kept by Copier's three-way merge.
2. The record `.bootstrap/github.json` says what provisioning found and chose (repository by
   name and ID, API URL, whether environments and required reviewers are available, the trust
   subject), so later runs, `status` and `provision` agree without asking GitHub again.
3. Both are committed by the tool, before `main` is pushed, so GitHub receives a consistent repo.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bootstrap.errors import ConflictError, TargetExistsError, UserError
from bootstrap.gitutil import git, identity_config

RECORD = Path(".bootstrap") / "github.json"
RECORD_COMMENT = (
    "Written by `bootstrap github sync`: what GitHub provisioning found and chose. "
    "No secrets. See docs/github.md."
)


def read_record(repo: Path) -> dict[str, Any]:
    """The record of a previous provisioning run, or {} when there is none; a broken one is
    named with its line (BadFileError), never silently taken for none."""
    from bootstrap.errors import file_error

    try:
        data = json.loads((repo / RECORD).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except ValueError as exc:
        fix = f"fix it, or restore it: `git checkout -- {RECORD}`"
        raise file_error(repo / RECORD, exc, fix) from exc
    return data if isinstance(data, dict) else {}


def write_record(repo: Path, record: dict[str, Any]) -> bool:
    """Write the record; True when its content changed."""
    target = repo / RECORD
    text = json.dumps({"$comment": RECORD_COMMENT, **record}, indent=2, sort_keys=False) + "\n"
    if target.is_file() and target.read_text() == text:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return True


def uncommitted(repo: Path) -> list[str]:
    return [line[3:] for line in git(repo, "status", "--porcelain").splitlines() if line.strip()]


def require_clean(repo: Path, why: str) -> None:
    dirty = uncommitted(repo)
    if dirty:
        shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
        raise TargetExistsError(  # as `bootstrap update` says it: work in the way
            f"{why}, but {repo} has uncommitted changes ({shown})",
            "commit or stash them",
            rerun=True,
        )


def rerender(repo: Path, changes: dict[str, str]) -> list[str]:
    """Apply changed Copier answers at the repo's own template version; the changed paths."""
    import copier
    from copier.errors import UserMessageError

    from bootstrap.repo import read_answers
    from bootstrap.template import materialize

    answers = read_answers(repo)
    ref = str(answers.get("_commit") or "")
    src = Path(str(answers.get("_src_path") or ""))
    data_flags = " ".join(f"-d {k}={v}" for k, v in changes.items())
    manual = f"copier update --defaults --skip-answered --vcs-ref {ref} {data_flags}"
    materialize()  # (re)creates the local template repository if the cache was cleared
    if not ref or not _has_tag(src, ref):
        raise UserError(
            f"cannot re-render {repo} with {', '.join(f'{k}={v}' for k, v in changes.items())}: "
            f"its template version {ref or '(unknown)'} is not in {src}",
            f"run `{manual}` in the repository with the template that rendered it, and commit",
            rerun=True,
        )
    require_clean(repo, f"switching {', '.join(changes)} re-renders the repository")
    try:
        copier.run_update(
            str(repo),
            data=dict(changes),
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            quiet=True,
            conflict="inline",
            unsafe=True,  # the template's own Jinja extension (bootstrap.template_context)
        )
    except UserMessageError as exc:
        raise UserError(f"re-rendering {repo} failed: {exc}", f"run `{manual}` by hand") from exc
    changed = uncommitted(repo)
    conflicted = [p for p in changed if _has_conflict(repo / p)]
    if conflicted:
        raise ConflictError(
            f"re-rendering with {data_flags} left conflicts in {', '.join(conflicted)}",
            "resolve them and commit",
            rerun=True,
        )
    return changed


def commit(repo: Path, paths: list[str], message: str, *, all_changes: bool) -> str | None:
    """Commit `paths` (or, after a re-render of a clean tree, every change); the new HEAD."""
    if all_changes:
        git(repo, "add", "--all")
        pathspec: list[str] = []
    else:
        git(repo, "add", "--", *paths)
        pathspec = ["--", *paths]
    staged = subprocess.run(
        ["git", "diff", "--cached", "--quiet", *pathspec], cwd=repo, check=False
    )
    if staged.returncode == 0:
        return None
    git(
        repo, "commit", "--quiet", "--no-verify", "-m", message, *pathspec,
        config=identity_config(repo),
    )  # fmt: skip
    return git(repo, "rev-parse", "HEAD").strip()


def _has_tag(template_repo: Path, ref: str) -> bool:
    if not (template_repo / ".git").exists():
        return False
    found = subprocess.run(
        ["git", "rev-parse", "--quiet", "--verify", f"refs/tags/{ref}"],
        cwd=template_repo,
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


def _has_conflict(file: Path) -> bool:
    if file.suffix == ".rej":
        return True
    try:
        text = file.read_text(errors="replace")
    except OSError:
        return False
    return "\n<<<<<<< " in f"\n{text}" and "\n>>>>>>> " in text
