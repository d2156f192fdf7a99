"""Promotion and rollback: the rules, and the two ways of carrying them out.

Rules (docs/status.md):

- `promote --to STAGE` deploys the digest the stage before it runs: never a rebuild, never a tag.
  It refuses when that stage has no release (promoting would skip it), and when the digest did
  not pass that stage's smoke test: on GitHub, the newest deployment of the digest to that
  environment did not end `success`; locally (`--local`, or a repository without environments),
  that stage's `GET /health` does not answer 2xx for it. `--force` lets both through (and takes
  the digest from the nearest earlier stage that has one).
- `rollback --stage STAGE [--to DIGEST]` redeploys the release that ran there before the current
  one (`status` shows it), or the one given: a digest, `REPOSITORY@digest` or a git SHA.
- Both run through promote.yml (`workflow_dispatch`, inputs `stage` and `digest`: `dispatch`)
  when GitHub is configured, or through the Automation API with `--local` (`deploy_local`:
  `StackOps.up` with `<project>:image`), after which the release is marked in the registry the
  way the deploy workflow marks it (`stacks.ecr.Repository.mark_release`: the tag
  `deployed.<stage>.<git sha>`, superseded releases untagged; the lifecycle rules are
  `stacks/retention.py`).

Deciding reads only (`bootstrap.status`); carrying out writes: the dispatch, the deploy, the tags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.errors import ExitCode, RemoteError, SpecError, UserError
from bootstrap.status.model import Health, Report, StageStatus, short_digest
from stacks.contract import (
    DIGEST,
    GIT_SHA,
    IMAGE_REF,
    INFRA_DIR,
    PLACEHOLDER_DIGEST,
    PROMOTE_WORKFLOW,
)

if TYPE_CHECKING:
    from bootstrap.accounts import Accounts
    from bootstrap.automation import OpResult, StackOps
    from bootstrap.spec import Spec
    from bootstrap.status.github import GitHubView
    from bootstrap.status.registry import Registry
    from stacks.changes import Changes
    from stacks.gates import AlarmReader, Decision


# --- the rules ----------------------------------------------------------------------------------


@dataclass
class Move:
    """A decided promotion or rollback: deploy `digest` to `stage`."""

    action: Literal["promote", "rollback"]
    stage: str
    digest: str
    image: str | None  # REPOSITORY@digest, when the repository is known
    git_sha: str | None = None
    source: str | None = None  # promote: the stage it comes from
    current: str | None = None  # the digest the stage runs now
    checks: list[str] = field(default_factory=list)  # what was verified
    forced: list[str] = field(default_factory=list)  # what --force let through
    warnings: list[str] = field(default_factory=list)
    noop: bool = False  # the stage already runs it
    reason: str = ""  # why (--reason): recorded with the deployment
    commits: list[str] = field(default_factory=list)  # the change list, one line a commit

    @property
    def label(self) -> str:
        sha = f" ({self.git_sha[:7]})" if self.git_sha else ""
        return f"{short_digest(self.digest)}{sha}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "stage": self.stage,
            "digest": self.digest,
            "image": self.image,
            "git_sha": self.git_sha,
            "from": self.source,
            "replaces": self.current,
            "checks": list(self.checks),
            "forced": list(self.forced),
            "warnings": list(self.warnings),
            "noop": self.noop,
            "reason": self.reason or None,
            "commits": list(self.commits),
        }


class Refused(UserError):
    """A promotion or rollback that the rules refuse (the fix names --force when it applies)."""

    exit_code = ExitCode.FAILED


def promotable(spec: Spec, to: str) -> str:
    """The stage `promote --to` names, when something comes before it: checked from the spec
    alone, before GitHub or the stacks are read."""
    stage = spec.stage(to).name  # SpecError for an unknown stage
    if spec.stage_names.index(stage) == 0:
        raise SpecError(
            f"'{stage}' is the first stage: nothing comes before it to promote",
            "it gets each new build from the build workflow (push to main), or deploy one with "
            f"`bootstrap up --stage {stage} --image sha256:...`",
        )
    return stage


def verify_by_health(source: StageStatus, digest: str) -> str | None:
    """Why `digest` is not verified by the stage's /health (None: it is)."""
    health: Health | None = source.health
    if health is None:
        return f"'{source.stage}' has no URL whose /health could be checked"
    if not health.ok:
        return f"{health.url} is {health.summary}"
    if health.release and health.release != digest:
        return (
            f"{health.url} answers for {short_digest(health.release)}, not {short_digest(digest)}"
        )
    return None


def verify_by_github(source: StageStatus, digest: str) -> str | None:
    """Why `digest` did not pass `source`'s smoke test on GitHub (None: it passed)."""
    state = source.current.smoke_test if source.current else None
    if state == "success":
        return None
    if state is None:
        return f"GitHub records no deployment of {short_digest(digest)} to '{source.stage}'"
    return f"its deployment to '{source.stage}' ended '{state}'"


def plan_promotion(
    spec: Spec, report: Report, to: str, *, force: bool,
    verify: Literal["github", "health", "records"],
) -> Move:
    """What `promote --to` would do, or a Refused that says why not (and how to force it)."""
    target_stage = spec.stage(promotable(spec, to))
    names = spec.stage_names
    index = names.index(target_stage.name)
    before = report.stage(names[index - 1])
    source = before
    forced: list[str] = []
    if before.current is not None and not before.current.digest:
        raise Refused(
            f"cannot tell which image '{before.stage}' runs (its stack outputs were not read and "
            "GitHub does not name the digest)",
            "install the Pulumi CLI so that the stack outputs can be read, and run again",
        )
    if before.current is None:
        earlier = [
            stage
            for stage in (report.stage(n) for n in reversed(names[: index - 1]))
            if stage.current is not None and stage.current.digest
        ]
        if not force or not earlier:
            fix = (
                f"promote to '{before.stage}' first (`bootstrap promote --to {before.stage}`)"
                if index > 1
                else f"deploy '{before.stage}' first (push to main, or "
                f"`bootstrap up --stage {before.stage} --image sha256:...`)"
            )
            if earlier:
                fix += f", or pass --force to skip it and promote what '{earlier[0].stage}' runs"
            state = "was torn down" if before.torn_down else "has never been deployed"
            raise Refused(
                f"'{before.stage}' {state} and '{target_stage.name}' comes after it: promoting "
                "would skip a stage",
                fix,
            )
        source = earlier[0]
        forced.append(
            f"skipped '{before.stage}' ({'torn down' if before.torn_down else 'never deployed'})"
        )
    assert source.current is not None and source.current.digest
    digest = source.current.digest
    target = report.stage(target_stage.name)
    move = Move(
        "promote",
        target_stage.name,
        digest,
        source.current.image,
        git_sha=source.current.git_sha,
        source=source.stage,
        current=target.current.digest if target.current else None,
        forced=forced,
    )
    if verify == "records":  # the promotion gates check it next (gate_promotion), in detail
        why = None
    else:
        why = (verify_by_github(source, digest) if verify == "github"
               else verify_by_health(source, digest))  # fmt: skip
    if verify == "records":
        pass
    elif why is None:
        how = "GitHub deployment status success" if verify == "github" else "/health answers 2xx"
        move.checks.append(f"passed in '{source.stage}' ({how})")
    elif force:
        move.forced.append(f"unverified in '{source.stage}': {why}")
    else:
        raise Refused(
            f"{short_digest(digest)} has not passed "
            f"{'its checks' if verify == 'github' else 'the smoke test'} in '{source.stage}': {why}",
            "fix or redeploy that stage first, or pass --force to promote it anyway",
        )
    if move.current == digest:
        move.noop = not force
        move.warnings.append(f"'{move.stage}' already runs {move.label}")
    if target.waiting is not None:
        run = f" (run {target.waiting.run_id})" if target.waiting.run_id else ""
        move.warnings.append(
            f"a deployment to '{move.stage}' already waits for approval{run}; this one queues "
            "behind it"
        )
    return move


def parse_target(
    value: str, registry: Registry | None, repository_url: str | None
) -> tuple[str, str | None]:
    """(digest, image) from `--to`: a digest, `REPOSITORY@digest`, or a 40-hex git SHA."""
    value = value.strip()
    if DIGEST.fullmatch(value):
        image = f"{repository_url}@{value}" if repository_url else None
        return value, image
    match = IMAGE_REF.match(value)
    if match:
        if repository_url and match.group("repository") != repository_url:
            raise SpecError(
                f"--to names the repository {match.group('repository')}, not this project's "
                f"{repository_url}",
                "deploy images built by this project's build workflow",
            )
        return match.group("digest"), value
    if GIT_SHA.fullmatch(value):
        if registry is None:
            raise UserError(
                f"cannot look up the image of commit {value[:7]}: the registry was not read",
                "pass the image digest (sha256:...) instead, or sign in to AWS",
            )
        digest = registry.digest_for_tag(value)
        if not digest:
            raise UserError(
                f"the registry has no image built from commit {value[:7]}",
                "pass a digest that `bootstrap status` lists, or let the build run on it",
            )
        return digest, f"{repository_url}@{digest}" if repository_url else None
    raise SpecError(
        f"--to '{value}' is not an image digest or a git SHA",
        "pass sha256:<64 hex>, REPOSITORY@sha256:<64 hex>, or the 40-hex commit of a build",
    )


def plan_rollback(
    spec: Spec,
    report: Report,
    stage_name: str,
    to: str | None,
    *,
    registry: Registry | None,
    repository_url: str | None,
) -> Move:
    spec.stage(stage_name)
    stage = report.stage(stage_name)
    if stage.current is None:
        state = "was torn down" if stage.torn_down else "has never been deployed"
        raise Refused(
            f"'{stage_name}' {state}: there is nothing to roll back",
            f"deploy it first (`bootstrap promote --to {stage_name}`)",
        )
    current = stage.current.digest
    known_url = repository_url
    if known_url is None and stage.current.image:
        known_url = stage.current.image.rsplit("@", 1)[0]
    if to:
        digest, image = parse_target(to, registry, known_url)
        git_sha = None
    else:
        previous = stage.previous
        if previous is None or not previous.digest:
            raise Refused(
                f"no release of '{stage_name}' before the current one is known",
                "pass --to DIGEST (`bootstrap status --json`, or the build summaries, list digests)",
            )
        if previous.in_registry is False:
            raise Refused(
                f"the previous release of '{stage_name}' ({previous.label}) is no longer in the "
                "registry",
                "pass --to with a digest the registry still holds",
            )
        digest = previous.digest
        image = previous.image or (f"{known_url}@{digest}" if known_url else None)
        git_sha = previous.git_sha
    if digest == PLACEHOLDER_DIGEST:
        raise SpecError("--to names the placeholder digest", "pass a built image's digest")
    if digest == current:
        raise Refused(
            f"'{stage_name}' already runs {short_digest(digest)}",
            "pass --to with another digest",
        )
    info = registry.image(digest) if registry is not None else None
    if registry is not None and info is None and getattr(registry, "failed", None) is None:
        raise Refused(
            f"the registry has no image {short_digest(digest)} (expired, or another project's)",
            "pass --to with a digest the registry holds (`bootstrap status` lists them)",
        )
    move = Move(
        "rollback",
        stage_name,
        digest,
        image,
        git_sha=git_sha or (info.git_sha if info else None),
        current=current,
    )
    move.checks.append("found in the registry" if info else "the registry was not checked")
    if stage.waiting is not None:
        move.warnings.append(f"a deployment to '{stage_name}' already waits for approval")
    return move


# --- the promotion gates and the change list (stacks/gates.py, stacks/changes.py) ---------------


def _records(github: GitHubView) -> Any:
    from bootstrap.status.github import records_transport
    from stacks.records import Records

    return Records(records_transport(github.client), github.repository)


def gate_promotion(
    spec: Spec, repo: Path, github: GitHubView, move: Move, *, force: bool, reason: str,
    now: datetime | None = None, alarms: AlarmReader | None = None,
) -> Decision:  # fmt: skip
    """Check the move against the promotion gates (the deployment records of the stage before
    and the target, the stage files' soakMinutes and freezeWindows, the alarms when read), and
    note what they said on the move. Refused when a gate fails and the move is not forced."""
    from stacks import gates
    from stacks.config_schema import Invalid
    from stacks.freeze import parse_windows
    from stacks.github_api import GitHubError

    infra = repo / INFRA_DIR
    try:
        soak = gates.soak_minutes(infra, move.source) if move.source else 0
        windows = parse_windows(gates.stack_setting(infra, move.stage, gates.FREEZE_KEY))
    except (Invalid, ValueError) as exc:
        raise SpecError(f"{INFRA_DIR}/Pulumi.*.yaml: {exc}", "fix the stage's setting") from None
    try:
        decision = gates.check(
            _records(github), target=move.stage, source=move.source, digest=move.digest,
            now=now or datetime.now(UTC), soak_minutes=soak, alarms=alarms, freeze=windows,
            force=force, reason=reason,
        )  # fmt: skip
    except GitHubError as exc:
        raise RemoteError(
            f"the deployment records could not be read from GitHub ({exc})",
            "check GITHUB_TOKEN and the API URL",
        ) from exc
    if not decision.allowed:
        missing = "; ".join(gate.missing for gate in decision.failing)
        fixes = "; ".join(dict.fromkeys(g.fix for g in decision.failing if g.fix))
        raise Refused(
            f"{short_digest(move.digest)} may not be promoted to '{move.stage}': {missing}",
            f"{fixes}; or pass --force --reason TEXT to promote it anyway",
        )
    move.checks += [gate.line() for gate in decision.gates if gate.passed]
    move.forced += [gate.line() for gate in decision.failing]
    return decision


def change_list(github: GitHubView, move: Move) -> Changes | None:
    """The commits (and pull requests) between what the stage runs and what the move deploys,
    when both commits are known."""
    from stacks.changes import compare
    from stacks.github_api import GitHubError

    records = _records(github)
    try:
        running = records.running(move.stage)
        recorded = records.find(move.source, move.digest) if move.source else []
        head = next((r.git_sha for r in recorded if r.git_sha), None) or move.git_sha
        if running is None or not running.git_sha or not head:
            return None
        move.git_sha = head
        return compare(records.transport, github.repository, running.git_sha, head)
    except GitHubError as exc:
        move.warnings.append(f"the changes could not be listed ({exc})")
        return None


def check_freeze(repo: Path, stage: str, reason: str, now: datetime | None = None) -> str | None:
    """Refused when `stage` is in one of its freeze windows (its `freezeWindows`) and no reason
    overrides it; the window overridden, when one is (None: not frozen)."""
    from stacks.config_schema import Invalid
    from stacks.freeze import KEY, active, configured, parse_windows

    path = repo / INFRA_DIR / f"Pulumi.{stage}.yaml"
    try:
        windows = parse_windows(configured(path)[1], KEY) if path.is_file() else []
    except Invalid as exc:
        raise SpecError(f"{INFRA_DIR}/{path.name}: {exc.key}: {exc.problem}", exc.fix) from None
    window = active(windows, now or datetime.now(UTC))
    if window is None:
        return None
    if not reason.strip():
        raise Refused(
            f"'{stage}' is frozen: {window.describe()}",
            f"deploy after it ends ({window.end.astimezone(UTC):%Y-%m-%d %H:%M} UTC), or pass "
            "--reason TEXT to deploy inside it",
        )
    return window.describe()


def record_local(github: GitHubView, move: Move, outcome: LocalOutcome) -> int | None:
    """Record a `--local` deploy as the deploy workflow records one (stacks/records.py): the
    deployment with the move's reason, `deployed` and the smoke test's verdict from the /health
    check; the deployment's id (None when the image's commit is unknown: nothing recorded)."""
    from stacks.github_api import GitHubError
    from stacks.records import DEPLOYED, SMOKE_FAILED, SMOKE_PASSED

    if not move.git_sha:
        move.warnings.append("not recorded in GitHub: the image's commit is unknown")
        return None
    records = _records(github)
    url = outcome.result.outputs.get("url")
    try:
        record = records.start(move.stage, move.digest, move.git_sha, reason=move.reason)
        records.add(record.id, DEPLOYED, "bootstrap --local", url=url if isinstance(url, str) else None)
        if outcome.health is not None:
            verdict = SMOKE_PASSED if outcome.health.ok else SMOKE_FAILED
            records.add(record.id, verdict, outcome.health.summary)
    except GitHubError as exc:
        move.warnings.append(f"not recorded in GitHub ({exc})")
        return None
    return record.id


def alarm_reader(spec: Spec, accounts: Accounts, source: str) -> tuple[AlarmReader | None, str]:
    """The alarms of `source` (the stage promoted from), read in its own account and region
    with its credentials, checked with STS first (alarms read in another account would say
    nothing fires); or None and why they cannot be read."""
    from bootstrap.status.live import StageReads

    reads = StageReads(accounts, spec.name)
    access = reads.open(source, None)
    read = access.alarms
    if read is None:  # in a one-account project, what AWS said is enough
        why = access.problem if reads.multi_account else access.cause or access.problem
        return None, why or "no AWS credentials"
    return (lambda _stage: read()), ""


# --- carrying it out ----------------------------------------------------------------------------


def dispatch(github: GitHubView, move: Move) -> str:
    """Start promote.yml on the main branch for the move; returns the page where its runs are
    listed."""
    from github import GithubException

    inputs = {"stage": move.stage, "digest": move.digest}
    if move.reason:  # recorded with the deployment; with forced gates, it forces them there too
        inputs["reason"] = move.reason
        inputs["force"] = "true" if move.forced else "false"

    def send() -> None:
        github.repo.get_workflow(PROMOTE_WORKFLOW).create_dispatch(
            github.branch, inputs, throw=True
        )

    try:
        github.client.run(f"start {PROMOTE_WORKFLOW}", send)
    except RemoteError as exc:
        cause = exc.__cause__
        if isinstance(cause, GithubException) and cause.status == 404:
            raise RemoteError(
                f"GitHub has no workflow {PROMOTE_WORKFLOW} on {github.branch} in "
                f"{github.repository}",
                "push the repository first (`bootstrap github sync`), or pass --local",
            ) from exc
        raise
    html = getattr(github.repo, "html_url", None) or f"https://github.com/{github.repository}"
    return f"{html}/actions/workflows/{PROMOTE_WORKFLOW}"


@dataclass
class LocalOutcome:
    result: OpResult
    tag: str | None = None  # the registry tag added (None: it was there, or not tagged)
    untagged: list[str] = field(default_factory=list)
    registry_error: str | None = None
    health: Health | None = None


def deploy_local(
    ops: StackOps,
    spec: Spec,
    move: Move,
    *,
    accounts: Accounts | None,
    ecr_client: Any = None,
    repository_name: str | None = None,
    check: Callable[[str], Health] | None = None,
) -> LocalOutcome:
    """`pulumi up` of the stage with `<project>:image` set to the move's image (with the stage's
    own credentials, checked first: `accounts`), then the release marked in the registry (as the
    deploy workflow marks it; `ecr_client` on the tooling account, which holds the registry),
    then one /health check of the stage's URL. A registry failure is reported in the outcome,
    not raised: the deploy is done."""
    from bootstrap.aws import repository
    from bootstrap.lifecycle import run_up
    from stacks.ecr import RegistryError

    image = move.image or move.digest  # a bare digest is completed from shared's repositoryUrl
    result = run_up(ops, spec, move.stage, image=image, force=True, accounts=accounts)
    outcome = LocalOutcome(result)
    if ecr_client is not None and repository_name:
        keep = [move.current] if move.current else []
        try:
            marked = repository(ecr_client, repository_name).mark_release(
                move.stage, move.digest, keep=keep, git_sha=move.git_sha
            )
            outcome.tag = marked.tag if marked.added else None
            outcome.untagged = marked.untagged
        except (UserError, RegistryError) as exc:
            outcome.registry_error = exc.problem
    elif ecr_client is not None:
        outcome.registry_error = "the registry could not be read"
    url = result.outputs.get("url")
    if check is not None and isinstance(url, str) and url:
        outcome.health = check(url)
    return outcome
