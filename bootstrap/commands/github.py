"""`bootstrap github sync`: create or adopt the GitHub repository of a generated repo and converge
its environments, variables, secrets and branch protection (docs/github.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bootstrap.options import GitHubApiOpt, JsonOpt, OwnerOpt, RepoOpt, ReviewersOpt, VerboseOpt

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
    owner: OwnerOpt = None,
    public: Annotated[
        bool, typer.Option("--public", help="Create the repository public (default: private).")
    ] = False,
    reviewers: ReviewersOpt = None,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Use an existing repository that holds other content (never overwritten).",
        ),
    ] = False,
    github_api_url: GitHubApiOpt = None,
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs",
            help='JSON file of stack outputs, {"shared": {...}, "STAGE": {...}}, for the '
            "variables (default: read from the stacks when the Pulumi CLI is there).",
            exists=True,
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
    from bootstrap.github.connect import api_url_of, connect
    from bootstrap.github.provision import Options, Values, provision
    from bootstrap.github.publish import backend_secrets
    from bootstrap.github.token import check
    from bootstrap.repo import find_repo, load_spec
    from bootstrap.spec import parse_list

    path = find_repo(repo)
    spec = load_spec(path)
    spec.require_owner(owner)  # input before credentials
    given_outputs = read_outputs(outputs) if outputs else None
    api_url = api_url_of(github_api_url, path)
    interactive = not json_output and sys.stdin.isatty()
    client = connect(api_url, interactive=interactive, notify=ui.info)
    identity = check(client, public=public)
    token = client.token
    # read only now: the passphrase may be generated (a local write), which waits for the token
    values = Values(
        outputs=given_outputs if given_outputs is not None else stack_outputs(path, spec),
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
    if result.skipped:  # the command layer names the command
        result.next_steps.append(
            "deploy the stacks, then run `bootstrap github sync` again to set the rest"
        )
    if json_output:
        data = result.to_dict()
        data["next"] = data.pop("next_steps", [])
        ui.print_json({"project": spec.name, "path": str(path), **data})
        return
    render_text(result, verbose=verbose)


def owner(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[OWNER]",
            help="GitHub user or organisation to create the repository under (default: show it).",
        ),
    ] = None,
    repo: RepoOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Set the GitHub owner of a repository generated without one: local, no credentials.

    The answer is re-rendered (Copier) and committed; `bootstrap github sync` or `bootstrap
    provision` later create the repository under it."""
    from bootstrap import ui
    from bootstrap.errors import UserError
    from bootstrap.github import rerender
    from bootstrap.options import github_owner
    from bootstrap.repo import find_repo, load_spec

    github_owner(name)
    path = find_repo(repo)
    spec = load_spec(path)
    data = {"project": spec.name, "path": str(path), "owner": spec.owner, "commit": None}
    if name is None or (spec.owner and spec.owner.lower() == name.lower()):
        ui.print_json(data)
        if not json_output:
            ui.say(f"{spec.name}: GitHub owner {spec.owner or 'not set'}")
        return
    recorded = rerender.read_record(path).get("repository")
    if recorded:
        raise UserError(
            f"{spec.name} is already on GitHub as {recorded}; its owner is GitHub's to change",
            f"transfer the repository on GitHub, then run `bootstrap github sync --owner {name}`",
        )
    with ui.step(f"Setting the owner {name}", f"owner set to {name}", quiet=json_output):
        rerender.rerender(path, {"owner": name})
        commit = rerender.commit(path, [], f"bootstrap github owner: {name}", all_changes=True)
    ui.print_json({**data, "owner": name, "commit": commit})
    if not json_output:
        ui.say(f"{spec.name}: GitHub owner {name}" + (f" (commit {commit[:8]})" if commit else ""))
        ui.say(
            "create the repository on GitHub when you have a token: `bootstrap github sync`",
            first="  next: ",
        )


def render_text(result: Any, *, verbose: bool) -> None:
    from bootstrap import ui
    from bootstrap.github.model import UPDATED

    ui.say(f"GitHub {result.repository}  {result.html_url}")
    ui.say(
        f"{len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged; {result.writes} API writes",
        first="  ",
    )
    shown = result.changes if verbose else result.of("created", *UPDATED)
    for change in shown:
        detail = f" ({change.detail})" if change.detail else ""
        ui.say(f"{change.kind} {change.name}{detail}", first=f"  {change.action:<10} ")
    trust = result.trust_subject
    ui.say(
        f"trust subject: {trust}; environments: {'yes' if result.environments else 'no'}; "
        f"required reviewers: {'yes' if result.required_reviewers else 'no'}; "
        f"branch protection: {'yes' if result.branch_protection else 'no'}",
        first="  ",
    )
    ui.say(
        f"{result.subject_prefix}:... ({result.subject_template} template)",
        first="  OIDC subject: ",
    )
    for line in result.skipped:
        ui.say(line, first="  skipped: ")
    for line in result.next_steps:
        ui.say(line, first="  next: ")


def read_outputs(file: Path) -> dict[str, dict[str, Any]]:
    """Stack outputs from a JSON file: {"shared": {...}, "dev": {...}, ...}."""
    from bootstrap.errors import BadFileError, file_error

    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise file_error(file, exc, "pass a JSON file of stack outputs") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise BadFileError(
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

