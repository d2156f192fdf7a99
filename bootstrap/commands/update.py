"""`bootstrap update`: re-render a generated repo from a newer template, keeping the user's edits."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt, template_version

CommitOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Commit the update when it merged without conflicts (default: leave it for review; "
        "asked on a terminal).",
    ),
]


def update(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            callback=template_version,
            help="Template version to update to (default: the installed bootstrap's).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff the update would make; change nothing.")
    ] = False,
    yes: CommitOpt = False,
    repo: RepoOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Merge template changes into this repo three ways; exit code 7 when conflicts are left."""
    from bootstrap import ui
    from bootstrap.errors import ConflictError
    from bootstrap.repo import find_repo, load_spec
    from bootstrap.update import commit_update
    from bootstrap.update import update as run_update

    path = find_repo(repo)
    running = "Merging the template (dry run)" if dry_run else "Merging the template"
    done = "template merge checked (dry run)" if dry_run else "template merged"
    with ui.step(running, done, quiet=json_output):
        result = run_update(path, to=to, dry_run=dry_run, commit=yes)

    interactive = not yes and not json_output and not dry_run and sys.stdin.isatty()
    if result.status == "updated" and interactive and typer.confirm("Commit the update?"):
        commit_update(result)

    data = result.to_json()
    ui.print_json({"project": load_spec(path).name, "path": data.pop("repo"), **data})
    if not json_output:
        _report(result)
    if result.status == "conflicts":
        shown = ", ".join(result.conflicts)
        raise ConflictError(
            f"the update left conflicts in {len(result.conflicts)} file(s): {shown}",
            "resolve the <<<<<<< markers, then `git add` the files and `git commit`",
        )


def _report(result: object) -> None:
    from bootstrap import ui
    from bootstrap.update import UpdateResult

    assert isinstance(result, UpdateResult)
    name = result.repo.name
    if result.status == "up-to-date":
        ui.say(f"{name} is already at template {result.new}; nothing to do")
        return
    if result.status == "dry-run":
        if result.diff:
            ui.out.print(result.diff.rstrip("\n"), soft_wrap=True)  # as git shows it
        ui.info(
            f"Dry run: updating {name} from template {result.old} to {result.new} would change "
            f"{len(result.changes)} file(s)"
            + (f", with conflicts in {', '.join(result.conflicts)}" if result.conflicts else "")
            + "; nothing was changed"
        )
        return
    ui.say(
        f"Updated {name} from template {result.old} to {result.new} "
        f"({len(result.changes)} file(s) changed)"
    )
    marks = {"added": "A", "modified": "M", "deleted": "D"}
    conflicted = set(result.conflicts)
    for change in result.changes:
        mark = "C" if change.path in conflicted else marks[change.change]
        ui.say(f"  {mark} {change.path}")
    if result.status == "committed" and result.commit:
        ui.say(f"Committed {result.commit[:8]}")
    elif result.status == "updated":
        ui.say(
            "review with `git status` and `git diff`, then "
            f"`git add -A && git commit -m 'Update template to {result.new}'`",
            first="  next: ",
        )
