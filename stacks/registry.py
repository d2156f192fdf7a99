"""The container registry of the project (shared stack): one ECR repository for every stage.

Stages in other AWS accounts (stacks/accounts.py) reach it through its repository policy: their
accounts may pull (the task execution and node roles run there), their deploy roles may make the
reads and release tags their deploy job makes, and Lambda's service principal may pull for their
functions. The repository stays encrypted with ECR's AWS managed KMS key: ECR decrypts an image
for a pull itself, through the grant it holds on the key with the repository as grantee (Amazon
ECR User Guide, "Encryption at rest"), so a pulling account needs no access to the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .accounts import Placement, foreign_accounts
from .common import AwsContext, Naming, Statement, child, policy_output
from .permissions import PULL_ACTIONS, StageScope
from .retention import retention_rules


@dataclass
class RegistryArgs:
    repository_name: str
    ctx: AwsContext
    # Stages in lifecycle order: each keeps its current and previous release (retention.py).
    stages: tuple[str, ...] = ()
    # Release images (tagged with the git SHA) kept; older ones expire.
    keep_releases: int = 30
    # Untagged images (superseded manifests, failed pushes) expire after this many days.
    untagged_expiry_days: int = 1
    # Lambda functions whose names start with this may pull (Lambda pulls with its service principal).
    lambda_function_prefix: str | None = None
    # Scan on push is a registry-wide (per account and region) setting; turn this off when the
    # account's scanning configuration is managed elsewhere.
    manage_scanning: bool = True
    # Delete the repository even when it still holds images (set before `pulumi destroy`).
    force_delete: bool = False
    # The project (its deploy roles' names); the repository's name when empty.
    project: str = ""
    # The stages that live in another account than this stack's (accounts.foreign).
    foreign_stages: Sequence[Placement] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    """ECR repository: immutable tags, KMS encryption, scan on push, lifecycle policy."""

    repository: Any
    repository_url: pulumi.Output[str]
    repository_name: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:Registry", name, None, opts)
        if args.keep_releases < 1:
            raise pulumi.RunError("keepReleases must be at least 1")
        if args.untagged_expiry_days < 1:
            raise pulumi.RunError("untaggedExpiryDays must be at least 1")
        if any("." in stage for stage in args.stages):
            raise pulumi.RunError("stage names cannot contain dots")

        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS"}],
            force_delete=args.force_delete,
            tags=dict(args.tags),
            opts=child(self),
        )
        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": retention_rules(
                        args.stages, args.keep_releases,
                        untagged_expiry_days=args.untagged_expiry_days,
                    )
                }
            ),
            opts=child(self),
        )
        if args.manage_scanning:
            # The per-repository `image_scanning_configuration` is deprecated in favour of this
            # registry-level setting. It is one value per account and region, so the rule covers
            # every repository ("*"): several projects in one account converge on the same value
            # instead of overwriting each other, and deleting this stack leaves scanning on.
            self.scanning = aws.ecr.RegistryScanningConfiguration(
                f"{name}-scanning",
                scan_type="BASIC",
                rules=[
                    {
                        "scan_frequency": "SCAN_ON_PUSH",
                        "repository_filters": [{"filter": "*", "filter_type": "WILDCARD"}],
                    }
                ],
                opts=child(self, retain_on_delete=True),
            )
        if args.lambda_function_prefix or args.foreign_stages:
            self.repository_policy = aws.ecr.RepositoryPolicy(
                f"{name}-policy",
                repository=self.repository.name,
                policy=policy_output(
                    lambda arn: repository_statements(args, arn), self.repository.arn
                ),
                opts=child(self),
            )

        self.repository_url = self.repository.repository_url
        self.repository_name = self.repository.name
        self.repository_arn = self.repository.arn
        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "repositoryName": self.repository_name,
                "repositoryArn": self.repository_arn,
            }
        )


def repository_statements(args: RegistryArgs, repository_arn: str) -> list[Statement]:
    """The repository policy: Lambda's pulls, and what the stages in other accounts do here."""
    statements: list[Statement] = []
    sources = _lambda_sources(args)
    if sources:
        statements += _lambda_pull(sources[0] if len(sources) == 1 else sources)
    statements += cross_account_statements(
        args.ctx, args.project or args.repository_name, repository_arn, args.foreign_stages
    )
    return statements


def _lambda_sources(args: RegistryArgs) -> list[str]:
    """The functions Lambda pulls for: this project's in this account and region, and in each
    Lambda stage's account (a function pulls only from its own region: config_checks)."""
    prefix = args.lambda_function_prefix
    if not prefix:
        return []
    ctx = args.ctx
    sources = [ctx.arn("lambda", f"function:{prefix}*")]
    for stage in args.foreign_stages:
        if stage.target == "lambda":
            stage_ctx = stage_context(ctx, stage)
            sources.append(stage_ctx.arn("lambda", f"function:{prefix}*"))
    return list(dict.fromkeys(sources))


def _lambda_pull(source_arn: str | list[str]) -> list[Statement]:
    """Lambda pulls container images with its service principal; only this project's functions
    (AWS's cross-account statement for Lambda: Lambda Developer Guide, "Amazon ECR permissions",
    with `aws:SourceArn` naming each account's functions)."""
    return [
        {
            "Sid": "LambdaPull",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
        }
    ]


def stage_context(ctx: AwsContext, stage: Placement) -> AwsContext:
    """Where a stage runs, seen from the shared stack: its account and region, this partition."""
    return AwsContext(
        partition=ctx.partition,
        region=stage.region_in(ctx.region),
        account_id=stage.account_in(ctx.account_id),
        dns_suffix=ctx.dns_suffix,
    )


def cross_account_statements(
    ctx: AwsContext, project: str, repository_arn: str, stages: Sequence[Placement]
) -> list[Statement]:
    """What the stages in other accounts do on this repository. Each stage account may pull (its
    ECS task execution role, EKS nodes); each stage's deploy role may make the calls its deploy
    job makes here (the scan gate, the image reads of its target, the release tags), and nothing
    else of that account may. The principals are account roots with `aws:PrincipalArn`
    conditions: ECR refuses a policy naming a role that does not exist yet, and the shared stack
    is deployed before the stages' roles."""
    foreign = [stage for stage in stages if stage.is_foreign(ctx.account_id)]
    if not foreign:
        return []
    statements: list[Statement] = [
        {
            "Sid": "StageAccountsPull",
            "Effect": "Allow",
            "Principal": {
                "AWS": [_root(ctx, account) for account in foreign_accounts(foreign, ctx.account_id)]
            },
            "Action": sorted(PULL_ACTIONS),
        }
    ]
    for stage in foreign:
        scope = _stage_scope(ctx, project, stage, repository_arn)
        statements.append(
            {
                "Sid": f"DeployRole{_sid(stage.stage)}",
                "Effect": "Allow",
                "Principal": {"AWS": _root(ctx, scope.ctx.account_id)},
                "Action": deploy_repository_actions(scope),
                "Condition": {"ArnEquals": {"aws:PrincipalArn": scope.deploy_role_arn}},
            }
        )
    return statements


def deploy_repository_actions(scope: StageScope) -> list[str]:
    """Every action the stage's deploy role is granted on the repository: the repository policy
    grants the same, so the two sides of a cross-account call cannot drift apart."""
    from .stage import deploy_policies  # the stage's components import more than the registry

    found: set[str] = set()
    for statements in deploy_policies(scope).values():
        for statement in statements:
            named = statement.get("Resource", [])
            if scope.repository_arn in ([named] if isinstance(named, str) else named):
                listed = statement["Action"]
                found.update([listed] if isinstance(listed, str) else listed)
    return sorted(found)


def _stage_scope(
    ctx: AwsContext, project: str, stage: Placement, repository_arn: str
) -> StageScope:
    stage_ctx = stage_context(ctx, stage)
    networked = stage.target != "lambda"
    return StageScope(
        ctx=stage_ctx,
        naming=Naming(project, stage.stage),
        target=stage.target,
        repository_arn=repository_arn,
        vpc_arn=stage_ctx.arn("ec2", "vpc/*") if networked else None,
    )


def _root(ctx: AwsContext, account: str) -> str:
    return contract.arn(ctx.partition, "iam", "", account, "root")


def _sid(stage: str) -> str:
    """A statement id from a stage name (ids take letters and digits only)."""
    return "".join(part.capitalize() for part in stage.split("-"))
