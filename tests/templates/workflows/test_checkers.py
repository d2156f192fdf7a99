"""Independent checkers over every rendered repo's workflows, one subprocess per checker for all
of them: actionlint, zizmor --offline (zero findings), the SchemaStore schemas through
check-jsonschema, and shellcheck over the workflow scripts. The renders include repositories on
GitHub Enterprise Server. Each checker is also shown to fail on a copy of a generated repo with
planted mistakes, so a checker that silently scans nothing cannot pass."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.templates.workflows.conftest import CASES

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    assert path, f"{name} is not installed (pip install -e '.[test]')"
    return path


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=cwd, timeout=120)


def workflow_files(rendered: dict[str, Path]) -> list[Path]:
    files = sorted(
        p for case in CASES for p in (rendered[case.name] / ".github/workflows").glob("*.yml")
    )
    assert len(files) == len(WORKFLOW_TEMPLATES) * len(CASES)
    return files


def script_files(rendered: dict[str, Path]) -> list[Path]:
    files = sorted(
        p for case in CASES for p in (rendered[case.name] / ".github/scripts").glob("*.sh")
    )
    assert len(files) == len(SCRIPT_TEMPLATES) * len(CASES)
    return files


# Every generated repo has each script of the template's scripts folder (`*.sh`, `*.sh.jinja`).
_SCRIPTS = Path(__file__).parents[3] / "templates/service/template/.github/scripts"
SCRIPT_TEMPLATES = sorted([*_SCRIPTS.glob("*.sh"), *_SCRIPTS.glob("*.sh.jinja")])
WORKFLOW_TEMPLATES = sorted((_SCRIPTS.parent / "workflows").glob("*.yml.jinja"))


def action_files(rendered: dict[str, Path]) -> list[Path]:
    files = sorted(
        p for case in CASES for p in (rendered[case.name] / ".github/actions").glob("*/action.yml")
    )
    assert len(files) == len(CASES)
    return files


def planted(rendered: dict[str, Path], tmp_path: Path, case: str = "ecs5e") -> Path:
    """A copy of one generated repo's .github with mistakes each checker must report."""
    canary = tmp_path / "canary"
    shutil.copytree(rendered[case], canary)  # with .git: actionlint finds the project by it
    if case != "ecs5e":
        return canary
    workflows = canary / ".github/workflows"
    swap(workflows / "build.yml", "      stage: dev\n", "      stagex: dev\n")  # unknown input
    swap(
        workflows / "build.yml",
        "run: ruff check app",
        'run: echo "${{ github.event.pull_request.title }}"',
    )  # untrusted input in a script
    swap(
        workflows / "deploy-stage.yml", "        with:\n          persist-credentials: false\n", ""
    )
    swap(
        workflows / "deploy-stage.yml",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "actions/checkout@v7",
    )
    swap(
        canary / ".github/scripts/deploy-up.sh",
        'select --create "$STACK"',
        "select --create $STACK",
    )
    return canary


def swap(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


# ---------------------------------------------------------------------------------- actionlint


def test_actionlint_passes(rendered: dict[str, Path]) -> None:
    files = workflow_files(rendered)
    done = run([tool("actionlint"), "-verbose", "-no-color", *map(str, files)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    checked = re.findall(r"Found total 0 errors in \d+ ms for (\S+)", done.stderr)
    assert {os.path.abspath(p) for p in checked} == {str(f) for f in files}
    # Each file inside its repository: what lets actionlint check calls of deploy-stage.yml and
    # of the local composite action against their definitions.
    projects = set(re.findall(r"Using project at (\S+)", done.stderr))
    assert projects == {str(rendered[case.name]) for case in CASES}


def test_actionlint_reports_planted_mistakes(rendered: dict[str, Path], tmp_path: Path) -> None:
    canary = planted(rendered, tmp_path)
    done = run(
        [
            tool("actionlint"),
            "-format",
            "{{json .}}",
            *map(str, canary.glob(".github/workflows/*.yml")),
        ]
    )
    assert done.returncode == 1, done.stderr
    kinds = {(Path(e["filepath"]).name, e["kind"]) for e in json.loads(done.stdout)}
    assert ("build.yml", "workflow-call") in kinds  # checks the call against deploy-stage.yml
    assert ("build.yml", "expression") in kinds  # untrusted input in a script


# ------------------------------------------------------------------------------------- zizmor


def zizmor(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return run(
        [
            tool("zizmor"),
            "--offline",
            "--strict-collection",
            "--no-progress",
            "--format",
            "json",
            *map(str, paths),
        ]
    )


def test_zizmor_has_no_findings(rendered: dict[str, Path]) -> None:
    repos = [rendered[case.name] for case in CASES]
    done = zizmor(repos)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []
    audited = set(re.findall(r"completed (\S+)", done.stderr))
    expected = {str(f) for f in workflow_files(rendered) + action_files(rendered)}
    assert audited == expected


def test_zizmor_reports_planted_mistakes(rendered: dict[str, Path], tmp_path: Path) -> None:
    canary = planted(rendered, tmp_path)
    done = zizmor([canary])
    assert done.returncode not in (0, 1, 2), done.stderr  # 10+: findings, not a crash
    found = {
        (Path(loc["symbolic"]["key"]["Local"]["verbatim_path"]).name, f["ident"])
        for f in json.loads(done.stdout)
        for loc in f["locations"]
        if loc["symbolic"]["kind"] == "Primary"
    }
    assert ("build.yml", "template-injection") in found
    assert ("deploy-stage.yml", "artipacked") in found
    assert ("deploy-stage.yml", "unpinned-uses") in found


def self_repository_findings(done: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        Path(loc["symbolic"]["key"]["Local"]["verbatim_path"]).name
        for f in json.loads(done.stdout)
        if f["ident"] == "self-repository"
        for loc in f["locations"]
        if loc["symbolic"]["kind"] == "Primary"
    }


def test_zizmor_asks_github_com_for_self_references(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    """On github.com, `./` references are a finding (`$/` resolves at the running commit)."""
    canary = planted(rendered, tmp_path, "ecs3e")
    for workflow in (canary / ".github/workflows").glob("*.yml"):
        workflow.write_text(workflow.read_text().replace("uses: $/", "uses: ./"))
    done = zizmor([canary])
    assert self_repository_findings(done) == {
        "build.yml",
        "deploy-stage.yml",
        "preview.yml",
        "promote.yml",
        "teardown.yml",
        "pr-env.yml",
        "pr-sweep.yml",
    }


def test_ghes_repos_switch_off_the_self_repository_audit(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    """GHES has no `$/`: its repos use `./`, which zizmor reports unless the repo's zizmor.yml
    switches that one audit off (and nothing else: the other findings still show)."""
    canary = planted(rendered, tmp_path, "ghes3e")
    (canary / ".github/zizmor.yml").unlink()
    assert "promote.yml" in self_repository_findings(zizmor([canary]))
    canary = planted(rendered, tmp_path / "again", "ghes3e")
    swap(
        canary / ".github/workflows/build.yml",
        "run: ruff check app",
        'run: echo "${{ github.head_ref }}"',
    )
    done = zizmor([canary])
    found = {f["ident"] for f in json.loads(done.stdout)}
    assert found == {"template-injection"}


# -------------------------------------------------------------------------------- shellcheck


def shellcheck(files: list[Path]) -> tuple[int, list[dict[str, object]]]:
    done = run([tool("shellcheck"), "--format", "json1", *map(str, files)])
    return done.returncode, json.loads(done.stdout)["comments"]


# The scripts differ between repos only where the spec does: spec.sh (its facts) and
# teardown-destroy.sh (each stage's foundation). The others are the same bytes in every repo, so
# one copy of them is checked (following `source` into that repo's lib.sh and spec.sh).
SPEC_DEPENDENT = ("spec.sh", "teardown-destroy.sh")


def test_shellcheck_passes(rendered: dict[str, Path]) -> None:
    """Each script with the .shellcheckrc beside it, which makes shellcheck follow `source`."""
    files = script_files(rendered)
    same = [f for f in files if f.name not in SPEC_DEPENDENT]
    by_name: dict[str, set[bytes]] = {}
    for file in same:
        by_name.setdefault(file.name, set()).add(file.read_bytes())
    assert all(len(contents) == 1 for contents in by_name.values()), "scripts differ by repo"
    first = rendered[CASES[0].name] / ".github/scripts"
    checked = [first / name for name in sorted(by_name)]
    checked += [f for f in files if f.name in SPEC_DEPENDENT]
    code, comments = shellcheck(checked)
    assert (code, comments) == (0, [])


def test_shellcheck_reports_planted_mistakes(rendered: dict[str, Path], tmp_path: Path) -> None:
    canary = planted(rendered, tmp_path)
    scripts = canary / ".github/scripts"
    swap(
        scripts / "lib.sh",
        '[ -n "$STAGE_ROLE" ] || fail "the repository',
        '[ -n $STAGE_ROLE ] || fail "the repository',
    )
    code, comments = shellcheck(sorted(scripts.glob("*.sh")))
    assert code == 1
    found = {(Path(str(c["file"])).name, c["code"]) for c in comments}
    assert ("deploy-up.sh", 2086) in found  # an unquoted variable
    assert ("lib.sh", 2070) in found  # -n on an unquoted variable is always true


# ----------------------------------------------------------------------------- JSON schemas


def jsonschema(schema: str, files: list[Path]) -> tuple[int, dict[str, object]]:
    done = run(
        [tool("check-jsonschema"), "-o", "json", "--builtin-schema", schema, *map(str, files)]
    )
    return done.returncode, json.loads(done.stdout)


def test_zizmor_refuses_what_it_cannot_parse(rendered: dict[str, Path], tmp_path: Path) -> None:
    """--strict-collection: an invalid workflow is an error, not a file silently skipped."""
    canary = planted(rendered, tmp_path)
    build = canary / ".github/workflows/build.yml"
    swap(build, "timeout-minutes: 10", "timeout-minutes: soon")
    done = zizmor([canary])
    assert done.returncode == 1
    assert "timeout-minutes" in done.stderr


def test_workflows_match_the_schema(rendered: dict[str, Path], tmp_path: Path) -> None:
    """All workflows in one call, with a planted invalid copy last: only the copy may fail."""
    canary = planted(rendered, tmp_path) / ".github/workflows/build.yml"
    swap(canary, "timeout-minutes: 10", "timeout-minutes: soon")
    files = workflow_files(rendered)
    code, report = jsonschema("vendor.github-workflows", [*files, canary])
    assert code == 1
    failed = {e["filename"] for e in report["errors"]} | {
        e["filename"] for e in report["parse_errors"]
    }
    assert failed == {str(canary)}, report


def test_composite_actions_match_the_schema(rendered: dict[str, Path], tmp_path: Path) -> None:
    canary = planted(rendered, tmp_path) / ".github/actions/setup-pulumi/action.yml"
    swap(canary, "using: composite", "using: compost")
    code, report = jsonschema("vendor.github-actions", [*action_files(rendered), canary])
    assert code == 1
    assert {e["filename"] for e in report["errors"]} == {str(canary)}, report
