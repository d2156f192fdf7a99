"""`bootstrap rollback --stage STAGE [--to DIGEST]`: redeploy the stage's previous release (or
the one given), the way promote deploys (docs/status.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from bootstrap.options import (
    GitHubApiOpt,
    JsonOpt,
    LocalOpt,
    ProfileOpt,
    RepoOpt,
    VerboseOpt,
    YesOpt,
    release_ref,
)


def rollback(
    stage: Annotated[
        str | None, typer.Option("--stage", metavar="STAGE", help="The stage to roll back.")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DIGEST",
            callback=release_ref,
            help="The image to deploy: sha256:..., REPOSITORY@sha256:... or a build's git SHA "
            "(default: the release the stage ran before the current one).",
        ),
    ] = None,
    local: LocalOpt = False,
    yes: YesOpt = False,
    github_api_url: GitHubApiOpt = None,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Redeploy the release STAGE ran before the current one, or the one given with --to. With
    --local, the deploy runs here with STAGE's account's credentials (--profile STAGE=PROFILE)."""
    from bootstrap import release
    from bootstrap import status as core
    from bootstrap.commands.promote import Context
    from bootstrap.errors import SpecError
    from bootstrap.lifecycle import open_project

    if not stage:
        raise SpecError("--stage is required", "name the stage to roll back, e.g. --stage prod")
    project = open_project(repo)
    name = project.spec.stage(stage).name  # a bad stage is said before GitHub is looked at
    context = Context.open(
        project, local=local, api_url=github_api_url, verbose=verbose, profiles=profile
    )
    spec = context.spec
    report = core.collect(spec, context.sources, health_for=[])
    context.require_github(report)
    move = release.plan_rollback(
        spec, report, name, to, registry=report.lookup, repository_url=None
    )
    context.carry_out(move, report, yes=yes, json_output=json_output)
