"""Render the service template for a spec and make the first commit, all or nothing.

The repo is rendered into a hidden temporary sibling of the destination, committed there, and
moved into place only at the end, so an error or Ctrl-C at any point leaves the file system as it
was (DESIGN.md, principle 7).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootstrap import __version__
from bootstrap.errors import SpecError, TargetExistsError, UserError
from bootstrap.gitutil import git, identity_config
from bootstrap.spec import Spec
from bootstrap.template import TemplateRef, materialize


@dataclass(frozen=True)
class ScaffoldResult:
    path: Path
    commit: str
    template_ref: str
    files: int


def check_destination(dest: Path) -> None:
    """Refuse anything but a missing or empty directory, before any work is done."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise TargetExistsError(
            f"{dest} exists and is not a directory", "remove it or choose another --dir or name"
        )
    if dest.is_dir() and any(dest.iterdir()):
        raise TargetExistsError(
            f"{dest} exists and is not empty", "choose another --dir or name; nothing was changed"
        )
    if not dest.parent.is_dir():
        raise SpecError(f"the folder {dest.parent} does not exist", "create it or pick another --dir")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Scaffolder:
    """Runs the phases of `new` on disk: guard, render, commit, move into place."""

    def __init__(self, spec: Spec, dest: Path) -> None:
        self.spec = spec
        self.dest = dest

    def run(self) -> ScaffoldResult:
        check_destination(self.dest)
        template = materialize()
        staging = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.", dir=self.dest.parent))
        try:
            staging.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; the repo gets normal modes
            self._render(template, staging)
            commit = self._commit(staging)
            files = sum(1 for p in staging.rglob("*") if p.is_file() and ".git" not in p.parts)
            self._move_into_place(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ScaffoldResult(self.dest, commit, template.ref, files)

    def _render(self, template: TemplateRef, staging: Path) -> None:
        import copier

        data = {**self.spec.to_answers(), "tool_version": __version__}
        try:
            copier.run_copy(
                str(template.path),
                staging,
                data=data,
                vcs_ref=template.ref,
                defaults=True,
                overwrite=True,
                quiet=True,
                cleanup_on_error=False,  # the staging dir is ours to clean up
                unsafe=True,  # the template's own Jinja extension (bootstrap.template_context)
            )
        except copier.errors.UserMessageError as exc:
            raise UserError(f"rendering the template failed: {exc}", "report this as a bug") from exc

    def _commit(self, staging: Path) -> str:
        git(staging, "init", "--quiet", "--initial-branch=main")
        git(staging, "add", "--all")
        message = f"Scaffold {self.spec.name} with bootstrap {__version__}"
        git(staging, "commit", "--quiet", "--no-verify", "-m", message, config=identity_config(staging))
        return git(staging, "rev-parse", "HEAD").strip()

    def _move_into_place(self, staging: Path) -> None:
        try:
            os.rename(staging, self.dest)  # atomic; replaces only a missing or empty directory
        except OSError as exc:
            raise TargetExistsError(
                f"{self.dest} appeared while rendering ({exc.strerror})",
                "choose another --dir or name; nothing was changed",
            ) from exc
