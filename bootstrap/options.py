"""Option aliases shared by the commands, so each flag means the same everywhere.

Values that can be checked without the repository, the network or a tool are checked here,
while the command line is parsed: a bad value is reported before anything else is looked at
(credentials, tools, prompts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print one JSON document on stdout: the result with "ok": true, or '
        '{"ok": false, "error": {"code", "message", "fix"}}.',
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail on errors.")
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Answer yes to prompts (implied when stdin is not a terminal)."),
]
RepoOpt = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        help="The generated repository to act on (default: the current directory).",
        file_okay=False,
    ),
]
StackOpt = Annotated[
    str | None,
    typer.Option("--stage", metavar="STAGE", help="One stack: a stage name, or 'shared'."),
]
AllStacksOpt = Annotated[
    bool, typer.Option("--all", help="Every stack, shared first (the default).")
]
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Deploy from this machine through the Automation API instead of the promote "
        "workflow on GitHub.",
    ),
]
ProfileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--profile",
        metavar="KEY=PROFILE",
        help="The AWS profile for a stage, for 'shared' (the tooling account) or for an "
        "account ID, when stages live in their own accounts (repeatable; also "
        "BOOTSTRAP_AWS_PROFILES=KEY=PROFILE,...).",
    ),
]
HardenBackendOpt = Annotated[
    bool,
    typer.Option(
        "--harden-backend",
        help="Apply missing safety settings to an existing S3 state bucket of yours.",
    ),
]


# --- values checked while parsing ----------------------------------------------------------------


def image_by_digest(value: str | None) -> str | None:
    """`--image`: sha256:<64 hex> or REPOSITORY@sha256:<64 hex>; stages never deploy tags."""
    from bootstrap.errors import SpecError
    from stacks.contract import DIGEST, IMAGE_REF

    if value is None:
        return None
    value = value.strip()
    if DIGEST.fullmatch(value) or IMAGE_REF.fullmatch(value):
        return value
    raise SpecError(
        f"--image '{value}' is not an image digest",
        "pass sha256:<64 hex digits> or REPOSITORY_URL@sha256:<64 hex digits> "
        "(stages deploy images by digest, never by tag)",
    )


def release_ref(value: str | None) -> str | None:
    """`--to` of rollback: a digest, REPOSITORY@digest, or the 40-hex git SHA of a build."""
    from bootstrap.errors import SpecError
    from stacks.contract import DIGEST, GIT_SHA, IMAGE_REF

    if value is None:
        return None
    value = value.strip()
    if DIGEST.fullmatch(value) or IMAGE_REF.fullmatch(value) or GIT_SHA.fullmatch(value):
        return value
    raise SpecError(
        f"--to '{value}' is not an image digest or a git SHA",
        "pass sha256:<64 hex>, REPOSITORY@sha256:<64 hex>, or the 40-hex commit of a build",
    )


def github_owner(value: str | None) -> str | None:
    """`--owner`: a GitHub user or organisation name (only its form; GitHub is asked later)."""
    if not value:
        return value
    from bootstrap.spec import check_owner

    check_owner(value)
    return value


def api_url(value: str | None) -> str | None:
    """`--github-api-url`: https://api.github.com or https://HOST/api/v3 (never plain http)."""
    if not value:
        return value
    from bootstrap.errors import SpecError, UserError
    from bootstrap.github.client import resolve_api_url

    try:
        return resolve_api_url(value)
    except UserError as exc:  # as an option it is bad input
        raise SpecError(exc.problem, exc.fix) from None


def state_backend(value: str | None) -> str | None:
    """`--backend`: s3://BUCKET, https://api.pulumi.com or file://PATH."""
    if not value:
        return value
    from bootstrap.spec import check_backend

    check_backend(value)
    return value


def template_version(value: str | None) -> str | None:
    """`update --to`: a version (1.2.0 or v1.2.0)."""
    if not value:
        return value
    from bootstrap.errors import SpecError
    from bootstrap.template import parse_version

    if parse_version(value.strip()) is None:
        raise SpecError(f"--to '{value}' is not a version", "pass a version such as 1.2.0")
    return value.strip()


OwnerOpt = Annotated[
    str | None,
    typer.Option(
        "--owner",
        callback=github_owner,
        help="GitHub user or organisation the repository belongs to.",
    ),
]
GitHubApiOpt = Annotated[
    str | None,
    typer.Option(
        "--github-api-url",
        callback=api_url,
        help="GitHub API URL, e.g. https://HOST/api/v3 for GitHub Enterprise Server "
        "(default: $GITHUB_API_URL, the repo's record, else https://api.github.com).",
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        callback=state_backend,
        help="Pulumi state URL: s3://BUCKET, https://api.pulumi.com or file://PATH (default: the "
        "S3 bucket <name>-pulumi-state-<account id> when AWS credentials are present, else a "
        "local folder).",
    ),
]
PublicOpt = Annotated[
    bool, typer.Option("--public", help="Create the GitHub repository public (default: private).")
]
ReviewersOpt = Annotated[
    str | None,
    typer.Option(
        "--reviewers",
        help="Required reviewers of manual stages: logins or ORG/TEAM, comma-separated "
        "(default: the token's user).",
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
