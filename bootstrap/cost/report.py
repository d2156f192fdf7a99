"""The estimate: stages of resources of components, their JSON, and the short views other commands
show (`summary_lines`, `stage_differences`, `cheaper_options`).

Money is `Decimal` throughout; JSON rounds monthly figures to cents. A component without a rate (or
without a quantity) has `monthly` None: it is listed as unpriced, never counted as zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from bootstrap.cost.prices import Source, age_days

CENT = Decimal("0.01")
SHARED = "shared"


@dataclass(frozen=True)
class Component:
    name: str
    unit: str
    quantity: Decimal | None  # per month; None: not estimated
    unit_price: Decimal | None  # USD per unit; None: unknown
    price_key: str | None = None
    source: Source | None = None
    assumption: str | None = None  # how the quantity was assumed (usage), if it was
    note: str | None = None  # why it is unpriced, or what the figure leaves out

    @property
    def monthly(self) -> Decimal | None:
        if self.quantity is None or self.unit_price is None:
            return None
        return self.quantity * self.unit_price

    @property
    def priced(self) -> bool:
        return self.monthly is not None


@dataclass(frozen=True)
class ResourceCost:
    name: str
    type: str
    components: tuple[Component, ...]

    @property
    def monthly(self) -> Decimal:
        return sum((c.monthly for c in self.components if c.monthly is not None), Decimal(0))


@dataclass(frozen=True)
class StageCost:
    stage: str
    region: str
    resources: tuple[ResourceCost, ...]

    @property
    def monthly(self) -> Decimal:
        return sum((r.monthly for r in self.resources), Decimal(0))

    def components(self) -> list[tuple[ResourceCost, Component]]:
        return [(r, c) for r in self.resources for c in r.components]

    def unpriced(self) -> list[tuple[ResourceCost, Component]]:
        return [(r, c) for r, c in self.components() if not c.priced]


@dataclass(frozen=True)
class CostReport:
    project: str
    stages: tuple[StageCost, ...]
    currency: str = "USD"

    @property
    def total(self) -> Decimal:
        return sum((s.monthly for s in self.stages), Decimal(0))

    def stage(self, name: str) -> StageCost:
        return next(s for s in self.stages if s.stage == name)

    def sources(self) -> list[Source]:
        found = {c.source.id: c.source for s in self.stages for _, c in s.components() if c.source}
        return [found[k] for k in sorted(found)]

    @property
    def regions(self) -> list[str]:
        return sorted({s.region for s in self.stages})


def cents(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value).quantize(CENT, rounding=ROUND_HALF_UP):,}"


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value.normalize())


def prices_info(report: CostReport) -> dict[str, Any]:
    """Where the rates came from: the sources used, their dates, and the oldest date's age."""
    sources = report.sources()
    dates = sorted(d for d in (s.dated for s in sources) if d)
    services: dict[str, str | None] = {}
    for source in sources:
        earlier = services.get(source.service)
        if source.service not in services or (
            source.dated and (not earlier or source.dated < earlier)
        ):
            services[source.service] = source.dated
    return {
        "source": "AWS Price List (on-demand list prices; see sources)",
        "published": dates[0] if dates else None,
        "newest": dates[-1] if dates else None,
        "age_days": age_days(dates[0]) if dates else None,
        "region": ", ".join(report.regions),
        "services": dict(sorted(services.items())),
        "sources": [
            {"id": s.id, "service": s.service, "published": s.published, "retrieved": s.retrieved}
            for s in sources
        ],
    }


def to_json(report: CostReport) -> dict[str, Any]:
    """The issue's shape: currency, prices, stages -> resources -> components, total."""
    return {
        "project": report.project,
        "currency": report.currency,
        "prices": prices_info(report),
        "stages": [
            {
                "stage": stage.stage,
                "region": stage.region,
                "monthly": cents(stage.monthly),
                "unpriced": len(stage.unpriced()),
                "resources": [
                    {
                        "name": resource.name,
                        "type": resource.type,
                        "monthly": cents(resource.monthly),
                        "components": [
                            {
                                "name": c.name,
                                "unit": c.unit,
                                "quantity": _number(c.quantity),
                                "unit_price": _number(c.unit_price),
                                "monthly": cents(c.monthly) if c.monthly is not None else None,
                                "price_key": c.price_key,
                                "assumption": c.assumption,
                                "note": c.note,
                            }
                            for c in resource.components
                        ],
                    }
                    for resource in stage.resources
                ],
            }
            for stage in report.stages
        ],
        "total": cents(report.total),
    }


# --- the short views --------------------------------------------------------------------------


def summary_lines(report: CostReport) -> list[str]:
    """One line per stage and the total, e.g. "prod: $312.40/month (2 unpriced)"."""
    lines = []
    for stage in report.stages:
        unpriced = len(stage.unpriced())
        extra = f" ({unpriced} unpriced)" if unpriced else ""
        lines.append(f"{stage.stage}: {money(stage.monthly)}/month{extra}")
    lines.append(f"total: {money(report.total)}/month")
    return lines


@dataclass(frozen=True)
class StageDifference:
    stage: str
    base: str
    delta: Decimal
    largest: tuple[tuple[str, Decimal], ...] = ()  # component name -> its part of the delta

    def line(self) -> str:
        sign = "+" if self.delta >= 0 else "-"
        text = f"{self.stage}: {sign}{money(abs(self.delta))}/month over {self.base}"
        if self.largest:
            parts = ", ".join(
                f"{name} {'+' if d >= 0 else '-'}{money(abs(d))}" for name, d in self.largest
            )
            text += f" ({parts})"
        return text


def _by_component(stage: StageCost) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for _, component in stage.components():
        if component.monthly is not None:
            totals[component.name] = totals.get(component.name, Decimal(0)) + component.monthly
    return totals


def stage_differences(report: CostReport, top: int = 3) -> list[StageDifference]:
    """Each stage against the stage before it in the lifecycle (shared left out)."""
    stages = [s for s in report.stages if s.stage != SHARED]
    differences = []
    for base, stage in pairwise(stages):
        before, after = _by_component(base), _by_component(stage)
        deltas = {
            n: after.get(n, Decimal(0)) - before.get(n, Decimal(0)) for n in {*before, *after}
        }
        largest = sorted(
            ((n, d) for n, d in deltas.items() if d.quantize(CENT) != 0),
            key=lambda item: (-abs(item[1]), item[0]),
        )[:top]
        differences.append(
            StageDifference(stage.stage, base.stage, stage.monthly - base.monthly, tuple(largest))
        )
    return differences


@dataclass(frozen=True)
class CheaperOption:
    stage: str
    component: str
    share: Decimal  # of the stage's monthly cost, 0..1
    saving: Decimal | None  # per month, when it can be computed
    change: str  # what to change (a stack config key or the target)

    def line(self) -> str:
        saving = f"saves about {money(self.saving)}/month" if self.saving is not None else ""
        percent = (self.share * 100).quantize(Decimal(1))
        return f"{self.stage}: {self.component} is {percent}% of the stage; {self.change} {saving}".rstrip()


@dataclass
class _Dominant:
    stage: StageCost
    share: dict[str, Decimal] = field(default_factory=dict)


def cheaper_options(
    report: CostReport, *, production: str | None = None, top: int = 3, dominance: str = "0.5"
) -> list[CheaperOption]:
    """Cheaper choices for stages whose cost a few components dominate (the `top` largest make
    up at least `dominance` of the stage): NAT gateways outside production, an EKS control plane
    for a small stage, zone count. `production` is the last stage (default: the last listed)."""
    stages = [s for s in report.stages if s.stage != SHARED]
    if not stages:
        return []
    production = production or stages[-1].stage
    options: list[CheaperOption] = []
    for stage in stages:
        if stage.monthly <= 0:
            continue
        parts = sorted(_by_component(stage).items(), key=lambda item: (-item[1], item[0]))
        leading = parts[:top]
        if sum((v for _, v in leading), Decimal(0)) / stage.monthly < Decimal(dominance):
            continue
        options.extend(_options_for(stage, dict(leading), production))
    return options


def _count(stage: StageCost, type_: str) -> int:
    return sum(1 for r in stage.resources if r.type == type_)


def _options_for(
    stage: StageCost, leading: dict[str, Decimal], production: str
) -> Iterable[CheaperOption]:
    share = {name: value / stage.monthly for name, value in leading.items()}
    nat = leading.get(NAT_HOURS)
    nats = _count(stage, NAT_TYPE)
    if nat is not None and stage.stage != production and nats > 1:
        yield CheaperOption(
            stage.stage, NAT_HOURS, share[NAT_HOURS], nat * (nats - 1) / nats,
            f"one shared NAT gateway instead of {nats} (natPerAz: false)",
        )  # fmt: skip
    elif nat is not None and stage.stage != production:
        yield CheaperOption(
            stage.stage, NAT_HOURS, share[NAT_HOURS], None,
            "a stage without a VPC has no NAT gateway: target lambda (with lambdaVpc: false)",
        )  # fmt: skip
    cluster = leading.get(EKS_CLUSTER_HOURS)
    if cluster is not None and stage.stage != production:
        yield CheaperOption(
            stage.stage, EKS_CLUSTER_HOURS, share[EKS_CLUSTER_HOURS], cluster,
            "ECS or Lambda have no control-plane fee (target: ecs or lambda for this stage)",
        )  # fmt: skip


def suggested_budgets(report: CostReport, margin: str = "1.2") -> list[tuple[str, int]]:
    """A `monthlyBudget` per stage (stacks/budget.py): the estimate plus 20 %, rounded up to
    whole tens of dollars, so that the 80 % alert comes near the estimate, not before it."""
    suggestions = []
    for stage in report.stages:
        if stage.stage == SHARED or stage.monthly <= 0:
            continue
        tens = (stage.monthly * Decimal(margin) / 10).to_integral_value(rounding=ROUND_CEILING)
        suggestions.append((stage.stage, int(tens) * 10))
    return suggestions


# Component names the options recognise (the pricing module names components with these).
NAT_HOURS = "NAT gateway hours"
NAT_TYPE = "aws:ec2/natGateway:NatGateway"
EKS_CLUSTER_HOURS = "EKS cluster hours"
