"""CLI wiring: start-up stays light, version and help work, errors map to exit codes once."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from bootstrap import __version__
from bootstrap.cli import app

HEAVY = ("boto3", "botocore", "github", "pulumi", "pulumi_aws", "copier", "pydantic", "yaml")


def test_cli_start_up_imports_no_heavy_library() -> None:
    probe = (
        "import sys, bootstrap.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_help_and_version() -> None:
    runner = CliRunner()
    assert __version__ in runner.invoke(app, ["--version"]).output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "new" in result.output


def test_unexpected_errors_are_one_line_without_traceback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import bootstrap.spec

    def boom(**_: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(bootstrap.spec, "from_options", boom)
    result = CliRunner().invoke(app, ["new", "shop", "--yes"])
    assert result.exit_code == 70
    assert "internal error" in result.output and "kaput" in result.output
    assert "Traceback" not in result.output
