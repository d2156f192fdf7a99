"""The generated workflows, parsed: one image build, deploys by digest in lifecycle order through
the reusable deploy-stage.yml, the spec's manual stages, and the security rules (pins,
permissions, timeouts, no injection, no long-lived keys, no literal backend)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from tests.workflows import rules
from tests.workflows.conftest import CASES, Case

EXPECTED_FILES = {
    "build.yml",
    "deploy-stage.yml",
    "preview.yml",
    "promote.yml",
    "teardown.yml",
    "actions/setup-pulumi/action.yml",
}


@cache
def _load(repo: Path) -> rules.Workflows:
    return rules.Workflows.load(repo)


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest, rendered: dict[str, Path]) -> tuple[Case, rules.Workflows]:
    return request.param, _load(rendered[request.param.name])


def test_the_generated_files(case: tuple[Case, rules.Workflows]) -> None:
    _, flows = case
    assert set(flows.docs) == EXPECTED_FILES


def test_pins_match_actions_pins_json(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.pin_problems(case[1], rules.load_pins()) == []


def test_permissions_are_minimal(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.permission_problems(case[1]) == []


def test_every_job_has_a_timeout(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.timeout_problems(case[1]) == []


def test_no_injection_no_keys(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.injection_problems(case[1]) == []


def test_backend_comes_from_a_variable(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.backend_problems(flows, spec_case.spec()) == []


def test_deploys_are_never_cancelled(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.concurrency_problems(case[1]) == []


def test_exactly_one_image_build(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.image_build_problems(case[1]) == []


def test_deploy_chain_in_lifecycle_order(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.deploy_chain_problems(flows, spec_case.spec()) == []


def test_reusable_deploy(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.deploy_stage_problems(flows, spec_case.spec()) == []


def test_promote(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.promote_problems(flows, spec_case.spec()) == []


def test_teardown(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.teardown_problems(flows, spec_case.spec()) == []


def test_preview(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.preview_problems(flows, spec_case.spec()) == []


def test_manual_stages_are_the_specs(case: tuple[Case, rules.Workflows]) -> None:
    """Where the manual set shows: environment mode marks each deploy job (`manual:` input, job
    name) and GitHub's environment reviewers hold it; branch mode leaves manual stages (and what
    follows) to promote.yml; promote.yml knows the whole set."""
    spec_case, flows = case
    spec = spec_case.spec()
    manual = {s.name for s in spec.stages if s.manual}
    build_jobs = rules.jobs(flows.docs["build.yml"])
    marked = {
        job["with"]["stage"]
        for job in build_jobs.values()
        if rules.calls_deploy_stage(job) and job["with"]["manual"] is True
    }
    named = {
        job["with"]["stage"]
        for job in build_jobs.values()
        if rules.calls_deploy_stage(job) and job["name"].endswith("(manual)")
    }
    if spec.trust_subject == "environment":
        assert marked == named == manual
    else:
        assert marked == named == set()
        assert all(not spec.stage(s).manual for s in rules.chain_stages(spec))
    assert rules.promote_problems(flows, spec) == []


def test_critical_path_is_two_jobs(case: tuple[Case, rules.Workflows]) -> None:
    """Push on main -> first stage's smoke test: build (with lint and test beside it), then the
    first stage's deploy job, whose last step is the smoke test."""
    spec_case, flows = case
    if not rules.chain_stages(spec_case.spec()):
        # Branch mode with a manual first stage: build.yml only builds; promote.yml deploys.
        build_jobs = rules.jobs(flows.docs["build.yml"])
        assert not any(rules.calls_deploy_stage(job) for job in build_jobs.values())
        return
    path = rules.critical_path(flows)
    assert len(path) == 2, path
    assert path[0] in {"lint", "test", "build"}


def test_the_projects_copy_of_the_pins_matches_the_shared_file() -> None:
    copy = Path(__file__).with_name("actions-pins.json")
    if not rules.SHARED_PINS_FILE.is_file():
        pytest.skip("no ../shared/actions-pins.json beside this checkout to compare with")
    assert json.loads(copy.read_text()) == json.loads(rules.SHARED_PINS_FILE.read_text())
