"""`bootstrap status`: which release runs where, one row per stage (docs/status.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bootstrap.options import GitHubApiOpt, JsonOpt, ProfileOpt, RepoOpt, VerboseOpt

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
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show the release each stage runs, its previous one, URL, health and pending approvals.
    With --watch --json: one JSON document per line, per refresh. Stages in other AWS accounts
    are read with their own credentials (--profile STAGE=PROFILE)."""
    from bootstrap import status as core
    from bootstrap import ui
    from bootstrap.lifecycle import open_accounts, open_project

    project = open_project(repo)
    spec = project.spec
    accounts = open_accounts(project, profile)
    github = core.github_from_env(spec, project.repo, api_url=github_api_url, notify=ui.warn)
    why = None if github else "no GITHUB_TOKEN, or no owner in the spec"
    sources = core.project_sources(
        project, github=github, verbose=verbose, why_no_github=why, accounts=accounts
    )

    def collect() -> core.Report:
        return core.collect(spec, sources)

    if json_output:
        if not watch:
            ui.print_json(as_json(collect(), project.repo))
            return
        core.watch(lambda: ui.stream_json(as_json(collect(), project.repo)), interval=interval)
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
                table = ui.fit_table(core.build_table(report))
                live.update(Group(core.header(report), table, *notes), refresh=True)

            core.watch(refresh, interval=interval)
        return

    def again() -> None:
        show(collect())
        ui.out.print("")

    core.watch(again, interval=interval)


def as_json(report: Any, path: Any) -> dict[str, Any]:
    """The report in the commands' shared key names (`repository` is GitHub's OWNER/NAME)."""
    data = dict(report.to_dict())
    data["repository"] = data.pop("github", None)
    return {"project": data.pop("project"), "path": str(path), **data}


def show(report: object) -> None:
    """The grid on stdout: fitted to a terminal (one block per stage when the grid is wider),
    a fixed width elsewhere (one line per stage)."""
    import sys

    from bootstrap import status as core
    from bootstrap import ui

    assert isinstance(report, core.Report)
    if ui.out.is_terminal:
        ui.say(core.header(report))
        ui.show_table(core.build_table(report))
        from bootstrap.status.render import preview_lines

        for line in preview_lines(report):
            ui.say(line)
        for note in report.notes:
            ui.say(note, first="note: ")
        return
    sys.stdout.write(core.render_text(report, width=PLAIN_WIDTH))
    sys.stdout.flush()
