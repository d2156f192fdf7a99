"""Output fits the terminal: lines wrap between words, a URL, an ARN or a `quoted command` is
never cut, a grid that does not fit becomes one block per row, and progress says what runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap import ui
from bootstrap.cli import app

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_URL = "https://github.com/settings/tokens/new?scopes=repo,workflow&description=bootstrap-for-shop-in-eu-west-1"
ARN = "arn:aws:iam::123456789012:role/bootstrap/shop/shop-prod-deploy-role-with-a-long-name"


@pytest.fixture(params=[80, 120])
def width(request: pytest.FixtureRequest) -> Iterator[int]:
    """A terminal of 80 or 120 columns for the command's consoles."""
    ui.configure(width=request.param, terminal=True)
    yield request.param
    ui.configure()


def screen(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


def assert_fits(lines: list[str], width: int, words: set[str]) -> None:
    """Every line fits, or is longer only by one word that could not be broken; every word
    printed is a word of the message (none was split)."""
    for line in lines:
        if len(line) > width:
            assert max(line.split(), key=len) in words and len(max(line.split(), key=len)) > width // 2, line
        for word in line.split():
            assert word in words, f"{word!r} is not a word of the message: {line!r}"


# --- the wrapping itself -----------------------------------------------------------------------


def test_wrap_breaks_between_words_and_keeps_long_words_and_commands_whole() -> None:
    text = f"open {LONG_URL} then run `cd shop && bootstrap preview --offline` and rest"
    lines = ui.wrap(text, 40, first="  next: ")
    assert lines[0].startswith("  next: ")
    assert LONG_URL in lines[1] and len(lines[1]) > 40  # whole, sticking out
    assert any("`cd shop && bootstrap preview --offline`" in line for line in lines)
    assert all(line.startswith(" " * 8) for line in lines[1:])
    assert " ".join(" ".join(line.split()) for line in lines) == "next: " + " ".join(text.split())


def test_no_width_is_the_text_as_it_is() -> None:
    assert ui.wrap("a " * 100, None) == ["a " * 100]
    assert ui.wrap("one\ntwo", None, first="error: ") == ["error: one", "two"]


def test_line_breaks_of_a_message_are_kept_and_indented() -> None:
    """Several findings (one per line) stay one per line on a terminal."""
    lines = ui.wrap("dev: bad cpu\nprod: bad region", 80, first="error: ")
    assert lines == ["error: dev: bad cpu", "       prod: bad region"]


# --- commands at 80 and 120 columns -----------------------------------------------------------


def test_doctor_fits_without_breaking_words(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import bootstrap.doctor
    from bootstrap.doctor import Check, DoctorReport

    checks = [
        Check("pulumi", "missing", "the Pulumi CLI is not on PATH (needed for real previews and deploys)",
              "install it: `curl -fsSL https://get.pulumi.com | sh` (then open a new shell); "
              "`bootstrap preview --offline` works without it"),
        Check("github", "missing", "no GitHub token (GITHUB_TOKEN or GH_TOKEN)",
              f"create a token with the scopes repo and workflow ({LONG_URL}) and export GITHUB_TOKEN"),
        Check("aws", "ok", f"account 123456789012 as {ARN}"),
    ]
    monkeypatch.setattr(bootstrap.doctor, "run_checks", lambda *_, **__: DoctorReport(checks))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 5
    lines = screen(result.stdout)
    words = {w for c in checks for w in f"{c.name} {c.detail} {c.fix or ''}".split()}
    assert_fits(lines, width, words | {"✓", "✗", "fix:"})
    text = "\n".join(lines)
    assert LONG_URL in text and ARN in text
    assert "`curl -fsSL https://get.pulumi.com | sh`" in text  # the command on one line


def test_new_fits_and_keeps_each_command_on_one_line(width: int, tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    lines = screen(result.stdout)
    commands = [c for line in lines for c in re.findall(r"`([^`]+)`", line)]
    assert any(c.endswith("bootstrap preview --offline") for c in commands)
    for line in lines:
        if len(line) > width:  # only a path or a command that is longer than the line
            assert "`" in line or str(tmp_path) in line, line
    assert all(line.count("`") % 2 == 0 for line in lines), lines  # no command split


def report(url: str, notes: list[str], sha: str | None = "c" * 40) -> object:
    from bootstrap.status.model import Health, Release, Report, StageStatus

    digest = "sha256:" + "ab" * 32
    when = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    current = Release(digest, git_sha=sha, deployed_at=when, deployed_by="octo")
    stages = [
        StageStatus("dev", False, True, url, current, None, Health(url, True, 200, "200"),
                    notes=notes),
        StageStatus("prod", True, False),
    ]
    return Report("shop", stages, when, repository="acme/shop", registry="shop")


def test_status_keeps_every_column_at_any_width(width: int) -> None:
    from bootstrap.commands.status import show

    if width == 80:  # a real load balancer's URL: the grid cannot fit
        url, notes = "http://shop-dev-1234567890.eu-west-1.elb.amazonaws.com", ["behind nothing"]
    else:  # short values: the grid fits
        url, notes = "http://127.0.0.1:8080", []
    with ui.out.capture() as captured:
        show(report(url, notes, sha="c" * 40 if width == 80 else None))
    lines = screen(captured.get())
    text = "\n".join(lines)
    assert url in text  # whole
    if width == 80:  # the grid is wider: one block per stage, every value kept
        assert lines[1] == "dev"
        for label in ("release:", "deployed (utc):", "by: octo", "url: " + url, "health: ok (200)",
                      "notes: behind nothing"):
            assert any(line.strip().startswith(label) for line in lines), label
        assert "prod (manual)" in lines
    else:
        header = next(line for line in lines if line.startswith("STAGE"))
        assert header.split() == ["STAGE", "RELEASE", "DEPLOYED", "(UTC)", "BY", "PREVIOUS",
                                  "URL", "HEALTH", "NOTES"]
    assert all(len(line) <= width for line in lines if url not in line)


def test_progress_says_what_runs_then_what_was_done(monkeypatch: pytest.MonkeyPatch) -> None:
    ui.configure(width=80, terminal=True)
    shown: list[str] = []
    real = ui.err.status

    def status(text: str) -> object:
        shown.append(text)
        return real(text)

    monkeypatch.setattr(ui.err, "status", status)
    try:
        with ui.err.capture() as captured, ui.step("Planning dev offline", "planned dev offline"):
            pass
    finally:
        ui.configure()
    assert shown == ["Planning dev offline..."]
    assert [line for line in screen(captured.get()) if line.strip()][-1] == "✓ planned dev offline"


def test_plan_trees_keep_arns_and_urls_whole(width: int) -> None:
    from bootstrap import planview
    from bootstrap.offline import PlannedResource, StackPlan

    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "ab" * 32
    function = PlannedResource(
        "aws:lambda/function:Function", "shop-dev", "urn:pulumi:dev::shop::aws:lambda/function:Function::shop-dev",
        None, {"imageUri": image, "packageType": "Image"}, True,
    )  # fmt: skip
    plan = StackPlan("dev", [function], {"deployRoleArn": ARN, "url": LONG_URL})
    with ui.out.capture() as captured:
        ui.show_wide(planview.resource_tree(plan))
    lines = screen(captured.get())
    text = "\n".join(lines)
    for value in (ARN, LONG_URL, image):
        assert value in text, value  # on one line, whole
    assert "outputs" in text and "└──" in text  # still the tree
