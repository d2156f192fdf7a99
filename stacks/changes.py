"""What a deploy brings to a stage: the commits (and their pull requests) between what the stage
runs and what is deployed, from GitHub.

No Pulumi, the stdlib alone (carried as `infra/stacks/changes.py`; the deploy job appends the
list to its summary, `bootstrap promote` prints it, `bootstrap status` counts how far each stage
is behind the one before). GitHub through an injected transport (`github_api.py`):

- `compare(transport, repository, base, head)`: `GET /repos/{o}/{r}/compare/{base}...{head}`
  (GitHub lists at most 250 commits, oldest first, the last being the newest: its REST
  description), each commit with the pull requests that brought it
  (`GET /repos/{o}/{r}/commits/{sha}/pulls`, for the first `PULL_LOOKUPS` commits).
- `Changes.markdown()` / `Changes.lines()`: the list as a job summary section or as text.

Command line (the deploy job; `GITHUB_TOKEN`, `GITHUB_REPOSITORY`):

    python -m stacks.changes --stage STAGE --sha GIT_SHA   # Markdown on stdout

The base is the commit of the deploy the stage runs (`records.Records.running`); a stage that
runs nothing yet, or whose record has no commit, gets a line saying so. Exit 0 (1: GitHub refused).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from .contract import GIT_SHA
from .github_api import REPOSITORY_ENV, GitHubError, Transport, UrllibTransport, repo_path

PULL_LOOKUPS = 50  # commits whose pull requests are looked up (one request each)
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {"changes": ()}  # GitHub only, no AWS call


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str  # the message's first line
    author: str
    pulls: tuple[tuple[int, str], ...] = ()  # (number, title) of the pull requests


@dataclass
class Changes:
    base: str
    head: str
    status: str  # ahead, behind, identical, diverged (GitHub's)
    ahead_by: int
    behind_by: int
    commits: list[Commit] = field(default_factory=list)

    @property
    def pulls(self) -> list[tuple[int, str]]:
        seen: dict[int, str] = {}
        for commit in self.commits:
            for number, title in commit.pulls:
                seen.setdefault(number, title)
        return sorted(seen.items())

    def lines(self) -> list[str]:
        if self.status == "identical":
            return [f"no changes: {self.head[:12]} is what runs"]
        head = [f"{self.ahead_by} commit(s) from {self.base[:12]} to {self.head[:12]}"
                + (f", {self.behind_by} commit(s) of the base are not in it (a rollback?)"
                   if self.behind_by else "")]  # fmt: skip
        body = [f"  {c.sha[:12]} {c.title}"
                + "".join(f" (#{n} {t})" for n, t in c.pulls) for c in reversed(self.commits)]  # fmt: skip
        if len(self.commits) < self.ahead_by:
            body.append(f"  … and {self.ahead_by - len(self.commits)} older commit(s)")
        return head + body

    def markdown(self, stage: str) -> str:
        text = [f"### Changes this deploy brings to {stage}", ""]
        if self.status == "identical":
            return "\n".join([*text, f"None: `{self.head[:12]}` is what {stage} runs."])
        text.append(f"{self.ahead_by} commit(s), `{self.base[:12]}`…`{self.head[:12]}`"
                    + (f"; {self.behind_by} commit(s) {stage} runs are not in it" if
                       self.behind_by else "") + ".")  # fmt: skip
        text += ["", "| commit | title | author | pull requests |", "|---|---|---|---|"]
        for c in reversed(self.commits):
            pulls = ", ".join(f"#{n} {_cell(t)}" for n, t in c.pulls)
            text.append(f"| `{c.sha[:12]}` | {_cell(c.title)} | {_cell(c.author)} | {pulls} |")
        return "\n".join(text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def compare(transport: Transport, repository: str, base: str, head: str,
            *, pull_lookups: int = PULL_LOOKUPS) -> Changes:  # fmt: skip
    """The commits in `head` that `base` lacks (newest last), with their pull requests."""
    raw = transport("GET", repo_path(repository, "compare", f"{base}...{head}"))
    commits = []
    listed = raw.get("commits") or []
    for index, item in enumerate(listed):
        sha = str(item.get("sha") or "")
        detail = item.get("commit") or {}
        author = ((item.get("author") or {}).get("login")
                  or (detail.get("author") or {}).get("name") or "")  # fmt: skip
        pulls: tuple[tuple[int, str], ...] = ()
        if index >= len(listed) - pull_lookups:  # the newest ones
            found = transport("GET", repo_path(repository, "commits", sha, "pulls")) or []
            pulls = tuple((int(p["number"]), str(p.get("title") or "")) for p in found)
        title = str(detail.get("message") or "").splitlines()[0] if detail.get("message") else ""
        commits.append(Commit(sha, title, author, pulls))
    return Changes(base, head, str(raw.get("status") or ""), int(raw.get("ahead_by") or 0),
                   int(raw.get("behind_by") or 0), commits)  # fmt: skip


def main(argv: Sequence[str] | None = None, *, transport: Transport | None = None) -> int:
    from .records import Records

    parser = argparse.ArgumentParser(prog="python -m stacks.changes",
                                     description="What a deploy brings to a stage.")  # fmt: skip
    parser.add_argument("--stage", required=True)
    parser.add_argument("--sha", required=True, help="the commit the deployed image was built from")
    parser.add_argument("--repository", default=os.environ.get(REPOSITORY_ENV, ""))
    args = parser.parse_args(argv)
    try:
        if not GIT_SHA.match(args.sha):
            raise ValueError(f"'{args.sha}' is not a git commit SHA (40 hex digits)")
        transport = transport or UrllibTransport.from_env()
        running = Records(transport, args.repository).running(args.stage)
        if running is None or not running.git_sha:
            print(f"### Changes this deploy brings to {args.stage}\n\n"
                  f"{args.stage} runs no recorded release yet: everything up to `{args.sha[:12]}`.")  # fmt: skip
            return 0
        print(compare(transport, args.repository, running.git_sha, args.sha).markdown(args.stage))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GitHubError as exc:
        print(f"error: listing the changes failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
