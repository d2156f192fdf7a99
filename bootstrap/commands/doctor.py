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

def doctor(repo: RepoOpt = None, json_output: JsonOpt = False, verbose: VerboseOpt = False) -> None:
    """Check the Pulumi CLI, AWS credentials, the GitHub token and Docker (and in a generated
    repository the roles' trust); print each fix. Exit code 5 when credentials are missing, else
    4 when tools are, else 1 when the roles trust another subject than GitHub issues."""
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
    """The error `doctor` ends with. Each check's failure has its meaning (README "Exit codes"):
    missing or refused credentials, a missing tool, and roles that trust another subject than
    GitHub issues (their state, not a credential: `bootstrap provision` updates them). The first
    of these that failed, in that order, gives the exit code: the trust is read with the
    credentials, so they come first."""
    from bootstrap.errors import CredentialsError, ToolMissingError, UserError

    meaning: dict[str, type[UserError]] = {
        "aws": CredentialsError,
        "github": CredentialsError,
        "pulumi": ToolMissingError,
        "docker": ToolMissingError,
        "trust": UserError,
    }
    failed = {meaning[c.name] for c in problems}
    kind = next(k for k in (CredentialsError, ToolMissingError, UserError) if k in failed)
    names = ", ".join(c.name for c in problems)
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
