"""`bootstrap provision`: take a generated repository all the way, or continue where a run stopped:
state backend, shared stack, deploy roles, GitHub, and optionally the first deploy (--wait)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bootstrap.options import (
    BackendOpt,
    GitHubApiOpt,
    HardenBackendOpt,
    JsonOpt,
    OwnerOpt,
    PollIntervalOpt,
    ProfileOpt,
    PublicOpt,
    RepoOpt,
    ReviewersOpt,
    VerboseOpt,
    WaitOpt,
    WaitTimeoutOpt,
)

if TYPE_CHECKING:
    from bootstrap.provision import Provisioner, StepReport, Summary


def provision(
    repo: RepoOpt = None,
    owner: OwnerOpt = None,
    backend: BackendOpt = None,
    harden_backend: HardenBackendOpt = False,
    public: PublicOpt = False,
    reviewers: ReviewersOpt = None,
    github_api_url: GitHubApiOpt = None,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = 1800.0,
    poll_interval: PollIntervalOpt = 10.0,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Provision a generated repository on AWS and GitHub; safe to re-run (it continues)."""
    from bootstrap import stackconfig, ui
    from bootstrap.accounts import Accounts, Profiles, placements
    from bootstrap.provision import Provisioner, Request
    from bootstrap.repo import find_repo, load_spec
    from bootstrap.spec import parse_list

    path = find_repo(repo)
    spec = load_spec(path)
    for warning in stackconfig.validate(path, spec):  # every bad setting, before any cloud call
        ui.warn(warning)
    spec.require_owner(owner)  # options that contradict the repository: before credentials
    spec.check_backend_option(backend)
    profiles = Profiles.parse(profile or ())
    where = placements(path, spec.name, spec.stacks, spec.region)
    Accounts(profiles, where, region=spec.region).check_profiles()
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
        profiles=profiles,
    )
    runner = Provisioner(spec, path, request, **callbacks(json_output))
    summary = execute(runner, json_output=json_output)
    if json_output:
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
                ui.say(check["detail"], first=f"    {check['name']}: ", rest="      ", console=ui.err)
                if check.get("fix"):
                    ui.say(check["fix"], first="      fix: ", console=ui.err)


def execute(runner: Provisioner, *, json_output: bool) -> Summary:
    """Run; on failure keep the summary so far as the result (the envelope carries it) and
    re-raise for `guarded`."""
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
    ui.say(
        f"Provisioned {summary.project}: {summary.total_writes} API writes "
        f"(GitHub {writes['github']}, AWS {writes['aws']}, Pulumi updates {writes['pulumi']})"
    )
    if summary.backend:
        ui.say(summary.backend, first="  state: ")
    if len(summary.accounts) > 1:  # stages in their own accounts: what lives and was done where
        for account, entry in summary.accounts.items():
            profiles = f" (profile {', '.join(entry['profiles'])})" if entry["profiles"] else ""
            ui.say(
                f"{', '.join(entry['stacks'])}; AWS writes {entry['aws_writes']}, Pulumi "
                f"updates {entry['pulumi_updates']}",
                first=f"  account {account}{profiles}: ",
            )
    if summary.repository:
        ui.say(summary.html_url or summary.repository, first="  repository: ")
    if verbose:
        for step in summary.steps:
            ui.say(step.detail, first=f"  {step.status:<8} {step.name}: ")
    if summary.url:
        ui.say(summary.url, first="  url: ")
    if summary.status_text:
        ui.out.print("")
        ui.out.print(summary.status_text.rstrip("\n"))
    for line in summary.next:
        ui.say(line, first="  next: ")
    if summary.next_command:
        ui.say(summary.next_command, first="  next command: ")
