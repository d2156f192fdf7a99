"""`bootstrap new NAME`: scaffold a service repo with its workflows and Pulumi project."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bootstrap.options import (
    BackendOpt,
    GitHubApiOpt,
    JsonOpt,
    OwnerOpt,
    PollIntervalOpt,
    ProfileOpt,
    PublicOpt,
    ReviewersOpt,
    VerboseOpt,
    WaitOpt,
    WaitTimeoutOpt,
    YesOpt,
    github_owner,
)

if TYPE_CHECKING:
    from bootstrap.cost import CostReport
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
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            metavar="STAGE=ACCOUNT_ID",
            help="The AWS account a stage lives in (repeatable; default: the tooling account, "
            "the one of the shared stack, the registry and the state).",
        ),
    ] = None,
    stage_region: Annotated[
        list[str] | None,
        typer.Option(
            "--stage-region",
            metavar="STAGE=REGION",
            help="The AWS region of a stage, when not --region (repeatable).",
        ),
    ] = None,
    profile: ProfileOpt = None,
    owner: OwnerOpt = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Parent folder of the new repository.", file_okay=False)
    ] = Path("."),
    backend: BackendOpt = None,
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
    from bootstrap.accounts import Accounts, Profiles, spec_placements
    from bootstrap.commands.provision import callbacks, execute, render_text
    from bootstrap.errors import SpecError
    from bootstrap.provision import Provisioner, Request
    from bootstrap.scaffold import check_destination

    if no_provision and (wait or public or reviewers):
        raise SpecError(
            "--wait, --public and --reviewers apply to provisioning, which --no-provision skips",
            "leave out --no-provision, or those options",
        )
    make = functools.partial(
        spec_mod.from_options,
        name=name,
        target=target,
        stages=stages,
        manual=manual,
        region=region,
        backend=backend,
        accounts=account,
        stage_regions=stage_region,
    )
    spec = make(owner=owner or None)  # every value is checked before anything else
    profiles = Profiles.parse(profile or ())
    Accounts(profiles, spec_placements(spec), region=spec.region).check_profiles()
    dest = directory.resolve() / spec.name
    check_destination(dest)  # nothing is asked or touched when it is in the way
    check_writable(dest.parent)
    if owner is None and not yes and not json_output and sys.stdin.isatty():
        owner = typer.prompt(
            "GitHub owner (empty to set it later)",
            default="",
            show_default=False,
            value_proc=_owner_answer,
        )
        spec = make(owner=owner or None)

    request = Request(
        public=public,
        reviewers=tuple(spec_mod.parse_list(reviewers)),
        github_api_url=github_api_url,
        backend=backend,
        wait=wait,
        wait_timeout=wait_timeout,
        poll_interval=poll_interval,
        verbose=verbose,
        profiles=profiles,
    )
    runner = Provisioner(
        spec, dest, request, scaffold=True, provision=not no_provision, **callbacks(json_output)
    )
    summary = execute(runner, json_output=json_output)
    spec = runner.spec  # with the backend chosen for it
    scaffold = summary.step("scaffold")
    assert scaffold is not None
    summary.next[:0] = next_steps(spec, dest)
    cost = lifecycle_cost(spec)

    if json_output:
        ui.print_json(
            {
                **summary.to_dict(),
                "commit": scaffold.data["commit"],
                "template": scaffold.data["template"],
                "files": scaffold.data["files"],
                "spec": spec.to_answers(),
                "cost": _cost_json(cost, spec),
            }
        )
        return
    commit, files = scaffold.data["commit"], scaffold.data["files"]
    ui.say(f"Created {dest} ({files} files, commit {commit[:8]})")
    ui.say(
        "Stages: "
        + " → ".join(f"{s.name}{' (manual)' if s.manual else ''}" for s in spec.stages)
        + f"  target: {spec.target.value}  region: {spec.region}"
    )
    elsewhere = [
        f"{s.name} in {' '.join(filter(None, (s.account, s.region)))}"
        for s in spec.stages
        if s.account or s.region
    ]
    if elsewhere:
        ui.say("; ".join(elsewhere), first="Placed: ")
    if cost is not None:
        from bootstrap.cost.brief import brief_lines

        for line in brief_lines(cost, production=spec.stage_names[-1]):
            ui.say(line)
    if summary.mode == "local":
        for line in summary.next:
            ui.say(line, first="  next: ")
        return
    render_text(summary, verbose=verbose)


def lifecycle_cost(spec: Spec) -> CostReport | None:
    """The estimate of the stacks just made, from the template defaults' bill of quantities
    (`bootstrap.cost.defaults`: no planning, milliseconds). None, with a warning, when the price
    files cannot be read: the repository is made, and `bootstrap cost` says more."""
    from bootstrap import ui
    from bootstrap.accounts import spec_placements
    from bootstrap.cost import prices
    from bootstrap.cost.defaults import lifecycle_report
    from bootstrap.errors import UserError

    try:
        return lifecycle_report(
            [(s.name, s.target.value) for s in spec.stages],
            region=spec.region,
            regions={name: place.region for name, place in spec_placements(spec).items()},
            project=spec.name,
            prices=prices.load(),
        )
    except UserError as exc:
        ui.warn(f"no cost estimate: {exc}")
        return None


def _cost_json(cost: CostReport | None, spec: Spec) -> dict[str, Any] | None:
    from bootstrap.cost.brief import brief_json

    return brief_json(cost, production=spec.stage_names[-1]) if cost is not None else None


def check_writable(folder: Path) -> None:
    """The parent folder must take the new repository (checked before any work)."""
    import os

    from bootstrap.errors import LocalAccessError

    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise LocalAccessError(
            f"cannot create the repository in {folder} (not writable for you)",
            "choose a folder you can write with --dir, or fix its permissions "
            f"(ls -ld {folder})",
        )


def _owner_answer(value: str) -> str:
    """The owner typed at the prompt: checked at once, asked again when it is not valid."""
    from bootstrap.errors import SpecError

    try:
        github_owner(value.strip() or None)
    except SpecError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value.strip()


def next_steps(spec: Spec, dest: Path) -> list[str]:
    """What to do after `new`, each with the command to run (in backquotes, run as printed)."""
    from bootstrap.repo import run_in

    tests = run_in(dest, "pip install -e 'app[test]' && pytest app")
    steps = [
        f"run the service's tests: `{tests}`",
        "see what each stack would create, no accounts needed: "
        f"`{run_in(dest, 'bootstrap preview --offline')}`",
        "see what each resource costs and the assumptions behind it: "
        f"`{run_in(dest, 'bootstrap cost --all')}`",
    ]
    if not spec.owner:
        steps.append(
            "set the GitHub owner, no credentials needed (the repository is created under it): "
            f"`{run_in(dest, 'bootstrap github owner OWNER')}`"
        )
    return steps
