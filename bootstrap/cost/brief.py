"""The short estimate other commands show next to their own output (`preview`, `new`): each
stack's monthly figure, the total, the difference of each stage over the one before it, the
cheaper options, and the date of the prices. `bootstrap cost` shows the full breakdown."""

from __future__ import annotations

from typing import Any

from bootstrap.cost.report import (
    CostReport,
    cents,
    cheaper_options,
    prices_info,
    stage_differences,
    summary_lines,
)

MORE = "`bootstrap cost` shows every resource, its components and the assumptions behind them"


def prices_note(report: CostReport) -> str:
    info = prices_info(report)
    if not info["published"]:
        return "no component has a known price"
    return f"AWS list prices of {info['published']} for {info['region']}"


def brief_lines(report: CostReport, *, production: str | None = None) -> list[str]:
    """E.g. "  prod: $232.22/month (1 unpriced)", ..., "  prod: +$157.75/month over test (...)".
    `production` is the lifecycle's last stage (default: the last stage in the report)."""
    lines = [f"Estimated monthly cost (USD, on-demand; {prices_note(report)}):"]
    lines += [f"  {line}" for line in summary_lines(report)]
    lines += [f"  {d.line()}" for d in stage_differences(report)]
    lines += [f"  cheaper: {o.line()}" for o in cheaper_options(report, production=production)]
    return lines


def brief_json(report: CostReport, *, production: str | None = None) -> dict[str, Any]:
    """`{"currency", "prices": {"published", "age_days", "region"}, "stages": [{"stage",
    "monthly", "unpriced"}], "total", "differences": [{"stage", "base", "monthly", "line"}],
    "cheaper": [{"stage", "component", "saving", "line"}]}` (figures in USD per month)."""
    info = prices_info(report)
    return {
        "currency": report.currency,
        "prices": {k: info[k] for k in ("published", "age_days", "region")},
        "stages": [
            {"stage": s.stage, "monthly": cents(s.monthly), "unpriced": len(s.unpriced())}
            for s in report.stages
        ],
        "total": cents(report.total),
        "differences": [
            {"stage": d.stage, "base": d.base, "monthly": cents(d.delta), "line": d.line()}
            for d in stage_differences(report)
        ],
        "cheaper": [
            {
                "stage": o.stage,
                "component": o.component,
                "saving": cents(o.saving) if o.saving is not None else None,
                "line": o.line(),
            }
            for o in cheaper_options(report, production=production)
        ],
    }
