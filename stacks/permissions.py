"""What every deploy role may do whatever its target, and the permissions boundary of its roles.

The deploy role runs `pulumi up` (and the teardown workflow's `pulumi destroy`) for one stage.
Its inline policies are least privilege by construction:
- no `"Action": "*"`, no `iam:*`; every statement names its actions;
- resources are the stage's own, matched by ARN (names prefixed `<project>-<stage>`, paths
  `/bootstrap/<project>/<stage>/`, EC2 resources by the stage's tags or VPC);
- the Pulumi state backend (an S3 bucket) only for this stack's own files;
- IAM: roles under the stage's path only (which excludes the deploy role itself, at
  `/bootstrap-deploy/<project>/`), and only roles that carry the stage's permissions boundary:
  CreateRole, PutRolePolicy, DeleteRolePolicy and PutRolePermissionsBoundary all require it (AWS's
  service authorization data lists `iam:PermissionsBoundary` for exactly these role actions plus
  the managed-policy ones, which the deploy role has none of). The boundary caps every workload
  role at "write my logs, pull my image", so the deploy role cannot mint a more powerful role,
  remove a boundary, or attach a managed policy.

Each component's own grants (ECS, EKS, Lambda, network, observability) sit beside the component,
as `deploy_grants(scope)` in its module; `stage.py` puts them together. Changing the deploy role,
its policies or the boundary needs an administrator's `pulumi up`; everything else of the stage
can be deployed, and destroyed, by the role itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from . import contract
from .common import LAMBDA_VPC_ACTIONS, AwsContext, Naming, Statement
from .ecr import MARK_RELEASE_ACTIONS
from .scan import SCAN_ACTIONS

TARGETS = ("ecs", "eks", "lambda")
PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]


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

    def bucket_arn(self, ctx: AwsContext) -> str:
        return f"arn:{ctx.partition}:s3:::{self.bucket}"

    def root_arn(self, ctx: AwsContext) -> str:
        """Every object of Pulumi's DIY backend lives under `<prefix>.pulumi/`."""
        return f"{self.bucket_arn(ctx)}/{self.prefix}.pulumi"


def state_read_statements(ctx: AwsContext, state: StateBucket | None) -> list[Statement]:
    """Reading the Pulumi state: `pulumi preview`, `pulumi stack output` and StackReferences list
    the backend's stacks and read their checkpoints; nothing is written (COMMON decision 5)."""
    if state is None:
        return []
    return [
        {
            "Sid": "StateBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": state.bucket_arn(ctx),
        },
        {
            "Sid": "StateRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{state.root_arn(ctx)}/*",
        },
    ]


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
    # The stage after this one, whose deploy job reads this stage's alarms through the alarm
    # reader of this stage's foundation (stacks/alarm_reader.py); None for the last stage.
    next_stage: str | None = None

    @property
    def prefix(self) -> str:
        return self.naming.prefix

    @property
    def has_network(self) -> bool:
        return self.vpc_arn is not None

    @property
    def has_foundation_roles(self) -> bool:
        """ECS (its infrastructure role) and EKS (cluster and node roles) stages have service
        roles in the foundation, which the deploy role reads and passes but never changes."""
        return self.target in ("ecs", "eks")

    @property
    def boundary_name(self) -> str:
        return contract.boundary_name(self.naming.project, self.naming.stage)

    @property
    def boundary_arn(self) -> str:
        return self.ctx.iam_arn(f"policy{self.naming.role_path}{self.boundary_name}")

    @property
    def deploy_role_name(self) -> str:
        return contract.deploy_role_name(self.naming.project, self.naming.stage)

    @property
    def deploy_role_arn(self) -> str:
        return self.ctx.iam_arn(f"role{self.naming.deploy_role_path}{self.deploy_role_name}")

    @property
    def alarm_reader_arn(self) -> str | None:
        if self.next_stage is None:
            return None
        name = contract.alarm_reader_role_name(self.naming.project, self.naming.stage)
        return self.ctx.iam_arn(f"role{self.naming.deploy_role_path}{name}")

    @property
    def workload_roles(self) -> str:
        return self.ctx.iam_arn(f"role{self.naming.role_path}*")

    @property
    def foundation_roles(self) -> str:
        return self.ctx.iam_arn(f"role{self.naming.foundation_role_path}*")

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


def foundation_grants(scope: StageScope) -> dict[str, list[Statement]]:
    """The deploy role's policies that do not depend on the target: its state, the stage's roles
    (always within the boundary) and the release marking the deploy job does after its smoke
    test. `stage.py` adds each component's grants."""
    if scope.target not in TARGETS:
        raise ValueError(f"unknown target {scope.target!r}")
    documents: dict[str, list[Statement]] = {}
    if scope.state is not None:
        documents["state"] = _state(scope, scope.state)
    documents["iam"] = _roles_within_boundary(scope)
    documents["release"] = [_mark_release(scope), _scan_findings(scope)]
    return documents


def _mark_release(scope: StageScope) -> Statement:
    """After its smoke test, the deploy tags the image `deployed.<stage>.<sha>` and removes that
    tag from superseded images (retention.py): a new tag on an existing manifest is a PutImage,
    removing a tag is a BatchDeleteImage by tag. Only on this project's repository."""
    return {
        "Sid": "MarkRelease",
        "Effect": "Allow",
        "Action": sorted(MARK_RELEASE_ACTIONS),
        "Resource": scope.repository_arn,
    }


def _scan_findings(scope: StageScope) -> Statement:
    """Before `pulumi up`, the deploy's image scan gate (scan.py) reads the image's tags and its
    scan-on-push findings. Only on this project's repository."""
    return {
        "Sid": "ReadScanFindings",
        "Effect": "Allow",
        "Action": sorted(SCAN_ACTIONS),
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
    root = state.root_arn(scope.ctx)
    return [
        # Reading covers the shared stack's outputs (the StackReference) and the backend's
        # metadata; writing is limited to this stack's own checkpoint, history and lock.
        *state_read_statements(scope.ctx, state),
        {
            "Sid": "StateWriteOwnStack",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": own_stack_objects(root, project, stage),
        },
    ]


def own_stack_objects(root: str, project: str, stack: str) -> list[str]:
    """A stack's own objects in Pulumi's DIY backend under `root` (`StateBucket.root_arn`): its
    checkpoint (with `.bak`/`.gz`, the first pattern), history, backups and locks. The deploy
    role's grants and the state bucket's policy for other accounts (bootstrap) both use it."""
    return [
        f"{root}/stacks/{project}/{stack}.json*",
        f"{root}/history/{project}/{stack}/*",
        f"{root}/backups/{project}/{stack}/*",
        f"{root}/locks/*/{project}/{stack}/*",
    ]


# Role actions AWS's service authorization data (parliament's iam_definition.json) gives the
# `iam:PermissionsBoundary` condition key: a role is created, given an inline policy or a boundary
# only when that boundary is the stage's.
_WITHIN_BOUNDARY = [
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
]


def _roles_within_boundary(scope: StageScope) -> list[Statement]:
    return [
        {
            # Refresh reads the deploy role, the boundary, the foundation's service roles and the
            # stage's alarm reader, but may not change them.
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
            "Resource": [
                scope.deploy_role_arn,
                scope.boundary_arn,
                *([scope.alarm_reader_arn] if scope.alarm_reader_arn else []),
                *([scope.foundation_roles] if scope.has_foundation_roles else []),
            ],
        },
        *workload_role_statements(scope.workload_roles, scope.boundary_arn, "ManageStageRoles"),
    ]


def workload_role_statements(roles: str, boundary: str, sid: str) -> list[Statement]:
    """Manage the workload roles at `roles` (a path pattern), created and given policies only
    inside `boundary`. The manage actions take no boundary condition in IAM; every role at that
    path carries the boundary, because the only way to make one there is the second statement."""
    return [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": [
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
            "Resource": roles,
        },
        {
            "Sid": "RolesWithinBoundary",
            "Effect": "Allow",
            "Action": _WITHIN_BOUNDARY,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}},
        },
    ]


def service_linked_roles(services: list[str], ctx: AwsContext) -> Statement:
    """First use of a service in an account creates its service-linked role, as the caller."""
    return {
        "Sid": "ServiceLinkedRoles",
        "Effect": "Allow",
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": ctx.iam_arn("role/aws-service-role/*"),
        "Condition": {"StringEquals": {"iam:AWSServiceName": sorted(services)}},
    }


def pull_own_image(scope: StageScope, *, policy: bool = False) -> Statement:
    """Reading the project's images (a deploy resolves the digest it runs)."""
    actions = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
    if policy:
        actions.append("ecr:GetRepositoryPolicy")
    return {
        "Sid": "ReadOwnImages",
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": scope.repository_arn,
    }
