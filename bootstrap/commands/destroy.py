"""`bootstrap destroy`: tear down a stage, or every stack (stages in reverse order, then shared)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from bootstrap.options import JsonOpt, ProfileOpt, RepoOpt, VerboseOpt, YesOpt


def destroy(
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage", metavar="STAGE", help="The stack to destroy: a stage, or 'shared'."
        ),
    ] = None,
    all_stacks: Annotated[
        bool, typer.Option("--all", help="Every stage in reverse lifecycle order, then shared.")
    ] = False,
    preview: Annotated[
        int | None,
        typer.Option(
            "--preview",
            metavar="N",
            help="The preview environment of pull request N (stack pr-N): all of its resources.",
        ),
    ] = None,
    confirm: Annotated[
        list[str] | None,
        typer.Option(
            "--confirm",
            metavar="STAGE",
            help="The name of a manual stage, to confirm destroying it (repeat or comma-separate).",
        ),
    ] = None,
    delete_images: Annotated[
        bool,
        typer.Option(
            "--delete-images",
            help="With --all: delete the registry's images too (kept otherwise, and shared with them).",
        ),
    ] = False,
    github: Annotated[
        bool,
        typer.Option(
            "--github",
            help="With --all: also delete the GitHub environments and archive the repository "
            "(confirm with its OWNER/NAME).",
        ),
    ] = False,
    delete_backend: Annotated[
        bool,
        typer.Option(
            "--delete-backend",
            help="With --all: also delete the state bucket (or directory) once every stack is "
            "empty (confirm with its name).",
        ),
    ] = False,
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Destroy stacks' resources. Manual stages need --yes and their name; state is kept.
    Each stack is destroyed with its own account's credentials (--profile), checked first."""
    from bootstrap import destroy_all, lifecycle, previews, ui
    from bootstrap.aws import opener
    from bootstrap.backend import backend_has_state
    from bootstrap.spec import parse_list

    if preview is not None:
        _destroy_preview(preview, stage, all_stacks, json_output=json_output, repo=repo,
                         verbose=verbose, profile=profile)  # fmt: skip
        return
    project = lifecycle.open_project(repo)
    spec = project.spec
    accounts = lifecycle.open_accounts(project, profile)
    plan = lifecycle.destroy_plan(
        spec, stage=stage, all_stacks=all_stacks, delete_images=delete_images
    )
    extra = destroy_all.plan_teardown(
        project, github=github, delete_backend=delete_backend, all_stacks=all_stacks
    )
    confirmed = [name for value in confirm or [] for name in parse_list(value)]
    interactive = not json_output and sys.stdin.isatty()
    if not interactive or (plan.protected and not yes):  # what no prompt can give: said first
        _confirm(plan, extra, yes=yes, confirmed=confirmed, interactive=False)
    ops = lifecycle.open_stacks(project, accounts, verbose=verbose)
    ops.check()
    local_and_empty = project.backend.kind == "file" and not backend_has_state(
        project.backend, region=spec.region
    )  # nothing to destroy, and nothing asked of AWS
    tooling = None if local_and_empty else _verify_first(project, accounts, plan, named=bool(stage))
    if not local_and_empty:
        previews.refuse_hosted(ops, spec.stage_names[0], plan.stacks)
    if plan.hint and not json_output:
        ui.info(plan.hint)
    if interactive:
        _confirm(plan, extra, yes=yes, confirmed=confirmed, interactive=True)

    result: dict[str, Any] = {
        "project": spec.name,
        "path": str(project.repo),
        "stacks": [],
        "backend": project.backend.url,
        "teardown": None,
        "hint": plan.hint,
    }
    outcomes: list[lifecycle.StackOutcome] = []
    if local_and_empty or not backend_has_state(
        project.backend, region=spec.region, session=tooling
    ):
        if not json_output:
            ui.info(f"no state in {project.backend.describe()}: nothing to destroy")
    else:
        images = None
        if lifecycle.SHARED in plan.stacks:  # the registry: the tooling account's
            images = opener(accounts.region_of(lifecycle.SHARED),
                            session=accounts.session(lifecycle.SHARED))  # fmt: skip
        outcomes = lifecycle.run_destroy(
            ops, spec, plan, images=images, accounts=accounts,
            on_stack=_reporter(result, json_output=json_output),
        )  # fmt: skip

    torn = None
    if extra is not None:
        torn = destroy_all.run_teardown(
            extra, project, ops, session=tooling, on_message=None if json_output else ui.success
        )
        result["teardown"] = torn.to_dict()
    ui.print_json(result)
    if json_output:
        return
    destroyed = [o.stack for o in outcomes if o.status == "destroyed"]
    kept = "deleted" if torn and torn.backend == "deleted" else "kept"
    ui.say(
        f"Destroyed: {', '.join(destroyed) or 'nothing'}. "
        f"The state backend ({project.backend.describe()}) is {kept}."
    )


def _verify_first(project: Any, accounts: Any, plan: Any, *, named: bool) -> Any:
    """STS before anything is read or written: the stage named (`--stage prod` checks prod's
    account first), then the tooling account, which holds the state and the registry. Each
    deployed stack's credentials are checked again before the first write (`run_destroy`).
    The tooling session, for the state bucket (None with a local backend)."""
    from bootstrap import lifecycle

    if named:
        lifecycle.verify_stack(accounts, plan.stacks[0])
    if project.backend.kind == "file" and lifecycle.SHARED not in plan.stacks:
        return None
    lifecycle.verify_stack(accounts, lifecycle.SHARED)
    return accounts.session(lifecycle.SHARED) if project.backend.kind != "file" else None


def _reporter(result: dict[str, Any], *, json_output: bool) -> Any:
    """What is said as each stack is done (the JSON envelope keeps the stacks done so far)."""
    from bootstrap import ui
    from bootstrap.automation import summarize_changes

    def report(outcome: Any) -> None:
        result["stacks"].append(
            {
                "stack": outcome.stack,
                "status": outcome.status,
                "detail": outcome.detail,
                "changes": outcome.changes,
            }
        )
        ui.print_json(result)  # kept: a failure's envelope carries the stacks done so far
        if json_output:
            return
        if outcome.status == "skipped":
            ui.info(f"{outcome.stack}: {outcome.detail}, skipped")
        else:
            done = summarize_changes(outcome.changes, done=True)
            detail = f"; {outcome.detail}" if outcome.detail else ""
            ui.success(f"destroyed {outcome.stack} ({done}{detail})")

    return report


def _confirm(plan: Any, extra: Any, *, yes: bool, confirmed: list[str], interactive: bool) -> None:
    """Every confirmation the plan needs: from the options, or typed at a prompt."""
    from bootstrap import destroy_all, lifecycle

    ask = typer.prompt if interactive else None
    lifecycle.confirm_destroy(plan, yes=yes, confirm=confirmed, ask=ask)
    if extra is not None:
        destroy_all.confirm_teardown(extra, confirm=confirmed, ask=ask)


def _destroy_preview(
    number: int,
    stage: str | None,
    all_stacks: bool,
    *,
    json_output: bool,
    repo: Any,
    verbose: bool,
    profile: list[str] | None,
) -> None:
    """`--preview N`: destroy pull request N's preview with these credentials (docs/previews.md)."""
    from bootstrap import lifecycle, previews, ui
    from bootstrap.automation import summarize_changes
    from bootstrap.errors import SpecError

    if stage is not None or all_stacks:
        raise SpecError("--preview goes alone", "give --preview N, --stage STAGE or --all")
    stack = previews.check_number(number)
    project = lifecycle.open_project(repo)
    accounts = lifecycle.open_accounts(project, profile)
    ops = lifecycle.open_stacks(project, accounts, verbose=verbose, as_tooling=True)
    ops.check()
    # previews live in the tooling account: its credentials are checked (STS) before the write
    result = previews.destroy_preview(
        ops, number, before=lambda: lifecycle.verify_stack(accounts, lifecycle.SHARED)
    )
    ui.print_json(
        {"project": project.spec.name, "path": str(project.repo), "preview": number,
         "stack": stack, "changes": dict(result.changes)}
    )  # fmt: skip
    if not json_output:
        ui.success(f"destroyed {stack} ({summarize_changes(result.changes, done=True)})")
