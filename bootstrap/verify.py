"""The core of `bootstrap verify`: run a generated repo's acceptance suite against a live URL.

The URL is given, or read from the stage's stack outputs (`url`). Before the suite runs, the URL
is checked to be the service (`GET /health` with its status, stage and release; an OpenAPI
document with the items API): nothing answering is exit 6, another server exit 2. The suite runs
with this interpreter when it has every package of the repo's `app[acceptance]` extra, else in a
virtualenv made once in `acceptance/.venv` (git-ignored; made again when `app/pyproject.toml`
changes). The suite's progress events are followed while it runs; its verdict is the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import RemoteError, SpecError, ToolMissingError, UserError
from stacks import contract

if TYPE_CHECKING:
    from bootstrap.lifecycle import Project

ACCEPTANCE_EXTRA = "acceptance"
APP_PROJECT = Path("app") / "pyproject.toml"
VENV_DIR = Path(contract.ACCEPTANCE_DIR) / ".venv"
VENV_STAMP = ".bootstrap-installed"  # holds the hash of app/pyproject.toml it was installed from
PROBE_TIMEOUT = 10.0
EVENTS_FILE = "events.jsonl"
LOG_FILE = "pytest.log"


# --- where the service is ----------------------------------------------------------------------


def check_url(value: str) -> str:
    """An http(s) URL with a host, without its trailing slash."""
    from urllib.parse import urlsplit

    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"--url '{value}' is not an http(s) URL",
            "pass the service's base URL, e.g. https://HOST",
        )
    return url


def stage_url(project: Project, stage: str, *, verbose: bool = False) -> str:
    """The `url` output of the stage's stack; a stage never deployed has none."""
    from bootstrap.automation import open_ops

    backend = project.backend
    outputs: dict[str, Any] = {}
    if backend.kind != "file" or (backend.path is not None and backend.path.is_dir()):
        ops = open_ops(project.repo, project.spec, backend, verbose=verbose, read_only=True)
        try:
            ops.check()
        except ToolMissingError as missing:
            raise ToolMissingError(
                missing.problem, f"{missing.fix}; or pass the URL with --url"
            ) from None
        outputs = ops.outputs(stage)
    url = str(outputs.get("url") or "")
    if not url:
        raise UserError(
            f"stage '{stage}' has no URL: its stack has no `url` output (it is not deployed)",
            f"deploy it first (`bootstrap up --stage {stage}`), or pass the URL with --url",
        )
    return check_url(url)


@dataclass(frozen=True)
class Service:
    url: str
    stage: str
    release: str


def probe(url: str, project: str, *, timeout: float = PROBE_TIMEOUT) -> Service:
    """Is the service at `url`? RemoteError when nothing answers, SpecError when something else
    does."""
    fix = "pass the service's base URL (`bootstrap status` shows each stage's)"
    health = _get_json(f"{url}/health", timeout)
    if not isinstance(health, dict) or health.get("status") != "ok":
        raise SpecError(
            f"{url} is not the {project} service: /health does not answer status ok", fix
        )
    if not isinstance(health.get("release"), str) or not isinstance(health.get("stage"), str):
        raise SpecError(
            f"{url} is not the {project} service: /health names no stage and release", fix
        )
    document = _get_json(f"{url}/openapi.json", timeout)
    paths = document.get("paths") if isinstance(document, dict) else None
    if not isinstance(paths, dict) or "/items" not in paths:
        raise SpecError(
            f"{url} is not the {project} service: /openapi.json is not its API (no /items)", fix
        )
    return Service(url, health["stage"], health["release"])


def _get_json(url: str, timeout: float) -> Any:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "bootstrap-verify"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:  # the service's address, but it is down (no healthy target, crashed)
            raise RemoteError(
                f"{url} answered HTTP {exc.code}: the service is not healthy",
                "see its logs (`bootstrap status` shows each stage's health)",
            ) from None
        raise SpecError(  # it answered, but not as the service does
            f"{url.rsplit('/', 1)[0]} is not the service: {url} answered HTTP {exc.code}",
            "pass the service's base URL (`bootstrap status` shows each stage's)",
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        words = (
            "timed out"
            if isinstance(reason, TimeoutError)
            else str(reason) or type(reason).__name__
        )
        raise RemoteError(
            f"{url} cannot be reached ({words})",
            "check the URL and that the service runs (`bootstrap status` shows each stage's health)",
        ) from None
    try:
        return json.loads(body)
    except ValueError:
        raise SpecError(
            f"{url.rsplit('/', 1)[0]} is not the service: {url} did not answer JSON",
            "pass the service's base URL (`bootstrap status` shows each stage's)",
        ) from None


# --- which interpreter runs the suite ----------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    python: str
    where: str  # "this interpreter" or "acceptance/.venv"
    installed: bool = False  # the virtualenv was made (or refreshed) by this run


def requirements(repo: Path) -> list[str]:
    """The `acceptance` extra of the repo's app/pyproject.toml."""
    import tomllib

    path = repo / APP_PROJECT
    older = "bring the repository up to this tool's template (`bootstrap update`)"
    if not (repo / contract.ACCEPTANCE_DIR).is_dir():
        raise UserError(f"{repo} has no acceptance suite ({contract.ACCEPTANCE_DIR}/)", older)
    try:
        extras = tomllib.loads(path.read_text())["project"].get("optional-dependencies", {})
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{APP_PROJECT} cannot be read ({exc})", "fix the file") from None
    if ACCEPTANCE_EXTRA not in extras:
        raise UserError(f"{APP_PROJECT} has no `{ACCEPTANCE_EXTRA}` extra", older)
    return [str(r) for r in extras[ACCEPTANCE_EXTRA]]


def unmet(wanted: list[str]) -> list[str]:
    """The requirements this interpreter does not satisfy."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    missing = []
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            found = version(requirement.name)
        except PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(found, prereleases=True):
            missing.append(text)
    return missing


def environment(repo: Path, *, install: Callable[[Path, Path], None] | None = None) -> Environment:
    """This interpreter when it has the suite's packages, else the repo's `acceptance/.venv`,
    made (or brought up to `app/pyproject.toml`) now."""
    if not unmet(requirements(repo)):
        return Environment(sys.executable, "this interpreter")
    venv = repo / VENV_DIR
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = venv / VENV_STAMP
    wanted = hashlib.sha256((repo / APP_PROJECT).read_bytes()).hexdigest()
    if python.exists() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return Environment(str(python), VENV_DIR.as_posix())
    (install or install_venv)(repo, venv)
    stamp.write_text(wanted + "\n")
    return Environment(str(python), VENV_DIR.as_posix(), installed=True)


def install_venv(repo: Path, venv: Path) -> None:
    """A virtualenv at `venv` with the app's `acceptance` extra (from the package index)."""
    import venv as venvs

    venvs.create(venv, with_pip=True, clear=True)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "-e", f"app[{ACCEPTANCE_EXTRA}]"]  # fmt: skip
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        raise RemoteError(
            f"installing the acceptance suite's packages into {VENV_DIR.as_posix()} failed ({said})",
            "check your network and pip's index settings, or install them into this interpreter: "
            f"`pip install -e 'app[{ACCEPTANCE_EXTRA}]'`",
        )


# --- running the suite -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    verdict: dict[str, Any]
    results: Path
    log: Path

    @property
    def files(self) -> dict[str, str]:
        return {
            "verdict": str(self.results / contract.VERDICT_FILE),
            "junit": str(self.results / contract.JUNIT_FILE),
            "summary": str(self.results / contract.SUMMARY_FILE),
            "log": str(self.log),
        }


def run_suite(
    repo: Path,
    python: str,
    *,
    url: str,
    stage: str | None,
    results: Path,
    parts: list[str],
    on_event: Callable[[dict[str, Any]], None],
) -> Outcome:
    """Run `pytest acceptance` in `repo`; `on_event` gets each progress event as it happens."""
    results.mkdir(parents=True, exist_ok=True)
    events, log = results / EVENTS_FILE, results / LOG_FILE
    verdict_file = results / contract.VERDICT_FILE
    for stale in (events, verdict_file):
        stale.unlink(missing_ok=True)
    command = [python, "-m", "pytest", contract.ACCEPTANCE_DIR, "--base-url", url,
               "--results", str(results), "--events", str(events), "-q", "--tb=short"]  # fmt: skip
    command += ["--stage", stage] if stage else []
    for part in parts:
        command += ["--part", part]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=repo, stdout=output, stderr=subprocess.STDOUT)
        try:
            _follow(process, events, on_event)
        finally:
            if process.poll() is None:  # interrupted: the suite stops with us
                process.terminate()
                process.wait(timeout=30)
    if not verdict_file.is_file():
        tail = " ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        raise UserError(
            f"the acceptance suite did not run (pytest exit {process.returncode}): {tail[-300:]}",
            f"see {log}",
        )
    return Outcome(json.loads(verdict_file.read_text()), results, log)


def _follow(
    process: subprocess.Popen[bytes], events: Path, on_event: Callable[[dict[str, Any]], None]
) -> None:
    read = 0
    while True:
        running = process.poll() is None
        if events.is_file():
            with events.open() as stream:
                stream.seek(read)
                while (line := stream.readline()).endswith("\n"):
                    read = stream.tell()
                    on_event(json.loads(line))
        if not running:
            return
        time.sleep(0.1)


def failures(verdict: dict[str, Any]) -> list[str]:
    """`part: test: message` for each failure of the verdict."""
    return [
        f"{name}: {failure['test']}: {failure['message']}"
        for name, part in (verdict.get("parts") or {}).items()
        for failure in part.get("failures") or []
    ]


def summary_words(repo: Path) -> Any:
    """The repo's own `acceptance/summary.py` (stdlib only): how its verdict's figures and
    thresholds read, so the terminal table and the job summary say the same, from one place."""
    import importlib.util

    path = repo / contract.ACCEPTANCE_DIR / "summary.py"
    spec = importlib.util.spec_from_file_location("acceptance_summary", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise UserError(
            f"{path} is missing: the acceptance suite cannot describe its verdict",
            "restore it (git checkout) or run bootstrap update",
        )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
