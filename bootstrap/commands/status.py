"""`bootstrap status`: which release runs where, one row per stage (docs/status.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt

GitHubApiOpt = Annotated[
    str | None,
    typer.Option(
        "--github-api-url",
        help="GitHub API URL (default: $GITHUB_API_URL, the repo's record, else api.github.com).",
    ),
]
PLAIN_WIDTH = 200  # the grid's width when stdout is not a terminal: one line per stage


def status(
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh until interrupted (Ctrl-C).")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=2.0, metavar="SECONDS", help="Seconds between refreshes."),
    ] = 10.0,
    github_api_url: GitHubApiOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show the release each stage runs, its previous one, URL, health and pending approvals."""
    from bootstrap import status as core
    from bootstrap import ui
    from bootstrap.lifecycle import open_project

    project = open_project(repo)
    spec = project.spec
    github = core.github_from_env(spec, project.repo, api_url=github_api_url, notify=ui.warn)
    why = None if github else "no GITHUB_TOKEN, or no owner in the spec"
    sources = core.project_sources(project, github=github, verbose=verbose, why_no_github=why)

    def collect() -> core.Report:
        return core.collect(spec, sources)

    if json_output:
        if not watch:
            ui.print_json(collect().to_dict())
            return
        core.watch(lambda: _line(core.json_line(collect())), interval=interval)
        return

    if not watch:
        show(collect())
        return
    if ui.out.is_terminal:
        from rich.console import Group
        from rich.live import Live

        with Live(console=ui.out, auto_refresh=False, transient=False) as live:

            def refresh() -> None:
                report = collect()
                notes = [f"note: {n}" for n in report.notes]
                live.update(
                    Group(core.header(report), core.build_table(report), *notes), refresh=True
                )

            core.watch(refresh, interval=interval)
        return

    def again() -> None:
        show(collect())
        ui.out.print("")

    core.watch(again, interval=interval)


def show(report: object) -> None:
    """The grid on stdout: rich's own layout on a terminal, a fixed width elsewhere."""
    from bootstrap import status as core
    from bootstrap import ui

    assert isinstance(report, core.Report)
    if ui.out.is_terminal:
        ui.out.print(core.header(report))
        ui.out.print(core.build_table(report))
        for note in report.notes:
            ui.out.print(f"note: {note}")
        return
    _write(core.render_text(report, width=PLAIN_WIDTH))


def _line(text: str) -> None:
    _write(text + "\n")


def _write(text: str) -> None:
    import sys

    sys.stdout.write(text)
    sys.stdout.flush()
