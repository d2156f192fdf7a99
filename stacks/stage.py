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
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import budget, contract, ecs, eks, lambda_fn, network, observability
from .common import AwsContext, Naming, Statement, child, policy
from .ecs import EcsRoles, EcsRolesArgs
from .eks import EksRoles, EksRolesArgs
from .identity import DeployRole, DeployRoleArgs, GithubIdentity
from .network import Network, NetworkArgs
from .permissions import StageScope, StateBucket, boundary_statements, foundation_grants

TARGET_GRANTS: dict[str, Callable[[StageScope], list[Statement]]] = {
    "ecs": ecs.deploy_grants,
    "eks": eks.deploy_grants,
    "lambda": lambda_fn.deploy_grants,
}


def deploy_policies(scope: StageScope) -> dict[str, list[Statement]]:
    """The deploy role's inline policies, by name: what it needs for everything of its stage."""
    foundation = foundation_grants(scope)
    documents: dict[str, list[Statement]] = {
        key: foundation[key] for key in ("state", "iam") if key in foundation
    }
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


class Stage(pulumi.ComponentResource):
    boundary: Any
    network: Network | None
    deploy_role: DeployRole
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

        documents = pulumi.Output.all(args.repository_arn, vpc_arn).apply(
            lambda values: {
                key: policy(statements)
                for key, statements in deploy_policies(scope(values[0], values[1])).items()
            }
        )
        # Which policies there are depends only on the stage's shape, known now; their text waits
        # for the repository and VPC ARNs.
        names = deploy_policies(scope("", "" if args.network is not None else None)).keys()
        subject = args.github.subject(args.trust_subject, naming.stage)
        self.deploy_role = DeployRole(
            f"{name}-deploy",
            DeployRoleArgs(
                github=args.github,
                provider_arn=args.oidc_provider_arn,
                subject=subject,
                role_name=probe.deploy_role_name,
                path=naming.deploy_role_path,
                policies={key: documents.apply(_pick(key)) for key in names},
                description=f"Deploys stage {naming.stage} of {naming.project} ({subject})",
                tags=tags,
            ),
            opts=child(self),
        )
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
            {"deployRoleArn": self.deploy_role.arn, "boundaryArn": self.boundary.arn}
        )


def _pick(key: str) -> Callable[[dict[str, str]], str]:
    return lambda documents: documents[key]
