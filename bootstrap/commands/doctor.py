"""`bootstrap doctor`: are the tools and credentials a full run needs here, and how to fix them."""

from __future__ import annotations

from typing import Any

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt

_MARKS = {
    "ok": ("✓", "green"),
    "warn": ("!", "yellow"),
    "missing": ("✗", "red"),
    "error": ("✗", "red"),
}
_TOOLS = ("pulumi", "docker")  # the rest are credentials


def doctor(repo: RepoOpt = None, json_output: JsonOpt = False, verbose: VerboseOpt = False) -> None:
    """Check the Pulumi CLI, AWS credentials, the GitHub token and Docker; print each fix.
    Exit code 4 when only tools are missing, 5 when credentials are."""
    from bootstrap import ui
    from bootstrap.doctor import run_checks

    report = run_checks(repo=_generated_repo(repo))
    ui.print_json(report.to_json())
    if not json_output:
        show(report)
    if report.ok:
        if not json_output:
            ui.success("everything a full run needs is here")
        return
    raise failure(report.problems, json_output=json_output)


def show(report: Any) -> None:
    """One line per check (wrapped under its detail), its fix below it."""
    from rich.text import Text

    from bootstrap import ui

    width = max(len(c.name) for c in report.checks)
    for check in report.checks:
        mark, style = _MARKS[check.status]
        lead = Text.assemble((mark, style), " ", (check.name.ljust(width), "bold"), "  ")
        ui.say(check.detail, first=lead)
        for row in check.data.get("subjects") or []:  # trust: one line per subject
            trusted = {True: "trusted", False: "NOT trusted", None: "not deployed"}[row["trusted"]]
            ui.say(f"{row['subject']}  {row['role']}: {trusted}", first=f"{'':{width + 4}}{row['for']}: ")
        if check.fix and check.status != "ok":
            ui.say(check.fix, first=Text.assemble(" " * (width + 4), ("fix: ", "bold")))


def failure(problems: list[Any], *, json_output: bool) -> Exception:
    """The error `doctor` ends with: a missing tool (4) or missing credentials (5), as
    `provision` reports the same checks."""
    from bootstrap.errors import CredentialsError, ToolMissingError

    names = ", ".join(c.name for c in problems)
    kind = ToolMissingError if all(c.name in _TOOLS for c in problems) else CredentialsError
    return kind(
        f"missing or broken: {names} (local scaffolding and offline previews still work)",
        "each check's fix is in checks[].fix" if json_output else "apply the fixes above",
    )


def _generated_repo(repo: Any) -> Any:
    """`--repo`, else the generated repository around the current directory, else None."""
    from bootstrap.errors import UserError
    from bootstrap.repo import find_repo

    try:
        return find_repo(repo)
    except UserError:
        if repo is not None:
            raise
        return None
