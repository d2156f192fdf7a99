"""The names every part shares: the CLI, the stacks, the templates, the workflows and the tests.

One owner for each name. This module imports nothing of Pulumi (the CLI imports it at no cost),
and every generated repository carries it as `infra/stacks/contract.py`, so the generated repo's
program and this tool agree by construction. The Copier templates read the same values through
`contract` in their context (`bootstrap/template_context.py`).

Change a name here and every user follows; docs/contracts.md explains each one.
"""

from __future__ import annotations

import re
from typing import Any

# --- the Pulumi project ----------------------------------------------------------------------

SHARED = "shared"  # the account-level stack: registry, OIDC provider, CI and preview roles
INFRA_DIR = "infra"  # the Pulumi project inside a generated repository
ANSWERS_FILE = ".copier-answers.yml"
GITHUB_RECORD = ".bootstrap/github.json"  # what GitHub provisioning learnt; no secrets
WORKFLOWS_DIR = ".github/workflows"
SCRIPTS_DIR = ".github/scripts"
BUILD_WORKFLOW = "build.yml"
DEPLOY_WORKFLOW = "deploy-stage.yml"
PROMOTE_WORKFLOW = "promote.yml"
PREVIEW_WORKFLOW = "preview.yml"
TEARDOWN_WORKFLOW = "teardown.yml"
BUILD_CHECK = "build"  # the build job's check name, required by branch protection
BRANCH = "main"
# The Pulumi CLI the workflows install, exact so that the CLI cache's key can name it: the version
# the infra program's SDK is tested with (infra/requirements.txt); at least 3.252.0 (promote's
# passphrase-free `stack output`) and 3.188.0 (teardown's `destroy --exclude` wildcards).
PULUMI_CLI_VERSION = "3.272.0"


def stack_file(stack: str) -> str:
    """A stack's settings file, relative to the repository root."""
    return f"{INFRA_DIR}/Pulumi.{stack}.yaml"


# Stack outputs (the program exports them; provisioning, workflows and status read them).
SHARED_OUTPUTS = (
    "repositoryUrl",
    "repositoryName",
    "repositoryArn",
    "ciRoleArn",
    "previewRoleArn",
    "oidcProviderArn",
)
STAGE_OUTPUTS = ("url", "image", "target", "region", "deployRoleArn", "stage")

# --- images ------------------------------------------------------------------------------------

DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
DIGEST = re.compile(rf"^{DIGEST_PATTERN}$")
# An image by digest, as the stacks deploy it: REPOSITORY@sha256:DIGEST (never a tag).
IMAGE_REF = re.compile(rf"^(?P<repository>[^@\s]+)@(?P<digest>{DIGEST_PATTERN})$")
# What a stage runs before the first build: previews show it, a real update refuses it.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
GIT_SHA = re.compile(r"^[0-9a-f]{40}$")
# Registry tags a deploy adds to the image it deployed: `deployed.<stage>.<git sha>`.
DEPLOYED = "deployed"


def deployed_tag_prefix(stage: str) -> str:
    return f"{DEPLOYED}.{stage}."


def deployed_tag(stage: str, sha: str) -> str:
    return f"{deployed_tag_prefix(stage)}{sha}"


def deployed_digest_tag(stage: str, digest: str) -> str:
    """The deployed tag of an image whose commit is unknown: `deployed.<stage>.sha256-<20 hex>`."""
    return f"{deployed_tag_prefix(stage)}sha256-{digest.removeprefix('sha256:')[:20]}"


def deployed_tag_variant(tag: str, digest: str) -> str:
    """The tag used when `tag` is taken by another image (a rebuild of the same commit):
    `<tag>-<12 hex of the digest>`."""
    return f"{tag}-{digest.removeprefix('sha256:')[:12]}"


# --- tags and masks ----------------------------------------------------------------------------

TAG_PROJECT = "bootstrap:project"  # on every stack resource; IAM conditions key on these
TAG_STAGE = "bootstrap:stage"
MANAGED_BUCKET_TAG = ("managed-by", "bootstrap")  # on a state bucket this tool made
SECRET_MASK = "[secret]"  # noqa: S105 - what a secret shows as, wherever this tool prints it

# --- GitHub's OIDC tokens ----------------------------------------------------------------------

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"  # github.com's issuer (no scheme)
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
GITHUB_API_URL = "https://api.github.com"


# GitHub Enterprise Cloud with data residency lives on SUBDOMAIN.ghe.com: its API is
# https://api.SUBDOMAIN.ghe.com and its OIDC tokens come from https://token.actions.SUBDOMAIN.ghe.com
# (GitHub docs, "Feature overview for GitHub Enterprise Cloud with data residency", URL differences).
GHE_COM = "ghe.com"
GHES_ISSUER_PATH = "/_services/token"  # GitHub Enterprise Server: https://HOST/_services/token


def oidc_issuer_host(api_url: str | None) -> str:
    """The OIDC issuer (host and path, no scheme) of the GitHub that `api_url` belongs to.

    github.com issues from token.actions.githubusercontent.com; GitHub Enterprise Cloud with data
    residency (API at https://api.SUBDOMAIN.ghe.com) from token.actions.SUBDOMAIN.ghe.com; GitHub
    Enterprise Server (API at https://HOST/api/v3) from HOST/_services/token."""
    if not api_url:
        return GITHUB_OIDC_HOST
    from urllib.parse import urlparse

    host = (urlparse(api_url).hostname or "").lower()
    if host in ("api.github.com", "github.com", ""):
        return GITHUB_OIDC_HOST
    if host.endswith(f".{GHE_COM}"):
        return f"token.actions.{host.removeprefix('api.')}"
    return f"{host}{GHES_ISSUER_PATH}"


def is_enterprise_server(issuer: str) -> bool:
    """Whether an OIDC issuer is a GitHub Enterprise Server's (self-hosted runners, names in the
    subjects, no `$/`)."""
    return issuer.endswith(GHES_ISSUER_PATH)


def github_host(issuer: str) -> str:
    """The web host of the GitHub whose tokens `issuer` issues: github.com, SUBDOMAIN.ghe.com,
    or the GitHub Enterprise Server's host (as `gh --repo HOST/OWNER/REPO` names it)."""
    if is_enterprise_server(issuer):
        return issuer.removesuffix(GHES_ISSUER_PATH)
    if issuer.endswith(f".{GHE_COM}"):
        return issuer.removeprefix("token.actions.")
    return "github.com"


def oidc_provider_url(issuer: str) -> str:
    return f"https://{issuer}"


# What the trust policies name while GitHub's subject prefix is not yet known (an offline scaffold,
# before `bootstrap github sync`): a clearly marked value that no token can carry (GitHub's prefixes
# all hold `OWNER/REPO`), never a guessed subject. A real update refuses it.
UNKNOWN_SUBJECT_PREFIX = "github-subject-prefix-not-yet-known"


def subject(prefix: str, kind: str, stage: str | None = None) -> str:
    """The `sub` claim GitHub issues, from the repository's subject prefix (which GitHub tells:
    `repo:OWNER@OWNER_ID/REPO@REPO_ID` for immutable subjects, `repo:OWNER/REPO` otherwise).

    kind: `environment` (a job in the stage's environment), `branch` (main), `pull_request`."""
    if kind == "environment":
        if not stage:
            raise ValueError("an environment subject needs the stage")
        return f"{prefix}:environment:{stage}"
    if kind == "branch":
        return f"{prefix}:ref:refs/heads/{BRANCH}"
    if kind == "pull_request":
        return f"{prefix}:pull_request"
    raise ValueError(f"unknown subject kind {kind!r}")


def is_github_com(issuer: str) -> bool:
    """Whether an OIDC issuer is github.com's (not a data-residency ghe.com's, not a GHES's)."""
    return issuer == GITHUB_OIDC_HOST


def local_uses(issuer: str) -> str:
    """How a workflow names an action or reusable workflow of its own repository: `$/` (the
    running commit, no checkout needed) on github.com, the only GitHub that announces it; `./`
    (the checked-out workspace) elsewhere: GitHub Enterprise Server has no `$/`."""
    return "$/" if is_github_com(issuer) else "./"


def runs_on(issuer: str) -> str:
    """The runners of every job: GitHub-hosted Linux on github.com and ghe.com, self-hosted
    Linux x64 on GitHub Enterprise Server (which has no GitHub-hosted runners)."""
    return "[self-hosted, linux, x64]" if is_enterprise_server(issuer) else "ubuntu-latest"


# --- IAM names ---------------------------------------------------------------------------------


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (region or account empty for global
    services and resources)."""
    return ":".join(["arn", partition, service, region, account, resource])


CI_ROLE_PATH = "/bootstrap-ci/"


def ci_role_name(project: str) -> str:
    return f"{project}-ci"


def preview_role_name(project: str) -> str:
    return f"{project}-preview"


def stage_prefix(project: str, stage: str) -> str:
    """`<project>-<stage>`: the prefix of every name a stage makes."""
    return f"{project}-{stage}"


def workload_role_path(project: str, stage: str) -> str:
    """IAM path of a stage's workload roles; its deploy role may manage only these."""
    return f"/bootstrap/{project}/{stage}/"


def deploy_role_path(project: str) -> str:
    """IAM path of deploy roles: outside every workload path, so no deploy role manages itself."""
    return f"/bootstrap-deploy/{project}/"


def deploy_role_name(project: str, stage: str) -> str:
    return f"{stage_prefix(project, stage)}-deploy"


def boundary_name(project: str, stage: str) -> str:
    return f"{stage_prefix(project, stage)}-boundary"


def foundation_role_path(project: str, stage: str) -> str:
    """IAM path of the service roles of a stage's foundation (EKS's cluster and node roles): an
    administrator makes them; the stage's deploy role may read and pass them, never change them."""
    return f"/bootstrap-foundation/{project}/{stage}/"


def alarm_reader_role_name(project: str, stage: str) -> str:
    """The role in a stage's account that the next stage's deploy job assumes to read this
    stage's alarms (promotion's soak gate): read-only, this stage's alarms only."""
    return f"{stage_prefix(project, stage)}-alarms-read"


# --- stages in their own AWS accounts (stacks/accounts.py, docs/accounts.md) -------------------
# A stage's stack file may name its AWS account (`<project>:account`, 12 digits) and region
# (`aws:region`); a stage without `account` lives in the tooling account: the shared stack's, which
# also holds the registry and the Pulumi state. `bootstrap --profile KEY=PROFILE` (KEY a stage,
# `shared`, or an account ID; also PROFILES_ENV) names the AWS profile of each account.

ACCOUNT_KEY = "account"
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
PROFILES_ENV = "BOOTSTRAP_AWS_PROFILES"  # "prod=prod-admin,shared=tooling", as --profile gives
ACCOUNT_OUTPUT = "account"  # every stack exports the AWS account it lives in
# A stage in its own account has its own GitHub OIDC provider, part of its foundation.
GITHUB_OIDC_COMPONENT = "bootstrap:index:GithubOidc"
ALARM_READER_OUTPUT = "alarmReaderRoleArn"  # a stage's alarm reader (the last stage has none)
# The next stage's environment variable naming the alarm reader of the stage before it.
VAR_PREVIOUS_ALARMS_ROLE = "AWS_PREVIOUS_ALARMS_ROLE_ARN"
# Every stage's alarms (stacks/observability.py names them `<project>-<stage>.<kind>`): promotion's
# alarms gate reads them by name, which the alarm reader's resource-level grant authorises.
STAGE_ALARMS = ("5xx-rate", "latency", "errors")


def stage_alarm_names(project: str, stage: str) -> list[str]:
    return [f"{stage_prefix(project, stage)}.{kind}" for kind in STAGE_ALARMS]


def previous_alarms_role_variable(stage: str) -> str:
    """The repository variable naming the alarm reader of the stage before `stage` when there are
    no environments (as `stage_role_variable` names its deploy role)."""
    return f"{VAR_PREVIOUS_ALARMS_ROLE}_{stage.upper().replace('-', '_')}"


# A stage in its own account is previewed on pull requests (preview.yml) as its own read-only
# preview role, in its foundation: the shared preview role cannot act in another account.
STAGE_PREVIEW_ROLE_OUTPUT = "stagePreviewRoleArn"  # exported only by stages that have one


def stage_preview_role_name(project: str, stage: str) -> str:
    return f"{stage_prefix(project, stage)}-preview"


def stage_preview_role_variable(stage: str) -> str:
    """The repository variable naming a stage's own preview role (`AWS_PREVIEW_ROLE_ARN_<STAGE>`):
    preview.yml previews that stage as it, and never as the shared preview role."""
    return f"{VAR_PREVIEW_ROLE}_{stage.upper().replace('-', '_')}"


# --- GitHub variables and secrets ---------------------------------------------------------------

VAR_REGION = "AWS_REGION"
VAR_BACKEND_URL = "PULUMI_BACKEND_URL"
VAR_CI_ROLE = "AWS_CI_ROLE_ARN"
VAR_PREVIEW_ROLE = "AWS_PREVIEW_ROLE_ARN"
VAR_REPOSITORY_URL = "ECR_REPOSITORY_URL"
VAR_DEPLOY_ROLE = "AWS_DEPLOY_ROLE_ARN"  # an environment variable of each stage's environment
VAR_STACK = "PULUMI_STACK"  # likewise
SECRET_PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"  # noqa: S105 - a name, not a secret
SECRET_CLOUD_TOKEN = "PULUMI_ACCESS_TOKEN"  # noqa: S105 - a name, not a secret


def stage_role_variable(stage: str) -> str:
    """The repository variable naming a stage's deploy role when there are no environments."""
    return f"{VAR_DEPLOY_ROLE}_{stage.upper().replace('-', '_')}"


# --- the stage foundation ----------------------------------------------------------------------
# What an administrator deploys for a stage before CI can: the permissions boundary and the deploy
# role (with the VPC its policy names). Provisioning's targeted `up` makes exactly these; the
# teardown workflow (run as the deploy role, which may not delete itself) leaves exactly these.

STAGE_COMPONENT = "bootstrap:index:Stage"
DEPLOY_ROLE_COMPONENT = "bootstrap:index:DeployRole"
NETWORK_COMPONENT = "bootstrap:index:Network"
# Set (to "1") by bootstrap for a targeted update of a stage's foundation before its first image:
# the stage program then does not refuse the missing image.
FOUNDATION_ONLY_ENV = "BOOTSTRAP_FOUNDATION_ONLY"


def urn_glob(pattern: str) -> re.Pattern[str]:
    """A `--target`/`--exclude` URN pattern as the Pulumi engine matches it: `**` matches any
    text, `*` any text without a colon, everything else is literal (pulumi/pulumi,
    pkg/resource/deploy/deployment.go, UrnTargets.getMatcher)."""
    segments = ["[^:]*".join(map(re.escape, part.split("*"))) for part in pattern.split("**")]
    return re.compile("^" + ".*".join(segments) + "$")


def foundation_urns(project: str, stage: str, *, network: bool) -> list[str]:
    """URN patterns (Pulumi's `**` wildcards) of a stage's foundation: the stack, its AWS
    providers and StackReference, the `Stage` component with its permissions boundary, the
    `DeployRole` component and its children, the stage's own GitHub OIDC provider (a stage in
    its own account), and (for stages with a network) the VPC the deploy policy names. Nothing
    of the workload."""
    base = f"urn:pulumi:{stage}::{project}::"
    prefix = stage_prefix(project, stage)
    patterns = [
        f"{base}pulumi:pulumi:Stack::**",
        f"{base}pulumi:pulumi:StackReference::**",
        # The AWS providers only: a workload's own provider (EKS's kubernetes provider) goes with
        # it, and `destroy --exclude` would also keep what it depends on (the cluster).
        f"{base}pulumi:providers:aws::**",
        f"{base}{STAGE_COMPONENT}::{prefix}",
        f"{base}{STAGE_COMPONENT}$aws:iam/policy:Policy::{prefix}-boundary",
        f"{base}{STAGE_COMPONENT}${DEPLOY_ROLE_COMPONENT}::{prefix}-deploy",
        f"{base}{STAGE_COMPONENT}${DEPLOY_ROLE_COMPONENT}$**",
        # A wildcard only: single-account stages have no provider, and the engine refuses a
        # literal --target URN that is neither in the stack nor in the program (a pattern that
        # matches nothing is fine: pulumi/pulumi deployment_executor.go, checkTargets).
        f"{base}{STAGE_COMPONENT}${GITHUB_OIDC_COMPONENT}**",
    ]
    if network:
        component = f"{STAGE_COMPONENT}${NETWORK_COMPONENT}"
        patterns += [f"{base}{component}::{prefix}-network", f"{base}{component}$aws:ec2/vpc:Vpc::**"]
    return patterns


# --- the service and its acceptance suite ------------------------------------------------------

# The sample app finishes the requests in flight within this many seconds of SIGTERM
# (SHUTDOWN_TIMEOUT_SECONDS in app/src/service/config.py): a container's stop timeout, a pod's
# termination grace period must be longer.
APP_SHUTDOWN_SECONDS = 10
ACCEPTANCE_DIR = "acceptance"  # the acceptance suite, run against a live base URL
ACCEPTANCE_RESULTS_DIR = "acceptance/results"  # what a run writes (git-ignored)
ACCEPTANCE_PARTS = ("behaviour", "contract", "performance")  # in the order they run
VERDICT_FILE = "verdict.json"  # a run's outcome, recorded with the digest it tested
JUNIT_FILE = "junit.xml"
SUMMARY_FILE = "summary.md"  # the Markdown table for a job summary

# --- progressive delivery (stacks/delivery.py) ------------------------------------------------
# A stage's rollout profile: the fast one is the schema's default (stages without approval), the
# careful one is what the stage file of a manual stage sets (infra/Pulumi.<stage>.yaml). A stage's
# alarms need 3 one-minute datapoints to fire (stacks/delivery.py): a canary step shorter than
# that is judged by nothing, so the fast profile moves every request at once (still rolled back
# on the alarms) and keeps its steps at 3 minutes for a stage that opts into them.
ROLLOUT_FAST: dict[str, Any] = {
    "deployStrategy": "all-at-once",
    "canaryPercent": 10.0,
    "canaryMinutes": 3,
    "linearPercent": 25.0,
    "linearMinutes": 3,
    "bakeMinutes": 3,
    "healthCheckIntervalSeconds": 5,
    "healthyThreshold": 2,
    "deregistrationDelaySeconds": 5,
    "progressDeadlineSeconds": 300,
}
ROLLOUT_CAREFUL: dict[str, Any] = {
    **ROLLOUT_FAST,
    "deployStrategy": "canary",
    "canaryPercent": 5.0,
    "canaryMinutes": 10,
    "linearPercent": 10.0,
    "linearMinutes": 3,
    "bakeMinutes": 10,
    "healthCheckIntervalSeconds": 10,
    "healthyThreshold": 3,
    "deregistrationDelaySeconds": 30,
    "progressDeadlineSeconds": 600,
}
# The stack outputs the deploy workflow reads: the alarms it watches; a Lambda stage's versions.
ALARM_NAMES_OUTPUT = "alarmNames"
LIVE_VERSION_OUTPUT = "liveVersion"
NEW_VERSION_OUTPUT = "newVersion"

# --- promotion: records, gates, the image scan (stacks/records.py, gates.py, scan.py) -----------

# The findings of the registry's image scan a deploy accepts, each with a reason and an expiry.
SCAN_ALLOWLIST_FILE = "security/scan-allowlist.yml"

# --- pull-request preview environments (stacks/previews.py, stacks/pr_env.py) ------------------
# A preview is a stack `pr-<number>` of the project: its names start `<project>-pr-<number>`, every
# resource carries TAG_PREVIEW (the number), its roles live under `/bootstrap/<project>/pr-<n>/`.
# Stage names may not look like preview stacks (bootstrap/spec.py refuses `pr` and `pr-*`).

PREVIEW_STACK_PREFIX = "pr-"
PR_ENV_WORKFLOW = "pr-env.yml"
PR_SWEEP_WORKFLOW = "pr-sweep.yml"
VAR_PR_ROLE = "AWS_PR_ROLE_ARN"  # the repository variable naming the preview deploy role
TAG_PREVIEW = "bootstrap:preview"  # the pull request's number, on every resource of a preview
PREVIEW_COMMENT_MARKER = "<!-- bootstrap:preview-environment -->"  # finds the one comment
PREVIEW_OUTPUTS = ("url", "image", "target", "region", "stage", "pullRequest")
PR_ROLE_OUTPUT = "prRoleArn"  # the shared stack's output naming the preview deploy role
PREVIEW_REPOSITORY_OUTPUT = "previewRepositoryUrl"  # and the previews' own image repository
PREVIEW_TARGET_OUTPUT = "previewTarget"  # and where previews run (a stage reads it)
# ECS previews (previewTarget ecs) run in the first stage's cluster, behind its load balancer on a
# listener of their own: pull request N listens on PREVIEW_PORT_BASE + N % PREVIEW_PORTS. The
# first stage opens the range in its load balancer's security group and exports what a preview
# reuses as PREVIEW_PLATFORM_OUTPUT.
PREVIEW_PORT_BASE = 8001
PREVIEW_PORTS = 999  # ports 8001..8999
PREVIEW_PLATFORM_OUTPUT = "previewPlatform"
_PREVIEW_STACK = re.compile(r"^pr-([1-9][0-9]{0,9})$")


def preview_stack(number: int) -> str:
    """The stack (and stage name in every resource name) of pull request `number`: `pr-<n>`."""
    if number < 1:
        raise ValueError(f"pull request number {number} is not positive")
    return f"{PREVIEW_STACK_PREFIX}{number}"


def preview_number(stack: str) -> int | None:
    """The pull request number of a preview stack (`pr-12` -> 12); None for any other stack."""
    match = _PREVIEW_STACK.match(stack)
    return int(match.group(1)) if match else None


def is_preview_name(name: str) -> bool:
    """Names a stage may not take: `pr` and `pr-*` belong to the previews."""
    return name == PREVIEW_STACK_PREFIX.rstrip("-") or name.startswith(PREVIEW_STACK_PREFIX)


def preview_port(number: int) -> int:
    """The first stage's load balancer port of pull request `number`'s ECS preview."""
    return PREVIEW_PORT_BASE + number % PREVIEW_PORTS


def preview_port_range() -> tuple[int, int]:
    """The first port and the last one ECS previews may listen on."""
    return PREVIEW_PORT_BASE, PREVIEW_PORT_BASE + PREVIEW_PORTS - 1


def pr_role_name(project: str) -> str:
    """The preview deploy role (in the shared stack, at `deploy_role_path(project)`)."""
    return f"{project}-pr-deploy"


def pr_boundary_name(project: str) -> str:
    """The permissions boundary of every preview's workload roles."""
    return f"{project}-pr-boundary"


def preview_repository_name(project: str) -> str:
    """The previews' image repository: pull requests' images never mix with releases."""
    return f"{project}-previews"


def preview_image_tag(number: int, sha: str) -> str:
    """The registry tag of a pull request's image: `pr-<n>-<git sha>` (never a release tag)."""
    return f"{preview_stack(number)}-{sha}"


def template_context() -> dict[str, Any]:
    """Every public name of this module, for the Copier templates (`[[ contract.X ]]`)."""
    return {
        name: value
        for name, value in globals().items()
        if not name.startswith("_") and name not in ("annotations", "re", "Any")
    }
