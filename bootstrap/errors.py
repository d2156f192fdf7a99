"""One error hierarchy. Every failure a user can fix is a `UserError`; `cli.main` turns it into
one line on stderr and an exit code, in exactly one place."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix. `str(error)` is the whole message: the problem and the fix."""

    exit_code = 1

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}: {fix}" if fix else problem)


class SpecError(UserError):
    """Bad input in the project spec (names, stages, target, region, owner)."""

    exit_code = 2


class TargetExistsError(UserError):
    """The destination holds other work; nothing is written over it."""

    exit_code = 3


class NotAGeneratedRepoError(UserError):
    """A command that acts on a generated repo was run somewhere else."""

    exit_code = 2


class ToolMissingError(UserError):
    """An outside tool (git, Pulumi CLI, docker) is not installed."""

    exit_code = 4


class CredentialsError(UserError):
    """Missing, expired or insufficient credentials for an outside service."""

    exit_code = 5


class RemoteError(UserError):
    """An outside service (GitHub, AWS, Pulumi) failed after retries; names the step reached."""

    exit_code = 6


class ConflictError(UserError):
    """The operation finished but left conflicts for the user to resolve (e.g. update merges)."""

    exit_code = 7


class Aborted(UserError):
    """The user declined a confirmation or interrupted the run."""

    exit_code = 130
