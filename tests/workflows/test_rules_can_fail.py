"""Each rule of rules.py, broken on purpose in a copy of a generated repo's workflows, reports the
break: a rule that cannot fail proves nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.workflows import rules
from tests.workflows.conftest import CASES, Case

ENV_CASE = next(c for c in CASES if c.name == "ecs5e")  # 5 stages, manual qa-eu and prod
BRANCH_CASE = next(c for c in CASES if c.name == "ecs3b")  # dev, test auto; prod manual

Mutation = Callable[[rules.Workflows], None]


def job(flows: rules.Workflows, name: str, job_id: str) -> dict[str, Any]:
    return flows.docs[name]["jobs"][job_id]


def step(flows: rules.Workflows, name: str, job_id: str, step_id: str) -> dict[str, Any]:
    return next(s for s in job(flows, name, job_id)["steps"] if s.get("id") == step_id)


def text(flows: rules.Workflows, name: str, old: str, new: str) -> None:
    assert old in flows.texts[name]
    flows.texts[name] = flows.texts[name].replace(old, new, 1)


def remove_smoke(flows: rules.Workflows) -> None:
    steps = job(flows, "deploy-stage.yml", "deploy")["steps"]
    steps[:] = [s for s in steps if "/health" not in (s.get("run") or "")]


def step_after_smoke_can_fail(flows: rules.Workflows) -> None:
    steps = job(flows, "deploy-stage.yml", "deploy")["steps"]
    steps[-1].pop("continue-on-error", None)  # the release marking after the smoke test


def second_build(flows: rules.Workflows) -> None:
    build_step = next(
        s
        for s in job(flows, "build.yml", "build")["steps"]
        if str(s.get("uses", "")).startswith(rules.BUILD_ACTION)
    )
    job(flows, "deploy-stage.yml", "deploy")["steps"].append(copy.deepcopy(build_step))


def extra_job_before_deploy(flows: rules.Workflows) -> None:
    jobs = flows.docs["build.yml"]["jobs"]
    jobs["scan"] = {"needs": "build", "runs-on": "ubuntu-latest", "timeout-minutes": 5}
    jobs["deploy-dev"]["needs"] = ["lint", "test", "build", "scan"]


PIN_SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"
ENV_BREAKS: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation, rule, expected problem)
    (
        "other-sha",
        lambda f: text(f, "build.yml", PIN_SHA, "0" * 40),
        "pin",
        "is not the pinned SHA",
    ),
    (
        "tag-ref",
        lambda f: text(f, "build.yml", f"{PIN_SHA} # v7.0.1", "v7"),
        "pin",
        "not pinned to a full commit SHA",
    ),
    (
        "wrong-comment",
        lambda f: text(f, "build.yml", "# v7.0.1", "# v7"),
        "pin",
        "should name the tag",
    ),
    (
        "unknown-action",
        lambda f: text(f, "build.yml", "actions/checkout@", "evil/checkout@"),
        "pin",
        "not in actions-pins.json",
    ),
    (
        "workflow-write-all",
        lambda f: f.docs["build.yml"].update(permissions="write-all"),
        "permissions",
        "workflow permissions",
    ),
    (
        "id-token-on-lint",
        lambda f: job(f, "build.yml", "lint")["permissions"].update({"id-token": "write"}),
        "permissions",
        "assumes no AWS role",
    ),
    (
        "no-job-permissions",
        lambda f: job(f, "build.yml", "test").pop("permissions"),
        "permissions",
        "no explicit permissions",
    ),
    (
        "contents-write",
        lambda f: job(f, "build.yml", "build")["permissions"].update(contents="write"),
        "permissions",
        "contents: write is not allowed",
    ),
    (
        "pr-write-with-code",
        lambda f: job(f, "build.yml", "build")["permissions"].update({"pull-requests": "write"}),
        "permissions",
        "pull-requests: write next to actions",
    ),
    (
        "no-timeout",
        lambda f: job(f, "deploy-stage.yml", "deploy").pop("timeout-minutes"),
        "timeouts",
        "timeout-minutes missing",
    ),
    (
        "huge-timeout",
        lambda f: job(f, "build.yml", "lint").update({"timeout-minutes": 600}),
        "timeouts",
        "timeout-minutes missing or not in",
    ),
    (
        "expression-in-run",
        lambda f: step(f, "promote.yml", "resolve", "check").update(
            run='echo "${{ inputs.stage }}"'
        ),
        "injection",
        "an expression inside run:",
    ),
    (
        "access-key",
        lambda f: text(f, "build.yml", "role-to-assume:", "aws-access-key-id:"),
        "injection",
        "aws-access-key-id",
    ),
    (
        "pull-request-target",
        lambda f: f.docs["preview.yml"].update({"on": {"pull_request_target": None}}),
        "injection",
        "triggered by pull_request_target",
    ),
    (
        "literal-backend-input",
        lambda f: next(
            s
            for s in job(f, "deploy-stage.yml", "deploy")["steps"]
            if s.get("uses") == "$/.github/actions/setup-pulumi"
        )["with"].update({"backend-url": "s3://bucket"}),
        "backend",
        "backend-url must be vars.PULUMI_BACKEND_URL",
    ),
    (
        "literal-backend-text",
        lambda f: text(
            f, "teardown.yml", "name: teardown", "name: teardown s3://acme-pulumi-state"
        ),
        "backend",
        "written literally",
    ),
    (
        "cancel-deploy",
        lambda f: job(f, "deploy-stage.yml", "deploy")["concurrency"].update(
            {"cancel-in-progress": True}
        ),
        "concurrency",
        "cancel-in-progress must be false",
    ),
    (
        "cancel-main-builds",
        lambda f: f.docs["build.yml"]["concurrency"].update({"cancel-in-progress": True}),
        "concurrency",
        "only pull request runs",
    ),
    (
        "global-deploy-lock",
        lambda f: job(f, "deploy-stage.yml", "deploy")["concurrency"].update(group="deploy"),
        "concurrency",
        "lock deploy-<stage>",
    ),
    ("second-build", second_build, "image", "must be built once"),
    (
        "docker-build-in-script",
        lambda f: step(f, "deploy-stage.yml", "deploy", "up").update(run="docker build -t x ."),
        "image",
        "builds or pushes an image in a script",
    ),
    (
        "push-on-prs",
        lambda f: next(s for s in job(f, "build.yml", "build")["steps"] if s.get("id") == "image")[
            "with"
        ].update(push=True),
        "image",
        "push must follow the plan",
    ),
    (
        "tag-not-sha",
        lambda f: step(f, "build.yml", "build", "plan")["env"].update(SHA="latest"),
        "image",
        "must be the commit SHA",
    ),
    (
        "skip-a-stage",
        lambda f: job(f, "build.yml", "deploy-pre-prod").update(needs=["build", "deploy-qa-eu"]),
        "chain",
        "deploy-pre-prod: needs",
    ),
    (
        "deploy-by-sha",
        lambda f: job(f, "build.yml", "deploy-staging")["with"].update(digest="${{ github.sha }}"),
        "chain",
        "must deploy the build's digest",
    ),
    (
        "manual-flip",
        lambda f: job(f, "build.yml", "deploy-prod")["with"].update(manual=False),
        "chain",
        "manual is False",
    ),
    (
        "missing-stage",
        lambda f: f.docs["build.yml"]["jobs"].pop("deploy-prod"),
        "chain",
        "expected the stages",
    ),
    (
        "first-deploy-on-prs",
        lambda f: job(f, "build.yml", "deploy-dev").pop("if"),
        "chain",
        "must run on main only",
    ),
    (
        "no-environment",
        lambda f: job(f, "deploy-stage.yml", "deploy").pop("environment"),
        "deploy-stage",
        "environment: <stage>",
    ),
    (
        "repo-role-in-env-mode",
        lambda f: step(f, "deploy-stage.yml", "deploy", "check")["env"].update(
            AWS_DEPLOY_ROLE_ARN_DEV="${{ vars.AWS_DEPLOY_ROLE_ARN_DEV }}"
        ),
        "deploy-stage",
        "role variables",
    ),
    (
        "image-by-tag",
        lambda f: step(f, "deploy-stage.yml", "deploy", "check").update(
            run=step(f, "deploy-stage.yml", "deploy", "check")["run"].replace(
                "$REPOSITORY_URL@$DIGEST", "$REPOSITORY_URL:$DIGEST"
            )
        ),
        "deploy-stage",
        "REPOSITORY_URL@DIGEST",
    ),
    (
        "no-digest-check",
        lambda f: step(f, "deploy-stage.yml", "deploy", "check").update(
            run=step(f, "deploy-stage.yml", "deploy", "check")["run"].replace(
                "grep -Eqx", "grep -Eq"
            )
        ),
        "deploy-stage",
        "validated as sha256",
    ),
    ("no-smoke-test", remove_smoke, "deploy-stage", "smoke test"),
    ("fallible-step-after-smoke", step_after_smoke_can_fail, "deploy-stage", "last step that can fail"),
    (
        "promote-manual-set",
        lambda f: f.docs["promote.yml"]["jobs"]["deploy"]["with"].update(
            manual="${{ contains(fromJSON('[\"prod\"]'), inputs.stage) }}"
        ),
        "promote",
        "manual stages",
    ),
    (
        "promote-options",
        lambda f: f.docs["promote.yml"]["on"]["workflow_dispatch"]["inputs"]["stage"].update(
            options=["dev", "prod"]
        ),
        "promote",
        "choice of the stages",
    ),
    (
        "promote-previous",
        lambda f: step(f, "promote.yml", "resolve", "check").update(
            run=step(f, "promote.yml", "resolve", "check")["run"].replace(
                'prod) previous="pre-prod"', 'prod) previous="dev"'
            )
        ),
        "promote",
        "the stage before prod",
    ),
    (
        "teardown-unconfirmed",
        lambda f: job(f, "teardown.yml", "confirm")["steps"][0].update(run="true"),
        "teardown",
        "must equal the stage name",
    ),
    (
        "teardown-no-environment",
        lambda f: job(f, "teardown.yml", "destroy").pop("environment"),
        "teardown",
        "stage's environment",
    ),
    (
        "preview-writes",
        lambda f: job(f, "preview.yml", "preview")["permissions"].update(
            {"pull-requests": "write"}
        ),
        "preview",
        "only the comment job",
    ),
    (
        "preview-stacks",
        lambda f: step(f, "preview.yml", "preview", "preview")["env"].update(STACKS="shared dev"),
        "preview",
        "previews",
    ),
    ("preview-forks", lambda f: job(f, "preview.yml", "preview").pop("if"), "preview", "forks"),
]

BRANCH_BREAKS: list[tuple[str, Mutation, str, str]] = [
    (
        "manual-stage-in-chain",
        lambda f: f.docs["build.yml"]["jobs"].update(
            {
                "deploy-prod": {
                    **copy.deepcopy(job(f, "build.yml", "deploy-test")),
                    "needs": ["build", "deploy-test"],
                    "with": {
                        "stage": "prod",
                        "digest": "${{ needs.build.outputs.digest }}",
                        "manual": True,
                    },
                }
            }
        ),
        "chain",
        "expected the stages",
    ),
    (
        "environment-in-branch-mode",
        lambda f: job(f, "deploy-stage.yml", "deploy").update(
            environment={"name": "${{ inputs.stage }}"}
        ),
        "deploy-stage",
        "no GitHub environments",
    ),
    (
        "missing-stage-role",
        lambda f: step(f, "deploy-stage.yml", "deploy", "check")["env"].pop(
            "AWS_DEPLOY_ROLE_ARN_TEST"
        ),
        "deploy-stage",
        "role variables",
    ),
    (
        "no-manual-guard",
        lambda f: step(f, "deploy-stage.yml", "deploy", "check").update(
            run=step(f, "deploy-stage.yml", "deploy", "check")["run"].replace(
                "workflow_dispatch", "push"
            )
        ),
        "deploy-stage",
        "refuses manual stages",
    ),
]


def _check(rule: str, flows: rules.Workflows, case: Case) -> list[str]:
    spec = case.spec()
    by_name: dict[str, Callable[[], list[str]]] = {
        "pin": lambda: rules.pin_problems(flows, rules.load_pins()),
        "permissions": lambda: rules.permission_problems(flows),
        "timeouts": lambda: rules.timeout_problems(flows),
        "injection": lambda: rules.injection_problems(flows),
        "backend": lambda: rules.backend_problems(flows, spec),
        "concurrency": lambda: rules.concurrency_problems(flows),
        "image": lambda: rules.image_build_problems(flows),
        "chain": lambda: rules.deploy_chain_problems(flows, spec),
        "deploy-stage": lambda: rules.deploy_stage_problems(flows, spec),
        "promote": lambda: rules.promote_problems(flows, spec),
        "teardown": lambda: rules.teardown_problems(flows, spec),
        "preview": lambda: rules.preview_problems(flows, spec),
    }
    return by_name[rule]()


def _break(
    rendered: dict[str, Path], case: Case, mutate: Mutation, rule: str, expected: str
) -> None:
    pristine = rules.Workflows.load(rendered[case.name])
    assert _check(rule, pristine, case) == []
    broken = copy.deepcopy(pristine)
    for doc in broken.docs.values():  # PyYAML reads `on:` as True; let mutations say "on"
        if True in doc:
            doc["on"] = doc.pop(True)
    mutate(broken)
    problems = _check(rule, broken, case)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("mutate", "rule", "expected"), [b[1:] for b in ENV_BREAKS], ids=[b[0] for b in ENV_BREAKS]
)
def test_rule_reports_a_break(
    rendered: dict[str, Path], mutate: Mutation, rule: str, expected: str
) -> None:
    _break(rendered, ENV_CASE, mutate, rule, expected)


@pytest.mark.parametrize(
    ("mutate", "rule", "expected"),
    [b[1:] for b in BRANCH_BREAKS],
    ids=[b[0] for b in BRANCH_BREAKS],
)
def test_branch_rule_reports_a_break(
    rendered: dict[str, Path], mutate: Mutation, rule: str, expected: str
) -> None:
    _break(rendered, BRANCH_CASE, mutate, rule, expected)


def test_critical_path_counts_jobs(rendered: dict[str, Path]) -> None:
    flows = rules.Workflows.load(rendered[ENV_CASE.name])
    assert len(rules.critical_path(flows)) == 2
    broken = copy.deepcopy(flows)
    extra_job_before_deploy(broken)
    assert rules.critical_path(broken) == ["build", "scan", "deploy-dev → deploy-stage.yml/deploy"]
