"""Talk to the repository's `clone_url` with git, the token kept out of every file and argument.

The token reaches git as an `http.<origin>/.extraHeader` (`Authorization: Basic ...`) given
through git's `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n` environment: the same
as `git -c` on the command line, but not visible in the process list, and scoped to the clone
URL's scheme, host and port (a redirect elsewhere never gets it). Nothing is written to
`.git/config`; the remote URL stays the plain `clone_url`; credential helpers are switched off
for these commands (`-c credential.helper=`), so none can store the token; prompts are off
(`GIT_TERMINAL_PROMPT=0`, empty `GIT_ASKPASS`) so a rejected token fails instead of hanging.
Whatever git prints is scrubbed of the token before it can reach an error message.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from bootstrap.errors import CredentialsError, RemoteError, ToolMissingError, UserError
from bootstrap.github.client import RERUN, is_loopback

BRANCH = "main"
# What the repository on GitHub holds, compared with the local `main`:
#   empty     no branches at all                     -> push
#   same      GitHub's main is the local main        -> nothing to push
#   behind    GitHub's main is an ancestor of ours   -> push (fast-forward)
#   ahead     ours is an ancestor of GitHub's main   -> nothing to push (pull first)
#   diverged  both hold this scaffold's first commit -> no push (merge first)
#   foreign   GitHub's main holds other history      -> refused unless --adopt; never pushed over
#   no-main   branches, but no main                  -> refused unless --adopt; main is pushed
Kind = Literal["empty", "same", "behind", "ahead", "diverged", "foreign", "no-main"]
HOLDS_SCAFFOLD: frozenset[str] = frozenset({"empty", "same", "behind", "ahead", "diverged"})
PUSHABLE: frozenset[str] = frozenset({"empty", "behind", "no-main"})


@dataclass(frozen=True)
class RemoteState:
    kind: Kind
    remote_sha: str | None = None

    @property
    def has_main(self) -> bool:
        return self.remote_sha is not None


def check_clone_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme == "https" or (
        parsed.scheme == "http" and parsed.hostname and is_loopback(parsed.hostname)
    ):
        return
    raise UserError(
        f"GitHub gave the clone URL '{url}', which is not https",
        "check --github-api-url; the token is only sent over https",
    )


class GitTransport:
    """git commands against one clone URL with the token in the environment of git only."""

    def __init__(self, repo: Path, clone_url: str, token: str) -> None:
        check_clone_url(clone_url)
        self.repo = repo
        self.url = clone_url
        self._token = token

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        parsed = urlparse(self.url)
        basic = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        index = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
        env[f"GIT_CONFIG_KEY_{index}"] = f"http.{parsed.scheme}://{parsed.netloc}/.extraHeader"
        env[f"GIT_CONFIG_VALUE_{index}"] = f"Authorization: Basic {basic}"
        env["GIT_CONFIG_COUNT"] = str(index + 1)
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_ASKPASS"] = ""
        env.pop("SSH_ASKPASS", None)
        return env

    def _scrub(self, text: str) -> str:
        basic = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        return text.replace(self._token, "***").replace(basic, "***")

    def _git(self, *args: str, network: bool = False, check: bool = True) -> str:
        command = ["git", "-c", "credential.helper=", *args]
        try:
            done = subprocess.run(
                command,
                cwd=self.repo,
                env=self._env() if network else None,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
        except FileNotFoundError:
            raise ToolMissingError(
                "git is not installed", "install git (e.g. apt-get install git)"
            ) from None
        except subprocess.TimeoutExpired:
            raise RemoteError(
                f"git {args[0]} to {self.url} timed out", RERUN, rerun=True
            ) from None
        if check and done.returncode != 0:
            detail = self._scrub((done.stderr or done.stdout).strip()).splitlines()
            last = detail[-1] if detail else f"exit {done.returncode}"
            lowered = "\n".join(detail).lower()
            if "authentication failed" in lowered or "403" in lowered or "401" in lowered:
                raise CredentialsError(
                    f"git {args[0]} to {self.url} was refused ({last})",
                    "the token needs the repo and workflow scopes (fine-grained: Contents and "
                    "Workflows, read and write)",
                )
            raise RemoteError(f"git {args[0]} to {self.url} failed ({last})", RERUN, rerun=True)
        return self._scrub(done.stdout)

    def _local(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.repo, capture_output=True, text=True, check=False
        )

    # -- what GitHub holds ------------------------------------------------------------------------

    def remote_heads(self) -> dict[str, str]:
        listing = self._git("ls-remote", "--heads", self.url, network=True)
        heads = {}
        for line in listing.splitlines():
            sha, _, ref = line.partition("\t")
            if ref:
                heads[ref.strip()] = sha.strip()
        return heads

    def local_head(self) -> str:
        found = self._local("rev-parse", "--verify", f"refs/heads/{BRANCH}^{{commit}}")
        if found.returncode != 0:
            raise UserError(
                f"{self.repo} has no local branch '{BRANCH}' to push",
                f"commit your work on '{BRANCH}' first",
            )
        return found.stdout.strip()

    def inspect(self) -> RemoteState:
        heads = self.remote_heads()
        if not heads:
            return RemoteState("empty")
        remote = heads.get(f"refs/heads/{BRANCH}")
        if remote is None:
            return RemoteState("no-main")
        local = self.local_head()
        if remote == local:
            return RemoteState("same", remote)
        if not self._has_commit(remote):
            self._git(
                "fetch", "--quiet", "--no-tags", self.url, f"refs/heads/{BRANCH}", network=True
            )
        if self._is_ancestor(remote, local):
            return RemoteState("behind", remote)
        if self._is_ancestor(local, remote):
            return RemoteState("ahead", remote)
        roots = self._local("rev-list", "--max-parents=0", local).stdout.split()
        if any(self._is_ancestor(root, remote) for root in roots):
            return RemoteState("diverged", remote)
        return RemoteState("foreign", remote)

    def _has_commit(self, sha: str) -> bool:
        return self._local("cat-file", "-e", f"{sha}^{{commit}}").returncode == 0

    def _is_ancestor(self, older: str, newer: str) -> bool:
        return self._local("merge-base", "--is-ancestor", older, newer).returncode == 0

    # -- origin and push --------------------------------------------------------------------------

    def ensure_origin(self) -> str:
        """Add `origin` = the clone URL when missing: 'added', 'unchanged' or the other URL."""
        found = self._local("remote", "get-url", "origin")
        if found.returncode != 0:
            self._git("remote", "add", "origin", self.url)
            return "added"
        current = found.stdout.strip()
        return "unchanged" if current.rstrip("/") == self.url.rstrip("/") else current

    def push(self, *, via_origin: bool) -> None:
        if via_origin:
            self._git("push", "--quiet", "--set-upstream", "origin", BRANCH, network=True)
        else:
            refspec = f"refs/heads/{BRANCH}:refs/heads/{BRANCH}"
            self._git("push", "--quiet", self.url, refspec, network=True)
