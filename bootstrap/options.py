"""Option aliases shared by the commands, so each flag means the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")
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
HardenBackendOpt = Annotated[
    bool,
    typer.Option(
        "--harden-backend",
        help="Apply missing safety settings to an existing S3 state bucket of yours.",
    ),
]
