"""ECS previews (`previewTarget: ecs`): a pull request's image as a service of its own in the first
stage's cluster, behind the first stage's load balancer on a listener of its own.

The preview reuses what the first stage has (cluster, private subnets, the tasks' security group,
the load balancer and its security group: the stage exports them as
`contract.PREVIEW_PLATFORM_OUTPUT` once the shared stack says previews run on ECS) and makes only
what is its own: a log group (3 days), an execution role and a task role (inside the previews'
permissions boundary), a task definition `<project>-pr-<n>` (Fargate, 0.25 vCPU, 512 MiB), a
target group, a listener on port `contract.preview_port(n)` and the service (one task, no
autoscaling, no alarms). Its URL is `http://<the first stage's load balancer>:<port>/`.

`deploy_grants` is what the preview deploy role needs for it, on the previews' names in the first
stage's cluster and load balancer only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import config_schema as schema
from . import contract
from .common import (
    APP_PORT,
    HEALTH_PATH,
    AwsContext,
    Statement,
    child,
    log_group,
    pass_role,
    policy_output,
    service_trust,
)
from .ecs import CONTAINER, container_definitions
from .permissions import StageScope

COMPONENT = "bootstrap:index:PreviewEcsService"
CPU = 256  # the smallest Fargate task: 0.25 vCPU
MEMORY_MB = 512
# A preview's old task goes quickly: nobody waits on its requests in flight.
DEREGISTRATION_DELAY = 5
# Pulumi names the target group `<project>-pr-<n>-` and 7 characters; AWS allows 32.
TARGET_GROUP_NAME_MAX = 32
AUTONAME_SUFFIX = 8
# What a preview reads of the first stage's platform output, all present when it is exported.
PLATFORM_KEYS = (
    "clusterArn",
    "clusterName",
    "vpcId",
    "privateSubnetIds",
    "serviceSecurityGroupId",
    "loadBalancerArn",
    "loadBalancerDnsName",
    "loadBalancerSecurityGroupId",
)


def first_stage(project: str) -> str | None:
    """The first stage of the lifecycle (`stages`, a project fact every stack reads)."""
    stages = schema.parse(schema.BY_KEY["stages"], pulumi.Config(project).get("stages"))
    return str(stages[0]) if stages else None


# ------------------------------------------------------------------------- the first stage


def stage_preview_ports(
    project: str, stage: str, shared_preview_target: pulumi.Output[Any]
) -> pulumi.Output[tuple[int, int] | None] | None:
    """The previews' port range if this stage is the first one (None otherwise); the range is
    empty (None) until the shared stack says previews run on ECS."""
    if stage != first_stage(project):
        return None
    return shared_preview_target.apply(
        lambda target: contract.preview_port_range() if target == "ecs" else None
    )


def export_platform(
    platform: Mapping[str, Any], ports: pulumi.Output[tuple[int, int] | None] | None
) -> None:
    """The first stage's `previewPlatform` output: what an ECS preview reuses (null while previews
    do not run on ECS)."""
    if ports is None:
        return
    pulumi.export(
        contract.PREVIEW_PLATFORM_OUTPUT,
        pulumi.Output.all(ports, pulumi.Output.from_input(dict(platform))).apply(
            lambda values: values[1] if values[0] else None
        ),
    )


# ------------------------------------------------------------------------- the preview


def check_platform(
    project: str, first: str, values: Mapping[str, Any], region: str, account: str
) -> dict[str, Any]:
    """The first stage's platform, or one line saying why a preview cannot use it."""
    from .config_checks import check_preview_target

    foreign = values.get("account") if values.get("account") != account else None
    # The stage as deployed (its outputs); the cap on listeners is the shared stack's check.
    issues = check_preview_target("ecs", 1, first, values.get("target"), foreign)
    if issues:
        issue = issues[0]
        raise pulumi.RunError(f"config {project}:{issue.key}: {issue.problem}; {issue.fix}")
    if values.get("region") and values["region"] != region:
        raise pulumi.RunError(
            f"this preview runs in {region}, but stage {first}'s cluster is in "
            f"{values['region']}: set the repository variable {contract.VAR_REGION} (the "
            f"preview's aws:region) to {values['region']}"
        )
    platform = values.get("platform") or {}
    missing = [key for key in PLATFORM_KEYS if not platform.get(key)]
    if missing:
        raise pulumi.RunError(
            f"stage {first} exports no {contract.PREVIEW_PLATFORM_OUTPUT} for ecs previews: "
            f"update the shared stack (previewTarget ecs), then stage {first}"
        )
    return dict(platform)


def check_name(prefix: str) -> None:
    """The target group's auto-name must fit AWS's 32 characters."""
    if len(prefix) + AUTONAME_SUFFIX > TARGET_GROUP_NAME_MAX:
        longest = TARGET_GROUP_NAME_MAX - AUTONAME_SUFFIX
        raise pulumi.RunError(
            f"an ecs preview's target group would be named {prefix}-<7 characters>, longer than "
            f"the {TARGET_GROUP_NAME_MAX} characters AWS allows ({longest} before the suffix): "
            "use previewTarget lambda for this project"
        )


@dataclass
class PreviewEcsArgs:
    ctx: AwsContext
    number: int
    image: pulumi.Input[str]  # REPOSITORY@sha256:DIGEST
    repository_arn: str  # the previews' image repository
    platform: pulumi.Output[dict[str, Any]]  # the first stage's, checked (check_platform)
    log_group_name: str
    role_path: str
    permissions_boundary: pulumi.Input[str]
    log_retention_days: int = 3
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class PreviewEcsService(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewEcsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        check_name(name)
        ctx, tags, platform = args.ctx, dict(args.tags), args.platform
        port = contract.preview_port(args.number)
        self.log_group = log_group(
            self, f"{name}-logs", args.log_group_name, args.log_retention_days, tags
        )
        task_trust = service_trust("ecs-tasks.amazonaws.com", ctx, ctx.arn("ecs", "*"))
        self.execution_role = aws.iam.Role(
            f"{name}-execution",
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=task_trust,
            tags=tags,
            opts=child(self),
        )
        log_streams = ctx.arn("logs", f"log-group:{args.log_group_name}:*")
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=self.execution_role.id,
            policy=policy_output(
                lambda arn: execution_statements(arn, log_streams), args.repository_arn
            ),
            opts=child(self),
        )
        # The application's own identity: no permissions at all.
        self.task_role = aws.iam.Role(
            f"{name}-task",
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=task_trust,
            tags=tags,
            opts=child(self),
        )
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=name,
            cpu=str(CPU),
            memory=str(MEMORY_MB),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=pulumi.Output.all(
                args.image, pulumi.Output.from_input(dict(args.environment))
            ).apply(
                lambda values: container_definitions(
                    values[0], args.log_group_name, ctx.region, dict(values[1] or {})
                )
            ),
            tags=tags,
            opts=child(self, depends_on=[self.log_group]),
        )
        self.target_group = aws.lb.TargetGroup(
            name,
            port=APP_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=platform["vpcId"],
            deregistration_delay=DEREGISTRATION_DELAY,
            health_check={
                "enabled": True,
                "path": HEALTH_PATH,
                "protocol": "HTTP",
                "matcher": "200",
                "interval": 10,
                "timeout": 5,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            tags=tags,
            opts=child(self),
        )
        # The preview's own port on the first stage's load balancer (whose security group lets
        # the previews' range in): the stage's listeners and rules are never touched.
        self.listener = aws.lb.Listener(
            f"{name}-listener",
            load_balancer_arn=platform["loadBalancerArn"],
            port=port,
            protocol="HTTP",
            default_actions=[{"type": "forward", "target_group_arn": self.target_group.arn}],
            tags=tags,
            opts=child(self),
        )
        self.service = aws.ecs.Service(
            f"{name}-service",
            name=name,
            cluster=platform["clusterArn"],
            task_definition=self.task_definition.arn,
            launch_type="FARGATE",
            desired_count=1,
            network_configuration={
                "subnets": platform["privateSubnetIds"],
                "security_groups": [platform["serviceSecurityGroupId"]],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": self.target_group.arn,
                    "container_name": CONTAINER,
                    "container_port": APP_PORT,
                }
            ],
            deployment_controller={"type": "ECS"},
            deployment_configuration={"strategy": "ROLLING"},
            # A task that never turns healthy fails the deployment and rolls it back.
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=30,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # `pulumi up` returns once the preview's task is healthy (or rolled back).
            wait_for_steady_state=True,
            tags=tags,
            # The target group must belong to a load balancer before a service may use it.
            opts=child(self, depends_on=[self.listener]),
        )
        self.url = pulumi.Output.concat("http://", platform["loadBalancerDnsName"], f":{port}/")
        self.register_outputs({"url": self.url})


def execution_statements(repository_arn: str, log_streams: str) -> list[Statement]:
    """The execution role pulls the previews' image and writes the preview's logs."""
    return [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Resource": repository_arn,
        },
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_streams,
        },
    ]  # fmt: skip


# ------------------------------------------------------------------------- the deploy role


def deploy_grants(scope: StageScope, first_stage_name: str) -> list[Statement]:
    """What the preview deploy role needs to create, update and destroy a `PreviewEcsService` of
    any pull request (`scope`: every preview, names `<project>-pr-*`) in the first stage's
    cluster and on its load balancer, and nothing of the stage's own."""
    ctx, previews = scope.ctx, scope.prefix
    cluster = contract.stage_prefix(scope.naming.project, first_stage_name)
    lb = f"{cluster}-???????"  # the stage's load balancer: Pulumi's auto-name of `<prefix>`
    service = ctx.arn("ecs", f"service/{cluster}/{previews}")
    # IAM lists the network load balancer form too (`listener/net/...`, matched by the `*`); no
    # network load balancer carries the stage's name.
    listeners = ctx.arn("elasticloadbalancing", f"listener/*/{lb}/*/*")
    preview_stage = f"{contract.PREVIEW_STACK_PREFIX}*"
    return [
        {
            "Sid": "PreviewServices",
            "Effect": "Allow",
            "Action": [
                "ecs:CreateService",
                "ecs:DeleteService",
                "ecs:DescribeServices",
                "ecs:ListServiceDeployments",
                "ecs:ListTagsForResource",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateService",
            ],
            "Resource": service,
        },
        {
            # `wait_for_steady_state`: the provider polls the service's new deployment.
            "Sid": "PreviewServiceDeployments",
            "Effect": "Allow",
            "Action": "ecs:DescribeServiceDeployments",
            "Resource": [service, ctx.arn("ecs", f"service-deployment/{cluster}/{previews}/*")],
        },
        {
            "Sid": "PreviewTaskDefinitions",
            "Effect": "Allow",
            "Action": [
                "ecs:ListTagsForResource",
                "ecs:RegisterTaskDefinition",
                "ecs:TagResource",
                "ecs:UntagResource",
            ],
            "Resource": ctx.arn("ecs", f"task-definition/{previews}:*"),
        },
        {
            # These two have no resource-level permissions in IAM.
            "Sid": "TaskDefinitionRevisions",
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
            "Sid": "PreviewTargetGroups",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
            ],
            "Resource": ctx.arn("elasticloadbalancing", f"targetgroup/{previews}/*"),
        },
        {
            # A new listener on the first stage's load balancer (its port is taken if the stage's
            # own listens there: ELB refuses a second listener on a port).
            "Sid": "PreviewListenerCreate",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:CreateListener",
            "Resource": ctx.arn("elasticloadbalancing", f"loadbalancer/app/{lb}/*"),
        },
        {
            # Only the previews' listeners (tagged bootstrap:stage=pr-<n>), never the stage's.
            "Sid": "PreviewListeners",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:RemoveTags",
            ],
            "Resource": listeners,
            "Condition": {"StringLike": {f"aws:ResourceTag/{contract.TAG_STAGE}": preview_stage}},
        },
        {
            # CreateListener's tags: authorized as AddTags on the listener being made, which has
            # no tags yet (every listener of the stage carries its bootstrap:stage).
            "Sid": "TagNewPreviewListeners",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:AddTags",
            "Resource": listeners,
            "Condition": {
                "StringLike": {f"aws:RequestTag/{contract.TAG_STAGE}": preview_stage},
                "Null": {f"aws:ResourceTag/{contract.TAG_STAGE}": "true"},
            },
        },
        pass_role("PassPreviewTaskRoles", scope.workload_roles, ["ecs-tasks.amazonaws.com"]),
    ]
