"""The generated repo's acceptance suite against its app served for real: it passes through
`bootstrap verify --url` for every target's repo (one run: every target's app and suite are byte
for byte the same, which a test here keeps true), and planted regressions make it fail with a
message naming the cause.

Every run uses this interpreter (it has the repo's `app[acceptance]` packages through the
project's test extras), so nothing is installed per target; the fresh-venv install of
`app[test,acceptance]` is tests/templates/test_generated_service.py's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootstrap.cli import app
from tests.templates.acceptance.served import RELEASE, quick_copy, serve, set_config

runner = CliRunner()


def verify(repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["verify", *args, "--repo", str(repo)])


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_target_serves_the_same_app_and_suite(generated_repos: dict[str, Path]) -> None:
    # The suite runs against one target's app below: it speaks for the others only while their
    # app and acceptance suite are byte for byte the same (the deploy target is infra's concern).
    for part in ("app", "acceptance"):
        trees = {target: tree(repo / part) for target, repo in generated_repos.items()}
        assert trees["ecs"], part
        assert all(t == trees["ecs"] for t in trees.values()), part


@pytest.mark.slow
def test_the_suite_passes_against_the_app_of_every_target(
    generated_repos: dict[str, Path], tmp_path: Path
) -> None:
    repo = quick_copy(generated_repos["ecs"], tmp_path / "ecs" / "shop")
    with serve(repo) as url:
        result = verify(repo, "--url", url, "--stage", "dev", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["passed"] is True
    verdict = document["verdict"]
    assert verdict["passed"] and verdict["complete"] and verdict["error"] is None
    assert verdict["release"] == RELEASE and verdict["stage"] == "dev"
    assert {name: part["status"] for name, part in verdict["parts"].items()} == {
        "behaviour": "passed", "contract": "passed", "performance": "passed",
    }  # fmt: skip
    contract, performance = verdict["parts"]["contract"], verdict["parts"]["performance"]
    assert contract["figures"]["operations"] == 4 and contract["figures"]["requests"] >= 4
    assert contract["thresholds"] == {"examples": 15, "seconds": 60}  # the file's, the default's
    assert performance["figures"]["requests"] > 0 and performance["figures"]["seconds"] == 1
    assert performance["thresholds"] == {"p95_ms": 2000, "error_rate": 1.0, "min_rps": 5.0}
    assert verdict["settings"]["sources"]["p95_ms"] == "shop:acceptanceP95Ms in infra/Pulumi.dev.yaml"
    assert verdict["settings"]["sources"]["min_rps"].endswith("the default in infra/Pulumi.yaml")

    results = repo / "acceptance" / "results"
    assert json.loads((results / "verdict.json").read_text()) == verdict
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "acceptance"
    assert (int(suite.get("tests", 0)), int(suite.get("failures", 0))) == (10, 0)
    summary = (results / "summary.md").read_text()
    assert "| performance | ✅ passed | 1 |" in summary and RELEASE in summary


# What each planted regression changes in the app, the part that catches it, and what the
# failure message must name.
REGRESSIONS = {
    "wrong status code": (
        [('@app.post("/items", status_code=201', '@app.post("/items", status_code=200')],
        "behaviour",
        r"POST /items answered 200, expected 201",
    ),
    "response breaks the schema": (
        [("        return item\n\n    @app.post",
          "        from fastapi.responses import JSONResponse\n\n"
          "        return JSONResponse({'id': item.id, 'name': item.name})  # type: ignore\n\n"
          "    @app.post")],
        "contract",
        r"test_operation\[GET /items/\{item_id\}\]: Response violates schema \(.price. is a "
        r"required property\).*reproduce: curl -X GET http://127\.0\.0\.1:\d+/items/\d+",
    ),
    "server error on an edge input": (
        [("        item = store.create(data)\n",
          "        item = store.create(data)\n        _ = 100 / data.price\n")],
        "contract",
        r"test_operation\[POST /items\]: .*Server error.*answered \[500\].*reproduce: curl -X POST",
    ),
    "endpoint slowed past the threshold": (
        [("        item = store.get(item_id)\n",
          "        time.sleep(0.5)\n        item = store.get(item_id)\n")],
        "performance",
        r"p95 latency \d+ ms is above the threshold 250 ms \(shop:acceptanceP95Ms in "
        r"infra/Pulumi\.dev\.yaml\); slowest: GET /items/\{item_id\} at p95 \d+ ms",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("regression", list(REGRESSIONS))
def test_a_planted_regression_fails_the_suite_naming_its_cause(
    generated_repos: dict[str, Path], tmp_path: Path, regression: str
) -> None:
    edits, part, cause = REGRESSIONS[regression]
    # Two seconds of load: enough reads of the slowed endpoint to set the p95.
    repo = quick_copy(generated_repos["ecs"], tmp_path / "shop", acceptanceP95Ms="250",
                      acceptanceLoadSeconds="2")  # fmt: skip
    main = repo / "app" / "src" / "service" / "main.py"
    text = main.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    main.write_text(text)
    with serve(repo) as url:
        result = verify(repo, "--url", url, "--stage", "dev", "--part", part, "--json")
    print(f"{regression}: {result.stderr.strip().splitlines()[-1]}")  # the report quotes these
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["passed"] is False
    assert document["verdict"]["parts"][part]["status"] == "failed"
    assert document["error"]["message"].startswith("the acceptance suite failed: ")
    assert re.search(cause, document["error"]["message"]), document["error"]["message"]
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "Traceback" not in result.output


def suite(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The suite on its own, as the repo's README runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance", *args],
        cwd=repo, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_on_its_own_the_suite_refuses_what_is_not_the_service(
    generated_repos: dict[str, Path], tmp_path: Path
) -> None:
    from tests.templates.acceptance.served import free_port

    repo = quick_copy(generated_repos["ecs"], tmp_path / "shop")
    closed = f"http://127.0.0.1:{free_port()}"
    done = suite(repo, "--base-url", closed, "--stage", "dev")
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert f"ERROR: {closed}/health cannot be reached" in done.stderr
    verdict = json.loads((repo / "acceptance/results/verdict.json").read_text())
    assert verdict["passed"] is False and "cannot be reached" in verdict["error"]
    assert {part["status"] for part in verdict["parts"].values()} == {"not run"}


def settings_of(repo: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "acceptance.settings", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_malformed_threshold_is_refused_with_its_file_and_key(
    generated_repos: dict[str, Path], tmp_path: Path
) -> None:
    """What the suite refuses before it starts (the same check stops `pulumi up`)."""
    repo = quick_copy(generated_repos["ecs"], tmp_path / "shop", acceptanceErrorRate="lots")
    done = subprocess.run(
        [sys.executable, "-m", "acceptance.settings", "--stage", "dev"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: infra/Pulumi.dev.yaml: shop:acceptanceErrorRate: 'lots' is not a number; "
        "set a number\n"
    )


def test_the_settings_say_which_stages_run_the_suite_after_a_deploy(
    generated_repos: dict[str, Path], tmp_path: Path
) -> None:
    repo = quick_copy(generated_repos["ecs"], tmp_path / "shop", stage="test", acceptanceRun="never")
    set_config(repo, "prod", acceptanceRun="always", acceptanceLoadSeconds="30")
    runs = {stage: settings_of(repo, "--stage", stage)["runs_after_deploy"] for stage in ("dev", "test", "prod")}
    assert runs == {"dev": True, "test": False, "prod": True}  # auto (before the manual prod)
    prod = settings_of(repo, "--stage", "prod")
    assert prod["load_seconds"] == 30 and prod["max_seconds"] == 60 + 30 + 60
    defaults = settings_of(repo)
    assert defaults["stage"] is None and defaults["runs_after_deploy"] is None
    assert defaults["p95_ms"] == 500 and defaults["run"] == "auto"


def test_the_suite_lints_clean_like_the_app(generated_repos: dict[str, Path]) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "check", "--no-cache", "acceptance"],
        cwd=generated_repos["lambda"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
