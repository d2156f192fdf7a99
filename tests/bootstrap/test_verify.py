"""`bootstrap verify`: bad input is one line and its exit code, before the suite runs; the URL of
a stage comes from its stack; the suite's environment is this interpreter or acceptance/.venv.
(The suite passing and failing against a served app: tests/templates/acceptance/test_suite.py.)"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from bootstrap import automation
from bootstrap import verify as core
from bootstrap.cli import app
from bootstrap.errors import RemoteError, UserError
from bootstrap.repo import load_spec
from tests.bootstrap.conftest import one_line_error
from tests.fakes.stack_ops import RecordedStack, RecordingOps
from tests.templates.acceptance.served import free_port, set_config

runner = CliRunner()


def verify(repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["verify", *args, "--repo", str(repo)])


@pytest.fixture
def repo(repo_copy: Callable[..., Path]) -> Path:
    return repo_copy("ecs")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ([], 2, "error: --url or --stage is required: pass the service's base URL"),
        (["--url", "ftp://host"], 2, "error: --url 'ftp://host' is not an http(s) URL"),
        (["--url", "localhost:8080"], 2, "is not an http(s) URL"),
        (["--stage", "qa"], 2, "qa"),
        (["--url", "http://127.0.0.1:1", "--part", "speed"], 2, "--part 'speed' is not a part"),
    ],
    ids=["no url", "not http", "no scheme", "unknown stage", "unknown part"],
)
def test_bad_arguments_are_one_line(repo: Path, args: list[str], code: int, says: str) -> None:
    result = verify(repo, *args)
    assert result.exit_code == code, result.output
    assert says in one_line_error(result)


def test_a_malformed_threshold_names_its_file_and_key(repo: Path) -> None:
    set_config(repo, "test", acceptanceP95Ms="fast")
    result = verify(repo, "--url", "http://127.0.0.1:1", "--json")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]["message"]
    assert "infra/Pulumi.test.yaml: shop:acceptanceP95Ms: 'fast' is not a whole number" in message


def test_an_unreachable_service_is_a_remote_failure(repo: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = verify(repo, "--url", url)
    assert result.exit_code == 6
    line = one_line_error(result)
    assert line.startswith(f"error: {url}/health cannot be reached (")
    assert "`bootstrap status` shows each stage's health" in line


@pytest.mark.parametrize(
    ("routes", "code", "says"),
    [
        ({"/health": (404, "not found")}, 2, "is not the service: {url}/health answered HTTP 404"),
        ({"/health": (200, "<html>hello</html>")}, 2, "{url}/health did not answer JSON"),
        ({"/health": (200, {"status": "up"})}, 2, "is not the shop service: /health does not answer status ok"),
        ({"/health": (200, {"status": "ok"})}, 2, "/health names no stage and release"),
        (
            {"/health": (200, {"status": "ok", "stage": "dev", "release": "x"}),
             "/openapi.json": (200, {"openapi": "3.1.0", "paths": {"/users": {}}})},
            2, "/openapi.json is not its API (no /items)",
        ),
        ({"/health": (503, "no healthy targets")}, 6, "{url}/health answered HTTP 503: the service is not healthy"),
    ],
    ids=["health 404", "not json", "not ok", "no release", "other api", "down"],
)  # fmt: skip
def test_a_url_that_is_not_the_service_is_refused(
    repo: Path, httpserver: HTTPServer, routes: dict[str, tuple[int, object]], code: int, says: str
) -> None:
    for path, (status, body) in routes.items():
        text = body if isinstance(body, str) else json.dumps(body)
        httpserver.expect_request(path).respond_with_data(text, status=status)
    url = httpserver.url_for("/").rstrip("/")
    result = verify(repo, "--url", url)
    assert result.exit_code == code, result.output
    assert says.format(url=url) in one_line_error(result)
    assert not (repo / "acceptance" / "results").exists()  # the suite never started


# --- the URL of a stage ---------------------------------------------------------------------------


def test_the_stage_url_comes_from_its_stack_outputs(repo: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ops = RecordingOps(load_spec(repo))
    ops.stacks["dev"] = RecordedStack(24, {"url": url + "/", "stage": "dev"})
    (repo / ".pulumi-state").mkdir(exist_ok=True)  # the local backend holds state
    with automation.use_ops(lambda *_: ops):
        result = verify(repo, "--stage", "dev")
    assert ("outputs", "dev") in ops.calls
    assert result.exit_code == 6  # that URL, read from the stack: nothing answers there
    assert one_line_error(result).startswith(f"error: {url}/health cannot be reached")


def test_a_stage_never_deployed_has_no_url(repo: Path) -> None:
    ops = RecordingOps(load_spec(repo))
    (repo / ".pulumi-state").mkdir(exist_ok=True)
    with automation.use_ops(lambda *_: ops):
        result = verify(repo, "--stage", "test")
    assert result.exit_code == 1
    assert one_line_error(result) == (
        "error: stage 'test' has no URL: its stack has no `url` output (it is not deployed): "
        "deploy it first (`bootstrap up --stage test`), or pass the URL with --url"
    )


def test_without_local_state_nothing_is_deployed_and_pulumi_is_not_asked(repo: Path) -> None:
    ops = RecordingOps(load_spec(repo), missing_cli=True)
    with automation.use_ops(lambda *_: ops):
        result = verify(repo, "--stage", "dev")
    assert result.exit_code == 1 and "has no URL" in one_line_error(result)
    assert ops.calls == []


# --- the suite's environment ----------------------------------------------------------------------


def set_extra(repo: Path, requirements: list[str]) -> None:
    path = repo / "app" / "pyproject.toml"
    text = path.read_text()
    start = text.index("acceptance = [")
    end = text.index("]", start) + 1
    path.write_text(text[:start] + f"acceptance = {json.dumps(requirements)}" + text[end:])


def test_this_interpreter_runs_the_suite_when_it_has_the_packages(repo: Path) -> None:
    wanted = core.requirements(repo)
    assert any(r.startswith("schemathesis") for r in wanted)
    assert any(r.startswith("locust") for r in wanted)
    assert core.unmet(wanted) == []  # the project's test extras carry them
    env = core.environment(repo, install=lambda *_: pytest.fail("nothing to install"))
    assert (env.python, env.where, env.installed) == (sys.executable, "this interpreter", False)


def test_otherwise_a_venv_in_the_repo_is_made_once_per_app_pyproject(repo: Path) -> None:
    set_extra(repo, ["pytest>=8", "surely-not-installed-here>=1"])
    made: list[Path] = []

    def install(where: Path, venv: Path) -> None:
        made.append(venv)
        (venv / "bin").mkdir(parents=True, exist_ok=True)
        (venv / "bin" / "python").write_text("")

    first = core.environment(repo, install=install)
    assert first.installed and first.where == "acceptance/.venv"
    assert first.python == str(repo / "acceptance" / ".venv" / "bin" / "python")
    again = core.environment(repo, install=install)
    assert not again.installed and len(made) == 1
    set_extra(repo, ["pytest>=8", "surely-not-installed-here>=2"])
    assert core.environment(repo, install=install).installed and len(made) == 2
    ignored = os.popen(f"git -C {repo} status --porcelain --ignored acceptance").read()  # noqa: S605
    assert "!! acceptance/.venv/" in ignored


def test_a_repo_without_the_suite_is_told_to_update(repo: Path) -> None:
    path = repo / "app" / "pyproject.toml"
    path.write_text(path.read_text().replace("acceptance = [", "later = ["))
    with pytest.raises(UserError, match=r"has no `acceptance` extra.*bootstrap update"):
        core.environment(repo)


def test_the_terminal_table_reads_the_repo_s_own_words(repo: Path) -> None:
    from rich.console import Console

    from bootstrap.commands.verify import summary_table

    summary = repo / "acceptance" / "summary.py"
    summary.write_text(summary.read_text().replace('"p95 {} ms"', '"95th percentile {} ms"'))
    verdict = {"parts": {"performance": {
        "status": "passed", "tests": 1, "failed": 0, "seconds": 2,
        "figures": {"p95_ms": 120.5}, "thresholds": {"p95_ms": 500},
    }}}  # fmt: skip
    console = Console(width=200, record=True)
    console.print(summary_table(verdict, core.summary_words(repo)))
    assert "95th percentile 120.5 ms" in console.export_text()
    summary.unlink()
    with pytest.raises(UserError, match=r"summary.py is missing.*bootstrap update"):
        core.summary_words(repo)


@pytest.mark.slow
def test_a_failed_install_is_one_remote_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no package index: pip fails at once, offline
    with pytest.raises(RemoteError) as failed:
        core.install_venv(repo, repo / "acceptance" / ".venv")
    assert failed.value.problem.startswith(
        "installing the acceptance suite's packages into acceptance/.venv failed ("
    )
    assert "pip install -e 'app[acceptance]'" in str(failed.value.fix)


def test_a_suite_that_cannot_start_is_reported_with_its_output(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"the acceptance suite did not run \(pytest exit 1\)"):
        core.run_suite(
            repo, "false", url="http://127.0.0.1:1", stage=None, results=tmp_path / "results",
            parts=[], on_event=lambda _event: None,
        )  # fmt: skip
