"""`bootstrap preview`: what the stacks would create, for real (Automation API) or offline.

Opening the project checks every stack's settings first (bootstrap/stackconfig.py): every bad
setting of every stack is reported before anything is planned or sent. What the infra program
itself warns about is shown per stack, on stderr and in the JSON (`warnings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bootstrap.errors import UserError
from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt

if TYPE_CHECKING:
    from bootstrap.lifecycle import Project

StageOpt = Annotated[
    str | None,
    typer.Option("--stage", metavar="STAGE", help="One stack: a stage name, or 'shared'."),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every stack, shared first (the default).")]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Plan under Pulumi mocks: no Pulumi CLI, no credentials, nothing sent anywhere.",
    ),
]


class StacksFailed(UserError):
    """Several stacks failed to plan: one line each, the exit code of the gravest."""

    def __init__(self, failed: list[tuple[str, UserError]]) -> None:
        lines = [f"{stack}: {error}" for stack, error in failed]
        super().__init__(f"{len(failed)} stacks failed to plan:\n" + "\n".join(lines))
        self.exit_code = max(error.exit_code for _, error in failed)


def preview(
    stage: StageOpt = None,
    all_stacks: AllOpt = False,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show the resources each stack would create: `pulumi preview`, or an offline plan."""
    from bootstrap import lifecycle, planview, ui
    from bootstrap.automation import INSTALL_COMMAND, cli_available

    project = lifecycle.open_project(repo)
    stacks = lifecycle.select_stacks(project.spec, stage=stage, all_stacks=all_stacks)
    if not offline and not cli_available():
        ui.info(
            "Pulumi CLI not found: showing the offline plan "
            f"(install it for a real preview: {INSTALL_COMMAND})"
        )
        offline = True

    if offline:
        plans = _plan_offline(project, stacks, quiet=json_output)
        title = f"Offline plan of {project.spec.name} (Pulumi mocks: nothing read from AWS)"
    else:
        plans = lifecycle.preview_stacks(project, stacks, verbose=verbose, quiet=json_output)
        title = f"Preview of {project.spec.name} ({project.backend.describe()})"

    for plan in plans:
        for warning in planview.warnings(plan):
            ui.warn(f"{plan.stack}: {warning}")
    if json_output:
        data = planview.plan_json(project.spec.name, plans)
        ui.print_json({**data, "warnings": list(project.config_warnings)})
        return
    ui.out.print(title)
    for plan in plans:
        changes = getattr(plan, "changes", None)
        label = f"{plan.stack}  ({_summary(changes)})" if changes is not None else None
        tree = planview.resource_tree(plan, title=label)
        if ui.out.is_terminal:
            ui.out.print(tree, soft_wrap=False)  # wrapped to the terminal
        else:
            ui.out.print(planview.render_plain(tree), soft_wrap=True)  # one line per resource
    diffs = planview.stage_diffs(plans)
    if diffs:
        ui.out.print("Differences between stages:")
        for diff in diffs:
            for line in diff.lines():
                ui.out.print("  " + line)


def _plan_offline(project: Project, stacks: list[str], *, quiet: bool) -> list[Any]:
    """The offline plans; when the program fails, every stack that fails is named, not only the
    first (each stack is planned on its own to find them)."""
    from bootstrap import lifecycle, ui

    running = f"Planning {', '.join(stacks)} offline"
    try:
        with ui.step(running, f"Planned {', '.join(stacks)} offline", quiet=quiet):
            return lifecycle.plan_offline(project, stacks)
    except UserError as first:
        if len(stacks) == 1:
            raise
        failed = _failing_stacks(project, stacks)
        if len(failed) <= 1:
            raise
        raise StacksFailed(failed) from first


def _failing_stacks(project: Project, stacks: list[str]) -> list[tuple[str, UserError]]:
    from bootstrap import lifecycle

    failed: list[tuple[str, UserError]] = []
    for stack in stacks:
        try:
            lifecycle.plan_offline(project, [stack])
        except UserError as exc:
            failed.append((stack, exc))
            if stack == lifecycle.SHARED:
                break  # every stage reads shared's outputs: its failure is theirs
    return failed


def _summary(changes: dict[str, int]) -> str:
    from bootstrap.automation import summarize_changes

    return summarize_changes(changes)
