"""The generated workflows, parsed: one image build, deploys by digest in lifecycle order through
the reusable deploy-stage.yml, the spec's manual stages, the security rules (pins, permissions,
timeouts, no injection, no long-lived keys, no literal backend), the shell in .github/scripts/,
the host (github.com or GitHub Enterprise Server), the contract's names, and registry tagging
done once, by the infra program's registry adapter."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from stacks import contract
from tests.conftest import REPO_ROOT
from tests.templates.workflows import rules
from tests.templates.workflows.conftest import CASES, Case

EXPECTED_FILES = {
    "build.yml",
    "deploy-stage.yml",
    "preview.yml",
    "promote.yml",
    "teardown.yml",
    "pr-env.yml",
    "pr-sweep.yml",
    "actions/setup-pulumi/action.yml",
}
EXPECTED_SCRIPTS = {
    "lib.sh",
    "spec.sh",
    "build-plan.sh",
    "build-publish.sh",
    "deploy-check.sh",
    "deploy-up.sh",
    "deploy-smoke-test.sh",
    "deploy-gates.sh",
    "deploy-acceptance.sh",
    "deploy-freeze-check.sh",
    "deploy-watch.sh",
    "deploy-rollback.sh",
    "deploy-verdict.sh",
    "deploy-shift-start.sh",
    "deploy-shift.sh",
    "promote-check.sh",
    "promote-resolve.sh",
    "teardown-confirm.sh",
    "teardown-check.sh",
    "teardown-destroy.sh",
    "preview-check.sh",
    "preview-run.sh",
    "pulumi-backend-check.sh",
    "pr-check.sh",
    "pr-gate.sh",
    "pr-deploy.sh",
    "pr-destroy.sh",
    "pr-sweep.sh",
    "pr-comment.sh",
}


@cache
def _load(repo: Path) -> rules.Workflows:
    return rules.Workflows.load(repo)


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest, rendered: dict[str, Path]) -> tuple[Case, rules.Workflows]:
    return request.param, _load(rendered[request.param.name])


def test_the_generated_files(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert set(flows.docs) == EXPECTED_FILES
    assert set(flows.scripts) == EXPECTED_SCRIPTS
    checkout = contract.local_uses(spec_case.issuer) == "./"  # zizmor's `$/` audit is off there
    others = {"scripts/.shellcheckrc"} | ({"zizmor.yml"} if checkout else set())
    assert set(flows.others) == others


def test_shell_lives_in_scripts(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.script_problems(case[1]) == []


def test_the_host_is_the_specs(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.host_problems(flows, spec_case.spec()) == []


def test_names_come_from_the_contract(case: tuple[Case, rules.Workflows]) -> None:
    spec_case, flows = case
    assert rules.contract_problems(flows, spec_case.spec()) == []


def test_registry_tagging_exists_once(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.registry_problems(case[1]) == []


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


def test_the_acceptance_stage_gates_and_records(case: tuple[Case, rules.Workflows]) -> None:
    assert rules.pipeline_problems(case[1]) == []


def test_the_gates_read_the_stage_befores_alarms_as_its_reader(
    case: tuple[Case, rules.Workflows],
) -> None:
    spec_case, flows = case
    assert rules.alarm_reader_problems(flows, spec_case.spec()) == []


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


def test_docs_list_every_aws_cli_call_with_its_iam_action(rendered: dict[str, Path]) -> None:
    """docs/workflows.md says which AWS calls each job makes; the scripts' AWS CLI calls are
    named there with the IAM action botocore's service model maps them to."""
    import botocore.session
    from botocore import xform_name

    calls = rules.aws_cli_calls(rules.Workflows.load(rendered["ecs3e"]))
    assert ("promote-resolve.sh", "ecr", "describe-images") in calls
    session = botocore.session.get_session()
    docs = (REPO_ROOT / "docs" / "workflows.md").read_text()
    for _, service, command in calls:
        model = session.get_service_model(service)
        (operation,) = [o for o in model.operation_names if xform_name(o, "-") == command]
        named = f"`aws {service} {command}` → `{model.signing_name}:{operation}`"
        assert named in docs, named


def test_the_projects_copy_of_the_pins_matches_the_shared_file() -> None:
    copy = Path(__file__).with_name("actions-pins.json")
    if not rules.SHARED_PINS_FILE.is_file():
        pytest.skip("no ../shared/actions-pins.json beside this checkout to compare with")
    assert json.loads(copy.read_text()) == json.loads(rules.SHARED_PINS_FILE.read_text())
