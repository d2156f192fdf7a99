"""Wiring only: the Typer app and its commands. Every command runs under `guarded` and the app's
group is `Contract` (bootstrap/commands/guard.py): the one place where outcomes become output,
the --json envelope and exit codes."""

from __future__ import annotations

import typer

from bootstrap import __version__, commands
from bootstrap.commands import github as github_commands
from bootstrap.commands.guard import Contract, guarded

app = typer.Typer(
    name="bootstrap",
    cls=Contract,
    help="A deployment pipeline from one command: a service repo, its GitHub Actions workflows "
    "and Pulumi stacks per stage (registry, identity, ECS/EKS/Lambda).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
github_commands.app.command("owner")(guarded(github_commands.owner))
app.add_typer(github_commands.app, name="github")
app.command("preview")(guarded(commands.preview.preview))
app.command("cost")(guarded(commands.cost.cost))
app.command("up")(guarded(commands.up.up))
app.command("destroy")(guarded(commands.destroy.destroy))
app.command("doctor")(guarded(commands.doctor.doctor))
app.command("update")(guarded(commands.update.update))
app.command("status")(guarded(commands.status.status))
app.command("promote")(guarded(commands.promote.promote))
app.command("rollback")(guarded(commands.rollback.rollback))
app.command("verify")(guarded(commands.verify.verify))


def main() -> None:
    app(prog_name="bootstrap")


if __name__ == "__main__":
    main()
