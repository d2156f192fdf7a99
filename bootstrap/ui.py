"""All terminal output goes through here: results on stdout, messages and progress on stderr, so
`--json` output on stdout stays machine-readable."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

# markup is off: user data (paths, "app[test]") must print as written; styles use Text.
out = Console(soft_wrap=True, highlight=False, markup=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    err.print(message)


def success(message: str) -> None:
    err.print(Text.assemble(("✓ ", "green"), message))


def warn(message: str) -> None:
    err.print(Text.assemble(("! ", "yellow"), message))


def error(message: str) -> None:
    err.print(Text.assemble(("error: ", "bold red"), message))


@contextmanager
def step(description: str, *, quiet: bool = False) -> Iterator[None]:
    """A long step: a spinner while it runs (on a terminal), a check mark when it is done."""
    if quiet:
        yield
        return
    if err.is_terminal:
        with err.status(description):
            yield
    else:
        yield
    success(description)
