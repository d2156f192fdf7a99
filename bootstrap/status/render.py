"""Drawing the grid: a rich table (a terminal), plain text at a fixed width (files, CI logs,
snapshots), one JSON line per refresh (`--json --watch`), and the `--watch` loop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bootstrap.status.model import Report, StageStatus

if TYPE_CHECKING:
    from rich.table import Table


def human_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def build_table(report: Report) -> Table:
    """The grid: one line per stage, in lifecycle order; the stage's AWS account after its
    name when the stages live in more than one account."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    columns = ["STAGE", "RELEASE", "DEPLOYED (UTC)", "BY", "PREVIOUS", "URL", "HEALTH"]
    if report.multi_account:
        columns.insert(1, "ACCOUNT")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="fold")
    table.add_column("NOTES", overflow="fold")
    for stage in report.stages:
        name = f"{stage.stage} (manual)" if stage.manual else stage.stage
        if stage.current is not None:
            release = Text(stage.current.label)
            when = human_time(stage.current.deployed_at).removesuffix(" UTC")
            by = stage.current.deployed_by or "-"
        else:
            release = Text(_no_release(stage), "dim")
            when = by = "-"
        previous = stage.previous.label if stage.previous else "-"
        if stage.health is None:
            health = Text("-")
        else:
            health = Text(stage.health.summary, style="green" if stage.health.ok else "red")
        notes = []
        if stage.current and stage.current.smoke_test not in (None, "success"):
            notes.append(f"smoke test {stage.current.smoke_test}")
        if stage.waiting is not None:
            run = f"run {stage.waiting.run_id}" if stage.waiting.run_id else "a deployment"
            who = f" by {stage.waiting.actor}" if stage.waiting.actor else ""
            notes.append(f"waiting for approval ({run}{who})")
        if stage.behind:
            count = stage.behind_commits
            commits = f" by {count} commit{'s' if count != 1 else ''}" if count is not None else ""
            notes.append(f"behind {stage.behind}{commits}")
        notes.extend(stage.notes)
        cells: list[Any] = [name, release, when, by, previous, stage.url or "-", health]
        if report.multi_account:
            cells.insert(1, stage.account or "?")
        table.add_row(*cells, "; ".join(notes) or "-")
    return table


def _no_release(stage: StageStatus) -> str:
    if stage.torn_down:
        return "torn down"
    return "no release yet" if stage.deployed else "never deployed"


def header(report: Report) -> str:
    parts = [f"{report.project}: {len(report.stages)} stage(s)"]
    if report.repository:
        parts.append(f"GitHub {report.repository}")
    if report.registry:
        parts.append(f"registry {report.registry}")
    if report.template and report.template.get("template"):
        made = (
            f"template {report.template['template']} (bootstrap {report.template['tool_version']})"
        )
        if report.template.get("update_available"):
            made += f": bootstrap update brings {report.template['installed_tool_version']}"
        parts.append(made)
    return " | ".join(parts)


def preview_lines(report: Report) -> list[str]:
    """The live pull-request previews under the grid (bootstrap/previews.py)."""
    from bootstrap.previews import render

    return render(report.previews)


def render_text(report: Report, *, width: int = 200) -> str:
    """The grid as plain text at a fixed width (files, CI logs, snapshot tests)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False,
        markup=False, emoji=False, soft_wrap=False,
    )  # fmt: skip
    console.print(header(report))
    console.print(build_table(report))
    for line in preview_lines(report):
        console.print(line)
    for note in report.notes:
        console.print(f"note: {note}")
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def pause(seconds: float) -> None:
    """The wait between two `--watch` refreshes (its own name, so tests replace only this)."""
    time.sleep(seconds)


def watch(
    step: Callable[[], None],
    *,
    interval: float,
    sleep: Callable[[float], None] | None = None,
    iterations: int | None = None,
) -> int:
    """Run `step` every `interval` seconds until interrupted (or `iterations` ran); the count."""
    done = 0
    try:
        while iterations is None or done < iterations:
            step()
            done += 1
            if iterations is not None and done >= iterations:
                break
            (sleep or pause)(interval)
    except KeyboardInterrupt:
        pass
    return done


def json_line(report: Report) -> str:
    """The report as one compact JSON document: a line of `--json --watch`."""
    return json.dumps(report.to_dict(), separators=(",", ":"))
