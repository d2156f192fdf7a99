"""`bootstrap preview`: what the stacks would create, for real (Automation API) or offline.

Opening the project checks every stack's settings first (bootstrap/stackconfig/): every bad
setting of every stack is reported before anything is planned or sent. What the infra program
itself warns about is shown per stack, on stderr and in the JSON (`warnings`). After the plans
comes each stack's estimated monthly cost and each stage's difference over the one before it
(`bootstrap.cost.brief`; JSON `cost`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bootstrap.options import AllStacksOpt, JsonOpt, ProfileOpt, RepoOpt, StackOpt, VerboseOpt

if TYPE_CHECKING:
    from bootstrap.cost import CostReport
    from bootstrap.lifecycle import Project

OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Plan under Pulumi mocks: no Pulumi CLI, no credentials, nothing sent anywhere.",
    ),
]


def preview(
    stage: StackOpt = None,
    all_stacks: AllStacksOpt = False,
    offline: OfflineOpt = False,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show the resources each stack would create: `pulumi preview` (each stack with its
    account's credentials, --profile), or an offline plan."""
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
        plans = lifecycle.plan_offline(project, stacks, quiet=json_output)
        title = f"Offline plan of {project.spec.name} (Pulumi mocks: nothing read from AWS)"
    else:
        accounts = lifecycle.open_accounts(project, profile)
        plans = lifecycle.preview_stacks(
            project, stacks, verbose=verbose, quiet=json_output, accounts=accounts
        )
        title = f"Preview of {project.spec.name} ({project.backend.describe()})"

    for plan in plans:
        for warning in planview.warnings(plan):
            ui.warn(f"{plan.stack}: {warning}")
    report = _estimate(project, plans)
    production = project.spec.stage_names[-1]
    if json_output:
        from bootstrap.cost.brief import brief_json

        data = planview.plan_json(project.spec.name, plans)
        cost = brief_json(report, production=production)
        ui.print_json({**data, "cost": cost, "warnings": list(project.config_warnings)})
        return
    ui.out.print(title)
    for plan in plans:
        changes = getattr(plan, "changes", None)
        label = f"{plan.stack}  ({_summary(changes)})" if changes is not None else None
        tree = planview.resource_tree(plan, title=label)
        if ui.out.is_terminal:
            ui.show_wide(tree)  # a long ARN sticks out rather than being cut
        else:
            ui.out.print(planview.render_plain(tree), soft_wrap=True)  # one line per resource
    diffs = planview.stage_diffs(plans)
    if diffs:
        ui.out.print("Differences between stages:")
        for diff in diffs:
            for line in diff.lines():
                ui.out.print("  " + line)
    from bootstrap.cost.brief import MORE, brief_lines

    for line in [*brief_lines(report, production=production), f"  ({MORE})"]:
        ui.out.print(line, soft_wrap=True)


def _estimate(project: Project, plans: list[Any]) -> CostReport:
    """The monthly figure of every planned stack, priced like `bootstrap cost` prices it."""
    from bootstrap.accounts import stack_regions
    from bootstrap.cost import estimate

    spec = project.spec
    regions = stack_regions(project.repo, spec, [plan.stack for plan in plans])
    return estimate(
        plans, region=spec.region, regions=regions, lifecycle=spec.stage_names, project=spec.name
    )


def _summary(changes: dict[str, int]) -> str:
    from bootstrap.automation import summarize_changes

    return summarize_changes(changes)
