"""What each stage costs per month, priced from a plan (offline or a real preview).

`estimate(plans, region=...)` is the entry point for every command: it prices each stack's
resources into components with the price book (`prices`) and the usage assumptions (`usage`),
and returns a `CostReport`; `report` has its JSON and the short views other commands show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bootstrap.cost.prices import PriceBook
from bootstrap.cost.report import (
    CheaperOption,
    CostReport,
    StageCost,
    StageDifference,
    cheaper_options,
    stage_differences,
    summary_lines,
    to_json,
)
from bootstrap.cost.usage import Usage, load_usage

__all__ = [
    "CheaperOption",
    "CostReport",
    "StageDifference",
    "Usage",
    "cheaper_options",
    "estimate",
    "load_usage",
    "stage_differences",
    "summary_lines",
    "to_json",
]

SHARED = "shared"


def estimate(
    plans: Iterable[Any],
    *,
    region: str,
    regions: Mapping[str, str] | None = None,
    usage: Usage | None = None,
    prices: PriceBook | None = None,
    lifecycle: Sequence[str] | None = None,
    project: str = "",
) -> CostReport:
    """Price every plan (`.stack`, `.resources`, `.outputs`). `lifecycle` is the ordered stage
    names; its last is production (default: the last stage among the plans). A stack is priced
    in its region in `regions` (its stack file's `aws:region`), else in `region`."""
    from bootstrap.cost import prices as prices_mod
    from bootstrap.cost.pricing import Context, price_resources

    plans = list(plans)
    usage = usage or Usage()
    book = prices or prices_mod.load()
    stages = list(lifecycle or [p.stack for p in plans if p.stack != SHARED])
    production = stages[-1] if stages else None
    costed = []
    for plan in plans:
        where = (regions or {}).get(plan.stack, region)
        context = Context(
            plan.stack,
            where,
            list(plan.resources),
            book,
            usage.for_stack(plan.stack, production=plan.stack == production),
        )
        costed.append(StageCost(plan.stack, where, tuple(price_resources(context))))
    return CostReport(project, tuple(costed))
