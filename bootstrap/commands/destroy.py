"""`bootstrap destroy`: tear down a stage, or every stack (stages in reverse order, then shared)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt, YesOpt


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
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Destroy stacks' resources. Manual stages need --yes and their name; state is kept."""
    from bootstrap import destroy_all, lifecycle, ui
    from bootstrap.automation import open_ops, summarize_changes
    from bootstrap.aws import caller_identity, opener
    from bootstrap.backend import backend_has_state
    from bootstrap.spec import parse_list

    if preview is not None:
        _destroy_preview(
            preview, stage, all_stacks, json_output=json_output, repo=repo, verbose=verbose
        )
        return
    project = lifecycle.open_project(repo)
    spec = project.spec
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
    ops = open_ops(project.repo, spec, project.backend, verbose=verbose)
    ops.check()
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
    if not backend_has_state(project.backend, region=spec.region):
        if not json_output:
            ui.info(f"no state in {project.backend.describe()}: nothing to destroy")
    else:
        identity = caller_identity(region=spec.region)
        images = opener(spec.region) if lifecycle.SHARED in plan.stacks else None

        def report(outcome: lifecycle.StackOutcome) -> None:
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

        outcomes = lifecycle.run_destroy(
            ops, spec, plan, images=images, identity=identity, on_stack=report
        )

    torn = None
    if extra is not None:
        torn = destroy_all.run_teardown(
            extra, project, ops, on_message=None if json_output else ui.success
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


def _confirm(plan: Any, extra: Any, *, yes: bool, confirmed: list[str], interactive: bool) -> None:
    """Every confirmation the plan needs: from the options, or typed at a prompt."""
    from bootstrap import destroy_all, lifecycle

    ask = typer.prompt if interactive else None
    lifecycle.confirm_destroy(plan, yes=yes, confirm=confirmed, ask=ask)
    if extra is not None:
        destroy_all.confirm_teardown(extra, confirm=confirmed, ask=ask)


def _destroy_preview(
    number: int, stage: str | None, all_stacks: bool, *, json_output: bool, repo: Any, verbose: bool
) -> None:
    """`--preview N`: destroy pull request N's preview with these credentials (docs/previews.md)."""
    from bootstrap import lifecycle, previews, ui
    from bootstrap.automation import open_ops, summarize_changes
    from bootstrap.errors import SpecError

    if stage is not None or all_stacks:
        raise SpecError("--preview goes alone", "give --preview N, --stage STAGE or --all")
    stack = previews.check_number(number)
    project = lifecycle.open_project(repo)
    ops = open_ops(project.repo, project.spec, project.backend, verbose=verbose)
    ops.check()
    result = previews.destroy_preview(ops, number)
    ui.print_json(
        {"project": project.spec.name, "path": str(project.repo), "preview": number,
         "stack": stack, "changes": dict(result.changes)}
    )  # fmt: skip
    if not json_output:
        ui.success(f"destroyed {stack} ({summarize_changes(result.changes, done=True)})")
