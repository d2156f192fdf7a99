"""Pull-request preview environments as bootstrap sees them: the live ones (for `status`), with
their age and estimated monthly cost, and removing one (`destroy --preview N`).

A preview is a stack `pr-<n>` of the project (stacks/pr_env.py; the generated repo's pr-env.yml
deploys it, pr-sweep.yml destroys stale ones). The stacks come from the backend's stack list
(`AutomationOps.list_stacks`, `pulumi stack ls`); which of them are previews, and which are live,
is `stacks.previews`' decision, shared with the workflows. The cost is the offline plan of one
preview priced by `bootstrap.cost` (every preview has the same resources).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import SpecError, UserError
from stacks import contract
from stacks.previews import Preview, previews

if TYPE_CHECKING:
    from bootstrap.automation import OpResult, StackOps
    from bootstrap.lifecycle import Project


@dataclass(frozen=True)
class PreviewStatus:
    """One live preview: its pull request, age (since its last deploy), URL and monthly cost."""

    number: int
    stack: str
    age_hours: float | None  # None: an update is running
    url: str | None
    monthly: Decimal | None  # USD, from bootstrap.cost; None when it could not be priced

    def to_dict(self) -> dict[str, Any]:
        return {
            "pull_request": self.number,
            "stack": self.stack,
            "age_hours": None if self.age_hours is None else round(self.age_hours, 1),
            "url": self.url,
            "monthly": None if self.monthly is None else float(round(self.monthly, 2)),
        }

    def line(self) -> str:
        age = "updating" if self.age_hours is None else _age(self.age_hours)
        cost = "cost unknown" if self.monthly is None else f"${self.monthly:.2f}/month"
        return f"{self.stack} (#{self.number}): {age}, {cost}, {self.url or 'no URL'}"


def _age(hours: float) -> str:
    return f"{hours:.0f} h old" if hours < 48 else f"{hours / 24:.0f} days old"


def stack_list(ops: object) -> list[Mapping[str, Any]]:
    """The backend's stacks as `pulumi stack ls --json` lists them ([] when `ops` cannot list)."""
    lister: Callable[[], list[Mapping[str, Any]]] | None = getattr(ops, "list_stacks", None)
    return list(lister()) if lister is not None else []


def live(
    ops: StackOps, *, now: datetime, monthly: Callable[[], Decimal | None]
) -> list[PreviewStatus]:
    """Every live preview of the backend, oldest pull request first."""
    found = [p for p in previews(stack_list(ops)) if p.live]
    if not found:
        return []
    cost = monthly()
    return [_status(ops, preview, now, cost) for preview in found]


def _status(ops: StackOps, preview: Preview, now: datetime, cost: Decimal | None) -> PreviewStatus:
    age = preview.age(now)
    url = ops.outputs(preview.stack).get("url")
    return PreviewStatus(
        number=preview.number,
        stack=preview.stack,
        age_hours=None if age is None else age.total_seconds() / 3600,
        url=str(url) if url else None,
        monthly=cost,
    )


@cache
def monthly_cost(repo: Path, project: str, region: str, stages: tuple[str, ...]) -> Decimal | None:
    """What one preview costs a month: the offline plan of `pr-1` (after `shared`, and for ECS
    previews the first stage, whose outputs it reads) priced by bootstrap.cost with its usage
    defaults. None if a plan fails. An ECS preview's own parts are priced (its Fargate task, logs,
    listener); the first stage's load balancer it shares is the stage's cost."""
    from bootstrap.cost import estimate
    from bootstrap.offline import load_stack_config, run_program
    from bootstrap.offline.plan import PlanError
    from bootstrap.stackconfig.files import merge, read_project
    from stacks.config_schema import Invalid
    from stacks.previews import limits

    infra = repo / contract.INFRA_DIR
    stack = contract.preview_stack(1)
    try:
        target = limits(infra, project).target
        outputs: dict[str, dict[str, Any]] = {}
        for reads in (contract.SHARED, *(stages[:1] if target == "ecs" else ())):
            config = load_stack_config(infra, project, reads)
            plan = run_program(infra, project, reads, config, stack_outputs=dict(outputs))
            outputs[reads] = plan.outputs
        given = {"aws:region": region, f"{project}:previewTarget": target}
        config, _ = merge(project, stack, read_project(infra, project).declarations, given)
        plan = run_program(infra, project, stack, config, stack_outputs=outputs)
        report = estimate([plan], region=region, lifecycle=list(stages), project=project)
    except (PlanError, OSError, ValueError, Invalid):
        return None
    return report.stage(stack).monthly


def project_cost(project: Project) -> Callable[[], Decimal | None]:
    spec = project.spec
    return lambda: monthly_cost(project.repo, spec.name, spec.region, tuple(spec.stage_names))


def check_number(number: int) -> str:
    """The preview stack of pull request `number`, or BadInput."""
    if number < 1:
        raise SpecError(f"--preview {number} is not a pull request number", "give a number from 1")
    return contract.preview_stack(number)


def destroy_preview(
    ops: StackOps, number: int, *, before: Callable[[], object] | None = None
) -> OpResult:
    """Destroy every resource of pull request `number`'s preview (its stack stays, empty, as a
    stage's does; the generated repo's workflows remove it with `pulumi stack rm`). `before`
    runs once the preview is found, before the write (the credentials' check)."""
    stack = check_number(number)
    if not ops.exists(stack):
        raise UserError(
            f"pull request #{number} has no preview (no stack {stack})",
            "run `bootstrap status` to list the live previews",
        )
    if before is not None:
        before()
    return ops.destroy(stack)


def refuse_hosted(ops: StackOps, first_stage: str, stacks: Sequence[str]) -> None:
    """Refuse to destroy the first stage while it hosts live ECS previews (`previewTarget: ecs`):
    ECS keeps a cluster that still runs services, and each preview's listener holds the stage's
    load balancer, so its destroy would fail part way. Nothing is read unless the first stage is
    among `stacks`."""
    if first_stage not in stacks:
        return
    live_ones = [p for p in previews(stack_list(ops)) if p.live]
    if not live_ones:
        return
    # A preview says its target once deployed; one still deploying runs where shared says.
    default = ops.outputs(contract.SHARED).get(contract.PREVIEW_TARGET_OUTPUT)
    hosted = [p for p in live_ones if (ops.outputs(p.stack).get("target") or default) == "ecs"]
    if not hosted:
        return
    names = ", ".join(p.stack for p in hosted)
    numbers = " ".join(str(p.number) for p in hosted)
    raise UserError(
        f"{first_stage} hosts live ECS previews ({names}) in its cluster and load balancer; "
        f"destroying {first_stage} would fail part way",
        f"close their pull requests, or destroy them first (`bootstrap destroy --preview N` for "
        f"N in {numbers})",
    )


def render(statuses: Sequence[PreviewStatus]) -> list[str]:
    """The status lines of the previews section."""
    if not statuses:
        return []
    total = sum((s.monthly for s in statuses if s.monthly is not None), Decimal(0))
    lines = [f"previews: {len(statuses)} live, ${total:.2f}/month"]
    return lines + [f"  {s.line()}" for s in statuses]
