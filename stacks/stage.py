"""The foundation of one stage: its permissions boundary, its network and its deploy role.

An administrator deploys the foundation (`bootstrap provision` makes it with a targeted update of
`contract.foundation_urns`); from then on the stage's deploy role deploys the rest of the stage and
the teardown workflow destroys it, foundation excepted. The deploy role's policies are the
foundation's own (`permissions.py`) plus each component's `deploy_grants`, written beside the
component. The program adds the deploy target (ECS, EKS or Lambda) and the observability on top;
for EKS it must make the Kubernetes provider between the cluster and the workload, which a
component may not do, so the target is not a child of this component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from . import budget, contract, ecs, eks, lambda_fn, network, observability
from .accounts import arn_account, wrong_account
from .alarm_reader import AlarmReader, AlarmReaderArgs
from .common import AwsContext, Naming, Statement, child, policy
from .ecs import EcsRoles, EcsRolesArgs
from .eks import EksRoles, EksRolesArgs
from .identity import (
    DeployRole,
    DeployRoleArgs,
    GithubIdentity,
    GithubOidc,
    GithubOidcArgs,
    PreviewRole,
    PreviewRoleArgs,
)
from .network import Network, NetworkArgs
from .permissions import StageScope, StateBucket, boundary_statements, foundation_grants

TARGET_GRANTS: dict[str, Callable[[StageScope], list[Statement]]] = {
    "ecs": ecs.deploy_grants,
    "eks": eks.deploy_grants,
    "lambda": lambda_fn.deploy_grants,
}


def deploy_policies(
    scope: StageScope, *, own_oidc_issuer: str | None = None, own_preview_role: bool = False
) -> dict[str, list[Statement]]:
    """The deploy role's inline policies, by name: what it needs for everything of its stage.
    `own_oidc_issuer`: the issuer of the stage's own OIDC provider (a stage in its own account);
    `own_preview_role`: the stage has its own preview role (likewise)."""
    foundation = foundation_grants(scope)
    documents: dict[str, list[Statement]] = {
        key: foundation[key] for key in ("state", "iam") if key in foundation
    }
    if own_oidc_issuer:
        documents["iam"] = [*documents["iam"], read_own_provider(scope, own_oidc_issuer)]
    if own_preview_role:
        documents["iam"] = [*documents["iam"], read_own_preview_role(scope)]
    if scope.has_network:
        documents["network"] = network.deploy_grants(scope)
    documents["platform"] = TARGET_GRANTS[scope.target](scope)
    documents["observability"] = observability.deploy_grants(scope)
    documents["budget"] = budget.deploy_grants(scope)
    documents["release"] = foundation["release"]
    return documents


@dataclass
class StageNetworkArgs:
    availability_zones: Sequence[str]
    cidr: str = "10.0.0.0/16"
    az_count: int = 2
    nat_per_az: bool = False


@dataclass
class StageArgs:
    ctx: AwsContext
    naming: Naming
    target: str
    github: GithubIdentity
    # Which workflows the deploy role trusts: `environment` (the stage's GitHub environment) or
    # `branch` (main-branch workflows, for repositories without environments).
    trust_subject: str
    oidc_provider_arn: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    network: StageNetworkArgs | None = None
    lambda_in_vpc: bool = False
    log_retention_days: int = 14
    # The Pulumi state backend URL; for s3:// the deploy role may write this stack's state.
    state_backend: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # A stage in its own account (`<project>:account`) cannot trust the shared stack's OIDC
    # provider (a role trusts a provider of its own account only): it has its own, a child of
    # the stage in its foundation, or reuses the one that account has (`oidcProviderArn`).
    own_oidc: bool = False
    existing_oidc_provider_arn: str | None = None
    # The stage after this one (None: the last): its deploy job reads this stage's alarms through
    # this stage's alarm reader (stacks/alarm_reader.py), promotion's alarms gate.
    next_stage: str | None = None
    # A stage in its own account (`<project>:account`) is previewed on pull requests as its own
    # read-only preview role (the shared one cannot act in another account): see PreviewRole.
    own_preview_role: bool = False


class Stage(pulumi.ComponentResource):
    boundary: Any
    network: Network | None
    oidc: GithubOidc | None
    deploy_role: DeployRole
    alarm_reader: AlarmReader | None
    preview_role: PreviewRole | None
    eks_roles: EksRoles | None
    ecs_roles: EcsRoles | None

    def __init__(
        self, name: str, args: StageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(contract.STAGE_COMPONENT, name, None, opts)
        naming = args.naming
        tags = dict(args.tags)
        state = StateBucket.parse(args.state_backend)

        def scope(repository_arn: str, vpc_arn: str | None = None) -> StageScope:
            return StageScope(
                ctx=args.ctx,
                naming=naming,
                target=args.target,
                repository_arn=repository_arn,
                vpc_arn=vpc_arn,
                state=state,
                lambda_in_vpc=args.lambda_in_vpc,
                next_stage=args.next_stage,
            )

        probe = scope("")
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=probe.boundary_name,
            path=naming.role_path,
            description=f"Permissions boundary of every workload role of {naming.prefix}",
            policy=pulumi.Output.from_input(args.repository_arn).apply(
                lambda arn: policy(boundary_statements(scope(arn)))
            ),
            tags=tags,
            opts=child(self),
        )

        self.network = None
        vpc_arn: pulumi.Input[str | None] = None
        if args.network is not None:
            self.network = Network(
                f"{name}-network",
                NetworkArgs(
                    ctx=args.ctx,
                    availability_zones=args.network.availability_zones,
                    cidr=args.network.cidr,
                    az_count=args.network.az_count,
                    nat_per_az=args.network.nat_per_az,
                    flow_log_group_name=naming.log_group("vpc"),
                    log_retention_days=args.log_retention_days,
                    role_path=naming.role_path,
                    permissions_boundary=self.boundary.arn,
                    tags=tags,
                ),
                opts=child(self),
            )
            vpc_arn = self.network.vpc_arn

        # The stage's own provider (made here, not reused), which a refresh reads.
        issuer = args.github.issuer if args.own_oidc and not args.existing_oidc_provider_arn else None
        documents = pulumi.Output.all(args.repository_arn, vpc_arn).apply(
            lambda values: {
                key: policy(statements)
                for key, statements in deploy_policies(
                    scope(values[0], values[1]),
                    own_oidc_issuer=issuer,
                    own_preview_role=args.own_preview_role,
                ).items()
            }
        )
        # Which policies there are depends only on the stage's shape, known now; their text waits
        # for the repository and VPC ARNs.
        names = deploy_policies(scope("", "" if args.network is not None else None)).keys()
        subject = args.github.subject(args.trust_subject, naming.stage)
        self.oidc = None
        provider_arn = args.oidc_provider_arn
        if args.own_oidc:
            self.oidc = GithubOidc(
                f"{name}-github",
                GithubOidcArgs(
                    github=args.github,
                    existing_provider_arn=args.existing_oidc_provider_arn,
                    tags=tags,
                ),
                opts=child(self),
            )
            provider_arn = self.oidc.provider_arn
            if not args.existing_oidc_provider_arn:
                provider_arn = pulumi.Output.all(provider_arn, args.oidc_provider_arn).apply(
                    _not_the_shared_account(args.ctx.account_id, naming)
                )
        self.deploy_role = DeployRole(
            f"{name}-deploy",
            DeployRoleArgs(
                github=args.github,
                provider_arn=provider_arn,
                subject=subject,
                role_name=probe.deploy_role_name,
                path=naming.deploy_role_path,
                policies={key: documents.apply(_pick(key)) for key in names},
                description=f"Deploys stage {naming.stage} of {naming.project} ({subject})",
                tags=tags,
            ),
            opts=child(self),
        )
        self.alarm_reader = None
        if args.next_stage is not None:  # a foundation role: a child of the deploy role's
            self.alarm_reader = AlarmReader(
                f"{name}-deploy-alarms-read",
                AlarmReaderArgs(
                    ctx=args.ctx, naming=naming, next_stage=args.next_stage, github=args.github,
                    trust_subject=args.trust_subject, provider_arn=provider_arn, tags=tags,
                ),
                opts=child(self.deploy_role),
            )  # fmt: skip
        self.preview_role = None
        if args.own_preview_role:  # a foundation role too: a child of the deploy role's
            self.preview_role = PreviewRole(
                f"{name}-deploy-preview",
                PreviewRoleArgs(
                    ctx=args.ctx, github=args.github, provider_arn=provider_arn,
                    role_name=contract.stage_preview_role_name(naming.project, naming.stage),
                    path=naming.deploy_role_path, state_backend=args.state_backend, tags=tags,
                ),
                opts=child(self.deploy_role),
            )  # fmt: skip
        self.eks_roles = None
        if args.target == "eks":
            self.eks_roles = EksRoles(
                f"{name}-deploy-eks",
                EksRolesArgs(ctx=args.ctx, path=naming.foundation_role_path, tags=tags),
                opts=child(self.deploy_role),
            )
        self.ecs_roles = None
        if args.target == "ecs":
            self.ecs_roles = EcsRoles(
                f"{name}-deploy-ecs",
                EcsRolesArgs(
                    ctx=args.ctx,
                    prefix=naming.prefix,
                    path=naming.foundation_role_path,
                    tags=tags,
                ),
                opts=child(self.deploy_role),
            )
        self.register_outputs(
            {
                "deployRoleArn": self.deploy_role.arn,
                "boundaryArn": self.boundary.arn,
                "oidcProviderArn": provider_arn,
            }
        )


def read_own_provider(scope: StageScope, issuer: str) -> Statement:
    """A refresh reads the stage's own GitHub OIDC provider (its foundation: never changed by the
    deploy role), as it reads the deploy role and the boundary."""
    return {
        "Sid": "ReadOwnOidcProvider",
        "Effect": "Allow",
        "Action": "iam:GetOpenIDConnectProvider",
        "Resource": scope.ctx.iam_arn(f"oidc-provider/{issuer}"),
    }


def read_own_preview_role(scope: StageScope) -> Statement:
    """A refresh reads the stage's own preview role (its foundation), as it reads the alarm
    reader."""
    name = contract.stage_preview_role_name(scope.naming.project, scope.naming.stage)
    return {
        "Sid": "ReadOwnPreviewRole",
        "Effect": "Allow",
        "Action": ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                   "iam:ListRolePolicies"],
        "Resource": scope.ctx.iam_arn(f"role{scope.naming.deploy_role_path}{name}"),
    }  # fmt: skip


def _pick(key: str) -> Callable[[dict[str, str]], str]:
    return lambda documents: documents[key]


def _not_the_shared_account(account: str, naming: Naming) -> Callable[[list[str]], str]:
    """The stage's own provider, unless the stage names the shared stack's account as its own:
    an account has one provider per URL, so a second one there would be refused."""

    def check(arns: list[str]) -> str:
        own, shared = arns
        if arn_account(shared) == account:
            raise pulumi.RunError(
                f"config {naming.project}:{contract.ACCOUNT_KEY}: stage {naming.stage} names "
                f"account {account}, which is the shared stack's account and has its GitHub "
                f"OIDC provider already; remove {naming.project}:{contract.ACCOUNT_KEY} from "
                f"{contract.stack_file(naming.stage)} (the stage then uses the shared stack's "
                f"provider), or set {naming.project}:oidcProviderArn there to {shared}"
            )
        return own

    return check


def stage_context(
    ctx: AwsContext, naming: Naming, account: str | None, *, offline: bool
) -> AwsContext:
    """Where the stage runs, checked: with `<project>:account` set, the credentials must be that
    account's (a run against another account would plan or change the wrong resources). bootstrap's
    offline plan answers for an account of its own: there the stage's account stands in."""
    if account is None or account == ctx.account_id:
        return ctx
    if offline:
        return replace(ctx, account_id=account)
    problem = wrong_account(naming.project, naming.stage, account, ctx.account_id)
    raise pulumi.RunError(problem or "")
