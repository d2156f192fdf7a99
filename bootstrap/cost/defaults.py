"""What a freshly made lifecycle costs, without planning it: `bootstrap new` prints it.

Planning a project offline takes seconds (the infra program under Pulumi's mocks), more than
`new` may add. The stacks `new` renders depend only on the target and on whether a stage is the
production (last) one, so `defaults.json` keeps, per target, the bill of quantities of the
template's default stacks: every billed resource of the shared stack, of an early stage and of the
production stage, with each component's quantity and price key. `lifecycle_report` prices that
bill for any lifecycle and region with the price book, the same way `estimate` prices a plan
(tests/bootstrap/cost/test_defaults.py keeps the two equal). A maintainer regenerates the table
with `python scripts/update_cost_defaults.py` after changing the template's defaults or components.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.cost.prices import PriceBook
from bootstrap.cost.report import Component, CostReport, ResourceCost, StageCost

if TYPE_CHECKING:
    from bootstrap.cost.pricing import Context

TABLE = Path(__file__).with_name("defaults.json")
SHARED = "shared"
EARLY, PRODUCTION = "early", "production"
PROJECT_MARK, STAGE_MARK = "{project}", "{stage}"
_UNPRICED = re.compile(r"(?:; )?unpriced: .*$")


def _generic(name: str, project: str, stage: str) -> str:
    for value, mark in ((project, PROJECT_MARK), (stage, STAGE_MARK)):
        name = re.sub(rf"(?<![a-z0-9]){re.escape(value)}(?![a-z0-9])", mark, name)
    return name


def _bill(stage: StageCost, project: str) -> list[dict[str, Any]]:
    """A stack's priced resources without their prices: what the table keeps."""
    return [
        {
            "name": _generic(resource.name, project, stage.stage),
            "type": resource.type,
            "components": [
                {
                    "name": c.name,
                    "unit": c.unit,
                    "quantity": None if c.quantity is None else str(c.quantity),
                    "price_key": c.price_key,
                    "assumption": c.assumption,
                    "note": _UNPRICED.sub("", c.note or "") or None,
                }
                for c in resource.components
            ],
        }
        for resource in stage.resources
    ]


def table_entry(report: CostReport) -> dict[str, list[dict[str, Any]]]:
    """The shared stack, the first stage and the last stage of a default project's estimate."""
    stages = [s for s in report.stages if s.stage != SHARED]
    return {
        SHARED: _bill(report.stage(SHARED), report.project),
        EARLY: _bill(stages[0], report.project),
        PRODUCTION: _bill(stages[-1], report.project),
    }


FORMAT = 1
STAGES = ("dev", "test", "prod")  # the default lifecycle the table is made from


def document(reports: dict[str, CostReport]) -> dict[str, Any]:
    """The table's file: one `table_entry` per target, from each target's default project."""
    return {
        "format": FORMAT,
        "about": (
            "Billed resources and monthly quantities of the service template's default stacks "
            f"per target ({', '.join(STAGES)}: early = the first stage, production = the last), "
            "from the offline plan and the usage defaults; prices are applied at run time. "
            "Regenerate: python scripts/update_cost_defaults.py"
        ),
        "targets": {target: table_entry(reports[target]) for target in sorted(reports)},
    }


def load_table(path: Path = TABLE) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def lifecycle_report(
    targets: Sequence[tuple[str, str]],
    *,
    region: str,
    project: str,
    prices: PriceBook,
    regions: Mapping[str, str] | None = None,
    table: dict[str, Any] | None = None,
) -> CostReport:
    """The estimate of a new project's stacks: `targets` is (stage, target) in lifecycle order;
    the shared stack comes from the first stage's target. Rates come from `prices` for each
    stack's region in `regions` (a stage's `--stage-region`), else for `region`."""
    from bootstrap.cost.pricing import Context
    from bootstrap.cost.usage import Usage

    table = table or load_table()
    usage = Usage().for_stack(SHARED, production=False)  # Context needs one; unused here
    stacks = [(SHARED, targets[0][1], SHARED)]
    stacks += [
        (stage, target, PRODUCTION if i == len(targets) - 1 else EARLY)
        for i, (stage, target) in enumerate(targets)
    ]
    costed = []
    for stack, target, profile in stacks:
        where = (regions or {}).get(stack, region)
        context = Context(stack, where, [], prices, usage)
        resources = tuple(
            ResourceCost(
                item["name"].replace(PROJECT_MARK, project).replace(STAGE_MARK, stack),
                item["type"],
                tuple(_component(context, c) for c in item["components"]),
            )
            for item in table["targets"][target][profile]
        )
        costed.append(StageCost(stack, where, resources))
    return CostReport(project, tuple(costed))


def _component(context: Context, item: dict[str, Any]) -> Component:
    quantity = item["quantity"]
    if item["price_key"] is None:
        amount = None if quantity is None else Decimal(quantity)
        return Component(item["name"], item["unit"], amount, None, note=item["note"])
    return context.component(
        item["name"],
        item["price_key"],
        quantity,
        assumption=item["assumption"],
        note=item["note"],
    )
