"""The one place where a command's outcome becomes output and an exit code.

`guarded` wraps every command; `Contract` (the app's Click group) catches what Click rejects
before a command runs (an unknown option, a bad value). Both end in `report`: one line on
stderr naming the problem and the fix (a traceback only with `--verbose`), the exit code of
`errors.ExitCode`, and with `--json` exactly one JSON document on stdout:
`{"ok": true, ...result}` or `{"ok": false, "error": {"code", "message", "fix"}, ...partial}`.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer
from typer.core import TyperGroup

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import (  # type: ignore[assignment]
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )
    from click.globals import get_current_context  # type: ignore[no-redef]

from bootstrap.errors import (
    ExitCode,
    Interrupted,
    LocalAccessError,
    SpecError,
    UserError,
    access_error,
    file_error,
)

F = TypeVar("F", bound=Callable[..., Any])

# What the operating system says when a path cannot be written or read (not: it is missing).
_ACCESS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def guarded(fn: F) -> F:
    """Run a command under the contract: its result printed once, its failure mapped once."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bootstrap import ui

        verbose = bool(kwargs.get("verbose")) or verbose_env()
        ui.begin(json_mode=bool(kwargs.get("json_output")))
        try:
            fn(*args, **kwargs)
        except typer.Exit as done:  # commands return; an early --help-like exit
            ui.finish()
            raise done
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped in one place
            raise typer.Exit(report(exc, verbose=verbose)) from None
        ui.finish()

    return wrapper  # type: ignore[return-value]


def report(exc: BaseException, *, verbose: bool) -> int:
    """Say what failed (stderr, and the envelope with --json) and return its exit code."""
    from bootstrap import ui

    error = as_user_error(exc)
    if verbose:
        ui.err.print_exception()
    if error is None:
        error = UserError(
            f"internal error: {exc!r}", "run again with --verbose for the traceback, and report it"
        )
        code = ExitCode.INTERNAL
    else:
        code = ExitCode(error.exit_code)
    message, fix = error.problem, error.fix
    if error.rerun:  # the command layer alone names the command to run again
        again = f"run `{command_path()}` again"
        fix = f"{fix}; then {again}" if fix else again
    ui.error(f"{message}: {fix}" if fix else message)
    ui.finish_error({"code": int(code), "message": message, "fix": fix})
    return int(code)


def as_user_error(exc: BaseException) -> UserError | None:
    """The `UserError` a failure stands for; None for a bug (internal error, exit 70)."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        return Interrupted("interrupted: nothing was left half-done")
    if isinstance(exc, UsageError):
        where = exc.ctx.command_path if exc.ctx else "bootstrap"
        message = exc.format_message()
        return SpecError(message[:1].lower() + message[1:], f"see `{where} --help`")
    if isinstance(exc, OSError) and exc.errno in _ACCESS_ERRNOS:
        return local_access(exc)
    if type(exc).__module__.startswith("yaml"):
        mark = getattr(exc, "problem_mark", None)
        name = getattr(mark, "name", "") or ""
        return file_error(name if not name.startswith("<") else "a YAML file", exc)
    return None


def local_access(exc: OSError) -> LocalAccessError:
    """The path the system refused and the fix for it: HOME's folders have their own."""
    path = Path(exc.filename or ".")
    for root, fix in _home_folders():
        if path == root or root in path.parents:
            return access_error(exc, fix)
    return access_error(exc)


def _home_folders() -> list[tuple[Path, str]]:
    from bootstrap.passphrase import config_dir
    from bootstrap.template import cache_root

    return [
        (
            cache_root(),
            "set BOOTSTRAP_CACHE_DIR (or XDG_CACHE_HOME) to a folder you can write: it holds "
            "the template cache",
        ),
        (
            config_dir(),
            "set XDG_CONFIG_HOME to a folder you can write, or export PULUMI_CONFIG_PASSPHRASE "
            "(the state passphrase is kept there)",
        ),
        (Path.home(), "set HOME to a folder you can write"),
    ]


class _Invocation:
    """The command line of the run (set by `Contract.main`)."""

    argv: list[str] | None = None


def command_path() -> str:
    """The command that is running, as typed (`bootstrap github owner acme`)."""
    import shlex

    if _Invocation.argv is not None:
        return shlex.join(["bootstrap", *_Invocation.argv])
    context = get_current_context(silent=True)  # run without the app's group (a test's app)
    return context.command_path if context is not None else "bootstrap"


def verbose_env() -> bool:
    return bool(os.environ.get("BOOTSTRAP_VERBOSE"))


class Contract(TyperGroup):
    """The app's group: Click's own rejections (unknown options, bad values, Ctrl-C while
    parsing) go through `report` like every other failure, so they keep the contract too."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from bootstrap import ui

        argv = list(sys.argv[1:] if args is None else args)
        _Invocation.argv = argv
        options = argv[: argv.index("--")] if "--" in argv else argv
        try:
            result = super().main(
                args=argv,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelpError as asked:
            asked.show()  # the help, on stderr: nothing was asked for
            code = asked.exit_code
        except (ClickException, UserError, typer.Abort, KeyboardInterrupt) as exc:
            ui.begin(json_mode="--json" in options)
            verbose = "--verbose" in options or "-v" in options or verbose_env()
            code = report(exc, verbose=verbose)
        if standalone_mode:
            sys.exit(code)
        return code
