"""`bootstrap github sync`: create or adopt the GitHub repository of a generated repo and converge
its environments, variables, secrets and branch protection (docs/github.md)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt

app = typer.Typer(
    name="github",
    help="Provision the repository on GitHub: repository, push, environments, variables, "
    "secrets and branch protection, idempotently.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def sync(
    repo: RepoOpt = None,
    owner: Annotated[
        str | None,
        typer.Option(help="GitHub user or organisation (default: the repo's owner)."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Create the repository public (default: private).")
    ] = False,
    reviewers: Annotated[
        str | None,
        typer.Option(
            help="Required reviewers of manual stages: logins or ORG/TEAM, comma-separated "
            "(default: the token's user)."
        ),
    ] = None,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Use an existing repository that holds other content (never overwritten).",
        ),
    ] = False,
    github_api_url: Annotated[
        str | None,
        typer.Option(
            "--github-api-url",
            help="GitHub API URL, e.g. https://HOST/api/v3 for GitHub Enterprise Server "
            "(default: $GITHUB_API_URL, else https://api.github.com).",
        ),
    ] = None,
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs",
            help='JSON file of stack outputs, {"shared": {...}, "STAGE": {...}}, for the '
            "variables (default: read from the stacks when the Pulumi CLI is there).",
            dir_okay=False,
        ),
    ] = None,
    update_secrets: Annotated[
        bool,
        typer.Option("--update-secrets", help="Replace secrets that already exist on GitHub."),
    ] = False,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Create (or adopt) the repository on GitHub and converge its settings; safe to re-run."""
    import sys

    from bootstrap import ui
    from bootstrap.github import rerender
    from bootstrap.github.client import RetryPolicy, is_loopback, resolve_api_url
    from bootstrap.github.provision import Options, Values, connect, provision
    from bootstrap.github.token import read_token
    from bootstrap.repo import find_repo, load_spec
    from bootstrap.spec import parse_list

    path = find_repo(repo)
    spec = load_spec(path)
    record = rerender.read_record(path)
    api_url = resolve_api_url(
        github_api_url or os.environ.get("GITHUB_API_URL") or record.get("api_url")
    )
    interactive = not json_output and sys.stdin.isatty()
    token = read_token(interactive=interactive)

    def wait(seconds: float) -> None:
        ui.info(f"GitHub asked to slow down: retrying in {seconds:.0f} s")
        time.sleep(seconds)

    from urllib.parse import urlparse

    host = urlparse(api_url).hostname or ""
    client, identity = connect(
        token,
        api_url,
        public=public,
        retry=RetryPolicy(sleep=wait),
        throttle=not is_loopback(host),  # PyGithub's pacing protects github.com, not a local API
    )
    # read only now: the passphrase may be generated (a local write), which waits for the token
    values = Values(
        outputs=read_outputs(outputs) if outputs else stack_outputs(path, spec),
        backend_url=spec.backend,
        secrets=backend_secrets(spec),
    )
    options = Options(
        owner=owner,
        public=public,
        reviewers=tuple(parse_list(reviewers)),
        adopt=adopt,
        update_secrets=update_secrets,
    )
    result = provision(
        spec,
        path,
        client=client,
        identity=identity,
        token=token,
        options=options,
        values=values,
        notify=ui.warn,
        progress=None if json_output else ui.success,
    )
    if json_output:
        ui.print_json(result.to_dict())
        return
    render_text(result, verbose=verbose)


def render_text(result: Any, *, verbose: bool) -> None:
    from bootstrap import ui

    ui.out.print(f"GitHub {result.repository}  {result.html_url}")
    ui.out.print(
        f"  {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged; {result.writes} API writes"
    )
    shown = result.changes if verbose else result.of("created", "updated", "pushed", "committed")
    for change in shown:
        detail = f" ({change.detail})" if change.detail else ""
        ui.out.print(f"  {change.action:<10} {change.kind} {change.name}{detail}")
    trust = result.trust_subject
    ui.out.print(
        f"  trust subject: {trust}; environments: {'yes' if result.environments else 'no'}; "
        f"required reviewers: {'yes' if result.required_reviewers else 'no'}; "
        f"branch protection: {'yes' if result.branch_protection else 'no'}"
    )
    for line in result.skipped:
        ui.out.print(f"  skipped: {line}")
    for line in result.next_steps:
        ui.out.print(f"  next: {line}")


def read_outputs(file: Path) -> dict[str, dict[str, Any]]:
    """Stack outputs from a JSON file: {"shared": {...}, "dev": {...}, ...}."""
    from bootstrap.errors import UserError

    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot read the stack outputs in {file} ({exc})", "pass a JSON file"
        ) from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UserError(
            f"{file} is not a JSON object of stack outputs",
            'write {"shared": {"ciRoleArn": ...}, "dev": {"deployRoleArn": ...}}',
        )
    return data


def stack_outputs(path: Path, spec: Any) -> dict[str, dict[str, Any]]:
    """The stacks' outputs through the Automation API when it can run (Pulumi CLI), else {}."""
    from bootstrap import automation, ui
    from bootstrap.backend import resolve_backend
    from bootstrap.errors import UserError

    if not automation.cli_available():
        return {}
    try:
        ops = automation.open_ops(path, spec, resolve_backend(spec.backend, path))
        ops.check()
        return {stack: dict(ops.outputs(stack)) for stack in spec.stacks}
    except UserError as exc:
        ui.warn(f"the stack outputs could not be read ({exc}); variables needing them are skipped")
        return {}


def backend_secrets(spec: Any) -> dict[str, str]:
    """The state backend's secret for CI: the Pulumi Cloud token from the environment, or the
    project's passphrase (the one the local stacks use: environment, else the user's file)."""
    backend = spec.backend or ""
    if backend.startswith("https://"):
        token = os.environ.get("PULUMI_ACCESS_TOKEN")
        return {"PULUMI_ACCESS_TOKEN": token} if token else {}
    from bootstrap.passphrase import ENV_VAR, get_passphrase

    return {ENV_VAR: get_passphrase(spec.name).value}
