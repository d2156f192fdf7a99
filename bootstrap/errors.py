"""Every exit code in one enum, and one error class per kind of failure a user can act on.

Each `UserError` subclass maps to exactly one `ExitCode`; the command layer (`commands/guard.py`)
turns an error into one line on stderr, the `--json` envelope and the exit code, in one place.
Low layers name the problem and its local fix; only the command layer says what to run again.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """What a `bootstrap` exit status means: one meaning per number (README, "Exit codes")."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    IN_THE_WAY = 3
    TOOL_MISSING = 4
    CREDENTIALS = 5
    REMOTE = 6
    CONFLICTS = 7
    DECLINED = 8
    LOCAL_ACCESS = 9
    INTERNAL = 70
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return MEANINGS[self]


MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "not possible in the current state; the message says what to do first",
    ExitCode.BAD_INPUT: "an argument, an option or a file you edit is invalid",
    ExitCode.IN_THE_WAY: "existing work, or a name someone else holds, is in the way; it was kept",
    ExitCode.TOOL_MISSING: "an outside tool (git, the Pulumi CLI) is missing or too old",
    ExitCode.CREDENTIALS: "credentials are missing, expired or lack a permission",
    ExitCode.REMOTE: "an outside service (GitHub, AWS, Pulumi) failed after retries",
    ExitCode.CONFLICTS: "done, but merge conflicts are left for you to resolve",
    ExitCode.DECLINED: "you declined a confirmation; nothing was changed",
    ExitCode.LOCAL_ACCESS: "a local file or folder cannot be read or written",
    ExitCode.INTERNAL: "a bug in bootstrap: run again with --verbose and report the traceback",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); finished steps are kept, nothing is half-written",
}


class UserError(Exception):
    """A problem the user can fix. `str(error)` is the whole message: the problem and the fix.

    `fix` is the local fix, never which command to run again: with `rerun=True` the command
    layer adds "then run `<the command it is>` again" (so a wrapped error never carries two
    different next steps)."""

    exit_code: int = ExitCode.FAILED

    def __init__(self, problem: str, fix: str | None = None, *, rerun: bool = False) -> None:
        self.problem = problem
        self.fix = fix
        self.rerun = rerun
        super().__init__(f"{problem}: {fix}" if fix else problem)


class SpecError(UserError):
    """Bad input in the project spec (names, stages, target, region, owner) or an option."""

    exit_code = ExitCode.BAD_INPUT


class BadFileError(UserError):
    """A file the user edits (answers, the record, a JSON file given) cannot be read: names the
    file, the line, and the fix."""

    exit_code = ExitCode.BAD_INPUT


class NotAGeneratedRepoError(UserError):
    """A command that acts on a generated repo was run somewhere else."""

    exit_code = ExitCode.BAD_INPUT


class TargetExistsError(UserError):
    """The destination holds other work (or the name is someone else's); nothing is written
    over it."""

    exit_code = ExitCode.IN_THE_WAY


class ToolMissingError(UserError):
    """An outside tool (git, Pulumi CLI, docker) is not installed."""

    exit_code = ExitCode.TOOL_MISSING


class CredentialsError(UserError):
    """Missing, expired or insufficient credentials for an outside service."""

    exit_code = ExitCode.CREDENTIALS


class RemoteError(UserError):
    """An outside service (GitHub, AWS, Pulumi) failed after retries; names the step reached."""

    exit_code = ExitCode.REMOTE


class ConflictError(UserError):
    """The operation finished but left conflicts for the user to resolve (e.g. update merges)."""

    exit_code = ExitCode.CONFLICTS


class Aborted(UserError):
    """The user declined a confirmation (or typed another name); nothing was changed."""

    exit_code = ExitCode.DECLINED


class LocalAccessError(UserError):
    """A local file or folder cannot be read or written (permissions, read-only, disk full)."""

    exit_code = ExitCode.LOCAL_ACCESS


class Interrupted(UserError):
    """Ctrl-C (or the end of input at a prompt) stopped the run."""

    exit_code = ExitCode.INTERRUPTED


def file_error(path: Path | str, exc: BaseException, fix: str = "fix the file") -> BadFileError:
    """One line for a file a YAML or JSON parser rejected: `FILE:LINE: what is wrong`."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else getattr(exc, "lineno", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "msg", None) or str(exc)
    where = f"{path}:{line}" if line else str(path)
    first = " ".join(str(problem).split())
    return BadFileError(f"{where}: cannot be read ({first})", fix)


def access_error(exc: OSError, fix: str | None = None) -> LocalAccessError:
    """One line for a local file or folder the operating system refused, naming the path."""
    import errno

    path = exc.filename or "a local file"
    reason = (exc.strerror or type(exc).__name__).lower()
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space where {path} is, or work in another folder"
    return LocalAccessError(
        f"cannot write or read {path} ({reason})",
        fix or f"make it writable for your user (ls -ld {path}), or work in another folder",
    )

