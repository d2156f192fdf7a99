"""`bootstrap up --stage S`: deploy one stack through the Automation API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bootstrap.options import (
    HardenBackendOpt,
    JsonOpt,
    ProfileOpt,
    RepoOpt,
    VerboseOpt,
    YesOpt,
    image_by_digest,
)


def up(
    stage: Annotated[
        str | None,
        typer.Option("--stage", metavar="STAGE", help="The stack to deploy: a stage, or 'shared'."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            metavar="DIGEST",
            callback=image_by_digest,
            help="Image to deploy, by digest: sha256:... (in the shared registry) or "
            "REPOSITORY_URL@sha256:...",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Deploy even if the previous stage never was.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="TEXT", help="Deploy inside a freeze window, for this reason."),
    ] = None,
    harden_backend: HardenBackendOpt = False,
    profile: ProfileOpt = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Deploy a stack (create or update its resources), after the stack before it, with its
    account's credentials (--profile)."""
    from bootstrap import lifecycle, release, ui
    from bootstrap.backend import ensure_backend
    from bootstrap.errors import Aborted, SpecError

    if not stage:
        raise SpecError("--stage is required", "name the stack to deploy, e.g. --stage dev")
    project = lifecycle.open_project(repo)
    spec = project.spec
    stack = lifecycle.check_stack(spec, stage)
    if image and stack == lifecycle.SHARED:
        raise SpecError("--image applies to stage stacks", "leave it out for shared")
    frozen = None
    if stack != lifecycle.SHARED:  # a stage's freeze windows (stacks/freeze.py)
        frozen = release.check_freeze(project.repo, stack, reason or "")
    accounts = lifecycle.open_accounts(project, profile)
    ops = lifecycle.open_stacks(project, accounts, verbose=verbose)
    ops.check()
    interactive = not yes and not json_output and sys.stdin.isatty()
    manual = stack != lifecycle.SHARED and spec.stage(stack).manual
    question = f"'{stack}' is a manual stage (approval before deploy). Deploy it?"
    if manual and interactive and not typer.confirm(question):
        raise Aborted("nothing was deployed", "run again and confirm, or pass --yes")

    if frozen and not json_output:
        ui.warn(f"'{stack}' is frozen ({frozen}); deploying for this reason: {reason}")
    # STS before any write: the stack's own account, then the tooling one (the state bucket).
    lifecycle.verify_stack(accounts, stack)
    tooling = None
    if project.backend.kind != "file":
        lifecycle.verify_stack(accounts, lifecycle.SHARED)
        tooling = accounts.session(lifecycle.SHARED)
    with ui.step("Checking the state backend", "state backend checked", quiet=json_output):
        report = ensure_backend(
            project.backend, region=spec.region, harden=harden_backend, session=tooling
        )
    if report.changed and not json_output:
        ui.info(report.message)
    with ui.step(f"Deploying {stack}", f"deployed {stack}", quiet=json_output):
        result = lifecycle.run_up(ops, spec, stack, image=image, force=force, accounts=accounts)

    ui.print_json(
        {
            "project": spec.name,
            "path": str(project.repo),
            "stack": stack,
            "changes": result.changes,
            "outputs": result.outputs,
            "backend": project.backend.url,
        }
    )
    if json_output:
        return
    ui.say(f"{stack}: {result.summary()}")
    for key in ("url", "image", "repositoryUrl", "deployRoleArn", "ciRoleArn"):
        if result.outputs.get(key):
            ui.say(str(result.outputs[key]), first=f"  {key}: ")
