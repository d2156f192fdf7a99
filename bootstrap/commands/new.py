"""`bootstrap new NAME`: scaffold a service repo with its workflows and Pulumi project."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bootstrap.commands.provision import (
    GitHubApiOpt,
    PollIntervalOpt,
    PublicOpt,
    ReviewersOpt,
    WaitOpt,
    WaitTimeoutOpt,
)
from bootstrap.options import JsonOpt, VerboseOpt, YesOpt

if TYPE_CHECKING:
    from bootstrap.spec import Spec

NameArg = Annotated[str, typer.Argument(help="Project name: lowercase letters, digits, hyphens.")]


def new(
    name: NameArg,
    target: Annotated[
        str, typer.Option(help="Deploy target of every stage: ecs, eks or lambda.")
    ] = "ecs",
    stages: Annotated[
        str, typer.Option(help="Ordered stages of the lifecycle, comma-separated.")
    ] = "dev,test,prod",
    manual: Annotated[
        str | None,
        typer.Option(
            help="Stages that need approval before deploy (default: the last; '' for none)."
        ),
    ] = None,
    region: Annotated[str, typer.Option(help="AWS region.")] = "us-east-1",
    owner: Annotated[
        str | None,
        typer.Option(help="GitHub user or organisation; used in names and OIDC trust policies."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Parent folder of the new repository.", file_okay=False)
    ] = Path("."),
    backend: Annotated[
        str | None,
        typer.Option(
            help="Pulumi state URL: s3://BUCKET, https://api.pulumi.com (default: the S3 bucket "
            "<name>-pulumi-state-<account id> when AWS credentials are present, else local)."
        ),
    ] = None,
    no_provision: Annotated[
        bool,
        typer.Option(
            "--no-provision",
            help="Only scaffold and commit locally (no AWS, no GitHub), as without credentials.",
        ),
    ] = False,
    public: PublicOpt = False,
    reviewers: ReviewersOpt = None,
    github_api_url: GitHubApiOpt = None,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = 1800.0,
    poll_interval: PollIntervalOpt = 10.0,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Create ./NAME: the sample service, its workflows and its Pulumi stacks, committed; with
    credentials, also its state bucket, shared stack, deploy roles and GitHub repository."""
    from bootstrap import spec as spec_mod
    from bootstrap import ui
    from bootstrap.commands.provision import callbacks, execute, render_text
    from bootstrap.provision import Provisioner, Request
    from bootstrap.scaffold import check_destination

    interactive = not yes and not json_output and sys.stdin.isatty()
    if owner is None and interactive:
        owner = typer.prompt("GitHub owner (empty to set it later)", default="", show_default=False)
    spec = spec_mod.from_options(
        name=name,
        owner=owner or None,
        target=target,
        stages=stages,
        manual=manual,
        region=region,
        backend=backend,
    )
    dest = directory.resolve() / spec.name
    check_destination(dest)  # before any check or write: nothing is touched if it is in the way

    request = Request(
        public=public,
        reviewers=tuple(spec_mod.parse_list(reviewers)),
        github_api_url=github_api_url,
        backend=backend,
        wait=wait,
        wait_timeout=wait_timeout,
        poll_interval=poll_interval,
        verbose=verbose,
    )
    runner = Provisioner(
        spec, dest, request, scaffold=True, provision=not no_provision, **callbacks(json_output)
    )
    summary = execute(runner, json_output=json_output)
    spec = runner.spec  # with the backend chosen for it
    scaffold = summary.step("scaffold")
    assert scaffold is not None
    summary.next[:0] = next_steps(spec)

    if json_output:
        ui.print_json(
            {
                "name": spec.name,
                "commit": scaffold.data["commit"],
                "template": scaffold.data["template"],
                "files": scaffold.data["files"],
                "spec": spec.to_answers(),
                **summary.to_dict(),
            }
        )
        return
    commit, files = scaffold.data["commit"], scaffold.data["files"]
    ui.out.print(f"Created {dest} ({files} files, commit {commit[:8]})")
    ui.out.print(
        "Stages: "
        + " → ".join(f"{s.name}{' (manual)' if s.manual else ''}" for s in spec.stages)
        + f"  target: {spec.target.value}  region: {spec.region}"
    )
    if summary.mode == "local":
        for line in summary.next:
            ui.out.print(f"  next: {line}")
        return
    render_text(summary, verbose=verbose)


def next_steps(spec: Spec) -> list[str]:
    steps = [
        f"cd {spec.name} && pip install -e 'app[test]' && pytest app",
        f"see what each stack would create, no accounts needed: cd {spec.name} && "
        "bootstrap preview --offline",
    ]
    if not spec.owner:
        steps.append(
            "set the GitHub owner before deploying (it goes into the OIDC trust policies): "
            f"cd {spec.name} && bootstrap provision --owner OWNER"
        )
    return steps
