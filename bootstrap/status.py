"""Which release runs where: the grid of `bootstrap status`, and the facts promote/rollback use.

One row per stage, in lifecycle order. The sources, each optional (docs/status.md):

- **the stacks** (`StackOps.outputs`): `url`, `image` (`REPOSITORY@sha256:DIGEST`: what runs,
  the source of truth) and, when the stage program exports it, `previousImage`;
- **GitHub** (token + owner): the repository's deployments per environment (= stage), newest
  first, with their statuses (the deploy job's smoke test decides `success`), and the workflow
  runs waiting for an approval (`pending_deployments`);
- **the registry** (ECR, `describe_images` by digest): a digest's git SHA (the build tags every
  image with its commit) and push time; images tagged `deployed.<stage>.` (`release.tag_deployed`);
- **the service**: `GET <url>/health`, concurrently, with a short timeout.

A GitHub deployment names a commit, not an image. Its image is found, in order: a digest written
in the deployment (payload, description) or in one of its statuses (description,
environment_url); the digest in the title of the workflow run that made it (promote.yml's
run-name carries its `digest` input); else, for runs not started by hand, the image built from the
deployment's commit (ECR tag = git SHA). Dispatched runs without a digest stay unattributed rather
than guessed.

Nothing here writes anything; `bootstrap.release` decides and performs promotions and rollbacks.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any, Protocol

from bootstrap.errors import RemoteError, UserError

if TYPE_CHECKING:
    from rich.table import Table

    from bootstrap.automation import StackOps
    from bootstrap.github.client import GitHubClient
    from bootstrap.spec import Spec

SHARED = "shared"
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64  # what a stage runs before its first build
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
IMAGE_REF = re.compile(r"^(?P<repository>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")
GIT_SHA = re.compile(r"^[0-9a-f]{40}$")
RUN_LINK = re.compile(r"/actions/runs/(\d+)")
DEPLOYED_TAG = "deployed.{stage}."  # prefix of the registry tags `release.tag_deployed` adds
PROMOTE_WORKFLOW = "promote.yml"
HEALTH_TIMEOUT = 3.0
DEPLOYMENTS_PER_STAGE = 10  # the newest deployments read per environment


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


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _human_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def _aware(when: Any) -> datetime | None:
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- the model ------------------------------------------------------------------------------


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
            "deployed_at": _iso(self.deployed_at),
            "deployed_by": self.deployed_by,
            "pushed_at": _iso(self.pushed_at),
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
            "since": _iso(self.since),
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
    last_deployment: str | None = None  # the newest GitHub deployment's state, when not current
    notes: list[str] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "manual": self.manual,
            "deployed": self.deployed,
            "url": self.url,
            "release": self.current.to_dict() if self.current else None,
            "previous": self.previous.to_dict() if self.previous else None,
            "health": self.health.to_dict() if self.health else None,
            "waiting_for_approval": self.waiting.to_dict() if self.waiting else None,
            "behind": self.behind,
            "last_deployment": self.last_deployment,
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

    def stage(self, name: str) -> StageStatus:
        return next(s for s in self.stages if s.stage == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "generated_at": _iso(self.generated_at),
            "github": self.repository,
            "registry": self.registry,
            "sources": dict(self.sources),
            "stages": [s.to_dict() for s in self.stages],
            "notes": list(self.notes),
            "template": self.template,
        }


# --- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None

    @property
    def git_sha(self) -> str | None:
        """The commit the image was built from: the build tags each image with its git SHA."""
        return next((t for t in self.tags if GIT_SHA.match(t)), None)


class Registry(Protocol):
    def image(self, digest: str) -> ImageInfo | None:
        """The image with this digest, or None when the registry does not hold it."""

    def digest_for_tag(self, tag: str) -> str | None: ...

    def deployed(self, stage: str) -> list[ImageInfo]:
        """Images tagged `deployed.<stage>.*`, the most recently pushed first."""


class EcrRegistry:
    """`Registry` on boto3 ECR; lookups are cached for one command."""

    def __init__(self, client: Any, repository_name: str) -> None:
        self.client = client
        self.repository = repository_name
        self._images: dict[str, ImageInfo | None] = {}
        self._tags: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def _describe(self, image_id: dict[str, str]) -> ImageInfo | None:
        import botocore.exceptions as bx

        from bootstrap.backend import aws_errors

        with aws_errors(f"reading the image {next(iter(image_id.values()))} from ECR"):
            try:
                found = self.client.describe_images(
                    repositoryName=self.repository, imageIds=[image_id]
                )["imageDetails"]
            except bx.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                    return None
                raise
        return _image_info(found[0]) if found else None

    def image(self, digest: str) -> ImageInfo | None:
        with self._lock:
            if digest not in self._images:
                self._images[digest] = self._describe({"imageDigest": digest})
            return self._images[digest]

    def digest_for_tag(self, tag: str) -> str | None:
        with self._lock:
            if tag not in self._tags:
                info = self._describe({"imageTag": tag})
                self._tags[tag] = info.digest if info else None
                if info:
                    self._images.setdefault(info.digest, info)
            return self._tags[tag]

    def deployed(self, stage: str) -> list[ImageInfo]:
        import botocore.exceptions as bx

        from bootstrap.backend import aws_errors

        prefix = DEPLOYED_TAG.format(stage=stage)
        found: list[ImageInfo] = []
        with aws_errors(f"listing the images of {self.repository}"):
            try:
                pages = self.client.get_paginator("describe_images").paginate(
                    repositoryName=self.repository, filter={"tagStatus": "TAGGED"}
                )
                for page in pages:
                    for detail in page.get("imageDetails", []):
                        info = _image_info(detail)
                        if any(t.startswith(prefix) for t in info.tags):
                            found.append(info)
            except bx.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "RepositoryNotFoundException":
                    raise
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda i: i.pushed_at or epoch, reverse=True)


def _image_info(detail: dict[str, Any]) -> ImageInfo:
    return ImageInfo(
        detail["imageDigest"],
        tuple(detail.get("imageTags") or ()),
        _aware(detail.get("imagePushedAt")),
    )


class _SoftRegistry:
    """A registry whose first failure (no credentials, no permission) turns it off, with a note."""

    def __init__(self, inner: Registry, notes: list[str]) -> None:
        self.inner = inner
        self.notes = notes
        self.failed: str | None = None

    def _call(self, fn: Callable[[], Any], default: Any) -> Any:
        if self.failed is not None:
            return default
        try:
            return fn()
        except UserError as exc:
            self.failed = exc.problem
            self.notes.append(f"registry not read ({exc.problem}): git SHAs and push times unknown")
            return default

    def image(self, digest: str) -> ImageInfo | None:
        return self._call(lambda: self.inner.image(digest), None)

    def digest_for_tag(self, tag: str) -> str | None:
        return self._call(lambda: self.inner.digest_for_tag(tag), None)

    def deployed(self, stage: str) -> list[ImageInfo]:
        return self._call(lambda: self.inner.deployed(stage), [])


# --- GitHub -----------------------------------------------------------------------------------


class GitHubView:
    """The repository's deployments, waiting runs and the promote workflow, through PyGithub."""

    def __init__(
        self, client: GitHubClient, repository: str, *, branch: str = "main",
        limit: int = DEPLOYMENTS_PER_STAGE,
    ) -> None:  # fmt: skip
        self.client = client
        self.repository = repository
        self.branch = branch
        self.limit = limit
        self._repo: Any = None
        self._runs: dict[int, tuple[str, str]] = {}  # run id -> (event, title)

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.client.run(
                f"read the repository {self.repository}",
                lambda: self.client.gh.get_repo(self.repository),
            )
        return self._repo

    def deployments(self, environment: str) -> list[Deployment]:
        """The newest deployments to `environment`, newest first, each with its statuses.

        Reading stops once three different releases that succeeded have been seen: the current
        and previous release are among them."""

        def read() -> list[Deployment]:
            found: list[Deployment] = []
            succeeded: set[str] = set()
            for raw in islice(self.repo.get_deployments(environment=environment), self.limit):
                deployment = self._deployment(raw, environment)
                found.append(deployment)
                if deployment.succeeded:
                    succeeded.add(deployment.digest or deployment.sha or str(deployment.id))
                    if len(succeeded) >= 3:
                        break
            return found

        return self.client.run(f"read the deployments to {environment}", read)

    def _deployment(self, raw: Any, environment: str) -> Deployment:
        statuses = list(islice(raw.get_statuses(), 50))
        states = [str(s.state) for s in statuses]
        successes = [s for s in statuses if s.state == "success"]
        creator = getattr(raw.creator, "login", None) if raw.creator is not None else None
        deployment = Deployment(
            id=int(raw.id),
            environment=environment,
            sha=raw.sha or None,
            created_at=_aware(raw.created_at),
            creator=creator,
            states=states,
            succeeded_at=_aware(successes[-1].created_at) if successes else None,
            environment_url=next((s.environment_url for s in statuses if s.environment_url), None),
        )
        texts: list[tuple[str, Any]] = [
            ("payload", json.dumps(raw.payload) if raw.payload else ""),
            ("payload", raw.description or ""),
        ]
        for status in statuses:
            texts.append(("status", status.description or ""))
            texts.append(("status", status.environment_url or ""))
        for source, text in texts:
            match = DIGEST.search(str(text))
            if match and match.group(0) != PLACEHOLDER_DIGEST:
                deployment.digest, deployment.digest_source = match.group(0), source
                return deployment
        run_id = next(
            (
                int(m.group(1))
                for s in statuses
                for m in [RUN_LINK.search(f"{s.log_url or ''} {s.target_url or ''}")]
                if m
            ),
            None,
        )
        if run_id is not None:
            event, title = self._run(run_id)
            deployment.dispatched = event == "workflow_dispatch"
            match = DIGEST.search(title)
            if match:
                deployment.digest, deployment.digest_source = match.group(0), "run"
        return deployment

    def _run(self, run_id: int) -> tuple[str, str]:
        if run_id not in self._runs:
            from github import GithubException

            try:
                run = self.repo.get_workflow_run(run_id)
                self._runs[run_id] = (
                    str(run.event or ""),
                    str(run.display_title or run.name or ""),
                )
            except GithubException as exc:
                if exc.status != 404:
                    raise
                self._runs[run_id] = ("", "")
        return self._runs[run_id]

    def waiting(self) -> dict[str, Waiting]:
        """Environment -> the oldest run waiting for its approval."""
        from bootstrap.github.client import path

        owner, name = self.repository.split("/", 1)

        def read() -> dict[str, Waiting]:
            found: dict[str, Waiting] = {}
            for run in islice(self.repo.get_workflow_runs(status="waiting"), 20):
                pending = (
                    self.client.get(
                        path(
                            "repos",
                            owner,
                            name,
                            "actions",
                            "runs",
                            str(run.id),
                            "pending_deployments",
                        )
                    )
                    or []
                )
                actor = getattr(run.actor, "login", None) if run.actor is not None else None
                for item in pending:
                    environment = (item.get("environment") or {}).get("name")
                    if not environment:
                        continue
                    found[environment] = Waiting(
                        run_id=int(run.id),
                        run_url=run.html_url,
                        sha=run.head_sha,
                        actor=actor,
                        since=_aware(run.created_at),
                        title=run.display_title or run.name,
                    )
            return found

        return self.client.run("read the workflow runs waiting for approval", read)

    def dispatch(self, workflow: str, inputs: dict[str, str]) -> str:
        """Start `workflow` on the main branch with `inputs`; returns the workflow's page."""
        from github import GithubException

        def send() -> None:
            self.repo.get_workflow(workflow).create_dispatch(self.branch, inputs, throw=True)

        try:
            self.client.run(f"start {workflow}", send)
        except RemoteError as exc:
            cause = exc.__cause__
            if isinstance(cause, GithubException) and cause.status == 404:
                raise RemoteError(
                    f"GitHub has no workflow {workflow} on {self.branch} in {self.repository}",
                    "push the repository first (bootstrap github sync), or pass --local",
                ) from exc
            raise
        html = getattr(self.repo, "html_url", None) or f"https://github.com/{self.repository}"
        return f"{html}/actions/workflows/{workflow}"


def github_from_env(
    spec: Spec, repo_path: Any, *, api_url: str | None = None, notify: Callable[[str], None] | None
) -> GitHubView | None:
    """The GitHub view when GitHub is configured (owner in the spec and a token), else None."""
    import os
    from urllib.parse import urlparse

    from bootstrap.github.client import GitHubClient, RetryPolicy, is_loopback, resolve_api_url
    from bootstrap.github.rerender import read_record
    from bootstrap.github.token import TOKEN_ENV

    record = read_record(repo_path)
    repository = record.get("repository") or spec.repository
    token = next((os.environ[n].strip() for n in TOKEN_ENV if os.environ.get(n, "").strip()), None)
    if not repository or not token:
        return None
    url = resolve_api_url(api_url or os.environ.get("GITHUB_API_URL") or record.get("api_url"))

    def wait(seconds: float) -> None:
        if notify:
            notify(f"GitHub asked to slow down: retrying in {seconds:.0f} s")
        time.sleep(seconds)

    host = urlparse(url).hostname or ""
    client = GitHubClient(
        token, url, retry=RetryPolicy(attempts=3, sleep=wait), throttle=not is_loopback(host),
        timeout=15,
    )  # fmt: skip
    return GitHubView(client, str(repository))


# --- health -----------------------------------------------------------------------------------


def check_health(url: str, *, timeout: float = HEALTH_TIMEOUT) -> Health:
    """One `GET <url>/health`: 2xx is healthy; the digest it names (`release`) is kept."""
    import socket
    import urllib.error
    import urllib.request

    target = url.rstrip("/") + "/health"
    if not target.startswith(("http://", "https://")):
        return Health(target, False, None, "not an http(s) URL")
    request = urllib.request.Request(target, headers={"User-Agent": "bootstrap-status"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(4096)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return Health(target, False, exc.code, f"HTTP {exc.code}")
    except TimeoutError:
        return Health(target, False, None, "timed out")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Health(target, False, None, "timed out")
        if isinstance(reason, ConnectionRefusedError):
            return Health(target, False, None, "connection refused")
        if isinstance(reason, socket.gaierror):
            return Health(target, False, None, "unknown host")
        return Health(target, False, None, str(reason)[:80])
    except (OSError, ValueError) as exc:
        return Health(target, False, None, str(exc)[:80] or type(exc).__name__)
    release = None
    match = DIGEST.search(body.decode("utf-8", errors="replace"))
    if match:
        release = match.group(0)
    ok = 200 <= status < 300
    return Health(target, ok, status, str(status) if ok else f"HTTP {status}", release)


def check_all(
    urls: dict[str, str], *, timeout: float = HEALTH_TIMEOUT,
    check: Callable[..., Health] = check_health,
) -> dict[str, Health]:  # fmt: skip
    """Health of every URL at once. Daemon threads and one deadline: a name that never resolves
    cannot hold the command (or the interpreter's exit) hostage."""
    results: dict[str, Health] = {}
    lock = threading.Lock()

    def one(key: str, url: str) -> None:
        health = check(url, timeout=timeout)
        with lock:
            results[key] = health

    threads = [
        threading.Thread(target=one, args=(k, u), daemon=True, name=f"health-{k}")
        for k, u in urls.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        for key, url in urls.items():
            results.setdefault(key, Health(url.rstrip("/") + "/health", False, None, "timed out"))
        return dict(results)


# --- collecting -----------------------------------------------------------------------------


@dataclass
class Sources:
    """Where `collect` reads from; any may be None (not configured, or not reachable)."""

    ops: StackOps | None = None
    github: GitHubView | None = None
    registry: Callable[[str], Registry] | None = None  # repository name -> registry
    registry_name: str | None = None  # when the shared stack does not say
    health: Callable[[dict[str, str]], dict[str, Health]] | None = check_all
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    why_no_stacks: str | None = None
    why_no_github: str | None = None
    template: dict[str, Any] | None = None  # bootstrap.update.template_info of the repo


class _NoState:
    """The stacks of a project whose local state directory does not exist yet: none deployed."""

    def outputs(self, stack: str) -> dict[str, Any]:
        return {}


def project_sources(
    project: Any,
    *,
    github: GitHubView | None,
    verbose: bool = False,
    why_no_github: str | None = None,
) -> Sources:
    """The sources of a generated repo: its stacks (Automation API, or the installed seam), its
    registry (boto3, with whatever AWS credentials there are) and `github` when configured."""
    from bootstrap.automation import open_ops
    from bootstrap.backend import aws_session
    from bootstrap.errors import ToolMissingError

    spec = project.spec
    from bootstrap.update import template_info

    sources = Sources(
        github=github, registry_name=spec.name, why_no_github=why_no_github,
        template=template_info(project.repo),
    )  # fmt: skip
    backend = project.backend
    if backend.kind == "file" and (backend.path is None or not backend.path.is_dir()):
        sources.ops = _NoState()  # type: ignore[assignment]
    else:
        ops = open_ops(project.repo, spec, backend, verbose=verbose)
        try:
            ops.check()
            sources.ops = ops
        except ToolMissingError as exc:
            sources.why_no_stacks = exc.problem

    def registry(name: str) -> Registry:
        return EcrRegistry(aws_session(spec.region).client("ecr", region_name=spec.region), name)

    sources.registry = registry
    return sources


def read_stacks(ops: StackOps, spec: Spec) -> dict[str, dict[str, Any]]:
    """Every stack's outputs ({} for one never deployed or destroyed)."""
    return {stack: dict(ops.outputs(stack)) for stack in spec.stacks}


@dataclass
class _Read:
    """What the stacks and GitHub said (read at the same time)."""

    outputs: dict[str, dict[str, Any]] | None = None
    deployments: dict[str, list[Deployment]] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    github_read: bool = False  # deployments were read (GitHub configured, with environments)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _read(spec: Spec, sources: Sources) -> _Read:
    read = _Read()
    github = sources.github
    environments = spec.trust_subject == "environment"

    def from_github() -> None:
        assert github is not None
        if environments:
            for stage in spec.stage_names:
                read.deployments[stage] = github.deployments(stage)
            read.waiting.update(github.waiting())

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="status") as pool:
        github_job = pool.submit(from_github) if github is not None else None
        if sources.ops is not None:
            try:
                read.outputs = read_stacks(sources.ops, spec)
                read.sources["stacks"] = "read"
            except UserError as exc:
                read.sources["stacks"] = f"not read: {exc.problem}"
                read.notes.append(f"stack outputs not read ({exc.problem})")
        else:
            read.sources["stacks"] = f"not read: {sources.why_no_stacks or 'unavailable'}"
        github_error: UserError | None = None
        if github_job is not None:
            try:
                github_job.result()
            except UserError as exc:
                github_error = exc
    if github_job is None:
        read.sources["github"] = f"not read: {sources.why_no_github or 'not configured'}"
        if read.outputs is None:
            raise UserError(
                "neither the stacks nor GitHub could be read, so nothing is known about the stages",
                "install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh), or set "
                "GITHUB_TOKEN and the repo's owner (bootstrap github sync)",
            )
    elif github_error is not None:
        if read.outputs is None:
            raise github_error
        read.sources["github"] = f"not read: {github_error.problem}"
        read.notes.append(f"GitHub not read ({github_error.problem})")
        read.deployments.clear()
        read.waiting.clear()
    else:
        read.github_read = environments
        read.sources["github"] = (
            "read" if environments else "read (no environments: trust subject branch)"
        )
    return read


def collect(spec: Spec, sources: Sources, *, health_for: Iterable[str] | None = None) -> Report:
    """The status of every stage. `health_for` limits the /health checks (None: every stage)."""
    read = _read(spec, sources)
    notes = read.notes
    registry: _SoftRegistry | None = None
    registry_name = sources.registry_name
    if read.outputs and read.outputs.get(SHARED, {}).get("repositoryName"):
        registry_name = str(read.outputs[SHARED]["repositoryName"])
    if sources.registry is not None and registry_name:
        try:
            registry = _SoftRegistry(sources.registry(registry_name), notes)
            read.sources["registry"] = "read"
        except UserError as exc:
            read.sources["registry"] = f"not read: {exc.problem}"
    else:
        read.sources["registry"] = "not read: not configured"

    stages = [
        _stage(
            spec,
            name,
            read.outputs,
            read.deployments.get(name, []),
            read.waiting.get(name),
            registry,
            read.github_read,
        )
        for name in spec.stage_names
    ]
    if registry is not None and registry.failed:
        read.sources["registry"] = f"not read: {registry.failed}"

    for before, stage in pairwise(stages):
        ahead = before.current.digest if before.current else None
        if ahead and (stage.current is None or stage.current.digest != ahead):
            stage.behind = before.stage

    wanted = set(spec.stage_names if health_for is None else health_for)
    urls = {s.stage: s.url for s in stages if s.url and s.stage in wanted and s.deployed}
    if urls and sources.health is not None:
        for stage_name, health in sources.health(urls).items():
            stage = next(s for s in stages if s.stage == stage_name)
            stage.health = health
            current = stage.current.digest if stage.current else None
            if health.ok and health.release and current and health.release != current:
                stage.notes.append(f"/health answers for {short_digest(health.release)}")

    github_name = sources.github.repository if sources.github is not None else None
    return Report(
        project=spec.name,
        stages=stages,
        generated_at=sources.now(),
        sources=read.sources,
        repository=github_name if not read.sources["github"].startswith("not read") else None,
        registry=registry_name if registry is not None and not registry.failed else None,
        notes=notes,
        lookup=registry,
        template=sources.template,
    )


def _attribute(deployments: list[Deployment], registry: Registry | None) -> None:
    """Give deployments without a written digest the image built from their commit."""
    for deployment in deployments:
        if deployment.digest or deployment.dispatched or not deployment.sha or registry is None:
            continue
        digest = registry.digest_for_tag(deployment.sha)
        if digest:
            deployment.digest, deployment.digest_source = digest, "sha"


def smoke_test(deployments: list[Deployment], digest: str | None) -> str | None:
    """The outcome of the newest deployment of `digest` (`success` when its smoke test passed)."""
    if not digest:
        return None
    for deployment in deployments:
        if deployment.digest == digest:
            return "success" if deployment.succeeded else deployment.state
    return None


def _stage(
    spec: Spec,
    name: str,
    outputs: dict[str, dict[str, Any]] | None,
    deployments: list[Deployment],
    waiting: Waiting | None,
    registry: Registry | None,
    github_read: bool,
) -> StageStatus:
    stage = StageStatus(name, spec.stage(name).manual, deployed=False)
    _attribute(deployments, registry)
    stage.deployments = deployments
    mine = (outputs or {}).get(name, {})
    _, digest = parse_image(mine.get("image"))
    current_deployment: Deployment | None = None

    if outputs is not None:
        stage.deployed = bool(mine)
        stage.url = str(mine["url"]) if mine.get("url") else None
        if digest:
            # the deployment that put it there: the newest that succeeded, else the newest
            mine_deployments = [d for d in deployments if d.digest == digest]
            current_deployment = next(
                (d for d in mine_deployments if d.succeeded),
                mine_deployments[0] if mine_deployments else None,
            )
            stage.current = Release(digest, str(mine["image"]).strip(), source="stack")
        elif stage.deployed:
            stage.notes.append("no image deployed yet (the build has not run)")
    else:
        current_deployment = next((d for d in deployments if d.succeeded), None)
        if current_deployment is not None:
            stage.deployed = True
            stage.url = current_deployment.environment_url
            stage.current = Release(
                current_deployment.digest,
                git_sha=current_deployment.sha
                if current_deployment.digest_source == "sha"
                else None,
                source="github",
            )
    if current_deployment is not None and stage.current is not None:
        stage.current.deployed_at = current_deployment.succeeded_at or current_deployment.created_at
        stage.current.deployed_by = current_deployment.creator
    if stage.current is not None and github_read:
        stage.current.smoke_test = smoke_test(deployments, stage.current.digest)

    stage.previous = _previous(name, mine, stage.current, deployments, current_deployment, registry)
    if stage.previous is not None and github_read:
        stage.previous.smoke_test = smoke_test(deployments, stage.previous.digest)

    _enrich(stage, registry)
    _activity(stage, deployments, current_deployment, waiting)
    return stage


def _enrich(stage: StageStatus, registry: Registry | None) -> None:
    """Git SHAs and push times from the registry; whether the releases are still there."""
    for release in (stage.current, stage.previous):
        if release is None or registry is None or not release.digest:
            continue
        info = registry.image(release.digest)
        if info is not None:
            release.in_registry = True
            release.git_sha = release.git_sha or info.git_sha
            release.pushed_at = info.pushed_at
        elif getattr(registry, "failed", None) is None:
            release.in_registry = False
    if stage.previous is not None and stage.previous.in_registry is False:
        stage.notes.append("the previous release is no longer in the registry")


def _activity(
    stage: StageStatus,
    deployments: list[Deployment],
    current_deployment: Deployment | None,
    waiting: Waiting | None,
) -> None:
    """A deployment waiting for approval; the newest deployment when it is not the current one
    and did not succeed (failed, or still running)."""
    newest = deployments[0] if deployments else None
    if newest is None or newest is current_deployment:
        stage.waiting = waiting
        return
    if waiting is None and newest.state == "waiting":
        waiting = Waiting(None, sha=newest.sha, actor=newest.creator, since=newest.created_at)
    stage.waiting = waiting
    if newest.state not in ("success", "inactive", "waiting"):
        stage.last_deployment = newest.state
        what = f" {newest.sha[:7]}" if newest.sha else ""
        verb = {"failure": "failed", "error": "failed"}.get(newest.state, newest.state)
        stage.notes.append(f"last deployment{what} {verb}")


def _previous(
    name: str,
    outputs: dict[str, Any],
    current: Release | None,
    deployments: list[Deployment],
    current_deployment: Deployment | None,
    registry: Registry | None,
) -> Release | None:
    """The release that ran before the current one: the stack's `previousImage` output, else
    GitHub's history, else the registry's `deployed.<stage>.` tags (most recently pushed)."""
    now = current.digest if current else None
    _, digest = parse_image(outputs.get("previousImage"))
    if digest and digest != now:
        return Release(digest, str(outputs["previousImage"]).strip(), source="stack")
    if deployments:
        start = deployments.index(current_deployment) + 1 if current_deployment else 0
        for deployment in deployments[start:]:
            if deployment.succeeded and deployment.digest and deployment.digest != now:
                image = None
                if current and current.image:
                    image = f"{current.image.rsplit('@', 1)[0]}@{deployment.digest}"
                return Release(
                    deployment.digest,
                    image,
                    deployed_at=deployment.succeeded_at or deployment.created_at,
                    deployed_by=deployment.creator,
                    source="github",
                )
        return None
    if registry is not None:
        for info in registry.deployed(name):
            if info.digest != now:
                image = None
                if current and current.image:
                    image = f"{current.image.rsplit('@', 1)[0]}@{info.digest}"
                return Release(info.digest, image, source="registry")
    return None


# --- rendering --------------------------------------------------------------------------------


def build_table(report: Report) -> Table:
    """The grid: one line per stage, in lifecycle order."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for column in ("STAGE", "RELEASE", "DEPLOYED (UTC)", "BY", "PREVIOUS", "URL", "HEALTH"):
        table.add_column(column, no_wrap=True, overflow="fold")
    table.add_column("NOTES", overflow="fold")
    for stage in report.stages:
        name = f"{stage.stage} (manual)" if stage.manual else stage.stage
        if stage.current is not None:
            release = Text(stage.current.label)
            when = _human_time(stage.current.deployed_at).removesuffix(" UTC")
            by = stage.current.deployed_by or "-"
        else:
            release = Text("no release yet" if stage.deployed else "never deployed", "dim")
            when = by = "-"
        previous = stage.previous.label if stage.previous else "-"
        if stage.health is None:
            health = Text("-")
        else:
            health = Text(stage.health.summary, style="green" if stage.health.ok else "red")
        notes = []
        if stage.current and stage.current.smoke_test not in (None, "success"):
            notes.append(f"smoke test {stage.current.smoke_test}")
        if stage.waiting is not None:
            run = f"run {stage.waiting.run_id}" if stage.waiting.run_id else "a deployment"
            who = f" by {stage.waiting.actor}" if stage.waiting.actor else ""
            notes.append(f"waiting for approval ({run}{who})")
        if stage.behind:
            notes.append(f"behind {stage.behind}")
        notes.extend(stage.notes)
        table.add_row(
            name, release, when, by, previous, stage.url or "-", health, "; ".join(notes) or "-"
        )
    return table


def header(report: Report) -> str:
    parts = [f"{report.project}: {len(report.stages)} stage(s)"]
    if report.repository:
        parts.append(f"GitHub {report.repository}")
    if report.registry:
        parts.append(f"registry {report.registry}")
    if report.template and report.template.get("template"):
        made = f"template {report.template['template']} (bootstrap {report.template['tool_version']})"
        if report.template.get("update_available"):
            made += f": bootstrap update brings {report.template['installed_tool_version']}"
        parts.append(made)
    return " | ".join(parts)


def render_text(report: Report, *, width: int = 200) -> str:
    """The grid as plain text at a fixed width (files, CI logs, snapshot tests)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False,
        markup=False, emoji=False, soft_wrap=False,
    )  # fmt: skip
    console.print(header(report))
    console.print(build_table(report))
    for note in report.notes:
        console.print(f"note: {note}")
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def pause(seconds: float) -> None:
    """The wait between two `--watch` refreshes (its own name, so tests replace only this)."""
    time.sleep(seconds)


def watch(
    step: Callable[[], None],
    *,
    interval: float,
    sleep: Callable[[float], None] | None = None,
    iterations: int | None = None,
) -> int:
    """Run `step` every `interval` seconds until interrupted (or `iterations` ran); the count."""
    done = 0
    try:
        while iterations is None or done < iterations:
            step()
            done += 1
            if iterations is not None and done >= iterations:
                break
            (sleep or pause)(interval)
    except KeyboardInterrupt:
        pass
    return done


def json_line(report: Report) -> str:
    """The report as one compact JSON document: a line of `--json --watch`."""
    return json.dumps(report.to_dict(), separators=(",", ":"))
