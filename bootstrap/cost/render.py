"""The estimate as text: per stage, each resource and its components with the arithmetic
(quantity x unit price = monthly) and the assumption behind it; then totals, differences between
stages, cheaper options and where the prices come from."""

from __future__ import annotations

from decimal import Decimal

from bootstrap.cost.report import (
    Component,
    CostReport,
    StageCost,
    cheaper_options,
    money,
    prices_info,
    stage_differences,
    suggested_budgets,
    summary_lines,
)


def _quantity(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _rate(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"${text}"


def component_line(component: Component) -> str:
    name = component.name
    if component.quantity is None:
        return f"{name}: not estimated ({component.note})"
    amount = f"{_quantity(component.quantity)} {component.unit}"
    if component.unit_price is None:
        text = f"{name}: {amount} x unknown price, unpriced"
    else:
        monthly = component.monthly
        assert monthly is not None
        text = f"{name}: {amount} x {_rate(component.unit_price)} = {money(monthly)}"
    if component.assumption:
        text += f"  [assumed: {component.assumption}]"
    if component.note:
        text += f"  ({component.note})"
    return text


def stage_lines(stage: StageCost) -> list[str]:
    unpriced = len(stage.unpriced())
    extra = f", {unpriced} component(s) unpriced" if unpriced else ""
    lines = [f"{stage.stage} ({stage.region}): {money(stage.monthly)}/month{extra}"]
    for resource in stage.resources:
        lines.append(f"  {resource.name}  {resource.type}  {money(resource.monthly)}")
        lines += [f"    {component_line(c)}" for c in resource.components]
    return lines


def report_lines(report: CostReport) -> list[str]:
    lines = [
        f"Estimated monthly cost of {report.project} ({report.currency}, on-demand list prices)"
    ]
    for stage in report.stages:
        lines += ["", *stage_lines(stage)]
    lines += ["", *summary_lines(report)]
    differences = stage_differences(report)
    if differences:
        lines += ["", "Differences between stages:"]
        lines += [f"  {d.line()}" for d in differences]
    options = cheaper_options(report)
    if options:
        lines += ["", "Cheaper options:"]
        lines += [f"  {o.line()}" for o in options]
    budgets = suggested_budgets(report)
    if budgets:
        lines += ["", "Budgets (run in infra/, with alarmTopicArn set: AWS Budgets alerts it at 80 % and 100 %):"]
        lines += [
            f"  {stage}: `pulumi config set monthlyBudget {usd} --stack {stage}` (estimate + 20 %)"
            for stage, usd in budgets
        ]
    lines += ["", prices_line(report)]
    return lines


def prices_line(report: CostReport) -> str:
    info = prices_info(report)
    if not info["published"]:
        return "Prices: none of the components has a known price"
    dated = ", ".join(f"{service} {day or 'undated'}" for service, day in info["services"].items())
    return (
        f"Prices: AWS list prices for {info['region']} dated {dated} (the oldest is "
        f"{info['age_days']} days old); `bootstrap cost --refresh-prices` updates them from the "
        "AWS Price List"
    )
