"""CLI wiring: start-up stays light, version and help work (the contract: tests/bootstrap/commands/)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from bootstrap import HEAVY_IMPORTS, __version__
from bootstrap.cli import app


def test_cli_start_up_imports_no_heavy_library() -> None:
    probe = (
        "import sys, bootstrap.cli; "
        f"print(','.join(m for m in {HEAVY_IMPORTS!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_help_and_version() -> None:
    runner = CliRunner()
    assert __version__ in runner.invoke(app, ["--version"]).output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "new" in result.output

