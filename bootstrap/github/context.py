"""The state one GitHub provisioning run shares between its phases, and how it reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import UserError
from bootstrap.github.client import GitHubClient, path
from bootstrap.github.model import Change, Options, ProvisionResult
from bootstrap.github.token import Identity

if TYPE_CHECKING:
    from bootstrap.github.gitpush import GitTransport, RemoteState
    from bootstrap.github.subject import OidcSubject
    from bootstrap.spec import Spec

_SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Sync:
    """One run: the spec, the local repository (absent before `new` renders it), the client,
    the repository on GitHub as found, and the result being built."""

    def __init__(
        self,
        spec: Spec,
        repo: Path,
        client: GitHubClient,
        identity: Identity,
        token: str,
        options: Options,
        *,
        notify: Callable[[str], None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        from bootstrap.github import rerender

        owner = spec.require_owner(options.owner)
        self.spec = spec
        self.repo = repo
        self.client = client
        self.identity = identity
        self.token = token
        self.options = options
        self.notify_fn = notify
        self.progress_fn = progress
        self.record: dict[str, Any] = rerender.read_record(repo) if repo.is_dir() else {}
        recorded = str(self.record.get("repository") or "")
        # where the repository is: the record follows renames and transfers
        self.owner, _, name = (
            recorded.partition("/") if "/" in recorded and not options.owner else (owner, "", "")
        )
        self.name = name or spec.name
        self.result = ProvisionResult(
            repository=f"{self.owner}/{self.name}", api_url=client.api_url, login=identity.login
        )
        self.repo_data: dict[str, Any] = {}
        self.subject: OidcSubject | None = None
        self.created = False
        self.remote_state: RemoteState | None = None
        self.remote_has_main = False
        self._transport: GitTransport | None = None
        self.public_key: dict[str, Any] | None = None

    @property
    def local(self) -> bool:
        """The local repository exists (not so during `bootstrap new` before its scaffold)."""
        return (self.repo / ".git").exists()

    @property
    def transport(self) -> GitTransport:
        """git against the clone URL, run in the local repository (before `new` has made it,
        in the nearest existing folder: only `ls-remote` is run then)."""
        here = self.repo if self.repo.is_dir() else _existing_parent(self.repo)
        if self._transport is None or self._transport.repo != here:
            from bootstrap.github.gitpush import GitTransport

            self._transport = GitTransport(here, self.result.clone_url, self.token)
        return self._transport

    def check_secret_names(self, names: list[str]) -> None:
        for name in names:
            if not _SECRET_NAME.match(name) or name.startswith("GITHUB_"):
                raise UserError(f"'{name}' is not a valid secret name", "use A-Z, 0-9 and _")

    # -- reporting ----------------------------------------------------------------------------

    def change(self, kind: str, name: str, action: str, detail: str = "") -> str:
        """Report what a step did. A retried step reports once: its first write wins."""
        for index, old in enumerate(self.result.changes):
            if (old.kind, old.name) == (kind, name):
                if old.action in ("created", "updated") and action == "unchanged":
                    return old.action
                self.result.changes[index] = Change(kind, name, action, detail)
                return action
        self.result.changes.append(Change(kind, name, action, detail))
        return action

    def notice(self, message: str) -> None:
        if message not in self.result.notices:
            self.result.notices.append(message)
            if self.notify_fn:
                self.notify_fn(message)

    def skip(self, message: str) -> None:
        if message not in self.result.skipped:
            self.result.skipped.append(message)

    def progress(self, message: str) -> None:
        if self.progress_fn:
            self.progress_fn(message)

    def repo_path(self, *parts: str) -> str:
        return path("repos", self.owner, self.name, *parts)


def _existing_parent(where: Path) -> Path:
    for candidate in where.parents:
        if candidate.is_dir():
            return candidate
    return Path.cwd()
