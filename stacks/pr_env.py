"""Preview environments of pull requests: the `pr-<number>` stacks and the role that deploys them.

A preview is a stack `pr-<n>` of this project (docs/previews.md). It runs the pull request's
image, by digest, on the cheapest target (`previewTarget`): Lambda outside any VPC by default,
making nothing it can reuse (no network, no cluster, no registry): a log group with a short
retention, the function's role (inside the previews' permissions boundary), the function, its
`live` alias and a public function URL. With `previewTarget: ecs` it is a service of its own in
the first stage's cluster, behind the first stage's load balancer on its own port
(stacks/pr_ecs.py). No alarms, no dashboard, no reserved concurrency or autoscaling (a preview
takes nothing from the stages' share of the account). Every name starts `<project>-pr-<n>`, every
resource is tagged `bootstrap:preview=<n>`, so the sweep and `bootstrap status` find them.

`PreviewAccess` (in the shared stack) holds what every preview shares: the previews' image
repository `<project>-previews` (the registry's settings; its images expire after the TTL, and a
pull request's push can neither take a release's tag nor crowd releases out of the registry's
retention), their permissions boundary, and the preview deploy role, trusted for this
repository's pull-request workflows (and its main branch, where the scheduled sweep runs) and
allowed exactly what a `pr-*` stack's create, update and destroy call, on `<project>-pr-*` names
only, and pushing to the previews' repository.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from . import config_schema as schema
from . import contract, lambda_fn, observability, pr_ecs
from .common import AwsContext, Naming, Statement, child, policy, policy_output
from .identity import GithubIdentity, ci_push_statements
from .permissions import (
    PULL_ACTIONS,
    StageScope,
    StateBucket,
    state_read_statements,
    workload_role_statements,
)
from .registry import _lambda_pull as lambda_pull

PREVIEW_TARGETS = ("lambda", "ecs", "none")  # none: no previews (no role, the workflow skips)
LOG_RETENTION_DAYS = 3  # a CloudWatch Logs retention value (aws_values.LOG_RETENTION_DAYS)
MEMORY_MB = 512
TIMEOUT_SECONDS = 30
ACCESS_COMPONENT = "bootstrap:index:PreviewAccess"
# Every preview at once, as IAM sees it: `Naming(project, "pr-*")` names `<project>-pr-*`.
ALL_PREVIEWS = f"{contract.PREVIEW_STACK_PREFIX}*"


@dataclass(frozen=True)
class PreviewSettings:
    """What the previews read of the stack configuration (docs/configuration.md)."""

    target: str
    max_active: int
    ttl_hours: int
    image: str | None = None

    @classmethod
    def load(cls, project: str) -> PreviewSettings:
        config = pulumi.Config(project)
        values: dict[str, Any] = {}
        for key in ("previewTarget", "previewMaxActive", "previewTtlHours", "image"):
            try:
                values[key] = schema.parse(schema.BY_KEY[key], config.get(key))
            except schema.Invalid as invalid:
                raise pulumi.RunError(
                    f"config {project}:{invalid.key}: {invalid.problem}; {invalid.fix}"
                ) from None
        return cls(
            target=values["previewTarget"],
            max_active=values["previewMaxActive"],
            ttl_hours=values["previewTtlHours"],
            image=values["image"] or None,
        )


def preview_naming(project: str, number: int) -> Naming:
    return Naming(project, contract.preview_stack(number))


def previews_scope(
    ctx: AwsContext, project: str, repository_arn: str, target: str = "lambda"
) -> StageScope:
    """Every preview of the project as one IAM scope: names `<project>-pr-*`, workload roles under
    `/bootstrap/<project>/pr-*/`, log groups `/aws/<target>/<project>-pr-*`."""
    return StageScope(
        ctx=ctx, naming=Naming(project, ALL_PREVIEWS), target=target,
        repository_arn=repository_arn,
    )  # fmt: skip


def boundary_arn(ctx: AwsContext, project: str) -> str:
    return ctx.iam_arn(
        f"policy{contract.deploy_role_path(project)}{contract.pr_boundary_name(project)}"
    )


# ------------------------------------------------------------------------- the pr-<n> stack


@dataclass(frozen=True)
class PreviewParts:
    """What every preview target runs: the pull request's image, with its names and settings."""

    project: str
    number: int
    ctx: AwsContext
    naming: Naming
    image: pulumi.Output[str]

    @property
    def tags(self) -> dict[str, str]:
        return self.naming.tags({contract.TAG_PREVIEW: str(self.number)})

    @property
    def environment(self) -> dict[str, pulumi.Input[str]]:
        return {
            "SERVICE_NAME": self.project,
            "STAGE": self.naming.stage,
            "RELEASE": self.image.apply(lambda ref: ref.rsplit("@", 1)[1]),
            "LOG_LEVEL": "INFO",
        }


def preview_stack(project: str, stack: str) -> None:
    """The program of stack `pr-<n>`: the pull request's image on the previews' target, with its
    URL."""
    number = contract.preview_number(stack)
    if number is None:
        raise pulumi.RunError(f"stack '{stack}' is not a preview stack (pr-<number>)")
    settings = PreviewSettings.load(project)
    if settings.target == "none":
        raise pulumi.RunError(
            f"config {project}:previewTarget is none, so this project has no previews; "
            "set it to lambda in infra/Pulumi.shared.yaml (and update the shared stack)"
        )
    ctx = AwsContext.current()
    naming = preview_naming(project, number)
    shared = pulumi.StackReference(f"{pulumi.get_organization()}/{project}/{contract.SHARED}")
    repository_url = shared.require_output(contract.PREVIEW_REPOSITORY_OUTPUT)
    # The workflow gives the stack the target of infra/Pulumi.shared.yaml; the shared stack must
    # have been updated with the same (its role's grants, the first stage's ports follow it).
    image = pulumi.Output.all(
        preview_image(project, stack, settings.image, repository_url),
        shared.get_output(contract.PREVIEW_TARGET_OUTPUT),
    ).apply(lambda values: _same_target(project, settings.target, values[1], values[0]))
    parts = PreviewParts(project, number, ctx, naming, image)
    url = ecs_preview(parts) if settings.target == "ecs" else lambda_preview(parts)
    pulumi.export("url", url)
    pulumi.export("image", image)
    pulumi.export("target", settings.target)
    pulumi.export("region", ctx.region)
    pulumi.export("stage", naming.stage)
    pulumi.export("pullRequest", number)


def _same_target(project: str, target: str, shared_target: Any, image: str) -> str:
    """The image, once the shared stack (if it says) runs previews on the same target."""
    if shared_target and shared_target != target:
        raise pulumi.RunError(
            f"config {project}:previewTarget is {target} here, but the shared stack was updated "
            f"with {shared_target}: update the shared stack first (it holds the previews' role)"
        )
    return image


def lambda_preview(parts: PreviewParts) -> pulumi.Output[str]:
    """The pull request's image as a function with a public URL, outside any VPC."""
    function = lambda_fn.LambdaService(
        parts.naming.prefix,
        lambda_fn.LambdaServiceArgs(
            ctx=parts.ctx,
            image=parts.image,
            memory=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            reserved_concurrency=-1,
            log_retention_days=LOG_RETENTION_DAYS,
            environment=parts.environment,
            log_group_name=parts.naming.log_group("lambda"),
            role_path=parts.naming.role_path,
            permissions_boundary=boundary_arn(parts.ctx, parts.project),
            tags=parts.tags,
        ),
    )
    return function.url


def ecs_preview(parts: PreviewParts) -> pulumi.Output[str]:
    """The pull request's image as a service in the first stage's cluster (stacks/pr_ecs.py)."""
    project, ctx = parts.project, parts.ctx
    first = pr_ecs.first_stage(project)
    if first is None:
        raise pulumi.RunError(f"config {project}:stages is empty: ecs previews need a first stage")
    stage = pulumi.StackReference(f"{pulumi.get_organization()}/{project}/{first}")
    platform = pulumi.Output.all(
        target=stage.get_output("target"),
        region=stage.get_output("region"),
        account=stage.get_output(contract.ACCOUNT_OUTPUT),
        platform=stage.get_output(contract.PREVIEW_PLATFORM_OUTPUT),
    ).apply(
        lambda values: pr_ecs.check_platform(project, first, values, ctx.region, ctx.account_id)
    )
    repository = ctx.arn("ecr", f"repository/{contract.preview_repository_name(project)}")
    service = pr_ecs.PreviewEcsService(
        parts.naming.prefix,
        pr_ecs.PreviewEcsArgs(
            ctx=ctx,
            number=parts.number,
            image=parts.image,
            repository_arn=repository,
            platform=platform,
            log_group_name=parts.naming.log_group("ecs"),
            role_path=parts.naming.role_path,
            permissions_boundary=boundary_arn(ctx, project),
            log_retention_days=LOG_RETENTION_DAYS,
            environment=parts.environment,
            tags=parts.tags,
        ),
    )
    return service.url


def preview_image(
    project: str, stack: str, image: str | None, repository_url: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The pull request's image by digest, from this project's registry. A preview has no image
    until its workflow sets one: a real update refuses, a preview or offline plan shows the
    placeholder digest."""
    from .settings import real_update

    if image is None:
        if real_update():
            raise pulumi.RunError(
                f"stack '{stack}' has no image: the pr-env workflow sets it "
                f"(`pulumi config set {project}:image REPOSITORY@sha256:DIGEST --stack {stack}`)"
            )
        return repository_url.apply(lambda url: f"{url}@{contract.PLACEHOLDER_DIGEST}")

    def same_repository(url: str) -> str:
        if not image.startswith(f"{url}@"):
            raise pulumi.RunError(
                f"{project}:image '{image}' is not in this project's repository {url}"
            )
        return image

    return repository_url.apply(same_repository)


# ------------------------------------------------------------------------- the shared stack


def boundary_statements(scope: StageScope) -> list[Statement]:
    """The most a preview's workload role may do: write its logs, pull the project's image."""
    return [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": scope.log_group_arns(streams=True),
        },
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PullImage", "Effect": "Allow", "Action": PULL_ACTIONS, "Resource": scope.repository_arn},
    ]  # fmt: skip


def deploy_policies(
    scope: StageScope, boundary: str, state: StateBucket | None, first_stage: str | None = None
) -> dict[str, list[Statement]]:
    """The preview deploy role's inline policies, by name (`first_stage`: whose cluster and load
    balancer ECS previews use)."""
    documents: dict[str, list[Statement]] = {}
    if state is not None:
        documents["state"] = _state(scope, state)
    documents["iam"] = _roles(scope, boundary)
    if scope.target == "ecs":
        if first_stage is None:
            raise ValueError("ecs previews need the first stage")
        documents["platform"] = pr_ecs.deploy_grants(scope, first_stage)
    else:
        documents["platform"] = lambda_fn.deploy_grants(scope)
    documents["logs"] = [
        s for s in observability.deploy_grants(scope)
        if s["Sid"] in ("OwnLogGroups", "DescribeLogGroups")
    ]  # fmt: skip
    documents["image"] = ci_push_statements(scope.repository_arn)
    return documents


def _state(scope: StageScope, state: StateBucket) -> list[Statement]:
    """Read the whole state (the StackReference to shared, `pulumi stack ls` for the cap and the
    sweep); write only the `pr-*` stacks' files."""
    root, project = state.root_arn(scope.ctx), scope.naming.project
    return [
        *state_read_statements(scope.ctx, state),
        {
            "Sid": "StateWritePreviewStacks",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": [
                f"{root}/stacks/{project}/{ALL_PREVIEWS}",
                f"{root}/history/{project}/{ALL_PREVIEWS}",
                f"{root}/backups/{project}/{ALL_PREVIEWS}",
                f"{root}/locks/*/{project}/{ALL_PREVIEWS}",
            ],
        },
    ]


def _roles(scope: StageScope, boundary: str) -> list[Statement]:
    """The previews' function roles: under their path, and created only inside the boundary."""
    return workload_role_statements(scope.workload_roles, boundary, "ManagePreviewRoles")


@dataclass
class PreviewAccessArgs:
    ctx: AwsContext
    project: str
    github: GithubIdentity
    provider_arn: pulumi.Input[str]
    ttl_hours: int = 72
    state_backend: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    target: str = "lambda"  # where previews run: lambda or ecs
    first_stage: str | None = None  # whose cluster and load balancer ECS previews use


class PreviewAccess(pulumi.ComponentResource):
    """The previews' permissions boundary and their deploy role (shared stack)."""

    repository: Any
    boundary: Any
    role: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ACCESS_COMPONENT, name, None, opts)
        project, ctx = args.project, args.ctx
        path = contract.deploy_role_path(project)
        boundary = boundary_arn(ctx, project)
        state = StateBucket.parse(args.state_backend)

        def scope(repository_arn: str) -> StageScope:
            return previews_scope(ctx, project, repository_arn, args.target)

        self.repository = aws.ecr.Repository(
            f"{name}-images",
            name=contract.preview_repository_name(project),
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS"}],
            force_delete=True,  # a pull request's images are disposable
            tags=dict(args.tags),
            opts=child(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-images-lifecycle",
            repository=self.repository.name,
            policy=json.dumps({"rules": image_expiry(args.ttl_hours)}),
            opts=child(self),
        )
        if args.target == "lambda":  # Lambda pulls as its service; ECS tasks as their role
            source = ctx.arn("lambda", f"function:{contract.stage_prefix(project, ALL_PREVIEWS)}")
            aws.ecr.RepositoryPolicy(
                f"{name}-images-policy",
                repository=self.repository.name,
                policy=policy(lambda_pull(source)),
                opts=child(self),
            )
        self.repository_url = self.repository.repository_url
        repository = self.repository.arn
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=contract.pr_boundary_name(project),
            path=path,
            description=f"Permissions boundary of every workload role of {project}'s previews",
            policy=repository.apply(lambda arn: policy(boundary_statements(scope(arn)))),
            tags=dict(args.tags),
            opts=child(self),
        )
        documents = repository.apply(
            lambda arn: {
                key: policy(statements)
                for key, statements in deploy_policies(
                    scope(arn), boundary, state, args.first_stage
                ).items()
            }
        )
        names = deploy_policies(scope(""), boundary, state, args.first_stage).keys()
        # The sweep runs on a schedule, that is on the default branch: the role also trusts
        # main's subject (as the CI role does), never a branch of a pull request.
        subjects = [args.github.subject("pull_request"), args.github.subject("branch")]
        self.role = aws.iam.Role(
            f"{name}-deploy-role",
            name=contract.pr_role_name(project),
            path=path,
            description=f"Deploys {project}'s pull-request previews ({', '.join(subjects)})",
            assume_role_policy=policy_output(
                lambda arn: trust(args.github, arn, subjects), args.provider_arn
            ),
            max_session_duration=3600,
            tags=dict(args.tags),
            opts=child(self),
        )
        self.policies = [
            aws.iam.RolePolicy(
                f"{name}-deploy-{key}",
                name=key,
                role=self.role.id,
                policy=documents.apply(_pick(key)),
                opts=child(self),
            )
            for key in names
        ]
        self.arn = self.role.arn
        self.register_outputs(
            {
                "arn": self.arn,
                "boundaryArn": self.boundary.arn,
                "repositoryUrl": self.repository_url,
            }
        )


def check_first_stage(
    project: str, settings: PreviewSettings, stages: Sequence[str], infra_dir: Path
) -> None:
    """ECS previews need an ECS first stage in the shared stack's account (its stack file says),
    and a load balancer with a listener free for each: one line naming the key, else nothing."""
    from .accounts import PlacementError, read_placements
    from .config_checks import check_preview_target

    if settings.target != "ecs":
        return
    try:
        placements = read_placements(infra_dir, project, list(stages[:1]))
    except PlacementError as error:
        raise pulumi.RunError(str(error)) from None
    first = placements[0] if placements else None
    issues = check_preview_target(
        settings.target, settings.max_active, first.stage if first else None,
        first.target if first else None, first.account if first else None,
    )  # fmt: skip
    if issues:
        issue = issues[0]
        raise pulumi.RunError(f"config {project}:{issue.key}: {issue.problem}; {issue.fix}")


def image_expiry(ttl_hours: int) -> list[dict[str, Any]]:
    """The previews' repository keeps an image a day longer than the TTL lets its preview live
    (ECR counts whole days since the push); untagged manifests go after a day."""
    days = -(-ttl_hours // 24) + 1
    selections = [
        ("Expire untagged images after 1 day", {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}),
        (f"Expire pull requests' images after {days} days", {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days}),
    ]  # fmt: skip
    return [
        {"rulePriority": n, "description": d, "selection": s, "action": {"type": "expire"}}
        for n, (d, s) in enumerate(selections, start=1)
    ]


def _pick(key: str) -> Callable[[dict[str, str]], str]:
    return lambda documents: documents[key]


def trust(github: GithubIdentity, provider_arn: str, subjects: list[str]) -> list[Statement]:
    """GitHub's trust (issuer, audience) for any of these exact subjects."""
    statements = github.trust(provider_arn, subjects[0])
    statements[0]["Condition"]["StringEquals"][f"{github.issuer}:sub"] = sorted(subjects)
    return statements
