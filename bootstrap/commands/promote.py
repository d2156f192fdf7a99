"""`bootstrap promote --to STAGE`: deploy the digest the stage before it runs (docs/status.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt, YesOpt

GitHubApiOpt = Annotated[
    str | None,
    typer.Option(
        "--github-api-url",
        help="GitHub API URL (default: $GITHUB_API_URL, the repo's record, else api.github.com).",
    ),
]
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Deploy from this machine through the Automation API instead of the promote "
        "workflow on GitHub.",
    ),
]


def promote(
    to: Annotated[
        str | None, typer.Option("--to", metavar="STAGE", help="The stage to promote to.")
    ] = None,
    local: LocalOpt = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote even if a stage would be skipped or the digest did not pass the "
            "earlier stage's smoke test.",
        ),
    ] = False,
    yes: YesOpt = False,
    github_api_url: GitHubApiOpt = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Deploy to STAGE the image the stage before it runs (never a rebuild)."""
    from bootstrap import release
    from bootstrap import status as core
    from bootstrap.errors import SpecError

    if not to:
        raise SpecError("--to is required", "name the stage to promote to, e.g. --to test")
    context = Context.open(repo, local=local, api_url=github_api_url, verbose=verbose)
    spec = context.spec
    target = spec.stage(to).name
    by_github = not local and spec.trust_subject == "environment"
    earlier = spec.stage_names[: spec.stage_names.index(target)]
    report = core.collect(spec, context.sources, health_for=[] if by_github else earlier)
    context.require_github(report)
    move = release.plan_promotion(
        spec, report, target, force=force, verify="github" if by_github else "health"
    )
    context.carry_out(move, report, yes=yes, json_output=json_output)


class Context:
    """What promote and rollback share: the project, its sources and the way to deploy."""

    def __init__(self, project: Any, github: Any, sources: Any, *, local: bool, verbose: bool):
        self.project = project
        self.spec = project.spec
        self.github = github
        self.sources = sources
        self.local = local
        self.verbose = verbose

    @classmethod
    def open(cls, repo: Path | None, *, local: bool, api_url: str | None, verbose: bool) -> Context:
        from bootstrap import status as core
        from bootstrap import ui
        from bootstrap.errors import UserError
        from bootstrap.lifecycle import open_project

        project = open_project(repo)
        github = core.github_from_env(project.spec, project.repo, api_url=api_url, notify=ui.warn)
        if github is None and not local:
            raise UserError(
                "GitHub is not configured for this repo (no GITHUB_TOKEN, or no owner in its spec)",
                "export GITHUB_TOKEN (and run `bootstrap github sync` once), or pass --local to "
                "deploy from this machine",
            )
        why = None if github else "no GITHUB_TOKEN, or no owner in the spec"
        sources = core.project_sources(project, github=github, verbose=verbose, why_no_github=why)
        return cls(project, github, sources, local=local, verbose=verbose)

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
        data: dict[str, Any] = {"project": spec.name, **move.to_dict()}
        data["via"] = "local" if self.local else "github"
        if not json_output:
            describe(move)
        if move.noop:
            data["status"] = "nothing to do"
            if json_output:
                ui.print_json(data)
            else:
                ui.out.print(
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
        with ui.step(f"Started {release.PROMOTE_WORKFLOW} on GitHub", quiet=json_output):
            page = release.dispatch(self.github, move)
        data.update(status="dispatched", workflow=release.PROMOTE_WORKFLOW, runs_url=page)
        manual = spec.stage(move.stage).manual
        if json_output:
            ui.print_json(data)
            return
        ui.out.print(
            f"{move.action} {move.stage}: {release.PROMOTE_WORKFLOW} started with "
            f"stage={move.stage} digest={move.digest}"
        )
        ui.out.print(f"  follow it: {page}")
        if manual:
            ui.out.print(
                f"  '{move.stage}' is a manual stage: the run waits for an approval by the "
                "environment's reviewers"
            )

    def _deploy(
        self, move: Any, report: Any, data: dict[str, Any], *, yes: bool, json_output: bool
    ) -> None:
        import sys

        from bootstrap import release, ui
        from bootstrap.automation import open_ops
        from bootstrap.backend import aws_session, caller_identity
        from bootstrap.errors import Aborted
        from bootstrap.status import check_health

        spec = self.spec
        ops = open_ops(self.project.repo, spec, self.project.backend, verbose=self.verbose)
        ops.check()
        interactive = not yes and not json_output and sys.stdin.isatty()
        question = f"'{move.stage}' is a manual stage. Deploy {move.label} to it from here?"
        if spec.stage(move.stage).manual and interactive and not typer.confirm(question):
            raise Aborted("nothing was deployed", "run again and confirm, or pass --yes")
        identity = caller_identity(region=spec.region)
        ecr = aws_session(spec.region).client("ecr", region_name=spec.region)
        with ui.step(f"Deployed {move.label} to {move.stage}", quiet=json_output):
            outcome = release.deploy_local(
                ops,
                spec,
                move,
                identity=identity,
                ecr_client=ecr,
                repository_name=report.registry,
                check=check_health,
            )
        data.update(
            status="deployed",
            changes=outcome.result.changes,
            outputs=outcome.result.outputs,
            tag=outcome.tag,
            untagged=outcome.untagged,
            registry_error=outcome.registry_error,
            health=outcome.health.to_dict() if outcome.health else None,
        )
        if json_output:
            ui.print_json(data)
            return
        ui.out.print(f"{move.action} {move.stage}: {outcome.result.summary()}")
        url = outcome.result.outputs.get("url")
        if url:
            health = f"  health: {outcome.health.summary}" if outcome.health else ""
            ui.out.print(f"  url: {url}{health}")
        ui.out.print(f"  image: {outcome.result.outputs.get('image') or move.image or move.digest}")
        if outcome.tag:
            ui.out.print(f"  registry: tagged {outcome.tag}")
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
