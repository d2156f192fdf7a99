"""`bootstrap verify --stage STAGE | --url URL`: run the repo's acceptance suite against the live
service, with progress, a summary and the verdict (docs/acceptance-suite.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bootstrap.options import JsonOpt, RepoOpt, VerboseOpt


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    from bootstrap.verify import check_url

    return check_url(value)


def _parts(values: list[str] | None) -> list[str]:
    from bootstrap.errors import SpecError
    from stacks.contract import ACCEPTANCE_PARTS

    for value in values or []:
        if value not in ACCEPTANCE_PARTS:
            raise SpecError(
                f"--part '{value}' is not a part of the suite", f"use {', '.join(ACCEPTANCE_PARTS)}"
            )
    return list(values or [])


def verify(
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            metavar="STAGE",
            help="The stage to test: its URL from its stack outputs (unless --url), its "
            "thresholds from infra/Pulumi.STAGE.yaml.",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            callback=_url,
            help="The service's base URL (default: the stage's). Without --stage the thresholds "
            "are the defaults in infra/Pulumi.yaml.",
        ),
    ] = None,
    part: Annotated[
        list[str] | None,
        typer.Option(
            "--part",
            metavar="PART",
            callback=_parts,
            help="Run only this part: behaviour, contract or performance (repeatable).",
        ),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            metavar="DIR",
            file_okay=False,
            help="Where the verdict, JUnit XML and summary go (default: acceptance/results).",
        ),
    ] = None,
    json_output: JsonOpt = False,
    repo: RepoOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the repo's acceptance suite (acceptance/) against the live service.

    The suite runs with this Python when it has every package of the repo's app[acceptance]
    extra; otherwise bootstrap makes a virtualenv in acceptance/.venv (git-ignored) on first use
    and installs app[acceptance] there (again when app/pyproject.toml changes). Exits non-zero
    when the suite fails; the verdict is in acceptance/results/verdict.json.
    """
    from bootstrap import ui
    from bootstrap import verify as core
    from bootstrap.errors import SpecError, UserError
    from bootstrap.lifecycle import open_project
    from stacks.contract import ACCEPTANCE_RESULTS_DIR

    if not stage and not url:
        raise SpecError(
            "--url or --stage is required",
            "pass the service's base URL (--url https://HOST) or a deployed stage (--stage dev)",
        )
    project = open_project(repo)  # the stack settings, thresholds included, are checked here
    name = project.spec.stage(stage).name if stage else None
    quiet = json_output
    if not url:
        assert name is not None
        with ui.step(f"Reading {name}'s URL from its stack", quiet=quiet):
            url = core.stage_url(project, name, verbose=verbose)
    service = core.probe(url, project.spec.name)
    if not quiet:
        ui.success(
            f"{url} is the {project.spec.name} service: stage {service.stage}, release {service.release}"
        )
    env = core.environment(project.repo, install=_installer(quiet=quiet))
    if not quiet:
        ui.info(f"The suite runs with {env.where} ({env.python})")
    words = core.summary_words(project.repo)
    progress = Progress(quiet=quiet, words=words)
    try:
        outcome = core.run_suite(
            project.repo, env.python, url=url, stage=name,
            results=(results or project.repo / ACCEPTANCE_RESULTS_DIR).resolve(),
            parts=part or [], on_event=progress,
        )  # fmt: skip
    finally:
        progress.close()
    verdict = outcome.verdict
    ui.print_json({
        "project": project.spec.name, "stage": name, "url": url, "passed": verdict["passed"],
        "complete": verdict["complete"], "python": env.where, "files": outcome.files,
        "verdict": verdict,
    })  # fmt: skip
    if not quiet:
        ui.show_table(summary_table(verdict, words))
        ui.info(f"Verdict: {outcome.files['verdict']} (JUnit XML and summary.md beside it)")
    if verdict.get("error"):
        raise UserError(
            f"the acceptance suite tested nothing: {verdict['error']}", f"see {outcome.log}"
        )
    if not verdict["passed"]:
        found = core.failures(verdict)
        raise UserError(
            "the acceptance suite failed: "
            + "; ".join(found[:3])
            + ("; ..." if len(found) > 3 else ""),
            f"see {outcome.files['summary']}",
        )
    if not quiet:
        ui.success("acceptance passed" + ("" if verdict["complete"] else " (not every part ran)"))


def _installer(*, quiet: bool) -> Any:
    """`verify.install_venv` under a progress line: it downloads packages (tens of seconds)."""
    from bootstrap import ui
    from bootstrap.verify import VENV_DIR, install_venv

    def install(repo: Path, venv: Path) -> None:
        with ui.step(
            f"Installing app[acceptance] into {VENV_DIR.as_posix()} (once: this Python lacks it)",
            f"Installed app[acceptance] into {VENV_DIR.as_posix()}",
            quiet=quiet,
        ):
            install_venv(repo, venv)

    return install


class Progress:
    """The suite's events as they come: a spinner while a part runs (on a terminal), a line
    when it ends."""

    def __init__(self, *, quiet: bool, words: Any) -> None:
        self.quiet = quiet
        self.words = words  # the repo's acceptance/summary.py
        self.status: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        from bootstrap import ui

        if self.quiet:
            return
        kind, part = event.get("event"), event.get("part")
        if kind == "part-start" and ui.err.is_terminal:
            self.status = ui.err.status(f"Running the {part} part...")
            self.status.start()
        elif kind == "part-end":
            self.close()
            line = f"{part}: {event['tests']} {event['status']} in {event['seconds']} s"
            figures = self.words.pairs(event.get("figures") or {}, self.words.FIGURES)
            if event["status"] == "failed":
                ui.warn(
                    f"{part}: {event['failed']} of {event['tests']} failed in {event['seconds']} s"
                )
                for failure in event.get("failures") or []:
                    ui.info(f"  {failure['test']}: {failure['message']}")
            else:
                ui.success(line + (f" ({figures})" if figures else ""))

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def summary_table(verdict: dict[str, Any], words: Any) -> Any:
    from rich.table import Table

    table = Table(title=None, box=None, pad_edge=False)
    for header in ("part", "result", "tests", "figures", "thresholds", "time"):
        table.add_column(header)
    for name, part in (verdict.get("parts") or {}).items():
        tests = str(part["tests"]) + (f" ({part['failed']} failed)" if part["failed"] else "")
        table.add_row(
            name, part["status"], tests, words.pairs(part["figures"], words.FIGURES) or "-",
            words.pairs(part["thresholds"], words.THRESHOLDS) or "-", f"{part['seconds']} s",
        )  # fmt: skip
    return table
