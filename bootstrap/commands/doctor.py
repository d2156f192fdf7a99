"""`bootstrap doctor`: are the tools and credentials a full run needs here, and how to fix them."""

from __future__ import annotations

from typing import Any

from bootstrap.options import JsonOpt, ProfileOpt, RepoOpt, VerboseOpt

_MARKS = {
    "ok": ("✓", "green"),
    "warn": ("!", "yellow"),
    "missing": ("✗", "red"),
    "error": ("✗", "red"),
}

def doctor(
    repo: RepoOpt = None,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Check the Pulumi CLI, AWS credentials, the GitHub token and Docker (and in a generated
    repository each account's credentials and the roles' trust); print each fix. Exit code 5
    when credentials are missing, else 4 when tools are, else 1 when the roles trust another
    subject than GitHub issues."""
    from bootstrap import ui
    from bootstrap.doctor import run_checks

    generated = _generated_repo(repo)
    accounts = None
    if generated is not None:
        from bootstrap.lifecycle import accounts_of
        from bootstrap.repo import load_spec

        accounts = accounts_of(generated, load_spec(generated), profile)  # bad keys: exit 2
    report = run_checks(repo=generated, accounts=accounts)
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
            where = f" in {row['account']}" if row.get("account") else ""
            ui.say(f"{row['subject']}  {row['role']}{where}: {trusted}",
                   first=f"{'':{width + 4}}{row['for']}: ")  # fmt: skip
        for row in check.data.get("accounts") or []:  # accounts: one line per account
            ui.say(account_line(row), first=f"{'':{width + 4}}{row['account'] or '?'}: ")
        if check.fix and check.status != "ok":
            ui.say(check.fix, first=Text.assemble(" " * (width + 4), ("fix: ", "bold")))


def account_line(row: dict[str, Any]) -> str:
    """`dev, test: profile 'tooling' signs in as arn:...: ok`."""
    profile = f"profile '{row['profile']}'" if row["profile"] else "default credentials"
    stacks = ", ".join(row["stacks"])
    if row["identity"] is None:
        return f"{stacks}: {profile}: {row['problem']}"
    verdict = "ok" if row["ok"] else f"NOT this account (signs in to {row['signs_in_to']})"
    return f"{stacks}: {profile} signs in as {row['identity']}: {verdict}"


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
        "accounts": CredentialsError,
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
