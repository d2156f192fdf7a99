"""Each rule of rules.py, broken on purpose in a copy of a generated repo's workflows, reports the
break: a rule that cannot fail proves nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.templates.workflows import rules
from tests.templates.workflows.conftest import CASES, Case

ENV_CASE = next(c for c in CASES if c.name == "ecs5e")  # 5 stages, manual qa-eu and prod
BRANCH_CASE = next(c for c in CASES if c.name == "ecs3b")  # dev, test auto; prod manual
GHES_CASE = next(c for c in CASES if c.name == "ghes3e")  # GitHub Enterprise Server

Mutation = Callable[[rules.Workflows], None]


def job(flows: rules.Workflows, name: str, job_id: str) -> dict[str, Any]:
    return flows.docs[name]["jobs"][job_id]


def step(flows: rules.Workflows, name: str, job_id: str, step_id: str) -> dict[str, Any]:
    return next(s for s in job(flows, name, job_id)["steps"] if s.get("id") == step_id)


def named(flows: rules.Workflows, name: str, job_id: str, step_name: str) -> dict[str, Any]:
    return next(s for s in job(flows, name, job_id)["steps"] if s.get("name") == step_name)


def text(flows: rules.Workflows, name: str, old: str, new: str) -> None:
    assert old in flows.texts[name]
    flows.texts[name] = flows.texts[name].replace(old, new, 1)


def script(flows: rules.Workflows, name: str, old: str, new: str) -> None:
    assert old in flows.scripts[name], f"{old!r} is not in {name}"
    flows.scripts[name] = flows.scripts[name].replace(old, new, 1)


def remove_smoke(flows: rules.Workflows) -> None:
    steps = job(flows, "deploy-stage.yml", "deploy")["steps"]
    steps[:] = [s for s in steps if rules.script_name(s) != "deploy-smoke-test.sh"]


def check_out_late(flows: rules.Workflows) -> None:
    steps = job(flows, "deploy-stage.yml", "deploy")["steps"]
    steps.append(steps.pop(0))  # the checkout now follows the scripts


def every_local_uses(flows: rules.Workflows, old: str, new: str) -> None:
    for name in list(flows.docs):
        for job_ in flows.docs[name].get("jobs", {}).values():
            for container in [job_, *job_.get("steps", [])]:
                if str(container.get("uses", "")).startswith(old):
                    container["uses"] = new + container["uses"][len(old) :]


def marking(flows: rules.Workflows) -> dict[str, Any]:
    """The deploy job's release-marking step (after the smoke test)."""
    steps = job(flows, "deploy-stage.yml", "deploy")["steps"]
    return next(s for s in steps if str(s.get("run", "")).strip() == rules.MARK_RELEASE)


def step_after_smoke_can_fail(flows: rules.Workflows) -> None:
    marking(flows).pop("continue-on-error", None)  # bookkeeping after the smoke test


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


READER_STEP = "Assume the previous stage's alarm reader (OIDC)"
DEPLOY_AGAIN_STEP = "Assume the stage's deploy role again (OIDC)"
READER_PROBLEM = "the gates step (alone) must run as the stage before's alarm reader"


def deploy_steps(flows: rules.Workflows) -> list[dict[str, Any]]:
    return job(flows, "deploy-stage.yml", "deploy")["steps"]


def drop_step(flows: rules.Workflows, name: str) -> None:
    deploy_steps(flows).remove(named(flows, "deploy-stage.yml", "deploy", name))


def step_beside_the_reader(flows: rules.Workflows) -> None:
    """The scan (an AWS call of the deploy role's) moved to run as the alarm reader."""
    found = deploy_steps(flows)
    scan = found.pop(found.index(step(flows, "deploy-stage.yml", "deploy", "scan")))
    found.insert(found.index(named(flows, "deploy-stage.yml", "deploy", READER_STEP)) + 1, scan)


PIN_SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"
ENV_BREAKS: list[tuple[str, Mutation, str, str]] = [
    ("gates-as-the-deploy-role", lambda f: drop_step(f, READER_STEP), "alarm-reader",
     READER_PROBLEM),
    ("reader-kept-after-the-gates", lambda f: drop_step(f, DEPLOY_AGAIN_STEP), "alarm-reader",
     READER_PROBLEM),
    ("a-step-beside-the-gates-as-the-reader", step_beside_the_reader, "alarm-reader",
     READER_PROBLEM),
    ("reader-assumed-without-one",
     lambda f: named(f, "deploy-stage.yml", "deploy", READER_STEP).pop("if"), "alarm-reader",
     "must run only when the check step resolved a reader"),
    ("deploy-role-mixed-with-the-reader",
     lambda f: named(f, "deploy-stage.yml", "deploy", DEPLOY_AGAIN_STEP)["with"].update(
         {"unset-current-credentials": False}), "alarm-reader", "drop the credentials before it"),
    ("alarms-read-without-the-reader",
     lambda f: script(f, "deploy-gates.sh", rules.READ_ALARMS, "args+=(--read-alarms)"),
     "alarm-reader", "must read the alarms exactly when the reader was assumed"),
    ("no-reader-resolved",
     lambda f: script(f, "deploy-check.sh", 'echo "alarms-reader=$reader"', "true"),
     "alarm-reader", "must output the stage before's alarm reader"),
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
        "acceptance-before-the-smoke-test",
        lambda f: job(f, "deploy-stage.yml", "deploy")["steps"].insert(
            3, job(f, "deploy-stage.yml", "deploy")["steps"].pop(
                job(f, "deploy-stage.yml", "deploy")["steps"].index(
                    step(f, "deploy-stage.yml", "deploy", "acceptance")))),
        "pipeline",
        "the steps must run in the order",
    ),
    (
        "no-acceptance-verdict",
        lambda f: job(f, "deploy-stage.yml", "deploy")["steps"].remove(next(
            s for s in job(f, "deploy-stage.yml", "deploy")["steps"]
            if "stacks.records acceptance" in str(s.get("run", "")))),
        "pipeline",
        "no step records the acceptance verdict",
    ),
    (
        "no-scan",
        lambda f: job(f, "deploy-stage.yml", "deploy")["steps"].remove(
            step(f, "deploy-stage.yml", "deploy", "scan")),
        "pipeline",
        "no step scan",
    ),
    (
        "force-not-passed",
        lambda f: job(f, "promote.yml", "deploy")["with"].pop("force"),
        "pipeline",
        "reason and force inputs must reach the deploy job",
    ),
    (
        "deployments-write-on-lint",
        lambda f: job(f, "build.yml", "lint")["permissions"].update(deployments="write"),
        "permissions",
        "deployments: write, but it deploys nothing",
    ),
    (
        "release-marked-before-the-smoke-test",
        lambda f: job(f, "deploy-stage.yml", "deploy")["steps"].insert(
            2, job(f, "deploy-stage.yml", "deploy")["steps"].pop(
                job(f, "deploy-stage.yml", "deploy")["steps"].index(marking(f)))),
        "registry",
        "one step after the smoke test must mark the release",
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
            s for s in job(f, "deploy-stage.yml", "deploy")["steps"] if rules.uses_setup_pulumi(s)
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
        lambda f: script(
            f, "deploy-check.sh", "$REPOSITORY_URL@$DIGEST", "$REPOSITORY_URL:$DIGEST"
        ),
        "deploy-stage",
        "REPOSITORY_URL@DIGEST",
    ),
    (
        "unanchored-digest-check",
        lambda f: script(f, "lib.sh", "^${DIGEST_PATTERN}$", "${DIGEST_PATTERN}"),
        "deploy-stage",
        "validated as sha256",
    ),
    ("no-smoke-test", remove_smoke, "deploy-stage", "smoke test"),
    (
        "fallible-step-after-smoke",
        step_after_smoke_can_fail,
        "deploy-stage",
        "last step that can fail",
    ),
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
        lambda f: script(f, "spec.sh", '[prod]="pre-prod"', '[prod]="dev"'),
        "promote",
        "the stage before prod",
    ),
    (
        "promote-with-deploy-role",
        lambda f: named(f, "promote.yml", "resolve", "Assume the CI role (OIDC)")["with"].update(
            {"role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN_DEV }}"}
        ),
        "promote",
        "must assume the CI role only",
    ),
    (
        "promote-installs-the-program",
        lambda f: next(
            s for s in job(f, "promote.yml", "resolve")["steps"] if rules.uses_setup_pulumi(s)
        )["with"].pop("program"),
        "promote",
        "the Pulumi CLI alone",
    ),
    (
        "promote-gets-the-passphrase",
        lambda f: step(f, "promote.yml", "resolve", "digest")["env"].update(
            PULUMI_CONFIG_PASSPHRASE="${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
        ),
        "promote",
        "needs no passphrase",
    ),
    (
        "teardown-unconfirmed",
        lambda f: named(f, "teardown.yml", "confirm", "Check the confirmation").update(run="true"),
        "teardown",
        "must equal the stage name",
    ),
    (
        "teardown-destroys-the-deploy-role",
        lambda f: script(
            f,
            "teardown-destroy.sh",
            "      'urn:pulumi:qa-eu::ecs5e::bootstrap:index:Stage$bootstrap:index:DeployRole$**'\n",
            "",
        ),
        "teardown",
        "the foundation kept for qa-eu",
    ),
    (
        "teardown-keeps-everything",
        lambda f: script(f, "teardown-destroy.sh", "pulumi destroy --yes", "pulumi preview --yes"),
        "teardown",
        "excluding the foundation",
    ),
    (
        "teardown-says-nothing",
        lambda f: script(
            f, "teardown-destroy.sh", "bootstrap destroy --stage $STAGE", "pulumi destroy"
        ),
        "teardown",
        "what stayed and who removes it",
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
    (
        "preview-own-role-also-shared",
        lambda f: step(f, "preview.yml", "preview", "preview")["env"].pop(
            "AWS_PREVIEW_ROLE_ARN_QA_EU"
        ),
        "preview",
        "must leave qa-eu to its own role",
    ),
    (
        "preview-stage-as-another-role",
        lambda f: job(f, "preview.yml", "preview")["steps"].remove(
            named(f, "preview.yml", "preview", "Assume prod's own preview role (OIDC)")
        ),
        "preview",
        "prod must be previewed (alone) as its own preview role",
    ),
    (
        "preview-stage-role-unconditional",
        lambda f: step(f, "preview.yml", "preview", "preview-staging").pop("if"),
        "preview",
        "staging's own preview runs only when AWS_PREVIEW_ROLE_ARN_STAGING is set",
    ),
    (
        "preview-stage-region",
        lambda f: named(f, "preview.yml", "preview", "Assume dev's own preview role (OIDC)")[
            "with"
        ].update({"aws-region": "${{ vars.AWS_REGION }}"}),
        "preview",
        "dev's preview role must act in dev's region",
    ),
    (
        "preview-no-report",
        lambda f: step(f, "preview.yml", "preview", "report").update({"if": "success()"}),
        "preview",
        "one last step must report every stack",
    ),
    (
        "inline-shell",
        lambda f: step(f, "deploy-stage.yml", "deploy", "up").update(run="pulumi up\necho done"),
        "scripts",
        "multi-line shell belongs in",
    ),
    (
        "missing-script",
        lambda f: f.scripts.pop("deploy-up.sh"),
        "scripts",
        "runs deploy-up.sh, which does not exist",
    ),
    (
        "dead-script",
        lambda f: f.scripts.update({"mark-release.sh": "#!/usr/bin/env bash\nset -euo pipefail\n"}),
        "scripts",
        "mark-release.sh: no step runs it",
    ),
    (
        "no-strict-mode",
        lambda f: script(f, "deploy-up.sh", "set -euo pipefail\n", ""),
        "scripts",
        "set -euo pipefail",
    ),
    ("script-before-checkout", check_out_late, "scripts", "checked out before it"),
    (
        "aws-cli-in-a-workflow",
        lambda f: step(f, "build.yml", "build", "plan").update(run="aws ecr describe-images"),
        "scripts",
        "AWS CLI calls belong in",
    ),
    (
        "writer-runs-scripts",
        lambda f: job(f, "preview.yml", "comment")["steps"][0].update(
            run="bash .github/scripts/preview-run.sh"
        ),
        "permissions",
        "pull-requests: write next to actions or code",
    ),
    (
        "self-reference-on-github-com",
        lambda f: every_local_uses(f, "$/", "./"),
        "host",
        "must start with $/",
    ),
    (
        "self-hosted-on-github-com",
        lambda f: job(f, "build.yml", "lint").update({"runs-on": ["self-hosted", "linux", "x64"]}),
        "host",
        "runs-on must be ubuntu-latest",
    ),
    (
        "default-audience",
        lambda f: named(f, "build.yml", "build", "Assume the CI role (OIDC)")["with"].pop(
            "audience"
        ),
        "host",
        "for audience sts.amazonaws.com",
    ),
    (
        "github-com-spelt-out",
        lambda f: script(
            f, "preview-run.sh", 'cd "$INFRA_DIR"', 'curl https://api.github.com\ncd "$INFRA_DIR"'
        ),
        "host",
        "names github.com",
    ),
    (
        "self-repository-audit-off-on-github-com",
        lambda f: f.others.update(
            {"zizmor.yml": "rules:\n  self-repository:\n    disable: true\n"}
        ),
        "host",
        "disabled where the workflows use ./ (no $/ there), and only there",
    ),
    (
        "unknown-variable",
        lambda f: text(f, "build.yml", "vars.AWS_CI_ROLE_ARN", "vars.AWS_CI_ROLE"),
        "contract",
        "vars.AWS_CI_ROLE is not a variable the contract names",
    ),
    (
        "unknown-secret",
        lambda f: text(
            f, "deploy-stage.yml", "secrets.PULUMI_ACCESS_TOKEN", "secrets.PULUMI_TOKEN"
        ),
        "contract",
        "secrets.PULUMI_TOKEN is not a secret",
    ),
    (
        "spec-drift",
        lambda f: script(f, "spec.sh", "LIFECYCLE=(dev qa-eu", "LIFECYCLE=(qa-eu dev"),
        "contract",
        "spec.sh: LIFECYCLE",
    ),
    (
        "no-release-marking",
        lambda f: job(f, "deploy-stage.yml", "deploy")["steps"].remove(marking(f)),
        "registry",
        "mark the release with stacks.ecr",
    ),
    (
        "release-marking-fails-the-deploy",
        lambda f: marking(f).pop("continue-on-error"),
        "registry",
        "mark the release with stacks.ecr",
    ),
    (
        "tagging-in-shell",
        lambda f: script(
            f,
            "deploy-up.sh",
            'cd "$INFRA_DIR"',
            'aws ecr put-image --image-tag "deployed.$STAGE.x"\ncd "$INFRA_DIR"',
        ),
        "registry",
        "tags images itself ('put-image')",
    ),
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
    ("missing-reader-variable",
     lambda f: step(f, "deploy-stage.yml", "deploy", "check")["env"].pop(
         "AWS_PREVIOUS_ALARMS_ROLE_ARN_TEST"), "alarm-reader", "alarm reader variables"),
    ("reader-variable-drift",
     lambda f: script(f, "spec.sh", '[prod]="AWS_PREVIOUS_ALARMS_ROLE_ARN_PROD"',
                      '[prod]="AWS_PREVIOUS_ALARMS_ROLE_ARN_TEST"'),
     "alarm-reader", "ALARMS_READER_VARIABLE must name each later stage's variable"),
    (
        "no-manual-guard",
        lambda f: script(f, "deploy-check.sh", "workflow_dispatch", "push"),
        "deploy-stage",
        "refuses manual stages",
    ),
    (
        "trust-subject-drift",
        lambda f: script(f, "spec.sh", 'TRUST_SUBJECT="branch"', 'TRUST_SUBJECT="environment"'),
        "deploy-stage",
        "refuses manual stages",
    ),
]

GHES_BREAKS: list[tuple[str, Mutation, str, str]] = [
    (
        "self-reference-on-ghes",
        lambda f: every_local_uses(f, "./", "$/"),
        "host",
        "must start with ./",
    ),
    (
        "github-hosted-runner-on-ghes",
        lambda f: job(f, "promote.yml", "resolve").update({"runs-on": "ubuntu-latest"}),
        "host",
        "runs-on must be ['self-hosted', 'linux', 'x64']",
    ),
    (
        "self-repository-audit-on-ghes",
        lambda f: f.others.pop("zizmor.yml"),
        "host",
        "disabled where the workflows use ./ (no $/ there), and only there",
    ),
    (
        "local-action-before-checkout-on-ghes",
        check_out_late,
        "scripts",
        "step 'Set up Pulumi' needs the repository checked out before it",
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
        "scripts": lambda: rules.script_problems(flows),
        "host": lambda: rules.host_problems(flows, spec),
        "contract": lambda: rules.contract_problems(flows, spec),
        "registry": lambda: rules.registry_problems(flows),
        "pipeline": lambda: rules.pipeline_problems(flows),
        "alarm-reader": lambda: rules.alarm_reader_problems(flows, spec),
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


@pytest.mark.parametrize(
    ("mutate", "rule", "expected"), [b[1:] for b in GHES_BREAKS], ids=[b[0] for b in GHES_BREAKS]
)
def test_ghes_rule_reports_a_break(
    rendered: dict[str, Path], mutate: Mutation, rule: str, expected: str
) -> None:
    _break(rendered, GHES_CASE, mutate, rule, expected)


def test_critical_path_counts_jobs(rendered: dict[str, Path]) -> None:
    flows = rules.Workflows.load(rendered[ENV_CASE.name])
    assert len(rules.critical_path(flows)) == 2
    broken = copy.deepcopy(flows)
    extra_job_before_deploy(broken)
    assert rules.critical_path(broken) == ["build", "scan", "deploy-dev → deploy-stage.yml/deploy"]
