"""Which stacks an operation touches, in which order, with which confirmation; and running it.

The commands (`preview`, `up`, `destroy`) parse options and render; the rules live here, on top
of the `StackOps` seam, so they are tested without the CLI:

- stacks are `shared` then the stages in lifecycle order; `up` of a stack needs the one before
  it deployed (a stage reads `shared` through a StackReference) unless forced;
- `destroy` goes in reverse lifecycle order, `shared` last; a manual stage needs `--yes` and its
  name typed or given with `--confirm`; images in the registry are deleted only when asked, and
  `shared` (which holds the registry) is kept while it has images; the state backend is never
  touched; stacks already empty are skipped, so re-running after a failure continues.
- `destroy` runs with the administrators' credentials and removes everything of a stage, its
  foundation included (`contract.foundation_urns`: the permissions boundary, the deploy role,
  the VPC its policy names). The teardown workflow, which runs as the stage's deploy role, removes
  only the workload and leaves the foundation; `destroy` of a stage finishes after it, and
  tells a user who only wants the workload gone about the workflow (`DestroyPlan.hint`).
- each stack acts with its own account's credentials (`open_accounts`, `open_stacks`: a stage's
  stack file may name its account; `shared`, the registry and the state live in the tooling
  account), checked with STS before any write (`verify_stack`, `guard_stack`): its account, and
  the account its state records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bootstrap.errors import Aborted, CredentialsError, ExitCode, SpecError, UserError
from stacks.contract import (
    ACCOUNT_OUTPUT,
    ACCOUNT_PATTERN,
    DIGEST,
    IMAGE_REF,
    PROFILES_ENV,
    SHARED,
    TEARDOWN_WORKFLOW,
    foundation_urns,
    github_host,
    urn_glob,
)

if TYPE_CHECKING:
    from bootstrap.accounts import Accounts
    from bootstrap.automation import OpResult, StackOps
    from bootstrap.aws import Identity
    from bootstrap.backend import Backend
    from bootstrap.spec import Spec

_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


class ConfirmationRequired(UserError):
    """A destructive operation was asked for without the confirmation it needs."""

    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Project:
    repo: Path
    spec: Spec
    backend: Backend
    config_warnings: tuple[str, ...] = ()  # bootstrap/stackconfig/: shown, never fatal


def open_project(repo: Path | None) -> Project:
    from bootstrap import stackconfig, ui
    from bootstrap.backend import resolve_backend
    from bootstrap.repo import find_repo, load_spec

    root = find_repo(repo)
    spec = load_spec(root)
    warnings = stackconfig.validate(root, spec)  # every bad setting, before any cloud call
    for warning in warnings:
        ui.warn(warning)
    return Project(root, spec, resolve_backend(spec.backend, root), tuple(warnings))


# --- which stacks -----------------------------------------------------------------------------


def check_stack(spec: Spec, name: str) -> str:
    if name == SHARED:
        return name
    return spec.stage(name).name  # raises SpecError naming the known stages


def previous_stack(spec: Spec, stack: str) -> str | None:
    """The stack deployed before `stack`: none for shared, shared for the first stage."""
    stacks = spec.stacks
    index = stacks.index(check_stack(spec, stack))
    return stacks[index - 1] if index else None


def select_stacks(spec: Spec, *, stage: str | None, all_stacks: bool) -> list[str]:
    """Stacks in lifecycle order: one (`--stage`), or all (`--all`, or neither given)."""
    if stage and all_stacks:
        raise SpecError("--stage and --all exclude each other", "give one of them")
    if stage:
        return [check_stack(spec, stage)]
    return list(spec.stacks)


def is_deployed(ops: StackOps, stack: str) -> bool:
    return ops.exists(stack) and ops.resource_count(stack) > 0


def workload_torn_down(project: str, stage: str, urns: list[str]) -> bool:
    """Whether a stage's state holds its foundation and nothing else: what the teardown workflow
    leaves (`contract.foundation_urns`). Its stack keeps its last outputs, so they alone cannot
    tell."""
    foundation = [urn_glob(p) for p in foundation_urns(project, stage, network=True)]
    return bool(urns) and all(any(f.match(urn) for f in foundation) for urn in urns)


# --- accounts ---------------------------------------------------------------------------------
# Each stack acts with its own account's credentials (bootstrap/accounts.py): a stage's stack file
# may name its account; shared, the registry and the state live in the tooling account.


def open_accounts(project: Project, profiles: Sequence[str] | None = None) -> Accounts:
    """The project's accounts: each stack's placement (its stack file) and the profiles given
    (--profile, BOOTSTRAP_AWS_PROFILES). A key that names no stack and no account is refused."""
    return accounts_of(project.repo, project.spec, profiles)


def accounts_of(repo: Path, spec: Spec, profiles: Sequence[str] | None = None) -> Accounts:
    """`open_accounts` for a repository and its spec (doctor reads no more of the project)."""
    from bootstrap.accounts import Accounts, Profiles, placements

    where = placements(repo, spec.name, spec.stacks, spec.region)
    accounts = Accounts(Profiles.parse(profiles or ()), where, region=spec.region)
    accounts.check_profiles()  # a typo would otherwise act with the ambient credentials
    return accounts


def open_stacks(
    project: Project,
    accounts: Accounts,
    *,
    verbose: bool = False,
    read_only: bool = False,
    as_tooling: bool = False,
) -> StackOps:
    """The project's stacks, each Pulumi run with its own account's credentials
    (`Accounts.pulumi_env`). `as_tooling`: every stack with the tooling account's (status
    reads only outputs, from the state the tooling account holds; previews live there)."""
    from bootstrap.automation import open_ops

    def tooling(_stack: str) -> dict[str, str]:
        return accounts.pulumi_env(SHARED)

    env_for = tooling if as_tooling else accounts.pulumi_env
    return open_ops(project.repo, project.spec, project.backend, verbose=verbose,
                    read_only=read_only, env_for=env_for)  # fmt: skip


def multi_account(accounts: Accounts) -> bool:
    """Whether some stack names an account of its own (read from the stack files, no AWS call)."""
    return bool(accounts.named_accounts())


def stack_accounts(outputs: dict[str, Any]) -> set[str]:
    """The AWS account a stack's state records: its `account` output, else the accounts its ARN
    outputs name (stacks deployed before every stack exported its account)."""
    account = outputs.get(ACCOUNT_OUTPUT)
    if isinstance(account, str) and ACCOUNT_PATTERN.fullmatch(account):
        return {account}
    found = set()
    for value in outputs.values():
        match = _ARN_ACCOUNT.match(value) if isinstance(value, str) else None
        if match:
            found.add(match.group(1))
    return found


def check_account(ops: StackOps, stack: str, identity: Identity | None) -> None:
    """Refuse to act on a stack deployed to another AWS account than `identity`'s, the identity
    of the credentials acting on that stack."""
    if identity is None:
        return
    accounts = stack_accounts(ops.outputs(stack))
    if accounts and identity.account not in accounts:
        deployed = ", ".join(sorted(accounts))
        raise CredentialsError(
            f"stack '{stack}' lives in AWS account {deployed}, but the credentials for it sign "
            f"in to {identity.account}",
            f"use credentials of account {deployed} (--profile {stack}=PROFILE, or "
            "AWS_PROFILE) and run again",
        )


def verify_stack(accounts: Accounts, stack: str) -> str:
    """STS: the account `stack`'s credentials sign in to, which must be the account its stack
    file names (else the tooling account). Credentials that do not work at all name the profile
    the stack needs."""
    placement = accounts.where.get(stack)
    try:
        accounts.identity(stack)
    except CredentialsError as exc:
        if placement is None or not placement.account:
            raise
        profile = accounts.profile(stack)
        using = f"profile '{profile}'" if profile else "no profile given"
        raise CredentialsError(
            f"no usable credentials for AWS account {placement.account} (stack '{stack}', "
            f"{using}): {exc.problem}",
            f"pass --profile {stack}=PROFILE with a profile of account {placement.account} "
            f"(or set {PROFILES_ENV})",
        ) from exc
    return accounts.verify([stack])[stack]  # another account: refused, naming both


def guard_stack(ops: StackOps, stack: str, accounts: Accounts | None) -> None:
    """Before any write to `stack`: its credentials sign in to its account (STS), and that is
    the account its state records."""
    if accounts is None:
        return
    verify_stack(accounts, stack)
    check_account(ops, stack, accounts.identity(stack))


# --- preview --------------------------------------------------------------------------------


class StacksFailed(UserError):
    """Several stacks failed: one line each, the exit code of the gravest."""

    def __init__(self, failed: list[tuple[str, UserError]], doing: str) -> None:
        lines = [f"{stack}: {error}" for stack, error in failed]
        super().__init__(f"{len(failed)} stacks failed to {doing}:\n" + "\n".join(lines))
        self.failed = failed
        self.exit_code = max(error.exit_code for _, error in failed)


def every_failure(failed: list[tuple[str, UserError]], doing: str) -> UserError:
    """One error for the stacks that failed: the error itself when one did, else all of them."""
    return failed[0][1] if len(failed) == 1 else StacksFailed(failed, doing)


def plan_offline(project: Project, stacks: list[str], *, quiet: bool = False) -> list[Any]:
    """The offline plans (Pulumi mocks) of `stacks`, with progress unless `quiet`; shared is
    planned too when a stage needs its outputs, and shown only when asked for. When the program
    fails, every stack that fails is named, not only the first (each stack is then planned on its
    own to find them)."""
    from bootstrap import ui

    names = ", ".join(stacks)
    with ui.step(f"Planning {names} offline", f"planned {names} offline", quiet=quiet):
        return _every_plan(project, stacks)


def _every_plan(project: Project, stacks: list[str]) -> list[Any]:
    try:
        return _plan_offline(project, stacks)
    except UserError as first:
        if len(stacks) == 1:
            raise
        failed: list[tuple[str, UserError]] = []
        for stack in stacks:
            try:
                _plan_offline(project, [stack])
            except UserError as exc:
                failed.append((stack, exc))
                if stack == SHARED:
                    break  # every stage reads shared's outputs: its failure is theirs
        if len(failed) <= 1:
            raise
        raise StacksFailed(failed, "plan") from first


def _plan_offline(project: Project, stacks: list[str]) -> list[Any]:
    from bootstrap import offline

    needed = stacks if SHARED in stacks else [SHARED, *stacks]
    try:
        plans = offline.plan_project(project.repo, project.spec.name, needed)
    except UserError:
        raise
    except Exception as exc:  # the user's program failed: say where, in one line
        raise UserError(
            f"the infra program failed under mocks: {type(exc).__name__}: {exc}",
            "fix infra/ (run with --verbose for the traceback)",
        ) from exc
    by_stack = {plan.stack: plan for plan in plans}
    return [by_stack[s] for s in stacks if s in by_stack]


def preview_stacks(
    project: Project,
    stacks: list[str],
    *,
    verbose: bool = False,
    quiet: bool = False,
    accounts: Accounts | None = None,
) -> list[Any]:
    """Real previews through the Automation API (or the installed seam), in lifecycle order.

    Every stack is previewed, and every one that fails is reported together. Stage stacks read
    shared's outputs, so they are skipped (with a warning) until shared is deployed; when nothing
    can be previewed that is an error that names the fix. Each stack is previewed with its own
    account's credentials (`accounts`; default: the profiles of BOOTSTRAP_AWS_PROFILES).
    """
    from bootstrap import ui
    from bootstrap.backend import backend_has_state, ensure_file_backend
    from bootstrap.planview import plan_from_events

    spec, backend = project.spec, project.backend
    accounts = accounts or open_accounts(project)
    ops = open_stacks(project, accounts, verbose=verbose)
    ops.check()
    verify_stack(accounts, SHARED)  # the state (and the registry) live in the tooling account
    if backend.kind == "file":
        assert backend.path is not None
        ensure_file_backend(backend.path)
    elif not backend_has_state(backend, region=spec.region, session=accounts.session(SHARED)):
        raise UserError(
            f"the state bucket {backend.bucket} does not exist yet",
            "create it with `bootstrap up --stage shared`, or preview with --offline",
        )
    stage_stacks = [s for s in stacks if s != SHARED]
    shared_ready = not stage_stacks or is_deployed(ops, SHARED)
    plans = []
    failed: list[tuple[str, UserError]] = []
    for stack in stacks:
        if stack != SHARED and not shared_ready:
            ui.warn(f"{stack}: skipped, it reads shared's outputs and shared is not deployed yet")
            continue
        try:
            guard_stack(ops, stack, accounts)
            with ui.step(f"Previewing {stack}", f"previewed {stack}", quiet=quiet):
                result = ops.preview(stack)
        except UserError as exc:
            failed.append((stack, exc))
            continue
        plans.append(plan_from_events(stack, result.resources, result.changes, result.messages))
    if failed:
        raise every_failure(failed, "preview")
    if not plans:
        raise UserError(
            "shared is not deployed, and stage previews need its outputs",
            "deploy it first with `bootstrap up --stage shared`, or use --offline",
        )
    return plans


# --- up ---------------------------------------------------------------------------------------


def resolve_image(ops: StackOps, spec: Spec, image: str) -> str:
    """`REPOSITORY_URL@sha256:DIGEST` from a digest or a full reference; tags are refused."""
    image = image.strip()
    if IMAGE_REF.match(image):
        return image
    if DIGEST.fullmatch(image):
        registry = ops.outputs(SHARED).get("repositoryUrl")
        if not registry:
            raise UserError(
                "the shared stack has no repositoryUrl output to complete the image digest",
                "deploy shared first (`bootstrap up --stage shared`) or pass REPOSITORY_URL@DIGEST",
            )
        return f"{registry}@{image}"
    raise SpecError(
        f"--image '{image}' is not an image digest",
        "pass sha256:<64 hex digits> or REPOSITORY_URL@sha256:<64 hex digits> "
        "(stages deploy images by digest, never by tag)",
    )


def run_up(
    ops: StackOps,
    spec: Spec,
    stack: str,
    *,
    image: str | None = None,
    force: bool = False,
    accounts: Accounts | None = None,
) -> OpResult:
    """Deploy one stack, after the one before it; with `accounts`, its credentials are checked
    first (STS: the stack's own account, and the one its state records)."""
    stack = check_stack(spec, stack)
    if image and stack == SHARED:
        raise SpecError("--image applies to stage stacks", "leave it out for shared")
    before = previous_stack(spec, stack)
    if before and not force and not is_deployed(ops, before):
        raise UserError(
            f"'{before}' has never been deployed, and '{stack}' comes after it in the lifecycle",
            f"deploy it first (`bootstrap up --stage {before}`), or pass --force",
        )
    guard_stack(ops, stack, accounts)
    config = {f"{spec.name}:image": resolve_image(ops, spec, image)} if image else None
    return ops.up(stack, config=config)


# --- destroy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestroyPlan:
    stacks: list[str]  # in the order they are destroyed
    protected: list[str]  # manual stages among them: need --yes and their name confirmed
    delete_images: bool = False
    hint: str | None = None  # for one stage: how to remove only its workload instead


def workload_only_hint(spec: Spec, stage: str) -> str:
    """What to run instead of `destroy --stage` to remove only the stage's workload (and its
    cost), keeping its deploy role so that CI can deploy it again: the teardown workflow, on the
    repository's own GitHub (`gh --repo HOST/OWNER/REPO` off github.com)."""
    host = github_host(spec.github_oidc_issuer)
    where = ""
    if spec.repository:
        where = f" --repo {'' if host == 'github.com' else host + '/'}{spec.repository}"
    command = f"gh workflow run {TEARDOWN_WORKFLOW}{where} -f stage={stage} -f confirm={stage}"
    return (
        f"destroy removes all of '{stage}', its deploy role and permissions boundary included, "
        f"so CI cannot deploy it until `bootstrap provision` makes them again; to remove only "
        f"its workload, run the teardown workflow: `{command}`"
    )


def destroy_plan(
    spec: Spec, *, stage: str | None, all_stacks: bool, delete_images: bool = False
) -> DestroyPlan:
    if stage and all_stacks:
        raise SpecError("--stage and --all exclude each other", "give one of them")
    if not stage and not all_stacks:
        raise SpecError(
            "nothing to destroy was named", "give --stage STAGE, or --all for every stack"
        )
    if delete_images and not all_stacks:
        raise SpecError(
            "--delete-images applies only with --all",
            "images live in the shared registry, which only --all removes",
        )
    if all_stacks:
        stacks = [*reversed(spec.stage_names), SHARED]
    else:
        assert stage is not None
        stacks = [check_stack(spec, stage)]
    protected = [s for s in stacks if s != SHARED and spec.stage(s).manual]
    hint = workload_only_hint(spec, stacks[0]) if stage and stacks[0] != SHARED else None
    return DestroyPlan(stacks, protected, delete_images, hint)


def confirm_destroy(
    plan: DestroyPlan,
    *,
    yes: bool,
    confirm: list[str],
    ask: Callable[[str], str] | None,
) -> None:
    """Raise unless every protected stage is confirmed: `--yes` AND its name (typed or given).

    `ask` prompts on a terminal (None when not interactive). Unprotected stacks need `--yes` or
    a yes at the prompt; without a terminal `--yes` is implied for them only.
    """
    if not plan.protected:
        if yes or ask is None:
            return
        answer = ask(f"Destroy {', '.join(plan.stacks)}? Type 'yes' to go on").strip().lower()
        if answer not in ("y", "yes"):
            raise Aborted("nothing was destroyed", "run again and answer yes, or pass --yes")
        return
    names = ", ".join(plan.protected)
    if not yes:
        raise ConfirmationRequired(
            f"{names} {'is a manual stage' if len(plan.protected) == 1 else 'are manual stages'}"
            " (protected); nothing was destroyed",
            "pass --yes and " + " ".join(f"--confirm {s}" for s in plan.protected),
        )
    for stage in plan.protected:
        if stage in confirm:
            continue
        if ask is None:
            raise ConfirmationRequired(
                f"destroying the manual stage '{stage}' needs its name confirmed; "
                "nothing was destroyed",
                f"add --confirm {stage}",
            )
        typed = ask(
            f"Destroying '{stage}' removes all of it, its deploy role included. Type the stage name"
        ).strip()
        if typed != stage:
            raise Aborted(f"'{typed}' is not '{stage}'; nothing was destroyed", "run again")


class ImageStore(Protocol):
    """One registry's images (`stacks.ecr.Repository`), consulted before shared is destroyed."""

    def count(self) -> int: ...

    def delete_all(self) -> int: ...


@dataclass
class StackOutcome:
    stack: str
    status: str  # "destroyed" | "skipped"
    detail: str = ""
    changes: dict[str, int] = field(default_factory=dict)


class DestroyFailed(UserError):
    """A destroy stopped part-way; re-running continues where it stopped (the command layer
    names the command). The exit code is the cause's (credentials 5, a failed engine run 6, …)."""

    def __init__(
        self,
        problem: str,
        fix: str | None,
        outcomes: list[StackOutcome],
        exit_code: int = ExitCode.REMOTE,
    ) -> None:
        super().__init__(problem, fix, rerun=True)
        self.outcomes = outcomes
        self.exit_code = exit_code


def run_destroy(
    ops: StackOps,
    spec: Spec,
    plan: DestroyPlan,
    *,
    images: Callable[[str], ImageStore] | None = None,
    accounts: Accounts | None = None,
    on_stack: Callable[[StackOutcome], None] | None = None,
) -> list[StackOutcome]:
    """Destroy the plan's stacks in order; empty stacks are skipped, so a re-run continues.
    With `accounts`, every stack to destroy has its credentials checked (STS) before the first
    write, so a missing profile of a later stack stops nothing half-way."""
    if SHARED in plan.stacks:
        left = [s for s in spec.stage_names if s not in plan.stacks and is_deployed(ops, s)]
        if left:
            raise UserError(
                f"shared holds the registry and roles that {', '.join(left)} still use",
                "destroy those stages first, or everything with --all",
            )
    if accounts is not None:
        for stack in plan.stacks:
            if is_deployed(ops, stack):
                verify_stack(accounts, stack)
    outcomes: list[StackOutcome] = []

    def done(outcome: StackOutcome) -> None:
        outcomes.append(outcome)
        if on_stack:
            on_stack(outcome)

    for stack in plan.stacks:
        try:
            if not is_deployed(ops, stack):
                done(StackOutcome(stack, "skipped", "nothing deployed"))
                continue
            guard_stack(ops, stack, accounts)
            detail = ""
            if stack == SHARED and images is not None:
                detail = _clear_registry(ops, plan, images)
            elif stack != SHARED and plan.hint:
                detail = "its deploy role too: `bootstrap provision` makes it again for CI"
            result = ops.destroy(stack)
        except UserError as exc:
            finished = [o.stack for o in outcomes]
            so_far = f"; finished: {', '.join(finished)}" if finished else ""
            raise DestroyFailed(
                f"destroying '{stack}' stopped: {exc.problem}{so_far} (finished stacks are "
                "skipped when it runs again)",
                exc.fix,
                outcomes,
                exc.exit_code,
            ) from exc
        done(StackOutcome(stack, "destroyed", detail, result.changes))
    return outcomes


def _clear_registry(ops: StackOps, plan: DestroyPlan, images: Callable[[str], ImageStore]) -> str:
    repository = ops.outputs(SHARED).get("repositoryName")
    if not repository:
        return ""
    store = images(repository)
    count = store.count()
    if not count:
        return ""
    if not plan.delete_images:
        raise UserError(
            f"the registry {repository} still holds {count} image(s), so shared was kept",
            "pass --delete-images to delete them with the registry",
        )
    deleted = store.delete_all()
    return f"deleted {deleted} image(s) from {repository}"
