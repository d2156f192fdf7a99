"""`bootstrap new NAME`: scaffold a service repo with its workflows and Pulumi project."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
        typer.Option(help="Stages that need approval before deploy (default: the last; '' for none)."),
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
        typer.Option(help="Pulumi state URL: s3://BUCKET, https://api.pulumi.com (default: local)."),
    ] = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Create ./NAME: the sample service, its workflows and its Pulumi stacks, committed."""
    from bootstrap import spec as spec_mod
    from bootstrap import ui
    from bootstrap.scaffold import Scaffolder, check_destination

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
    check_destination(dest)

    with ui.step(f"Rendered and committed {spec.name}", quiet=json_output):
        result = Scaffolder(spec, dest).run()

    summary = {
        "name": spec.name,
        "path": str(result.path),
        "commit": result.commit,
        "template": result.template_ref,
        "files": result.files,
        "spec": spec.to_answers(),
        "next": next_steps(spec),
    }
    if json_output:
        ui.print_json(summary)
        return
    ui.out.print(f"Created {result.path} ({result.files} files, commit {result.commit[:8]})")
    ui.out.print(
        "Stages: "
        + " → ".join(f"{s.name}{' (manual)' if s.manual else ''}" for s in spec.stages)
        + f"  target: {spec.target.value}  region: {spec.region}"
    )
    for line in next_steps(spec):
        ui.out.print(f"  next: {line}")


def next_steps(spec: Spec) -> list[str]:
    steps = [f"cd {spec.name} && pip install -e 'app[test]' && pytest app"]
    if not spec.owner:
        steps.append(
            f"set the GitHub owner before deploying: edit 'owner' in {spec.name}/.copier-answers.yml "
            "and infra/Pulumi.*.yaml, or re-run bootstrap new with --owner"
        )
    return steps
