"""`bootstrap promote --to STAGE`: deploy the digest the stage before it runs (docs/status.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bootstrap.options import (
    GitHubApiOpt,
    JsonOpt,
    LocalOpt,
    ProfileOpt,
    RepoOpt,
    VerboseOpt,
    YesOpt,
)


def promote(
    to: Annotated[
        str | None, typer.Option("--to", metavar="STAGE", help="The stage to promote to.")
    ] = None,
    local: LocalOpt = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote even if a stage would be skipped, or the promotion gates refuse "
            "(verification, soak, alarms, hold, freeze); needs --reason.",
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="TEXT", help="Why: recorded with the deployment."),
    ] = None,
    yes: YesOpt = False,
    github_api_url: GitHubApiOpt = None,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Deploy to STAGE the image the stage before it runs (never a rebuild). With --local, the
    deploy runs here with STAGE's account's credentials (--profile STAGE=PROFILE)."""
    from bootstrap import release
    from bootstrap import status as core
    from bootstrap.errors import SpecError
    from bootstrap.lifecycle import open_project

    if not to:
        raise SpecError("--to is required", "name the stage to promote to, e.g. --to test")
    reason = (reason or "").strip()
    if force and not reason:
        raise SpecError(
            "--force needs --reason", "say why it must go now, e.g. --reason 'hotfix for INC-42'"
        )
    project = open_project(repo)
    target = release.promotable(project.spec, to)  # said before GitHub is looked at
    context = Context.open(
        project, local=local, api_url=github_api_url, verbose=verbose, profiles=profile
    )
    spec = context.spec
    by_github = not local and spec.trust_subject == "environment"
    earlier = spec.stage_names[: spec.stage_names.index(target)]
    report = core.collect(spec, context.sources, health_for=[] if by_github else earlier)
    context.require_github(report)
    move = release.plan_promotion(
        spec, report, target, force=force, verify="records" if by_github else "health"
    )
    move.reason = reason
    if context.github is not None:
        alarms = None
        if move.source:  # read in the source stage's account, with its credentials
            alarms, why = release.alarm_reader(spec, context.accounts, move.source)
            if alarms is None:
                move.warnings.append(f"the alarms of '{move.source}' were not read ({why})")
        release.gate_promotion(spec, context.project.repo, context.github, move, force=force,
                               reason=reason, alarms=alarms)  # fmt: skip
        changes = release.change_list(context.github, move)
        move.commits = changes.lines() if changes else []
    context.carry_out(move, report, yes=yes, json_output=json_output)


class Context:
    """What promote and rollback share: the project, its sources and the way to deploy."""

    def __init__(
        self, project: Any, github: Any, sources: Any, accounts: Any, *, local: bool,
        verbose: bool,
    ) -> None:  # fmt: skip
        self.project = project
        self.spec = project.spec
        self.github = github
        self.sources = sources
        self.accounts = accounts  # bootstrap.accounts.Accounts: each stage's credentials
        self.local = local
        self.verbose = verbose

    @classmethod
    def open(
        cls, project: Any, *, local: bool, api_url: str | None, verbose: bool,
        profiles: list[str] | None = None,
    ) -> Context:  # fmt: skip
        from bootstrap import status as core
        from bootstrap import ui
        from bootstrap.lifecycle import open_accounts

        accounts = open_accounts(project, profiles)  # a bad --profile is said before GitHub
        github = core.github_from_env(project.spec, project.repo, api_url=api_url, notify=ui.warn)
        if github is None and not local:
            raise no_github(project)
        why = None if github else "no GITHUB_TOKEN, or no owner in the spec"
        sources = core.project_sources(
            project, github=github, verbose=verbose, why_no_github=why, accounts=accounts
        )
        return cls(project, github, sources, accounts, local=local, verbose=verbose)

    def require_github(self, report: Any) -> None:
        """Through GitHub, what GitHub says must have been read."""
        from bootstrap.errors import RemoteError

        state = report.sources.get("github", "")
        if not self.local and state.startswith("not read"):
            raise RemoteError(
                f"GitHub could not be read ({state.removeprefix('not read: ')})",
                "check GITHUB_TOKEN and the API URL and run again, or pass --local",
            )

    def carry_out(self, move: Any, report: Any, *, yes: bool, json_output: bool) -> None:
        from bootstrap import ui

        spec = self.spec
        data: dict[str, Any] = {"project": spec.name, "path": str(self.project.repo)}
        data.update(move.to_dict(), via="local" if self.local else "github")
        if not json_output:
            describe(move)
        if move.noop:
            data["status"] = "nothing to do"
            ui.print_json(data)
            if not json_output:
                ui.say(
                    f"'{move.stage}' already runs {move.label}: nothing to do "
                    "(--force deploys it again)"
                )
            return

        if self.local:
            self._deploy(move, report, data, yes=yes, json_output=json_output)
        else:
            self._dispatch(move, data, json_output=json_output)

    def _dispatch(self, move: Any, data: dict[str, Any], *, json_output: bool) -> None:
        from bootstrap import release, ui

        spec = self.spec
        workflow = release.PROMOTE_WORKFLOW
        with ui.step(f"Starting {workflow} on GitHub", f"{workflow} started", quiet=json_output):
            page = release.dispatch(self.github, move)
        data.update(status="dispatched", workflow=workflow, runs_url=page)
        ui.print_json(data)
        if json_output:
            return
        ui.say(
            f"{move.action} {move.stage}: {workflow} started with "
            f"stage={move.stage} digest={move.digest}"
        )
        ui.say(page, first="  follow it: ")
        if spec.stage(move.stage).manual:
            ui.say(
                f"'{move.stage}' is a manual stage: the run waits for an approval by the "
                "environment's reviewers",
                first="  ",
            )

    def _deploy(
        self, move: Any, report: Any, data: dict[str, Any], *, yes: bool, json_output: bool
    ) -> None:
        import sys

        from bootstrap import lifecycle, release, ui
        from bootstrap.errors import Aborted
        from bootstrap.status import check_health

        spec, accounts = self.spec, self.accounts
        ops = lifecycle.open_stacks(self.project, accounts, verbose=self.verbose)
        ops.check()
        interactive = not yes and not json_output and sys.stdin.isatty()
        question = f"'{move.stage}' is a manual stage. Deploy {move.label} to it from here?"
        if spec.stage(move.stage).manual and interactive and not typer.confirm(question):
            raise Aborted("nothing was deployed", "run again and confirm, or pass --yes")
        # STS before any write: the stage's account (the deploy), then the tooling account
        # (the registry's tags).
        lifecycle.verify_stack(accounts, move.stage)
        lifecycle.verify_stack(accounts, lifecycle.SHARED)
        region = accounts.region_of(lifecycle.SHARED)
        ecr = accounts.session(lifecycle.SHARED).client("ecr", region_name=region)
        running = f"Deploying {move.label} to {move.stage}"
        with ui.step(running, f"deployed {move.label} to {move.stage}", quiet=json_output):
            outcome = release.deploy_local(
                ops,
                spec,
                move,
                accounts=accounts,
                ecr_client=ecr,
                repository_name=report.registry,
                check=check_health,
            )
        if self.github is not None:  # recorded as the deploy workflow records a deploy
            known = len(move.warnings)
            data["record"] = release.record_local(self.github, move, outcome)
            data["warnings"] = list(move.warnings)
            for warning in move.warnings[known:]:
                ui.warn(warning)
        data.update(
            status="deployed",
            changes=outcome.result.changes,
            outputs=outcome.result.outputs,
            tag=outcome.tag,
            untagged=outcome.untagged,
            registry_error=outcome.registry_error,
            health=outcome.health.to_dict() if outcome.health else None,
        )
        ui.print_json(data)
        if json_output:
            return
        ui.say(f"{move.action} {move.stage}: {outcome.result.summary()}")
        url = outcome.result.outputs.get("url")
        if url:
            health = f"  health: {outcome.health.summary}" if outcome.health else ""
            ui.say(f"{url}{health}", first="  url: ")
        image = outcome.result.outputs.get("image") or move.image or move.digest
        ui.say(image, first="  image: ")
        if outcome.tag:
            ui.say(f"tagged {outcome.tag}", first="  registry: ")
        if outcome.registry_error:
            ui.warn(
                f"the registry was not tagged ({outcome.registry_error}); retention may drop it"
            )
        if outcome.health is not None and not outcome.health.ok:
            ui.warn(f"{outcome.health.url} is {outcome.health.summary} after the deploy")


def describe(move: Any) -> None:
    """The decision, on stderr: what goes where, what was checked, what was forced."""
    from bootstrap import ui
    from bootstrap.status import short_digest

    where = f" from {move.source}" if move.source else ""
    replaces = f", replacing {short_digest(move.current)}" if move.current else ""
    ui.info(f"{move.action} {move.stage}: {move.label}{where}{replaces}")
    for check in move.checks:
        ui.success(check)
    for forced in move.forced:
        ui.warn(f"--force: {forced}")
    for warning in move.warnings:
        ui.warn(warning)
    if move.reason:
        ui.info(f"reason: {move.reason}")
    for line in move.commits:
        ui.info(line)


def no_github(project: Any) -> Exception:
    """Why GitHub cannot be reached for this repo, as the error a person can act on."""
    from bootstrap.errors import CredentialsError, UserError
    from bootstrap.github.rerender import read_record

    local = "or pass --local to deploy from this machine"
    if not (read_record(project.repo).get("repository") or project.spec.repository):
        return UserError(
            f"{project.spec.name} has no GitHub repository yet (no owner in its spec)",
            f"set one (`bootstrap github owner OWNER`) and create it (`bootstrap github sync`), "
            f"{local}",
        )
    return CredentialsError(  # github_from_env needs only the repository and a token
        "no GitHub token (GITHUB_TOKEN or GH_TOKEN) to read GitHub and start the promote workflow",
        f"export GITHUB_TOKEN, {local}",
    )
