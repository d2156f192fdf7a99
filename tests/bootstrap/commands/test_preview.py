"""`bootstrap preview`: the offline plan for every target (human and --json, --stage and --all),
the fallback when the Pulumi CLI is missing, and the real path through the recording seam.

Mock runs are the slow part: each target's repo is planned once per worker (module scope) and
`offline.plan_project` is served from that cache for the CLI runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootstrap import offline, planview
from bootstrap.cli import app
from bootstrap.repo import load_spec
from tests.bootstrap.conftest import one_line_error
from tests.fakes.stack_ops import RecordingOps, realistic_outputs

TARGETS = ("ecs", "eks", "lambda")
TOKEN = re.compile(r"^[a-zA-Z0-9-]+:[a-zA-Z0-9/._-]*:[A-Za-z0-9]+$")
SECRETISH = re.compile(r"password|passphrase|secret|token|private_?key", re.I)


@pytest.fixture(scope="module")
def planned(generated_repos: dict[str, Path]) -> dict[Path, dict[str, Any]]:
    """Every stack of every target's repo, planned once (the real offline plan)."""
    cache: dict[Path, dict[str, Any]] = {}
    for repo in generated_repos.values():
        spec = load_spec(repo)
        plans = offline.plan_project(repo, spec.name, spec.stacks)
        assert [p.stack for p in plans] == spec.stacks
        cache[repo.resolve()] = {p.stack: p for p in plans}
    return cache


@pytest.fixture
def cached_plans(
    planned: dict[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    def plan_project(repo: Path, project: str, stacks: list[str]) -> list[Any]:
        plans = planned[Path(repo).resolve()]
        return [plans[s] for s in stacks]

    monkeypatch.setattr(offline, "plan_project", plan_project)
    yield


def _invoke(repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["preview", *args, "--repo", str(repo)])


def _check_shape(data: dict[str, Any], project: str, stacks: list[str]) -> None:
    assert set(data) == {"ok", "project", "stacks", "cost", "warnings"} and data["project"] == project
    assert [s["stage"] for s in data["cost"]["stages"]] == stacks
    assert data["ok"] is True and data["warnings"] == []  # the generated settings are sound
    assert [s["stack"] for s in data["stacks"]] == stacks
    for stack in data["stacks"]:
        assert set(stack) == {"stack", "resources", "outputs", "warnings"}
        assert isinstance(stack["outputs"], dict)
        assert all(isinstance(w, str) and w for w in stack["warnings"])
        assert stack["resources"], f"{stack['stack']} plans no resources"
        urns = set()
        for resource in stack["resources"]:
            assert set(resource) == {"type", "name", "parent", "inputs"}
            assert TOKEN.match(resource["type"]), resource["type"]
            assert isinstance(resource["name"], str) and resource["name"]
            assert resource["parent"] is None or resource["parent"].startswith("urn:pulumi:")
            assert isinstance(resource["inputs"], dict)
            urns.add(resource["parent"])
        _check_masked(stack)


def _check_masked(value: Any, key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_masked(v, str(k))
    elif isinstance(value, list):
        for v in value:
            _check_masked(v, key)
    elif isinstance(value, str) and value and SECRETISH.search(key):
        assert value == "[secret]", (key, value)


@pytest.mark.parametrize("target", TARGETS)
def test_offline_all_json(target: str, generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    repo = generated_repos[target]
    spec = load_spec(repo)
    result = _invoke(repo, "--offline", "--all", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    _check_shape(data, "shop", ["shared", "dev", "test", "prod"])
    by_stack = {s["stack"]: s for s in data["stacks"]}
    # the same data the planner made, in the stable order
    expected = planview.plan_json(spec.name, offline.plan_project(repo, spec.name, spec.stacks))
    assert {"project": data["project"], "stacks": data["stacks"]} == json.loads(
        json.dumps(expected, default=str)
    )
    types = {r["type"] for r in by_stack["dev"]["resources"]}
    marker = {"ecs": "aws:ecs/", "eks": "aws:eks/", "lambda": "aws:lambda/"}[target]
    assert any(t.startswith(marker) for t in types), sorted(types)
    assert any(
        t.startswith("aws:ecr/") for r in by_stack["shared"]["resources"] for t in [r["type"]]
    )


@pytest.mark.parametrize("target", TARGETS)
def test_offline_stage_json(target: str, generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    result = _invoke(generated_repos[target], "--offline", "--stage", "prod", "--json")
    assert result.exit_code == 0, result.output
    _check_shape(json.loads(result.stdout), "shop", ["prod"])


@pytest.mark.parametrize("target", TARGETS)
def test_offline_all_human(target: str, generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    result = _invoke(generated_repos[target], "--offline", "--all")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Offline plan of shop")
    for stack in ("shared", "dev", "test", "prod"):
        assert re.search(rf"^{stack}  \d+ resources", out, re.M), stack
    assert "Differences between stages:" in out
    assert "test vs dev" in out and "prod vs dev" in out
    assert "[secret]" in out or "secret" not in out.lower()


@pytest.mark.parametrize("target", TARGETS)
def test_offline_stage_human(target: str, generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    result = _invoke(generated_repos[target], "--offline", "--stage", "dev")
    assert result.exit_code == 0, result.output
    assert re.search(r"^dev  \d+ resources", result.stdout, re.M)
    assert not re.search(r"^shared  ", result.stdout, re.M)  # planned for its outputs, not shown
    assert "Differences between stages" not in result.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_each_stage_has_its_monthly_figure_and_difference(target: str, generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    from bootstrap.cost import estimate, stage_differences
    from bootstrap.cost.report import cents

    repo = generated_repos[target]
    spec = load_spec(repo)
    report = estimate(
        offline.plan_project(repo, spec.name, spec.stacks),
        region=spec.region, lifecycle=spec.stage_names, project=spec.name,
    )  # fmt: skip
    cost = json.loads(_invoke(repo, "--offline", "--all", "--json").stdout)["cost"]
    assert cost["currency"] == "USD" and cost["prices"]["region"] == spec.region
    figures = {s["stage"]: s["monthly"] for s in cost["stages"]}
    assert figures == {s.stage: cents(s.monthly) for s in report.stages}
    assert figures["prod"] > figures["dev"] > 0  # production is bigger in every target
    assert cost["total"] == cents(report.total)
    prod = cost["differences"][-1]
    assert (prod["stage"], prod["base"]) == ("prod", "test")
    assert abs(prod["monthly"] - (figures["prod"] - figures["test"])) <= 0.011  # rounded apart
    assert prod["line"] == stage_differences(report)[-1].line()

    text = _invoke(repo, "--offline", "--all").stdout
    assert "Estimated monthly cost (USD" in text
    for stage, monthly in figures.items():
        assert re.search(rf"^  {stage}: \${monthly:,.2f}/month", text, re.M), stage
    assert re.search(r"^  prod: \+\$[\d,]+\.\d\d/month over test \(", text, re.M)


def test_one_stage_has_no_difference(generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    cost = json.loads(_invoke(generated_repos["lambda"], "--offline", "--stage", "dev", "--json").stdout)["cost"]
    assert [s["stage"] for s in cost["stages"]] == ["dev"] and cost["differences"] == []


def test_missing_cli_falls_back_to_offline_in_one_line(generated_repos, cached_plans) -> None:  # type: ignore[no-untyped-def]
    result = _invoke(generated_repos["ecs"], "--stage", "shared", "--json")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "Pulumi CLI not found" in line]
    assert len(notes) == 1 and "get.pulumi.com" in notes[0]
    _check_shape(json.loads(result.stdout), "shop", ["shared"])


def test_order_is_stable_across_runs(generated_repos, planned) -> None:  # type: ignore[no-untyped-def]
    repo = generated_repos["ecs"]
    earlier = planned[repo.resolve()]["dev"]
    (again,) = offline.plan_project(repo, "shop", ["dev"])  # a fresh run, resources reshuffled
    again.resources.reverse()
    assert planview.plan_json("shop", [again]) == planview.plan_json("shop", [earlier])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--stage", "qa"), "unknown stage 'qa'"),
        (("--stage", "dev", "--all"), "exclude each other"),
    ],
)
def test_bad_input_is_one_line(generated_repos, args, needle) -> None:  # type: ignore[no-untyped-def]
    result = _invoke(generated_repos["ecs"], "--offline", *args)
    assert result.exit_code == 2
    assert needle in one_line_error(result)


def test_the_programs_warnings_reach_the_user(generated_repos, planned, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = generated_repos["ecs"]
    plans = planned[repo.resolve()]
    dev = replace(plans["dev"], messages=[*plans["dev"].messages, "warning: the program says so"])
    monkeypatch.setattr(offline, "plan_project", lambda *_: [plans["shared"], dev])
    text = _invoke(repo, "--offline", "--stage", "dev")
    assert text.exit_code == 0, text.output
    assert "! dev: the program says so" in text.stderr
    data = json.loads(_invoke(repo, "--offline", "--stage", "dev", "--json").stdout)
    assert "the program says so" in data["stacks"][0]["warnings"]


def _broken(repo_copy) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the ECS repo with a bad setting in every stage and none in shared."""
    repo = repo_copy("ecs")
    for stage, old, new in (
        ("dev", "shop:cpu:", "shop:cpus:"),
        ("test", "shop:memory: 512", "shop:memory: 3000"),
        ("prod", "aws:region: eu-west-1", "aws:region: eu-west-9"),
    ):
        path = repo / "infra" / f"Pulumi.{stage}.yaml"
        path.write_text(path.read_text().replace(old, new))
    return repo


def _no_plans(*_: object) -> None:
    raise AssertionError("nothing may be planned while a setting is bad")


@pytest.mark.parametrize("offline_plan", [True, False])
def test_every_broken_stack_is_reported_before_anything_runs(repo_copy, monkeypatch, offline_plan) -> None:  # type: ignore[no-untyped-def]
    from bootstrap import lifecycle

    monkeypatch.setattr(offline, "plan_project", _no_plans)
    monkeypatch.setattr(lifecycle, "preview_stacks", _no_plans)
    repo = _broken(repo_copy)
    result = _invoke(repo, "--all", *(["--offline"] if offline_plan else []))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: infra/Pulumi.dev.yaml: shop:cpus:")
    assert lines[1].startswith("infra/Pulumi.test.yaml: shop:memory: cpu 256 with memory 3000")
    assert lines[2].startswith("infra/Pulumi.prod.yaml: aws:region: 'eu-west-9' is not an AWS region")
    envelope = json.loads(_invoke(repo, "--all", "--offline", "--json").stdout)
    assert envelope["ok"] is False and envelope["error"]["code"] == 2
    assert envelope["error"]["message"].count("\n") == 2


def test_every_stack_the_program_fails_is_named(generated_repos, planned, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = generated_repos["lambda"]
    plans = planned[repo.resolve()]

    def plan_project(_repo: Path, _project: str, stacks: list[str]) -> list[Any]:
        broken = [s for s in stacks if s in ("test", "prod")]
        if broken:
            raise offline.PlanError(f"stack '{broken[0]}': the program failed", "fix infra/")
        return [plans[s] for s in stacks]

    monkeypatch.setattr(offline, "plan_project", plan_project)
    result = _invoke(repo, "--offline", "--all")
    assert result.exit_code == 1, result.output
    assert "2 stacks failed to plan:" in result.stderr
    assert "test: stack 'test': the program failed: fix infra/" in result.stderr
    assert "prod: stack 'prod': the program failed: fix infra/" in result.stderr


def test_a_real_previews_warnings_are_kept_from_the_engine_events() -> None:
    from pulumi.automation import events

    from bootstrap.automation import EngineProgress

    def diagnostic(severity: str, message: str, ephemeral: bool = False) -> events.EngineEvent:
        found = events.DiagnosticEvent(message, "never", severity, ephemeral=ephemeral)
        return events.EngineEvent(1, 0, diagnostic_event=found)

    progress = EngineProgress("dev", "preview")
    progress.on_event(diagnostic("warning", "<{%reset%}>shop:image is not set<{%reset%}>\n"))
    progress.on_event(diagnostic("info", "just saying"))
    progress.on_event(diagnostic("warning", "spinner", ephemeral=True))
    assert progress.messages == ["shop:image is not set"]


def test_not_a_generated_repo(tmp_path: Path) -> None:
    result = _invoke(tmp_path, "--offline")
    assert result.exit_code == 2
    assert "not a repository generated by bootstrap" in one_line_error(result)


# --- the real path, through the recording seam ---------------------------------------------------


def test_real_preview_skips_stages_until_shared_is_deployed(seam, aws) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("preview", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["stack"] for s in data["stacks"]] == ["shared"]
    assert "dev: skipped, it reads shared's outputs" in result.stderr
    assert seam.ops.writes == []  # a preview changes nothing

    only_stage = seam.run("preview", "--stage", "dev")
    assert only_stage.exit_code == 1
    assert "bootstrap up --stage shared" in one_line_error(only_stage)


def test_real_preview_of_every_stack(seam, aws) -> None:  # type: ignore[no-untyped-def]
    seam.ops.deploy("shared")
    result = seam.run("preview", "--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Preview of shop (local state in ")
    assert re.search(r"^shared  \(\d+ unchanged\)", result.stdout, re.M)
    assert re.search(r"^prod  \(\d+ to create\)", result.stdout, re.M)
    assert re.search(r"^  prod: \$[\d,.]+/month", result.stdout, re.M)  # priced like offline
    assert [c for c in seam.ops.calls if c[0] == "preview"] == [
        ("preview", s) for s in ("shared", "dev", "test", "prod")
    ]


def test_a_real_preview_runs_every_stack_and_reports_every_failure(seam, aws) -> None:  # type: ignore[no-untyped-def]
    seam.ops.deploy("shared")
    seam.ops.fail("preview", "dev")
    seam.ops.fail("preview", "prod")
    result = seam.run("preview", "--all")
    assert result.exit_code == 6, result.output
    assert [c for c in seam.ops.calls if c[0] == "preview"] == [
        ("preview", s) for s in ("shared", "dev", "test", "prod")
    ]
    assert "error: 2 stacks failed to preview:" in result.stderr
    assert "dev: pulumi preview of stack 'dev' failed" in result.stderr
    assert "prod: pulumi preview of stack 'prod' failed" in result.stderr
    assert "previewed test" in result.stderr


def test_real_preview_needs_aws_credentials(seam) -> None:  # type: ignore[no-untyped-def]
    result = seam.run("preview", "--stage", "shared")
    assert result.exit_code == 5
    assert "no AWS credentials found" in one_line_error(result)


def test_recording_ops_round_trip(tmp_path: Path) -> None:
    from tests.conftest import make_spec

    spec = make_spec()
    ops = RecordingOps(spec).deploy("shared", "dev")
    ops.save(tmp_path / "state.json")
    again = RecordingOps(spec).load(tmp_path / "state.json")
    assert again.outputs("dev") == ops.outputs("dev") and again.exists("shared")
    assert realistic_outputs(spec, "shared", account="1" * 12)["repositoryArn"] == (
        "arn:aws:ecr:eu-west-1:111111111111:repository/shop"
    )
