"""What a stage's deploy role may do, and the permissions boundary of the roles it manages.

The deploy role runs `pulumi up` for one stage. Its policy is least privilege by construction:
- no `"Action": "*"`, no `iam:*`; every statement names its actions;
- resources are the stage's own, matched by ARN: explicit names (`<project>-<stage>`, log groups,
  alarms `<project>-<stage>.*`), auto-named load balancers and target groups as
  `<project>-<stage>-???????` (exactly Pulumi's 7-character suffix, so stage `dev` never matches
  stage `dev-2`), EC2 resources by the stage's tags or VPC;
- the Pulumi state backend (an S3 bucket) only for this stack's own files;
- IAM only for roles under the stage's path (`/bootstrap/<project>/<stage>/`), which excludes the
  deploy role itself (`/bootstrap-deploy/<project>/`): inline policies only on roles that carry the
  stage's permissions boundary, managed policies only from a fixed list of AWS policies (EKS), and
  `iam:PassRole` only to the services the stage uses. The boundary caps every workload role at
  "write my logs, pull my image", so the deploy role cannot mint a more powerful role.

Changing the deploy role or the boundary needs an administrator's `pulumi up`; everything else
in the stage can be deployed by the role itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from .common import LAMBDA_VPC_ACTIONS, TAG_PROJECT, TAG_STAGE, AwsContext, Naming, Statement

EKS_CLUSTER_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
)
EKS_NODE_POLICIES = ("AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly")
EKS_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"
PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]
TARGETS = ("ecs", "eks", "lambda")


@dataclass(frozen=True)
class StateBucket:
    """The S3 location of the Pulumi state (`s3://bucket/optional/prefix?region=...`)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, backend_url: str | None) -> StateBucket | None:
        if not backend_url or not backend_url.startswith("s3://"):
            return None  # Pulumi Cloud or a local file backend: nothing in AWS to grant
        parsed = urlparse(backend_url)
        prefix = parsed.path.strip("/")
        return cls(bucket=parsed.netloc, prefix=f"{prefix}/" if prefix else "")


@dataclass(frozen=True)
class StageScope:
    """Everything the deploy policy needs to name the stage's resources."""

    ctx: AwsContext
    naming: Naming
    target: str
    repository_arn: str
    vpc_arn: str | None = None
    state: StateBucket | None = None
    lambda_in_vpc: bool = False

    @property
    def prefix(self) -> str:
        return self.naming.prefix

    @property
    def has_network(self) -> bool:
        return self.vpc_arn is not None

    @property
    def boundary_name(self) -> str:
        return f"{self.prefix}-boundary"

    @property
    def boundary_arn(self) -> str:
        return self.ctx.iam_arn(f"policy{self.naming.role_path}{self.boundary_name}")

    @property
    def deploy_role_name(self) -> str:
        return f"{self.prefix}-deploy"

    @property
    def deploy_role_arn(self) -> str:
        return self.ctx.iam_arn(f"role{self.naming.deploy_role_path}{self.deploy_role_name}")

    @property
    def workload_roles(self) -> str:
        return self.ctx.iam_arn(f"role{self.naming.role_path}*")

    def log_groups(self) -> list[str]:
        """Names of every log group the stage owns."""
        groups = []
        if self.has_network:
            groups.append(self.naming.log_group("vpc"))
        if self.target == "ecs":
            groups.append(self.naming.log_group("ecs"))
        elif self.target == "lambda":
            groups.append(self.naming.log_group("lambda"))
        elif self.target == "eks":
            groups.append(f"{self.naming.log_group('eks')}/cluster")
        return groups

    def log_group_arns(self, *, streams: bool) -> list[str]:
        arns = []
        for group in self.log_groups():
            arns.append(self.ctx.arn("logs", f"log-group:{group}:*"))
            if not streams:
                arns.append(self.ctx.arn("logs", f"log-group:{group}"))
        return sorted(arns)

    def passed_to(self) -> list[str]:
        services = {"ecs": ["ecs-tasks.amazonaws.com"], "lambda": ["lambda.amazonaws.com"]}.get(
            self.target, ["eks.amazonaws.com"]
        )
        if self.has_network:
            services.append("vpc-flow-logs.amazonaws.com")
        return sorted(services)


def deploy_policies(scope: StageScope) -> dict[str, list[Statement]]:
    """The deploy role's inline policies, by name."""
    if scope.target not in TARGETS:
        raise ValueError(f"unknown target {scope.target!r}")
    documents: dict[str, list[Statement]] = {}
    if scope.state is not None:
        documents["state"] = _state(scope, scope.state)
    documents["iam"] = _iam(scope)
    if scope.has_network:
        documents["network"] = _network(scope)
    documents["platform"] = {"ecs": _ecs, "eks": _eks, "lambda": _lambda}[scope.target](scope)
    documents["observability"] = _observability(scope)
    documents["release"] = [_mark_release(scope)]
    return documents


def _mark_release(scope: StageScope) -> Statement:
    """After its smoke test, the deploy tags the image `deployed.<stage>.<sha>` and removes that
    tag from superseded images (retention.py): a new tag on an existing manifest is a PutImage,
    removing a tag is a BatchDeleteImage by tag. Only on this project's repository."""
    return {
        "Sid": "MarkRelease",
        "Effect": "Allow",
        "Action": [
            "ecr:BatchDeleteImage",
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:PutImage",
        ],
        "Resource": scope.repository_arn,
    }


def boundary_statements(scope: StageScope) -> list[Statement]:
    """The most any workload role of the stage may do: write its logs and pull its image."""
    statements: list[Statement] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": scope.log_group_arns(streams=True),
        },
        {
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullOwnImage",
            "Effect": "Allow",
            "Action": PULL_ACTIONS,
            "Resource": scope.repository_arn,
        },
    ]
    if scope.lambda_in_vpc:
        statements.append(
            {
                # Lambda attaches functions to the VPC through network interfaces it manages with
                # the function's role; these actions have no resource-level permissions.
                "Sid": "LambdaVpcNetworkInterfaces",
                "Effect": "Allow",
                "Action": LAMBDA_VPC_ACTIONS,
                "Resource": "*",
            }
        )
    return statements


def _state(scope: StageScope, state: StateBucket) -> list[Statement]:
    project, stage = scope.naming.project, scope.naming.stage
    bucket = f"arn:{scope.ctx.partition}:s3:::{state.bucket}"
    root = f"{bucket}/{state.prefix}.pulumi"
    return [
        {
            "Sid": "StateBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": bucket,
        },
        {
            # Reading covers the shared stack's outputs (the StackReference) and the backend's
            # metadata; writing is limited to this stack's own checkpoint, history and lock.
            "Sid": "StateRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{root}/*",
        },
        {
            "Sid": "StateWriteOwnStack",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": [
                f"{root}/stacks/{project}/{stage}.json*",
                f"{root}/history/{project}/{stage}/*",
                f"{root}/backups/{project}/{stage}/*",
                f"{root}/locks/*/{project}/{stage}/*",
            ],
        },
    ]


def _iam(scope: StageScope) -> list[Statement]:
    ctx = scope.ctx
    statements: list[Statement] = [
        {
            # Refresh reads the deploy role and the boundary, but may not change them.
            "Sid": "ReadOwnIdentity",
            "Effect": "Allow",
            "Action": [
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListPolicyVersions",
                "iam:ListRolePolicies",
            ],
            "Resource": [scope.deploy_role_arn, scope.boundary_arn],
        },
        {
            "Sid": "ManageStageRoles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            "Resource": scope.workload_roles,
        },
        {
            # Inline policies only on roles capped by the stage's permissions boundary.
            "Sid": "InlinePoliciesWithinBoundary",
            "Effect": "Allow",
            "Action": ["iam:DeleteRolePolicy", "iam:PutRolePolicy"],
            "Resource": scope.workload_roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary_arn}},
        },
        {
            "Sid": "PassStageRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": scope.workload_roles,
            "Condition": {"StringEquals": {"iam:PassedToService": scope.passed_to()}},
        },
        {
            # First use of a service in an account creates its service-linked role.
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": ctx.iam_arn("role/aws-service-role/*"),
            "Condition": {"StringEquals": {"iam:AWSServiceName": _service_linked(scope)}},
        },
    ]
    if scope.target == "eks":
        managed = [
            f"arn:{ctx.partition}:iam::aws:policy/{name}"
            for name in (*EKS_CLUSTER_POLICIES, *EKS_NODE_POLICIES)
        ]
        statements.append(
            {
                "Sid": "AttachEksManagedPolicies",
                "Effect": "Allow",
                "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                "Resource": scope.workload_roles,
                "Condition": {"ArnEquals": {"iam:PolicyARN": managed}},
            }
        )
    return statements


def _service_linked(scope: StageScope) -> list[str]:
    services = {
        "ecs": [
            "ecs.amazonaws.com",
            "ecs.application-autoscaling.amazonaws.com",
            "elasticloadbalancing.amazonaws.com",
        ],
        "eks": ["eks.amazonaws.com", "elasticloadbalancing.amazonaws.com"],
        "lambda": [],
    }[scope.target]
    return sorted(services) or ["lambda.amazonaws.com"]


_EC2_CREATE = [
    "ec2:AllocateAddress",
    "ec2:CreateFlowLogs",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
]


def _network(scope: StageScope) -> list[Statement]:
    ctx = scope.ctx
    every = ctx.arn("ec2", "*")
    return [
        {"Sid": "Ec2Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
        {
            # Creation is limited to the stage's region and account; what is created carries the
            # stage's tags, and only resources with those tags can be changed or deleted below.
            "Sid": "Ec2Create",
            "Effect": "Allow",
            "Action": _EC2_CREATE,
            "Resource": every,
        },
        {
            "Sid": "Ec2TagOnCreate",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": every,
            "Condition": {
                "StringEquals": {"ec2:CreateAction": [a.split(":")[1] for a in _EC2_CREATE]}
            },
        },
        {
            "Sid": "Ec2ChangeOwnResources",
            "Effect": "Allow",
            "Action": [
                "ec2:AssociateRouteTable",
                "ec2:AttachInternetGateway",
                "ec2:CreateRoute",
                "ec2:CreateTags",
                "ec2:DeleteFlowLogs",
                "ec2:DeleteInternetGateway",
                "ec2:DeleteNatGateway",
                "ec2:DeleteRoute",
                "ec2:DeleteRouteTable",
                "ec2:DeleteSubnet",
                "ec2:DeleteTags",
                "ec2:DeleteVpc",
                "ec2:DetachInternetGateway",
                "ec2:DisassociateAddress",
                "ec2:DisassociateRouteTable",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:ReleaseAddress",
                "ec2:ReplaceRoute",
                "ec2:ReplaceRouteTableAssociation",
            ],
            "Resource": every,
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{TAG_PROJECT}": scope.naming.project,
                    f"aws:ResourceTag/{TAG_STAGE}": scope.naming.stage,
                }
            },
        },
        {
            # Security groups of the stage's VPC, including its default group (created by AWS
            # without tags; the stack removes its rules).
            "Sid": "Ec2SecurityGroupsInOwnVpc",
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteSecurityGroup",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ],
            "Resource": ctx.arn("ec2", "security-group/*"),
            "Condition": {"ArnEquals": {"ec2:Vpc": scope.vpc_arn}},
        },
    ]


def _pull_own_image(scope: StageScope) -> Statement:
    return {
        "Sid": "ReadOwnImages",
        "Effect": "Allow",
        "Action": ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"],
        "Resource": scope.repository_arn,
    }


def _ecs(scope: StageScope) -> list[Statement]:
    ctx, prefix = scope.ctx, scope.prefix
    lb = f"{prefix}-???????"  # Pulumi's auto-name: the logical name, "-" and 7 characters
    return [
        _pull_own_image(scope),
        {
            "Sid": "EcsClusterAndService",
            "Effect": "Allow",
            "Action": [
                "ecs:CreateCluster",
                "ecs:CreateService",
                "ecs:DeleteCluster",
                "ecs:DeleteService",
                "ecs:DescribeClusters",
                "ecs:DescribeServices",
                "ecs:ListTagsForResource",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCluster",
                "ecs:UpdateClusterSettings",
                "ecs:UpdateService",
            ],
            "Resource": [
                ctx.arn("ecs", f"cluster/{prefix}"),
                ctx.arn("ecs", f"service/{prefix}/{prefix}"),
            ],
        },
        {
            "Sid": "EcsTaskDefinitions",
            "Effect": "Allow",
            "Action": ["ecs:RegisterTaskDefinition", "ecs:TagResource"],
            "Resource": ctx.arn("ecs", f"task-definition/{prefix}:*"),
        },
        {
            # These two have no resource-level permissions in IAM.
            "Sid": "EcsTaskDefinitionRevisions",
            "Effect": "Allow",
            "Action": ["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition"],
            "Resource": "*",
        },
        {
            "Sid": "LoadBalancingDescribe",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:Describe*",
            "Resource": "*",
        },
        {
            "Sid": "OwnLoadBalancer",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            "Resource": [
                ctx.arn("elasticloadbalancing", f"loadbalancer/app/{lb}/*"),
                ctx.arn("elasticloadbalancing", f"targetgroup/{lb}/*"),
                ctx.arn("elasticloadbalancing", f"listener/app/{lb}/*/*"),
                # IAM lists both listener forms for listener actions; no network load balancer
                # carries the stage's name, so this grants nothing beyond the stage.
                ctx.arn("elasticloadbalancing", f"listener/net/{lb}/*/*"),
            ],
        },
        {
            "Sid": "ServiceAutoscaling",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
            ],
            "Resource": ctx.arn("application-autoscaling", "scalable-target/*"),
        },
        {
            "Sid": "ServiceAutoscalingDescribe",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
            ],
            "Resource": "*",
        },
    ]


def _eks(scope: StageScope) -> list[Statement]:
    ctx, prefix = scope.ctx, scope.prefix
    return [
        _pull_own_image(scope),
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
            # CreateCluster has no resource-level permissions: only clusters tagged as this stage.
            "Sid": "CreateOwnCluster",
            "Effect": "Allow",
            "Action": "eks:CreateCluster",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    f"aws:RequestTag/{TAG_PROJECT}": scope.naming.project,
                    f"aws:RequestTag/{TAG_STAGE}": scope.naming.stage,
                }
            },
        },
        {
            # The workload's load balancer is made by EKS Auto Mode; the stack only looks it up.
            "Sid": "LoadBalancingDescribe",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:Describe*",
            "Resource": "*",
        },
    ]


def _lambda(scope: StageScope) -> list[Statement]:
    ctx, prefix = scope.ctx, scope.prefix
    return [
        {
            "Sid": "ReadOwnImages",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetRepositoryPolicy",
            ],
            "Resource": scope.repository_arn,
        },
        {
            "Sid": "OwnFunction",
            "Effect": "Allow",
            "Action": [
                "lambda:AddPermission",
                "lambda:CreateAlias",
                "lambda:CreateFunction",
                "lambda:CreateFunctionUrlConfig",
                "lambda:DeleteAlias",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteFunctionUrlConfig",
                "lambda:GetAlias",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionConcurrency",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionUrlConfig",
                "lambda:GetPolicy",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:PublishVersion",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateAlias",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:UpdateFunctionUrlConfig",
            ],
            "Resource": [
                ctx.arn("lambda", f"function:{prefix}"),
                ctx.arn("lambda", f"function:{prefix}:*"),
            ],
        },
    ]


def _observability(scope: StageScope) -> list[Statement]:
    ctx, naming = scope.ctx, scope.naming
    return [
        {
            "Sid": "OwnLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:ListTagsLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            "Resource": scope.log_group_arns(streams=False),
        },
        {
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
        {
            "Sid": "OwnAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            "Resource": ctx.arn("cloudwatch", f"alarm:{naming.alarm('*')}"),
        },
        {
            "Sid": "OwnDashboard",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:PutDashboard",
            ],
            "Resource": ctx.arn("cloudwatch", f"dashboard/{naming.prefix}", region=False),
        },
    ]
