"""The GitHub token: read from the environment (or a no-echo prompt), checked before any write.

The check is one `GET /user`: it proves the token works (identity) and, for classic tokens,
returns the granted scopes in `X-OAuth-Scopes`. Fine-grained tokens (and GitHub App tokens)
carry no scopes header: their permissions can only be seen when a step is refused, so those
refusals name the permissions to grant (see `client.translate`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bootstrap.errors import CredentialsError
from bootstrap.github.client import REQUIRED_SCOPES, GitHubClient

TOKEN_ENV = ("GITHUB_TOKEN", "GH_TOKEN")
# A scope on the left is granted by any scope on the right.
_IMPLIED = {"public_repo": ("repo", "public_repo"), "repo": ("repo",), "workflow": ("workflow",)}


@dataclass(frozen=True)
class Identity:
    """Who the token is. `scopes` is None for tokens without a scopes header (fine-grained)."""

    login: str
    user_id: int
    scopes: tuple[str, ...] | None

    @property
    def kind(self) -> str:
        return "classic" if self.scopes is not None else "fine-grained"


def token_from_env() -> str | None:
    """The token of `GITHUB_TOKEN`, else `GH_TOKEN`; None when neither is set."""
    for name in TOKEN_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def read_token(
    *, interactive: bool | None = None, prompt: Callable[[str], str] | None = None
) -> str:
    """`GITHUB_TOKEN`, else `GH_TOKEN`, else a prompt without echo (on a terminal only)."""
    found = token_from_env()
    if found:
        return found
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        if prompt is None:
            import getpass

            prompt = getpass.getpass
        value = prompt("GitHub token (input hidden): ").strip()
        if value:
            return value
    raise CredentialsError(
        "no GitHub token found",
        "set GITHUB_TOKEN (or GH_TOKEN) to a token with scopes "
        f"{', '.join(REQUIRED_SCOPES)}, e.g. `export GITHUB_TOKEN=$(gh auth token)`",
    )


def needed_scopes(public: bool) -> tuple[str, ...]:
    return ("public_repo" if public else "repo", "workflow")


def missing_scopes(granted: tuple[str, ...], public: bool) -> list[str]:
    have = set(granted)
    return [s for s in needed_scopes(public) if not have.intersection(_IMPLIED[s])]


def check(client: GitHubClient, *, public: bool = False) -> Identity:
    """Identity and scopes of the token; raises CredentialsError before anything is written."""

    def fetch() -> tuple[dict[str, object], dict[str, object]]:
        return client.request("GET", "/user")

    headers, data = client.run("check the GitHub token", fetch)
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("x-oauth-scopes")
    scopes = None if raw is None else tuple(s.strip() for s in str(raw).split(",") if s.strip())
    identity = Identity(login=str(data["login"]), user_id=int(str(data["id"])), scopes=scopes)
    if scopes is not None:
        missing = missing_scopes(scopes, public)
        if missing:
            raise CredentialsError(
                f"the GitHub token of {identity.login} lacks the scope(s) {', '.join(missing)} "
                f"(it has: {', '.join(scopes) or 'none'})",
                f"create a token with scopes {', '.join(needed_scopes(public))} "
                "(or run `gh auth refresh -s " + ",".join(missing) + "`) and set GITHUB_TOKEN",
            )
    return identity
