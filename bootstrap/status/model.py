"""The status model: what runs (or ran) in each stage, as `status` shows it and `--json` prints it.

Plain data, no I/O. `collect.py` fills it from the sources; `render.py` draws it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stacks.contract import DIGEST_PATTERN, IMAGE_REF, PLACEHOLDER_DIGEST

if TYPE_CHECKING:
    from bootstrap.status.registry import Registry

DIGEST_IN_TEXT = re.compile(DIGEST_PATTERN)  # a digest anywhere in a text (descriptions, titles)


def parse_image(value: object) -> tuple[str | None, str | None]:
    """(repository, digest) of `REPOSITORY@sha256:DIGEST`; the placeholder digest is no image."""
    if not isinstance(value, str):
        return None, None
    match = IMAGE_REF.match(value.strip())
    if not match or match.group("digest") == PLACEHOLDER_DIGEST:
        return None, None
    return match.group("repository"), match.group("digest")


def short_digest(digest: str | None) -> str:
    return f"sha256:{digest[7:19]}" if digest else "?"


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def aware(when: Any) -> datetime | None:
    """A datetime with a time zone (UTC when it had none); None for anything else."""
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class Release:
    """One image, as it runs (or ran) in one stage."""

    digest: str | None
    image: str | None = None  # REPOSITORY@sha256:DIGEST
    git_sha: str | None = None
    deployed_at: datetime | None = None
    deployed_by: str | None = None
    pushed_at: datetime | None = None
    smoke_test: str | None = None  # the state of its newest GitHub deployment to this stage
    in_registry: bool | None = None  # None: not looked up
    source: str = "stack"  # where it was learnt: stack | github | registry

    @property
    def label(self) -> str:
        sha = self.git_sha[:7] if self.git_sha else None
        if self.digest:
            return f"{sha} {short_digest(self.digest)}" if sha else short_digest(self.digest)
        return f"{sha} (digest unknown)" if sha else "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "image": self.image,
            "git_sha": self.git_sha,
            "deployed_at": iso(self.deployed_at),
            "deployed_by": self.deployed_by,
            "pushed_at": iso(self.pushed_at),
            "smoke_test": self.smoke_test,
            "in_registry": self.in_registry,
            "source": self.source,
        }


@dataclass
class Health:
    """What `GET <url>/health` answered."""

    url: str
    ok: bool
    status: int | None
    detail: str  # "200", "HTTP 500", "timed out", "connection refused", ...
    release: str | None = None  # the digest /health names, if any

    @property
    def summary(self) -> str:
        """`ok (200)`, `failing (HTTP 500)`, `down (connection refused)`."""
        if self.ok:
            return f"ok ({self.status})"
        return f"failing ({self.detail})" if self.status else f"down ({self.detail})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "release": self.release,
        }


@dataclass
class Waiting:
    """A deployment to the stage held for approval (an environment's required reviewers)."""

    run_id: int | None
    run_url: str | None = None
    sha: str | None = None
    actor: str | None = None
    since: datetime | None = None
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_url": self.run_url,
            "sha": self.sha,
            "actor": self.actor,
            "since": iso(self.since),
            "title": self.title,
        }


@dataclass
class Deployment:
    """One GitHub deployment to an environment, with its statuses (newest first)."""

    id: int
    environment: str
    sha: str | None
    created_at: datetime | None
    creator: str | None
    states: list[str]
    succeeded_at: datetime | None = None  # when its first `success` status was posted
    digest: str | None = None
    digest_source: str | None = None  # payload | status | run | sha
    dispatched: bool = False  # made by a run started by hand (workflow_dispatch)
    environment_url: str | None = None  # the job's `environment.url` (the stage's URL)

    @property
    def succeeded(self) -> bool:
        return "success" in self.states

    @property
    def state(self) -> str:
        """The newest state that is not `inactive` (GitHub's mark for a superseded success)."""
        return next((s for s in self.states if s != "inactive"), "pending")


@dataclass
class StageStatus:
    stage: str
    manual: bool
    deployed: bool  # the stack has outputs (or, without stacks, GitHub saw a success)
    url: str | None = None
    current: Release | None = None
    previous: Release | None = None
    health: Health | None = None
    waiting: Waiting | None = None
    behind: str | None = None  # the stage before it, when that one runs another release
    behind_commits: int | None = None  # how many commits that release is ahead (GitHub's compare)
    freeze: str | None = None  # the freeze window the stage is in now (stacks/freeze.py)
    freezes_ahead: list[str] = field(default_factory=list)  # windows starting within a week
    last_deployment: str | None = None  # the newest GitHub deployment's state, when not current
    torn_down: bool = False  # the teardown workflow removed the workload; the foundation stays
    account: str | None = None  # the AWS account it lives in (None: unknown)
    alarms: list[tuple[str, str | None]] | None = None  # (name, state) in its account; None: unread
    credentials: str | None = None  # why its account could not be read (the profile it needs)
    notes: list[str] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "manual": self.manual,
            "deployed": self.deployed,
            "torn_down": self.torn_down,
            "url": self.url,
            "release": self.current.to_dict() if self.current else None,
            "previous": self.previous.to_dict() if self.previous else None,
            "health": self.health.to_dict() if self.health else None,
            "waiting_for_approval": self.waiting.to_dict() if self.waiting else None,
            "behind": self.behind,
            "behind_commits": self.behind_commits,
            "freeze": self.freeze,
            "freezes_ahead": list(self.freezes_ahead),
            "last_deployment": self.last_deployment,
            "account": self.account,
            "alarms": None
            if self.alarms is None
            else [{"name": name, "state": state} for name, state in self.alarms],
            "credentials": self.credentials,
            "notes": list(self.notes),
        }


@dataclass
class Report:
    project: str
    stages: list[StageStatus]
    generated_at: datetime
    sources: dict[str, str] = field(default_factory=dict)  # source -> "read" or why not
    repository: str | None = None  # the GitHub repository read
    registry: str | None = None  # the ECR repository read
    notes: list[str] = field(default_factory=list)
    lookup: Registry | None = field(default=None, repr=False)  # the registry, for promote/rollback
    template: dict[str, Any] | None = None  # template and tool versions the repo was made with
    previews: list[Any] = field(default_factory=list)  # bootstrap.previews.PreviewStatus
    multi_account: bool = False  # the stages live in more than one AWS account

    def stage(self, name: str) -> StageStatus:
        return next(s for s in self.stages if s.stage == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "generated_at": iso(self.generated_at),
            "github": self.repository,
            "registry": self.registry,
            "sources": dict(self.sources),
            "stages": [s.to_dict() for s in self.stages],
            "notes": list(self.notes),
            "template": self.template,
            "previews": [p.to_dict() for p in self.previews],
        }
