"""Preview environments of pull requests: what the pr-env and pr-sweep workflows decide.

No Pulumi, no dependency beyond the stdlib (every generated repository carries it as
`infra/stacks/previews.py`; the workflows run `python3 -m stacks.previews ...` from `infra/`, the
bootstrap CLI imports it). GitHub is reached through an injected transport (`github_api.py`);
the live previews come from `pulumi stack ls --json` (an array of `{name, lastUpdate,
updateInProgress, resourceCount, ...}`, lastUpdate in UTC, absent while an update runs:
pulumi/pulumi `pkg/cmd/pulumi/stack/stack_ls.go`, stackSummaryJSON).

- `open-check`: the pull request is open (a deploy checks it right before `pulumi up`, so a fast
  merge leaves no orphan) and, when given, its head is still the commit being deployed.
- `cap`: whether pull request N may have a preview: it has one already, or fewer than
  `previewMaxActive` others are live; ECS previews (`previewTarget: ecs`) also need their port
  on the first stage's load balancer (`contract.preview_port`) free of every other live preview.
- `sweep`: which previews to destroy: the pull request is closed (or gone), or the preview was
  not deployed for `previewTtlHours`. GitHub sends no close event for some pull requests, and a
  close run uses the pull request's own workflow file, which may predate the previews.
- `comment`: the one comment on the pull request (found by `contract.PREVIEW_COMMENT_MARKER`),
  posted on the first deploy and updated on every later one.
- `limits`: previewTarget, previewMaxActive and previewTtlHours as the stacks read them
  (infra/Pulumi.yaml's defaults, infra/Pulumi.shared.yaml's values).

Command line (results as KEY=VALUE lines on stdout and in `$GITHUB_OUTPUT`; exit 0, 1 when
GitHub refused, 2 for bad arguments; `GITHUB_TOKEN`, `GITHUB_API_URL`, `GITHUB_REPOSITORY` from
the job):

    python3 -m stacks.previews limits
    python3 -m stacks.previews open-check --pull N [--sha SHA]          # open=true|false
    python3 -m stacks.previews cap --pull N --stacks FILE [--max M] [--target T]
                                            # allowed=, active=, limit=, port=, taken_by=
    python3 -m stacks.previews sweep --stacks FILE [--ttl-hours H]       # destroy=pr-1 pr-9
    python3 -m stacks.previews comment --pull N --state S [--url U] [--image I] [--sha SHA]
    python3 -m stacks.previews body ...   # the same options: the comment's text, as `body`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import config_schema as schema
from .contract import (
    INFRA_DIR,
    PREVIEW_COMMENT_MARKER,
    PREVIEW_PORTS,
    SHARED,
    preview_number,
    preview_port,
    preview_stack,
)
from .github_api import (
    REPOSITORY_ENV,
    GitHubError,
    Transport,
    UrllibTransport,
    append_to,
    repo_path,
)

# The workflows' calls of this module make no AWS call (the IAM coverage check reads this).
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {
    command: () for command in ("limits", "open-check", "cap", "sweep", "comment", "body")
}
STATES = ("deployed", "capped", "collision", "destroyed", "failed", "closed")
PAGE = 100  # GitHub's largest page of issue comments


# ------------------------------------------------------------------------- the live previews


@dataclass(frozen=True)
class Preview:
    """One `pr-<n>` stack of the state backend."""

    number: int
    stack: str
    last_update: datetime | None  # None: never updated, or an update is running
    updating: bool = False
    resources: int | None = None  # None: the backend does not say

    @property
    def live(self) -> bool:
        """Whether it holds anything (a destroyed stack not yet removed holds nothing)."""
        return self.updating or self.resources is None or self.resources > 0

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_update is None else now - self.last_update


def previews(stack_list: Iterable[Mapping[str, Any]]) -> list[Preview]:
    """The preview stacks of `pulumi stack ls --json` (names may be `org/project/pr-7`)."""
    found = []
    for entry in stack_list:
        stack = str(entry.get("name", "")).rsplit("/", 1)[-1]
        number = preview_number(stack)
        if number is None:
            continue
        count = entry.get("resourceCount")
        found.append(
            Preview(
                number=number,
                stack=stack,
                last_update=_time(entry.get("lastUpdate")),
                updating=bool(entry.get("updateInProgress")),
                resources=int(count) if count is not None else None,
            )
        )
    return sorted(found, key=lambda p: p.number)


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Cap:
    allowed: bool
    active: int  # live previews of other pull requests
    limit: int
    port: int | None = None  # an ECS preview's port on the first stage's load balancer
    taken_by: int | None = None  # the live preview whose port that is already


def cap(live: Sequence[Preview], number: int, limit: int, target: str = "lambda") -> Cap:
    """A pull request keeps its preview; a new one needs fewer than `limit` others live. An ECS
    preview also needs its port: pull requests N and N + PREVIEW_PORTS share one, and the first
    to deploy keeps it (refused here, in words, rather than by the load balancer)."""
    others = [p for p in live if p.live and p.number != number]
    has_one = any(p.live and p.number == number for p in live)
    allowed = has_one or len(others) < limit
    if target != "ecs":
        return Cap(allowed=allowed, active=len(others), limit=limit)
    port = preview_port(number)
    taken = next((p.number for p in others if preview_port(p.number) == port), None)
    return Cap(
        allowed=allowed and taken is None, active=len(others), limit=limit, port=port,
        taken_by=taken,
    )  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    preview: Preview
    destroy: bool
    reason: str


def pull_request(transport: Transport, repository: str, number: int) -> dict[str, Any] | None:
    """GitHub's pull request, or None when it does not exist (any more)."""
    try:
        answer = transport("GET", repo_path(repository, "pulls", number))
    except GitHubError as error:
        if error.status in (404, 410):
            return None
        raise
    return dict(answer or {})


def is_open(pull: Mapping[str, Any] | None, sha: str | None = None) -> tuple[bool, str]:
    """Whether a deploy of `sha` may go ahead, and why not."""
    if pull is None:
        return False, "the pull request does not exist"
    if pull.get("state") != "open":
        merged = "merged" if pull.get("merged") else "closed"
        return False, f"the pull request is {merged}"
    head = str((pull.get("head") or {}).get("sha") or "")
    if sha and head and head != sha:
        return False, f"the pull request's head moved on to {head[:12]}; its own run deploys it"
    return True, "open"


def sweep(
    live: Sequence[Preview], transport: Transport, repository: str, *, now: datetime,
    ttl_hours: int,
) -> list[Verdict]:  # fmt: skip
    """Every preview, with whether the sweep destroys it and why."""
    verdicts = []
    ttl = timedelta(hours=ttl_hours)
    for preview in live:
        pull = pull_request(transport, repository, preview.number)
        open_, reason = is_open(pull)
        age = preview.age(now)
        if not open_:
            verdicts.append(Verdict(preview, True, reason))
        elif preview.updating:
            verdicts.append(Verdict(preview, False, "an update is running"))
        elif age is not None and age > ttl:
            hours = int(age.total_seconds() // 3600)
            verdicts.append(
                Verdict(preview, True, f"not deployed for {hours} h (TTL {ttl_hours} h)")
            )
        else:
            verdicts.append(Verdict(preview, False, "open and recent"))
    return verdicts


# ------------------------------------------------------------------------- the comment


def comment_body(
    state: str, number: int, *, url: str = "", image: str = "", sha: str = "",
    limit: int | None = None, active: int | None = None, run_url: str = "", reason: str = "",
    taken_by: int | None = None,
) -> str:  # fmt: skip
    """The comment's text: the marker, then what the preview is now."""
    stack = preview_stack(number)
    lines = [PREVIEW_COMMENT_MARKER, "## Preview environment", ""]
    if state == "deployed":
        lines += [
            f"**{url}**",
            "",
            f"Stack `{stack}` runs `{image}`" + (f" (commit {sha[:12]})." if sha else "."),
        ]
        lines += ["", "Updated on every push; destroyed when the pull request closes."]
    elif state == "capped":
        lines += [
            f"No preview: {active} of at most {limit} previews are running "
            "(`previewMaxActive` in infra/Pulumi.shared.yaml).",
            "",
            "Close a pull request you no longer need, or push again once one has closed.",
        ]
    elif state == "collision":
        other = preview_stack(taken_by) if taken_by else "another preview"
        lines += [
            f"No preview: its port {preview_port(number)} on the first stage's load balancer is "
            f"taken by `{other}` (pull requests whose numbers differ by a multiple of "
            f"{PREVIEW_PORTS} share a port).",
            "",
            "Push again once that pull request has closed.",
        ]
    elif state == "destroyed":
        lines += [f"The preview `{stack}` was destroyed" + (f": {reason}." if reason else ".")]
    elif state == "closed":
        lines += ["No preview: the pull request closed before it was deployed."]
    elif state == "failed":
        lines += [f"The preview `{stack}` could not be deployed: see the run's log."]
    else:
        raise ValueError(f"unknown comment state {state!r}; one of {', '.join(STATES)}")
    if run_url:
        lines += ["", f"[Run]({run_url})"]
    return "\n".join(lines) + "\n"


def find_comment(transport: Transport, repository: str, number: int) -> int | None:
    """The id of the preview's comment (the first with the marker), or None."""
    page = 1
    while True:
        comments = transport(
            "GET", repo_path(repository, "issues", number, "comments"),
            params={"per_page": PAGE, "page": page},
        )  # fmt: skip
        for comment in comments or []:
            if str(comment.get("body") or "").startswith(PREVIEW_COMMENT_MARKER):
                return int(comment["id"])
        if len(comments or []) < PAGE:
            return None
        page += 1


def upsert_comment(transport: Transport, repository: str, number: int, body: str) -> int:
    """Update the preview's comment, or post it: one comment per pull request."""
    found = find_comment(transport, repository, number)
    if found is not None:
        transport("PATCH", repo_path(repository, "issues", "comments", found), {"body": body})
        return found
    answer = transport("POST", repo_path(repository, "issues", number, "comments"), {"body": body})
    return int(answer["id"])


# ------------------------------------------------------------------------- the settings


@dataclass(frozen=True)
class Limits:
    target: str
    max_active: int
    ttl_hours: int


def limits(infra: Path, project: str | None = None) -> Limits:
    """The preview settings as the shared stack reads them: Pulumi.shared.yaml's value, else
    Pulumi.yaml's declared default, else the schema's default (checked by the schema)."""
    import yaml  # a dependency of the pulumi SDK, always in the infra venv

    declared = yaml.safe_load((infra / "Pulumi.yaml").read_text()) or {}
    project = project or str(declared.get("name", ""))
    shared_file = infra / f"Pulumi.{SHARED}.yaml"
    shared = (yaml.safe_load(shared_file.read_text()) or {}) if shared_file.is_file() else {}
    values: dict[str, Any] = {}
    for key in ("previewTarget", "previewMaxActive", "previewTtlHours"):
        setting = schema.BY_KEY[key]
        raw = (shared.get("config") or {}).get(f"{project}:{key}")
        if raw is None:
            raw = ((declared.get("config") or {}).get(f"{project}:{key}") or {}).get("default")
        values[key] = schema.parse(setting, raw)
    return Limits(values["previewTarget"], values["previewMaxActive"], values["previewTtlHours"])


# ------------------------------------------------------------------------- the command line


def _write(results: Mapping[str, object]) -> None:
    """KEY=VALUE lines on stdout, and in `$GITHUB_OUTPUT` (a multi-line value as a heredoc)."""
    lines = []
    for key, value in results.items():
        text = str(value)
        if "\n" in text:
            delimiter = f"EOF_{uuid.uuid4().hex}"
            lines += [f"{key}<<{delimiter}", text.rstrip("\n"), delimiter]
        else:
            lines.append(f"{key}={text}")
    print("\n".join(lines))
    append_to("GITHUB_OUTPUT", "\n".join(lines))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m stacks.previews")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("limits")
    check = commands.add_parser("open-check")
    check.add_argument("--pull", type=int, required=True)
    check.add_argument("--sha", default="")
    capped = commands.add_parser("cap")
    capped.add_argument("--pull", type=int, required=True)
    capped.add_argument("--stacks", type=Path, required=True, help="`pulumi stack ls --json`")
    capped.add_argument("--max", type=int)
    capped.add_argument("--target", help="previewTarget (default: as the stacks read it)")
    swept = commands.add_parser("sweep")
    swept.add_argument("--stacks", type=Path, required=True, help="`pulumi stack ls --json`")
    swept.add_argument("--ttl-hours", type=int)
    swept.add_argument("--run-url", default="")
    for name in ("comment", "body"):
        _comment_options(commands.add_parser(name))
    return parser


def _comment_options(comment: argparse.ArgumentParser) -> None:
    comment.add_argument("--pull", type=int, required=True)
    comment.add_argument("--state", choices=STATES, required=True)
    for option in ("--url", "--image", "--sha", "--run-url"):
        comment.add_argument(option, default="")
    comment.add_argument("--reason", default="")
    comment.add_argument("--max", type=int)
    comment.add_argument("--active", type=int)
    comment.add_argument("--taken-by", type=int)


def main(
    argv: Sequence[str] | None = None, *, transport: Transport | None = None,
    now: datetime | None = None, infra: Path | None = None,
) -> int:  # fmt: skip
    args = _parser().parse_args(argv)
    infra = infra or (Path.cwd() if Path("Pulumi.yaml").is_file() else Path(INFRA_DIR))
    try:
        return _run(args, transport, now or datetime.now(UTC), infra)
    except GitHubError as error:
        print(f"::error title=preview::{error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, schema.Invalid) as error:
        print(f"::error title=preview::{error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, transport: Transport | None, now: datetime, infra: Path) -> int:
    if args.command == "limits":
        found = limits(infra)
        _write({"target": found.target, "max": found.max_active, "ttl_hours": found.ttl_hours})
        return 0
    if args.command == "cap":
        live = previews(json.loads(args.stacks.read_text() or "[]"))
        settings = None if args.max and args.target else limits(infra)
        target = args.target or (settings.target if settings else "lambda")
        limit = args.max or (settings.max_active if settings else 0)
        decided = cap(live, args.pull, limit, target)
        results: dict[str, object] = {
            "allowed": str(decided.allowed).lower(),
            "active": decided.active,
            "limit": decided.limit,
        }
        if decided.port is not None:  # ECS previews: the port, and whose it is already
            results.update(port=decided.port, taken_by=decided.taken_by or "")
        _write(results)
        return 0
    if args.command == "body":
        _write({"body": _body(args)})
        return 0
    repository = os.environ.get(REPOSITORY_ENV, "")
    transport = transport or UrllibTransport.from_env()
    if args.command == "open-check":
        ok, reason = is_open(pull_request(transport, repository, args.pull), args.sha or None)
        _write({"open": str(ok).lower(), "reason": reason})
        return 0
    if args.command == "sweep":
        live = previews(json.loads(args.stacks.read_text() or "[]"))
        ttl = args.ttl_hours or limits(infra).ttl_hours
        verdicts = sweep(live, transport, repository, now=now, ttl_hours=ttl)
        for verdict in verdicts:
            print(
                f"{verdict.preview.stack}: {'destroy' if verdict.destroy else 'keep'} ({verdict.reason})",
                file=sys.stderr,
            )
        destroyed = [v for v in verdicts if v.destroy]
        # What each destroyed preview's comment will say (pr-sweep.yml's comment job posts it).
        comments = [
            {
                "number": v.preview.number,
                "body": comment_body("destroyed", v.preview.number, reason=v.reason,
                                     run_url=args.run_url),
            }
            for v in destroyed
        ]  # fmt: skip
        _write(
            {
                "destroy": " ".join(v.preview.stack for v in destroyed),
                "comments": json.dumps(comments, separators=(",", ":")),
            }
        )
        return 0
    _write({"comment": upsert_comment(transport, repository, args.pull, _body(args))})
    return 0


def _body(args: argparse.Namespace) -> str:
    return comment_body(
        args.state, args.pull, url=args.url, image=args.image, sha=args.sha, limit=args.max,
        active=args.active, run_url=args.run_url, reason=args.reason, taken_by=args.taken_by,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
