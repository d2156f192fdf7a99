"""Deployment records in GitHub: which image went where, and what each check said about it.

No Pulumi, no dependency beyond the stdlib (every generated repository carries it as
`infra/stacks/records.py`; the workflows run `python -m stacks.records ...` from `infra/`, the
bootstrap CLI imports it). GitHub is reached through an injected transport (`github_api.py`).

A deploy of an image digest to a stage is one GitHub deployment (`POST /repos/{o}/{r}/deployments`)
of the image's git commit to the environment named after the stage (with trust subject `branch`
too: GitHub accepts a deployment to an environment that has no protection rules), task
`deploy:image`, payload `{digest, git_sha, stage, run_url, reason}`. Each check adds a deployment
status whose description starts with a verdict name:

| verdict | state | written by |
|---|---|---|
| `deploying` | in_progress | the deploy job, when it starts |
| `deployed` / `deploy-failed` | success / failure | after `pulumi up` |
| `smoke-passed` / `smoke-failed` | success / failure | after the smoke test |
| `acceptance-passed` / `acceptance-failed` / `acceptance-skipped` | success / failure / success | after the acceptance suite (its summary follows the name) |
| `watched` / `rolled-back` | success / failure | the post-deploy alarm watch |
| `held` / `released` | failure / success | a hold on the digest in the stage, and its release |

Only `deployed` marks the stage's older deployments inactive (GitHub's `auto_inactive`); every
other status leaves them alone. The API:

- `Records(transport, repository)`: `start(stage, digest, git_sha, run_url=, reason=)` -> Record;
  `add(record_id, verdict, summary, url=, log_url=)`; `history(stage)` (newest first);
  `running(stage)` (the deploy the stage runs: the newest with `deployed`, not rolled back);
  `verified(stage, digest)` (the record proving it passed verification there, or None);
  `hold(stage, digest, reason)`, `release(stage, digest, reason)`, `held(stage, digest)`.
- `acceptance_verdict(document)`: the verdict name and summary of the suite's verdict JSON.

Command line (one line per result on stdout; exit 0, 1 when GitHub refused or the answer is "no"
(a failed verdict recorded, no passed verification), 2 for bad arguments; `GITHUB_TOKEN`,
`GITHUB_API_URL` and `GITHUB_REPOSITORY` from the job; `start` also writes `id=N` to
`$GITHUB_OUTPUT`):

    python -m stacks.records start --stage S --digest D --sha SHA [--reason TEXT]   # the id
    python -m stacks.records add --id N --verdict V [--summary TEXT] [--url URL]
    python -m stacks.records acceptance --id N --verdict-file PATH [--ran false]
    python -m stacks.records running --stage S            # prints the digest the stage runs
    python -m stacks.records verified --stage S --digest D
    python -m stacks.records hold|release --stage S --digest D --reason TEXT
    python -m stacks.records history --stage S [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .contract import DIGEST, GIT_SHA
from .github_api import (
    REPOSITORY_ENV,
    GitHubError,
    Transport,
    UrllibTransport,
    append_to,
    repo_path,
)

# The command line calls GitHub only, never AWS (the IAM coverage check reads this).
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {
    command: () for command in
    ("start", "add", "acceptance", "running", "verified", "hold", "release", "history")
}  # fmt: skip
RECORD_TASK = "deploy:image"  # the task of the deployments these records make
DESCRIPTION_LIMIT = 140  # a deployment status description's maximum (GitHub's REST description)
HISTORY_LIMIT = 20  # deployments read per stage

DEPLOYING = "deploying"
DEPLOYED = "deployed"
DEPLOY_FAILED = "deploy-failed"
SMOKE_PASSED = "smoke-passed"
SMOKE_FAILED = "smoke-failed"
ACCEPTANCE_PASSED = "acceptance-passed"
ACCEPTANCE_FAILED = "acceptance-failed"
ACCEPTANCE_SKIPPED = "acceptance-skipped"
WATCHED = "watched"
ROLLED_BACK = "rolled-back"
HELD = "held"
RELEASED = "released"
# verdict -> the deployment status state GitHub shows
VERDICTS = {
    DEPLOYING: "in_progress",
    DEPLOYED: "success",
    DEPLOY_FAILED: "failure",
    SMOKE_PASSED: "success",
    SMOKE_FAILED: "failure",
    ACCEPTANCE_PASSED: "success",
    ACCEPTANCE_FAILED: "failure",
    ACCEPTANCE_SKIPPED: "success",
    WATCHED: "success",
    ROLLED_BACK: "failure",
    HELD: "failure",
    RELEASED: "success",
}
# What settles whether a deploy passed verification: the newest of these decides.
_VERIFICATION = (ACCEPTANCE_PASSED, ACCEPTANCE_FAILED, ACCEPTANCE_SKIPPED, SMOKE_FAILED,
                 DEPLOY_FAILED, ROLLED_BACK)  # fmt: skip


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def short(digest: str) -> str:
    return f"sha256:{digest.removeprefix('sha256:')[:12]}"


@dataclass(frozen=True)
class Status:
    verdict: str | None  # None: a status these records did not write
    state: str
    summary: str
    created_at: datetime | None
    creator: str | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Status:
        text = str(raw.get("description") or "")
        name, _, summary = text.partition(":")
        verdict = name.strip() if name.strip() in VERDICTS else None
        return cls(
            verdict,
            str(raw.get("state") or ""),
            summary.strip() if verdict else text,
            parse_time(raw.get("created_at")),
            (raw.get("creator") or {}).get("login"),
        )


@dataclass
class Record:
    """One deploy of a digest to a stage, with its statuses (newest first)."""

    id: int
    stage: str
    digest: str
    git_sha: str | None
    run_url: str | None
    reason: str | None
    created_at: datetime | None
    creator: str | None
    statuses: list[Status] = field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict[str, Any], statuses: list[dict[str, Any]]) -> Record | None:
        payload = raw.get("payload")
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = None
        if not isinstance(payload, dict) or not DIGEST.match(str(payload.get("digest", ""))):
            return None  # not one of ours (e.g. a deployment Actions made for a job)
        return cls(
            id=int(raw["id"]),
            stage=str(raw.get("environment") or payload.get("stage") or ""),
            digest=str(payload["digest"]),
            git_sha=payload.get("git_sha") or raw.get("sha"),
            run_url=payload.get("run_url") or None,
            reason=payload.get("reason") or None,
            created_at=parse_time(raw.get("created_at")),
            creator=(raw.get("creator") or {}).get("login"),
            statuses=[Status.from_api(s) for s in statuses],
        )

    def latest(self, *verdicts: str) -> Status | None:
        """The newest status with one of these verdicts."""
        return next((s for s in self.statuses if s.verdict in verdicts), None)

    @property
    def verdicts(self) -> list[str]:
        return [s.verdict for s in self.statuses if s.verdict]

    @property
    def deployed_at(self) -> datetime | None:
        found = self.latest(DEPLOYED)
        return found.created_at if found else None

    @property
    def running(self) -> bool:
        """Deployed, and not rolled back or failed since."""
        newest = self.latest(DEPLOYED, DEPLOY_FAILED, ROLLED_BACK)
        return newest is not None and newest.verdict == DEPLOYED

    @property
    def verified(self) -> bool:
        """The suite passed (or the stage does not run it and the smoke test passed), and nothing
        failed or rolled the deploy back since."""
        newest = self.latest(*_VERIFICATION)
        if newest is None:
            return False
        if newest.verdict == ACCEPTANCE_SKIPPED:
            smoke = self.latest(SMOKE_PASSED, SMOKE_FAILED)
            return smoke is not None and smoke.verdict == SMOKE_PASSED
        return newest.verdict == ACCEPTANCE_PASSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "stage": self.stage, "digest": self.digest, "git_sha": self.git_sha,
            "run_url": self.run_url, "reason": self.reason, "creator": self.creator,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "statuses": [
                {"verdict": s.verdict, "state": s.state, "summary": s.summary,
                 "created_at": s.created_at.isoformat() if s.created_at else None}
                for s in self.statuses
            ],
        }  # fmt: skip


def describe(verdict: str, summary: str = "") -> str:
    """A status description: the verdict name, then the summary, within GitHub's 140 characters."""
    text = f"{verdict}: {summary.strip()}" if summary.strip() else verdict
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


class Records:
    """The deployment records of one repository (OWNER/NAME) through `transport`."""

    def __init__(self, transport: Transport, repository: str) -> None:
        repo_path(repository)  # checks the name
        self.transport = transport
        self.repository = repository
        # Each stage's history is read once per instance (a check asks several questions of it;
        # a job's GITHUB_TOKEN has 1,000 requests an hour per repository); a write forgets it.
        self._histories: dict[tuple[str, int], list[Record]] = {}

    def _path(self, *parts: str | int) -> str:
        return repo_path(self.repository, "deployments", *parts)

    # --- writing ------------------------------------------------------------------------------

    def start(
        self, stage: str, digest: str, git_sha: str, *, run_url: str | None = None,
        reason: str | None = None,
    ) -> Record:  # fmt: skip
        """A new deployment of `digest` (built from `git_sha`) to `stage`, `deploying`."""
        if not DIGEST.match(digest):
            raise ValueError(f"'{digest}' is not an image digest (sha256:<64 hex digits>)")
        if not GIT_SHA.match(git_sha):
            raise ValueError(f"'{git_sha}' is not a git commit SHA (40 hex digits)")
        if not stage.strip():
            raise ValueError("the stage is empty")
        payload = {"digest": digest, "git_sha": git_sha, "stage": stage, "run_url": run_url or "",
                   "reason": (reason or "").strip()}  # fmt: skip
        self._histories.clear()
        raw = self.transport("POST", self._path(), {
            "ref": git_sha,
            "task": RECORD_TASK,
            "auto_merge": False,  # deploy exactly this commit
            "required_contexts": [],  # the image was built and tested already
            "environment": stage,
            "payload": payload,
            "description": describe(f"{short(digest)} to {stage}", payload["reason"]),
        })  # fmt: skip
        if not isinstance(raw, dict) or "id" not in raw:  # 202: GitHub merged instead
            raise GitHubError(202, f"GitHub made no deployment: {raw}")
        status = self.transport(
            "POST", self._path(raw["id"], "statuses"), self._status_body(DEPLOYING, "", run_url)
        )
        record = Record.from_api(raw, [status])
        assert record is not None  # we wrote the payload
        return record

    def _status_body(
        self, verdict: str, summary: str, log_url: str | None, url: str | None = None
    ) -> dict[str, Any]:
        if verdict not in VERDICTS:
            raise ValueError(f"'{verdict}' is not a verdict ({', '.join(VERDICTS)})")
        body: dict[str, Any] = {
            "state": VERDICTS[verdict],
            "description": describe(verdict, summary),
            "auto_inactive": verdict == DEPLOYED,
        }
        if log_url:
            body["log_url"] = log_url
        if url:
            body["environment_url"] = url
        return body

    def add(
        self, record_id: int, verdict: str, summary: str = "", *, url: str | None = None,
        log_url: str | None = None,
    ) -> Status:  # fmt: skip
        """Add a status with `verdict` (and its summary) to the deployment `record_id`."""
        self._histories.clear()
        raw = self.transport(
            "POST", self._path(record_id, "statuses"),
            self._status_body(verdict, summary, log_url, url),
        )  # fmt: skip
        return Status.from_api(raw)

    def hold(self, stage: str, digest: str, reason: str, *, git_sha: str | None = None,
             run_url: str | None = None) -> Status:  # fmt: skip
        """Hold `digest` in `stage`: no promotion takes it out of the stage until released."""
        return self._mark(stage, digest, HELD, reason, git_sha, run_url)

    def release(self, stage: str, digest: str, reason: str, *, run_url: str | None = None) -> Status:
        return self._mark(stage, digest, RELEASED, reason, None, run_url)

    def _mark(self, stage: str, digest: str, verdict: str, reason: str, git_sha: str | None,
              run_url: str | None) -> Status:  # fmt: skip
        if not reason.strip():
            raise ValueError(f"a {verdict} needs a reason")
        found = self.find(stage, digest)
        if found:
            record_id = found[0].id
        elif git_sha:
            record_id = self.start(stage, digest, git_sha, run_url=run_url, reason=reason).id
        else:
            raise ValueError(f"{short(digest)} has no deployment record in {stage}")
        return self.add(record_id, verdict, reason, log_url=run_url)

    # --- reading ------------------------------------------------------------------------------

    def history(self, stage: str, limit: int = HISTORY_LIMIT) -> list[Record]:
        """The stage's records, newest first (at most `limit` deployments read)."""
        if (stage, limit) in self._histories:
            return self._histories[(stage, limit)]
        raw = self.transport("GET", self._path(), None, {"environment": stage,
                                                         "task": RECORD_TASK, "per_page": limit})  # fmt: skip
        found = []
        for deployment in (raw or [])[:limit]:
            statuses = self.transport("GET", self._path(deployment["id"], "statuses"), None,
                                      {"per_page": 100})  # fmt: skip
            record = Record.from_api(deployment, statuses or [])
            if record is not None:
                found.append(record)
        self._histories[(stage, limit)] = found
        return found

    def find(self, stage: str, digest: str) -> list[Record]:
        return [r for r in self.history(stage) if r.digest == digest]

    def running(self, stage: str) -> Record | None:
        """The deploy the stage runs: the newest deployed, not failed or rolled back since."""
        return next((r for r in self.history(stage) if r.running), None)

    def verified(self, stage: str, digest: str) -> Record | None:
        return next((r for r in self.find(stage, digest) if r.verified), None)

    def held(self, stage: str, digest: str) -> Status | None:
        """The hold on `digest` in `stage`, or None (never held, or released since)."""
        marks = [s for r in self.find(stage, digest) for s in r.statuses
                 if s.verdict in (HELD, RELEASED)]  # fmt: skip
        epoch = datetime.min.replace(tzinfo=UTC)
        newest = max(marks, key=lambda s: s.created_at or epoch, default=None)
        return newest if newest is not None and newest.verdict == HELD else None


def acceptance_verdict(document: dict[str, Any]) -> tuple[str, str]:
    """(verdict, summary) of the acceptance suite's verdict JSON (acceptance/verdict.py)."""
    parts = document.get("parts") or {}
    tests = sum(int(p.get("tests") or 0) for p in parts.values())
    failed = sum(int(p.get("failed") or 0) for p in parts.values())
    figures = (parts.get("performance") or {}).get("figures") or {}
    bits = [f"{tests} tests, {failed} failed"]
    if figures.get("p95_ms") is not None:
        bits.append(f"p95 {figures['p95_ms']} ms")
    if figures.get("rps") is not None:
        bits.append(f"{figures['rps']} req/s")
    if document.get("error"):
        return ACCEPTANCE_FAILED, str(document["error"])
    if document.get("passed") and document.get("complete"):
        return ACCEPTANCE_PASSED, "; ".join(bits)
    first = next((f for p in parts.values() for f in p.get("failures") or []), None)
    if first:
        bits.append(f"{first.get('test')}: {first.get('message')}")
    elif not document.get("complete"):
        bits.append("not every part ran")
    return ACCEPTANCE_FAILED, "; ".join(bits)


# --- the command line ---------------------------------------------------------------------------


def run_url_from_env() -> str | None:
    server, repo, run = (os.environ.get(k) for k in
                         ("GITHUB_SERVER_URL", REPOSITORY_ENV, "GITHUB_RUN_ID"))  # fmt: skip
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.records",
                                     description="Deployment records in GitHub.")  # fmt: skip
    parser.add_argument("--repository", default=os.environ.get(REPOSITORY_ENV, ""),
                        help="OWNER/NAME (default: $GITHUB_REPOSITORY)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="record a deploy starting; prints its id")
    add = commands.add_parser("add", help="add a verdict to a deploy")
    acceptance = commands.add_parser("acceptance", help="record the acceptance suite's verdict")
    running = commands.add_parser("running", help="print the digest the stage runs")
    verified = commands.add_parser("verified", help="exit 0 if the digest passed in the stage")
    hold = commands.add_parser("hold", help="hold the digest in the stage")
    release = commands.add_parser("release", help="release the digest's hold in the stage")
    history = commands.add_parser("history", help="the stage's deploys, newest first")
    for sub in (start, running, verified, hold, release, history):
        sub.add_argument("--stage", required=True)
    for sub in (start, verified, hold, release):
        sub.add_argument("--digest", required=True)
    for sub in (add, acceptance):
        sub.add_argument("--id", required=True, type=int)
    start.add_argument("--sha", required=True)
    start.add_argument("--reason", default="")
    add.add_argument("--verdict", required=True, choices=sorted(VERDICTS))
    add.add_argument("--summary", default="")
    add.add_argument("--url", default="", help="the stage's URL (deployed)")
    acceptance.add_argument("--verdict-file", required=True, type=Path)
    acceptance.add_argument("--ran", default="true", choices=("true", "false"),
                            help="false: the suite did not run in this stage (its acceptanceRun)")  # fmt: skip
    for sub in (hold, release):
        sub.add_argument("--reason", required=True)
    hold.add_argument("--sha", default=None, help="the image's commit, if the stage has no record")
    history.add_argument("--json", action="store_true")
    return parser


def _acceptance_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {"error": f"the suite wrote no verdict ({path} is missing)"}
    except ValueError as exc:
        return {"error": f"{path} is not JSON ({exc})"}
    return document if isinstance(document, dict) else {"error": f"{path} is not a verdict"}


def _command(records: Records, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    run_url = run_url_from_env()
    if args.command == "start":
        ident = records.start(args.stage, args.digest, args.sha, run_url=run_url,
                              reason=args.reason).id  # fmt: skip
        out(str(ident))
        append_to("GITHUB_OUTPUT", f"id={ident}")
    elif args.command == "add":
        status = records.add(args.id, args.verdict, args.summary, url=args.url or None,
                             log_url=run_url)  # fmt: skip
        out(describe(str(status.verdict), status.summary))
    elif args.command == "acceptance":
        verdict, summary = (
            acceptance_verdict(_acceptance_document(args.verdict_file)) if args.ran == "true"
            else (ACCEPTANCE_SKIPPED, "the stage's acceptanceRun does not run the suite here")
        )  # fmt: skip
        records.add(args.id, verdict, summary, log_url=run_url)
        out(describe(verdict, summary))
        return 0 if verdict != ACCEPTANCE_FAILED else 1
    elif args.command == "running":
        record = records.running(args.stage)
        if record is None:
            return 1
        out(record.digest)
    elif args.command == "verified":
        record = records.verified(args.stage, args.digest)
        out(f"{short(args.digest)} passed verification in {args.stage} (deployment {record.id})"
            if record else f"{short(args.digest)} has no passed verification in {args.stage}")  # fmt: skip
        return 0 if record else 1
    elif args.command in ("hold", "release"):
        if args.command == "hold":
            status = records.hold(args.stage, args.digest, args.reason, git_sha=args.sha,
                                  run_url=run_url)  # fmt: skip
        else:
            status = records.release(args.stage, args.digest, args.reason, run_url=run_url)
        out(f"{status.verdict} {short(args.digest)} in {args.stage}: {status.summary}")
    else:
        found = records.history(args.stage)
        if args.json:
            out(json.dumps([r.as_dict() for r in found], indent=2))
        for record in [] if args.json else found:
            out(f"{record.id} {short(record.digest)} {' '.join(reversed(record.verdicts))}")
    return 0


def main(argv: Sequence[str] | None = None, *, transport: Transport | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        records = Records(transport or UrllibTransport.from_env(), args.repository)
        return _command(records, args, print)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GitHubError as exc:
        print(f"error: recording in GitHub failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
