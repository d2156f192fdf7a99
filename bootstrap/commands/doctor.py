"""`bootstrap doctor`: are the tools and credentials a full run needs here, and how to fix them."""

from __future__ import annotations

import typer

from bootstrap.options import JsonOpt, VerboseOpt

_MARKS = {
    "ok": ("✓", "green"),
    "warn": ("!", "yellow"),
    "missing": ("✗", "red"),
    "error": ("✗", "red"),
}


def doctor(json_output: JsonOpt = False, verbose: VerboseOpt = False) -> None:
    """Check the Pulumi CLI, AWS credentials, the GitHub token and Docker; print each fix."""
    from rich.text import Text

    from bootstrap import ui
    from bootstrap.doctor import run_checks

    report = run_checks()
    if json_output:
        ui.print_json(report.to_json())
    else:
        width = max(len(c.name) for c in report.checks)
        for check in report.checks:
            mark, style = _MARKS[check.status]
            ui.out.print(
                Text.assemble(
                    (mark, style), " ", (check.name.ljust(width), "bold"), "  ", check.detail
                )
            )
            if check.fix and check.status != "ok":
                ui.out.print(Text.assemble(" " * (width + 4), ("fix: ", "bold"), check.fix))
        if report.ok:
            ui.success("everything a full run needs is here")
        else:
            names = ", ".join(c.name for c in report.problems)
            ui.warn(
                f"missing or broken: {names} (local scaffolding and offline previews still work)"
            )
    if not report.ok:
        raise typer.Exit(1)
