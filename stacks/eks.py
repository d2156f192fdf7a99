"""The EKS target, AWS side: an EKS Auto Mode cluster with its access entries, the cluster and node
roles, and what the stage's deploy role needs to deploy it (`deploy_grants`).

Who may use the cluster's Kubernetes API: exactly the principals given access entries here, the
stage's deploy role and the administrators the stage's config names (`eksAdmins`). The cluster is
created with `bootstrap_cluster_creator_admin_permissions` off: with it on, EKS itself gives the
creator (the deploy role, on the first CI deploy) an entry, and the stack's own entry for the same
role then fails with 409 ResourceInUseException.

The cluster and node roles cannot carry the stage's permissions boundary: a boundary would have to
allow everything the five EKS Auto Mode managed policies grant (and follow AWS's changes to them).
They are part of the stage's foundation instead (`EksRoles`, a child of the deploy role's
component): an administrator makes them, at their own IAM path; the deploy role may only read and
pass them to EKS, never create, re-trust or attach policies to a role without the boundary.

The workload (pulumi-kubernetes) is in `eks_workload.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .aws_values import DEFAULT_KUBERNETES_VERSION
from .common import AwsContext, Statement, child, log_group, pass_role, policy
from .permissions import StageScope, pull_own_image, service_linked_roles

# The AWS managed policies of EKS Auto Mode's cluster role and node role.
EKS_CLUSTER_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
)
EKS_NODE_POLICIES = ("AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly")
EKS_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"
LOG_TYPES = ["api", "audit", "authenticator"]


def kubeconfig(name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that gets short-lived tokens from the caller's AWS credentials."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": endpoint,
                        "certificate-authority-data": certificate_authority,
                    },
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        }
    )


@dataclass
class EksRolesArgs:
    ctx: AwsContext
    path: str  # contract.foundation_role_path: outside every path the deploy role may change
    tags: Mapping[str, str] = field(default_factory=dict)


class EksRoles(pulumi.ComponentResource):
    """The cluster role and the node role of an EKS Auto Mode cluster, with AWS's managed policies."""

    cluster_role: Any
    node_role: Any

    def __init__(
        self, name: str, args: EksRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EksRoles", name, None, opts)
        self.cluster_role, self.cluster_policies = self._role(
            name, args, "cluster", "eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"],
            EKS_CLUSTER_POLICIES,
        )  # fmt: skip
        self.node_role, self.node_policies = self._role(
            name, args, "node", "ec2.amazonaws.com", "sts:AssumeRole", EKS_NODE_POLICIES
        )
        self.register_outputs(
            {"clusterRoleArn": self.cluster_role.arn, "nodeRoleArn": self.node_role.arn}
        )

    def _role(
        self, name: str, args: EksRolesArgs, kind: str, service: str, actions: str | list[str],
        managed_policies: Sequence[str],
    ) -> tuple[Any, list[Any]]:  # fmt: skip
        """A role the service assumes, with AWS's managed policies attached."""
        role = aws.iam.Role(
            f"{name}-{kind}",
            path=args.path,
            description=f"EKS Auto Mode {kind} role of {name}",
            assume_role_policy=policy(
                [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}]
            ),
            tags=dict(args.tags),
            opts=child(self),
        )
        managed = f"arn:{args.ctx.partition}:iam::aws:policy"
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{kind}-{policy_name}",
                role=role.name,
                policy_arn=f"{managed}/{policy_name}",
                opts=child(self),
            )
            for policy_name in managed_policies
        ]
        return role, attachments


@dataclass
class EksClusterArgs:
    ctx: AwsContext
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets: nodes and the control plane's ENIs
    cluster_role_arn: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    # The stage's deploy role: cluster admin through an access entry.
    deploy_role_arn: pulumi.Input[str]
    # IAM roles or users of people who run `pulumi up` of the stage themselves: cluster admin too.
    admin_arns: Sequence[str] = ()
    version: str = DEFAULT_KUBERNETES_VERSION
    # The API endpoint is always reachable privately (from the VPC); the public endpoint lets
    # GitHub-hosted runners deploy. Restrict it to CIDRs, or turn it off for in-VPC runners.
    public_endpoint: bool = True
    public_access_cidrs: Sequence[str] = ("0.0.0.0/0",)
    log_retention_days: int = 14
    tags: Mapping[str, str] = field(default_factory=dict)
    # Dependencies the cluster must wait for (the foundation roles' policy attachments).
    depends_on: Sequence[pulumi.Resource] = ()


class EksCluster(pulumi.ComponentResource):
    cluster: Any
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EksCluster", name, None, opts)
        ctx = args.ctx
        tags = dict(args.tags)

        # EKS writes control-plane logs to this exact group; made first so it has a retention.
        self.log_group = log_group(
            self, f"{name}-logs", f"/aws/eks/{name}/cluster", args.log_retention_days, tags
        )
        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            version=args.version,
            role_arn=args.cluster_role_arn,
            vpc_config={
                "subnet_ids": list(args.subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": args.public_endpoint,
                "public_access_cidrs": list(args.public_access_cidrs)
                if args.public_endpoint
                else None,
            },
            access_config={
                "authentication_mode": "API",
                # Access comes only from the entries below (see the module's docstring).
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            # EKS Auto Mode: AWS runs the nodes, load balancers and block storage.
            bootstrap_self_managed_addons=False,
            compute_config={
                "enabled": True,
                "node_pools": ["general-purpose", "system"],
                "node_role_arn": args.node_role_arn,
            },
            kubernetes_network_config={"elastic_load_balancing": {"enabled": True}},
            storage_config={"block_storage": {"enabled": True}},
            enabled_cluster_log_types=LOG_TYPES,
            # Standard support only: a version past it is upgraded, never billed as extended.
            upgrade_policy={"support_type": "STANDARD"},
            tags=tags,
            opts=child(
                self,
                depends_on=[self.log_group, *args.depends_on],
                # The flag only counts at creation (changing it replaces the cluster): a cluster
                # made with it on by an earlier template keeps its creator's entry.
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"],
            ),
        )

        admins: list[tuple[str, pulumi.Input[str]]] = [("0", args.deploy_role_arn)]
        admins += [(_principal_name(arn), arn) for arn in args.admin_arns]
        for key, principal in admins:
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{key}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=tags,
                opts=child(self),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{key}",
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=f"arn:{ctx.partition}:eks::aws:cluster-access-policy/{EKS_ADMIN_ACCESS_POLICY}",
                access_scope={"type": "cluster"},
                opts=child(self),
            )

        self.cluster_name = self.cluster.name
        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority
        ).apply(
            lambda values: kubeconfig(
                values[0], values[1], (values[2] or {}).get("data", ""), ctx.region
            )
        )
        self.register_outputs({"clusterName": self.cluster_name})


def _principal_name(arn: str) -> str:
    """A stable logical-name part for an admin's access entry: the role or user name."""
    return arn.rsplit("/", 1)[-1]


def deploy_grants(scope: StageScope) -> list[Statement]:
    """What the stage's deploy role needs to create, update and destroy an `EksCluster` named for
    the stage (`<project>-<stage>`) with its access entries, and to look up the workload's load
    balancer. The workload itself goes through the cluster's API, with the deploy role's entry."""
    ctx, prefix = scope.ctx, scope.prefix
    return [
        pull_own_image(scope),
        {
            "Sid": "OwnCluster",
            "Effect": "Allow",
            "Action": [
                "eks:AssociateAccessPolicy",
                "eks:CreateAccessEntry",
                "eks:DeleteAccessEntry",
                "eks:DeleteCluster",
                "eks:DescribeAccessEntry",
                "eks:DescribeCluster",
                "eks:DescribeUpdate",
                "eks:DisassociateAccessPolicy",
                "eks:ListAccessEntries",
                "eks:ListAssociatedAccessPolicies",
                "eks:ListTagsForResource",
                "eks:ListUpdates",
                "eks:TagResource",
                "eks:UntagResource",
                "eks:UpdateAccessEntry",
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
            ],
            "Resource": [
                ctx.arn("eks", f"cluster/{prefix}"),
                ctx.arn("eks", f"access-entry/{prefix}/*"),
            ],
        },
        {
            # CreateCluster has no resource-level permissions: only clusters tagged as this stage,
            # with API authentication and without the creator's implicit entry.
            "Sid": "CreateOwnCluster",
            "Effect": "Allow",
            "Action": "eks:CreateCluster",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    f"aws:RequestTag/{contract.TAG_PROJECT}": scope.naming.project,
                    f"aws:RequestTag/{contract.TAG_STAGE}": scope.naming.stage,
                    "eks:authenticationMode": "API",
                },
                "Bool": {"eks:bootstrapClusterCreatorAdminPermissions": "false"},
            },
        },
        {
            # The workload's load balancer is made by EKS Auto Mode; the stack only looks it up.
            "Sid": "LoadBalancingDescribe",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:Describe*",
            "Resource": "*",
        },
        # The foundation's cluster and node roles: read (permissions.py, ReadOwnIdentity), never
        # changed.
        pass_role("PassClusterRoles", scope.foundation_roles, ["eks.amazonaws.com"]),
        service_linked_roles(["eks.amazonaws.com"], ctx),
    ]
