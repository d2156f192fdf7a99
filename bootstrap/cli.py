"""Wiring only: the Typer app and its commands. Errors become exit codes in `guarded`, once."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from bootstrap import __version__, commands
from bootstrap.commands import github as github_commands

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="bootstrap",
    help="A deployment pipeline from one command: a service repo, its GitHub Actions workflows "
    "and Pulumi stacks per stage (registry, identity, ECS/EKS/Lambda).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def guarded(fn: F) -> F:
    """The one place where errors turn into a message and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bootstrap import ui
        from bootstrap.errors import UserError

        verbose = bool(kwargs.get("verbose")) or bool(os.environ.get("BOOTSTRAP_VERBOSE"))
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            if verbose:
                ui.err.print_exception()
            ui.error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            ui.error("interrupted: nothing was left half-done")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if verbose:
                ui.err.print_exception()
            ui.error(f"internal error: {exc!r} (run again with --verbose for the traceback)")
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bootstrap {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Scaffold, preview, deploy, promote and tear down a service's deployment pipeline."""


app.command("new")(guarded(commands.new.new))
app.command("provision")(guarded(commands.provision.provision))
github_commands.app.command("sync")(guarded(github_commands.sync))
app.add_typer(github_commands.app, name="github")
app.command("preview")(guarded(commands.preview.preview))
app.command("up")(guarded(commands.up.up))
app.command("destroy")(guarded(commands.destroy.destroy))
app.command("doctor")(guarded(commands.doctor.doctor))
app.command("update")(guarded(commands.update.update))
app.command("status")(guarded(commands.status.status))
app.command("promote")(guarded(commands.promote.promote))
app.command("rollback")(guarded(commands.rollback.rollback))


def main() -> None:
    app(prog_name="bootstrap")


if __name__ == "__main__":
    main()
