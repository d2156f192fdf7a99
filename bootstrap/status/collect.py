"""Collecting the grid: one row per stage, in lifecycle order, from whichever sources answered.

- what runs: the stage stack's `image` output (the source of truth), else (no stacks) the newest
  GitHub deployment that succeeded;
- the deployment that put it there (when, by whom, its smoke test), from GitHub; deployments
  without a written digest get the image built from their commit (the registry's git-SHA tag),
  except runs started by hand, which stay unattributed rather than guessed;
- the previous release: the stack's `previousImage`, else GitHub's history, else the registry's
  `deployed.<stage>.` tags;
- git SHAs and push times from the registry; /health of every deployed stage at once;
- each stage's account, and its alarms read with that account's credentials (`live.py`): a stage
  whose credentials are missing says so in its row, the others are read as usual.

A source that fails is a note, unless nothing at all could be read (docs/status.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.automation import INSTALL_COMMAND
from bootstrap.errors import UserError
from bootstrap.status.model import (
    Deployment,
    Release,
    Report,
    StageStatus,
    Waiting,
    parse_image,
    short_digest,
)
from bootstrap.status.registry import Registry, SoftRegistry
from bootstrap.status.sources import Sources, read_stacks, torn_down
from stacks.contract import INFRA_DIR, SHARED

if TYPE_CHECKING:
    from bootstrap.spec import Spec
    from bootstrap.status.live import AlarmRead, StageReads


@dataclass
class _Read:
    """What the stacks and GitHub said (read at the same time)."""

    outputs: dict[str, dict[str, Any]] | None = None
    torn_down: set[str] = field(default_factory=set)  # stages whose workload was torn down
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
                read.torn_down = torn_down(sources.ops, spec, read.outputs)
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
                f"install the Pulumi CLI (`{INSTALL_COMMAND}`), or set "
                "GITHUB_TOKEN and the repo's owner (`bootstrap github sync`)",
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


FREEZE_HORIZON_DAYS = 7  # upcoming freeze windows shown this far ahead


def _freezes(stages: list[StageStatus], infra: Path, now: datetime, notes: list[str]) -> None:
    """Each stage's freeze window now and those starting within a week (its `freezeWindows`)."""
    from datetime import timedelta

    from stacks.freeze import KEY, active, configured, parse_windows, upcoming

    for stage in stages:
        path = infra / f"Pulumi.{stage.stage}.yaml"
        if not path.is_file():
            continue
        try:
            windows = parse_windows(configured(path)[1], KEY)
        except ValueError as exc:
            notes.append(f"{INFRA_DIR}/{path.name}: {exc}")
            continue
        window = active(windows, now)
        stage.freeze = window.describe() if window else None
        ahead = upcoming(windows, now, timedelta(days=FREEZE_HORIZON_DAYS))
        stage.freezes_ahead = [w.describe() for w in ahead]
        if stage.freeze:
            stage.notes.append(f"frozen: {stage.freeze}")
        if ahead:
            stage.notes.append(f"next freeze: {stage.freezes_ahead[0]}")


def _count_behind(github: Any, stages: list[StageStatus], notes: list[str]) -> None:
    """How many commits each stage's release is behind the release of the stage before it
    (GitHub's compare of the two commits), where both commits are known."""
    from bootstrap.status.github import records_transport
    from stacks.changes import compare
    from stacks.github_api import GitHubError

    transport = records_transport(github.client)
    for before, stage in pairwise(stages):
        base = stage.current.git_sha if stage.current else None
        head = before.current.git_sha if before.current else None
        if not stage.behind or not base or not head:
            continue
        try:
            stage.behind_commits = compare(transport, github.repository, base, head,
                                           pull_lookups=0).ahead_by  # fmt: skip
        except GitHubError as exc:
            if exc.status == 404:  # a commit GitHub does not have (history rewritten): no count
                continue
            notes.append(f"the commits between {before.stage} and {stage.stage} were not "
                         f"counted ({exc.message})")  # fmt: skip
            return


def collect(spec: Spec, sources: Sources, *, health_for: Iterable[str] | None = None) -> Report:
    """The status of every stage. `health_for` limits the /health checks (None: every stage)."""
    read = _read(spec, sources)
    notes = read.notes
    registry: SoftRegistry | None = None
    registry_name = sources.registry_name
    if read.outputs and read.outputs.get(SHARED, {}).get("repositoryName"):
        registry_name = str(read.outputs[SHARED]["repositoryName"])
    if sources.registry is not None and registry_name:
        try:
            registry = SoftRegistry(sources.registry(registry_name), notes)
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
            torn_down=name in read.torn_down,
        )
        for name in spec.stage_names
    ]
    if registry is not None and registry.failed:
        read.sources["registry"] = f"not read: {registry.failed}"

    for before, stage in pairwise(stages):
        ahead = before.current.digest if before.current else None
        if ahead and (stage.current is None or stage.current.digest != ahead):
            stage.behind = before.stage
    if sources.github is not None and not read.sources.get("github", "").startswith("not read"):
        _count_behind(sources.github, stages, notes)

    if sources.infra is not None:
        _freezes(stages, sources.infra, sources.now(), notes)
    multi_account = False
    if sources.live is not None:
        multi_account = _live(stages, sources.live, read.outputs or {}, notes)

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
        previews=sources.previews() if sources.previews is not None else [],
        multi_account=multi_account,
    )


def _one(accounts: set[str]) -> str | None:
    return next(iter(accounts)) if len(accounts) == 1 else None


def _live(
    stages: list[StageStatus], live: StageReads, outputs: dict[str, dict[str, Any]],
    notes: list[str],
) -> bool:  # fmt: skip
    """Each stage's account, and the alarms of each running stage read with its own account's
    credentials (in parallel); whether the stages span more than one account. A stage that
    cannot be read says why in its row when the project spans accounts, else in one note."""
    from bootstrap.lifecycle import stack_accounts

    tooling = _one(stack_accounts(outputs.get(SHARED, {})))
    readers: dict[str, AlarmRead] = {}
    problems: list[str] = []
    for stage in stages:
        recorded = _one(stack_accounts(outputs.get(stage.stage, {})))
        stage.account = live.named_account(stage.stage) or recorded or tooling
        if not stage.deployed or stage.torn_down:
            continue
        # STS (one call per profile) and the stage's client, made here: boto3's sessions are
        # not thread-safe, its clients are (the reads below run in parallel)
        access = live.open(stage.stage, tooling)
        stage.account = access.account or stage.account
        if access.problem is not None:
            problems.append(access.cause or access.problem)
            if live.multi_account:
                stage.credentials = access.problem
                stage.notes.append(access.problem)
        elif access.alarms is not None:
            readers[stage.stage] = access.alarms
    if problems and not live.multi_account:
        notes.append(f"alarms not read ({problems[0]})")
    if readers:
        with ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="alarms") as pool:
            futures = {name: pool.submit(read) for name, read in readers.items()}
        for stage in stages:
            if stage.stage not in futures:
                continue
            try:
                stage.alarms = list(futures[stage.stage].result())
            except UserError as exc:
                stage.notes.append(f"alarms not read ({exc.problem})")
                continue
            firing = [name for name, state in stage.alarms if state == "ALARM"]
            if firing:
                stage.notes.append(f"alarm firing: {', '.join(firing)}")
    known = {stage.account for stage in stages}
    return len(known - {None}) > 1 or (None in known and live.multi_account)


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
    *,
    torn_down: bool = False,
) -> StageStatus:
    stage = StageStatus(name, spec.stage(name).manual, deployed=False)
    _attribute(deployments, registry)
    stage.deployments = deployments
    mine = (outputs or {}).get(name, {})
    if torn_down:
        return _torn_down(stage, mine, registry)
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


def _torn_down(stage: StageStatus, outputs: dict[str, Any], registry: Registry | None) -> StageStatus:
    """A stage after the teardown workflow: its foundation (deploy role) stays, its workload is
    gone. Nothing runs; what ran is its previous release; there is no URL to check."""
    stage.deployed = True
    stage.torn_down = True
    _, digest = parse_image(outputs.get("image"))
    if digest:
        stage.previous = Release(digest, str(outputs["image"]).strip(), source="stack")
    stage.notes.append(
        "workload torn down (teardown workflow); its deploy role is kept, so the next deploy "
        "recreates it"
    )
    _enrich(stage, registry)
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
