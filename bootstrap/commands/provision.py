"""`bootstrap provision`: take a generated repository all the way, or continue where a run stopped:
state backend, shared stack, deploy roles, GitHub, and optionally the first deploy (--wait)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bootstrap.options import HardenBackendOpt, JsonOpt, RepoOpt, VerboseOpt

if TYPE_CHECKING:
    from bootstrap.provision import Provisioner, StepReport, Summary

GitHubApiOpt = Annotated[
    str | None,
    typer.Option(
        "--github-api-url",
        help="GitHub API URL, e.g. https://HOST/api/v3 for GitHub Enterprise Server "
        "(default: $GITHUB_API_URL, the repo's record, else https://api.github.com).",
    ),
]
PublicOpt = Annotated[
    bool, typer.Option("--public", help="Create the GitHub repository public (default: private).")
]
ReviewersOpt = Annotated[
    str | None,
    typer.Option(
        help="Required reviewers of manual stages: logins or ORG/TEAM, comma-separated "
        "(default: the token's user)."
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Follow the first workflow run until the first stage's deploy (and smoke test) "
        "succeeds, then show its URL and the status grid.",
    ),
]
WaitTimeoutOpt = Annotated[
    float,
    typer.Option("--wait-timeout", min=1.0, metavar="SECONDS", help="How long --wait waits."),
]
PollIntervalOpt = Annotated[
    float, typer.Option("--poll-interval", min=0.0, metavar="SECONDS", hidden=True)
]


def provision(
    repo: RepoOpt = None,
    owner: Annotated[
        str | None,
        typer.Option(help="GitHub user or organisation, for a repository generated without one."),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            help="State backend for a repository that has none yet (default: the S3 bucket "
            "<name>-pulumi-state-<account id>)."
        ),
    ] = None,
    harden_backend: HardenBackendOpt = False,
    public: PublicOpt = False,
    reviewers: ReviewersOpt = None,
    github_api_url: GitHubApiOpt = None,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = 1800.0,
    poll_interval: PollIntervalOpt = 10.0,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Provision a generated repository on AWS and GitHub; safe to re-run (it continues)."""
    from bootstrap.provision import Provisioner, Request
    from bootstrap.repo import find_repo, load_spec
    from bootstrap.spec import parse_list

    path = find_repo(repo)
    spec = load_spec(path)
    request = Request(
        owner=owner,
        public=public,
        reviewers=tuple(parse_list(reviewers)),
        github_api_url=github_api_url,
        backend=backend,
        harden_backend=harden_backend,
        wait=wait,
        wait_timeout=wait_timeout,
        poll_interval=poll_interval,
        verbose=verbose,
    )
    runner = Provisioner(spec, path, request, **callbacks(json_output))
    summary = execute(runner, json_output=json_output)
    if json_output:
        from bootstrap import ui

        ui.print_json(summary.to_dict())
        return
    render_text(summary, verbose=verbose)


def callbacks(json_output: bool) -> dict[str, Any]:
    """Where a run reports: each step as it ends, progress and notices (stderr; none in JSON)."""
    from bootstrap import ui

    if json_output:
        return {"notify": ui.warn}
    return {"emit": show_step, "progress": ui.info, "notify": ui.warn}


def show_step(step: StepReport) -> None:
    from bootstrap import ui

    if step.status == "done":
        ui.success(f"{step.name}: {step.detail}")
    elif step.status == "skipped":
        ui.info(f"- {step.name}: {step.detail}")
    elif step.detail != "interrupted":
        ui.warn(f"{step.name}: failed")
    if step.name == "checks" and step.status == "failed":
        for check in step.data.get("checks", []):
            if check["status"] not in ("ok", "warn"):
                ui.info(f"    {check['name']}: {check['detail']}")
                if check.get("fix"):
                    ui.info(f"      fix: {check['fix']}")


def execute(runner: Provisioner, *, json_output: bool) -> Summary:
    """Run; on failure print the summary so far (JSON on stdout) and re-raise for `guarded`."""
    from bootstrap import ui
    from bootstrap.provision import ProvisionError

    try:
        return runner.run()
    except ProvisionError as exc:
        if json_output:
            ui.print_json(exc.summary.to_dict())
        raise


def render_text(summary: Summary, *, verbose: bool) -> None:
    from bootstrap import ui

    writes = summary.writes
    ui.out.print(
        f"Provisioned {summary.project}: {summary.total_writes} API writes "
        f"(GitHub {writes['github']}, AWS {writes['aws']}, Pulumi updates {writes['pulumi']})"
    )
    if summary.backend:
        ui.out.print(f"  state: {summary.backend}")
    if summary.repository:
        ui.out.print(f"  repository: {summary.html_url or summary.repository}")
    if verbose:
        for step in summary.steps:
            ui.out.print(f"  {step.status:<8} {step.name}: {step.detail}")
    if summary.url:
        ui.out.print(f"  url: {summary.url}")
    if summary.status_text:
        ui.out.print("")
        ui.out.print(summary.status_text.rstrip("\n"))
    for line in summary.next:
        ui.out.print(f"  next: {line}")
    if summary.next_command:
        ui.out.print(f"  next command: {summary.next_command}")
