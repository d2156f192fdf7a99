"""How a run goes: check the base URL is the service and read the stage's settings (before
anything is collected), run the parts in order (behaviour, contract, performance), record each
test's outcome with a message naming its cause, then write the verdict, JUnit XML and the
Markdown summary (also to `$GITHUB_STEP_SUMMARY` when set)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from acceptance import run as runs
from acceptance.infra import REPO, contract
from acceptance.service import NotTheService, Unreachable, normalize, probe
from acceptance.settings import SettingsError
from acceptance.settings import load as load_settings
from acceptance.summary import markdown
from acceptance.verdict import Verdict

_RESULTS = pytest.StashKey[list[dict[str, Any]]]()  # each phase's outcome, per test


def parts() -> tuple[str, ...]:
    return tuple(contract().ACCEPTANCE_PARTS)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("acceptance", "the acceptance suite")
    try:
        group.addoption("--base-url", help="the service's base URL, e.g. https://HOST")
    except ValueError:  # pytest-base-url is installed and has the option (same destination)
        pass
    group.addoption(
        "--stage", help="whose settings to use: infra/Pulumi.STAGE.yaml (default: the defaults)"
    )
    group.addoption(
        "--results",
        type=Path,
        help=f"where to write the results (default: {contract().ACCEPTANCE_RESULTS_DIR})",
    )
    group.addoption(
        "--part", action="append", choices=parts(), help="run only this part (repeatable)"
    )
    group.addoption(
        "--events", type=Path, help="append progress events, one JSON line each, to this file"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help or config.option.version:
        return
    results = (config.getoption("results") or REPO / contract().ACCEPTANCE_RESULTS_DIR).resolve()
    results.mkdir(parents=True, exist_ok=True)
    for name in (contract().VERDICT_FILE, contract().SUMMARY_FILE, contract().JUNIT_FILE):
        (results / name).unlink(missing_ok=True)  # a result left from another run is no result
    if not config.option.xmlpath:
        config.option.xmlpath = str(results / contract().JUNIT_FILE)
    stage = config.getoption("stage")
    raw_url = config.getoption("base_url")
    if not raw_url:
        raise pytest.UsageError("--base-url is required: the service's URL, e.g. https://HOST")
    try:
        base_url = normalize(raw_url)
        settings = load_settings(stage)
    except (ValueError, SettingsError) as error:
        raise pytest.UsageError(str(error)) from None
    verdict = Verdict(parts=parts(), base_url=base_url, project=settings.project, stage=stage)
    verdict.settings = settings.as_dict()
    try:
        service = probe(base_url)
    except (Unreachable, NotTheService) as error:
        verdict.error = str(error)
        verdict.finish()
        verdict.write(results / contract().VERDICT_FILE)
        raise pytest.UsageError(str(error)) from None
    verdict.service = service.as_dict()
    events = config.getoption("events")
    runs.start(runs.Run(base_url, settings, service, verdict, results, events))
    _use_hypothesis_profile(settings.examples)


def _use_hypothesis_profile(examples: int) -> None:
    """The contract part's bounds: examples per operation from the settings; no deadline per
    example (a deployed service answers in its own time; the budget bounds the whole part); no
    example database written into the repository."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis

    hypothesis.register_profile(
        "acceptance", max_examples=examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    hypothesis.load_profile("acceptance")


def part_of(item: pytest.Item) -> str:
    module = getattr(item, "module", None)
    name = module.__name__.rsplit(".", 1)[-1] if module else ""
    return name.removeprefix("test_")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A part not chosen with --part is not even imported (the contract part loads the live
    OpenAPI document while it is collected)."""
    chosen = config.getoption("part")
    if chosen and collection_path.suffix == ".py" and collection_path.stem.startswith("test_"):
        return collection_path.stem.removeprefix("test_") not in chosen or None
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = {name: index for index, name in enumerate(parts())}
    items.sort(key=lambda item: order.get(part_of(item), len(order)))
    chosen = config.getoption("part")
    if chosen:
        dropped = [item for item in items if part_of(item) not in chosen]
        items[:] = [item for item in items if part_of(item) in chosen]
        if dropped:
            config.hook.pytest_deselected(items=dropped)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    current = runs.active()
    part = part_of(item)
    if current is not None and _first_of_part(item):
        current.emit("part-start", part=part)
    item.stash[_RESULTS] = []
    started = time.monotonic()
    outcome = yield
    if current is not None and part in current.verdict.parts:
        phases = item.stash[_RESULTS]
        failed = [phase for phase in phases if phase["outcome"] == "failed"]
        skipped = any(phase["outcome"] == "skipped" for phase in phases)
        result = "failed" if failed else "skipped" if skipped else "passed"
        message = failed[0]["message"] if failed else None
        current.verdict.record(part, item.name, outcome=result,
                               seconds=time.monotonic() - started, message=message)  # fmt: skip
        if nextitem is None or part_of(nextitem) != part:
            current.emit("part-end", part=part, **current.verdict.parts[part].as_dict())
    return outcome


def _first_of_part(item: pytest.Item) -> bool:
    items = item.session.items
    index = items.index(item)
    return index == 0 or part_of(items[index - 1]) != part_of(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if _RESULTS in item.stash:
        message = describe(call.excinfo.value) if report.failed and call.excinfo else None
        item.stash[_RESULTS].append({"outcome": report.outcome, "message": message})
    return report


def describe(error: BaseException) -> str:
    """What failed, in a line or two: the assertion's own message, Schemathesis's findings with
    the response and a curl command that reproduces it, or the error's type and first line."""
    if type(error).__name__ == "FailureGroup":
        return _findings(error)
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in error.exceptions)
    text = str(error).split("\nassert ")[0].strip()
    if isinstance(error, AssertionError) and text:
        return text
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _findings(group: BaseException) -> str:
    """Schemathesis's report, condensed: each finding with its details, what was answered, and
    the curl command that reproduces it."""
    findings = []
    for failure in getattr(group, "exceptions", ()):
        title = getattr(failure, "title", None) or type(failure).__name__
        first = str(getattr(failure, "message", "")).strip().split("\n\n")[0]  # its first paragraph
        details = [line.strip() for line in first.splitlines() if line.strip()][:3]
        findings.append(f"{title} ({'; '.join(details)})" if details else title)
    lines = [line.strip() for line in str(group).splitlines() if line.strip()]
    answered = next((line for line in lines if line.startswith("[") and line.endswith(":")), "")
    body = lines[lines.index(answered) + 1] if answered and answered in lines[:-1] else ""
    curl = next((line for line in lines if line.startswith("curl ")), "")
    text = "; ".join(findings)
    if answered:
        text += f"; answered {answered.rstrip(':')} {body[:200]}".rstrip()
    if curl:
        text += f"; reproduce: {curl}"
    return text


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    current = runs.active()
    if current is None:
        return
    current.verdict.finish()
    verdict = current.verdict.as_dict()
    current.verdict.write(current.results / contract().VERDICT_FILE)
    summary = markdown(verdict)
    (current.results / contract().SUMMARY_FILE).write_text(summary)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as stream:
            stream.write(summary + "\n")
    current.emit("done", passed=verdict["passed"], complete=verdict["complete"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    current = runs.active()
    if current is None:
        return
    verdict = current.verdict
    word = "passed" if verdict.passed else "failed"
    terminalreporter.section(f"acceptance {word}", sep="-")
    for name, part in verdict.parts.items():
        terminalreporter.write_line(f"{name}: {part.status}")
        for failure in part.failures:
            terminalreporter.write_line(f"  {failure['test']}: {failure['message']}")
    terminalreporter.write_line(f"verdict: {current.results / contract().VERDICT_FILE}")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def acceptance_run() -> runs.Run:
    return runs.current()


@pytest.fixture(scope="session")
def http(acceptance_run: runs.Run) -> Any:
    """An HTTP client of the service, for the behaviour part."""
    import httpx

    from acceptance.settings import REQUEST_TIMEOUT

    with httpx.Client(base_url=acceptance_run.base_url, timeout=REQUEST_TIMEOUT) as client:
        yield client
