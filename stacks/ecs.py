"""The ECS target: a Fargate service behind an Application Load Balancer, and what the stage's
deploy role needs to deploy it (`deploy_grants`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_values import describe_fargate_memory, fargate_memory_options
from .common import (
    APP_PORT,
    APP_USER,
    HEALTH_PATH,
    AwsContext,
    Statement,
    child,
    log_group,
    pass_role,
    policy,
    policy_output,
    service_trust,
)
from .delivery import (
    FARGATE_STOP_TIMEOUT_MAX,
    HEALTH_CHECK_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    UNHEALTHY_THRESHOLD,
    Rollout,
)
from .permissions import StageScope, pull_own_image, service_linked_roles

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CONTAINER = "app"
# The service's CPU target tracking: Application Auto Scaling keeps the average here.
CPU_TARGET = 60
# The alternate target group of canary and linear deployments has an explicit name: the stage's
# prefix, "-" and these 7 characters, like Pulumi's auto-names (the deploy role's target group
# grants match `<prefix>-???????`), and never hex, so no auto-name can take it.
ALTERNATE_SUFFIX = "nextrev"
# The production listener rule ECS moves the weights of; it matches every request.
PRODUCTION_RULE_PRIORITY = 1
# The AWS managed policy of ECS's infrastructure role for load balancers, as read (MAMIP
# `policies/AmazonECSInfrastructureRolePolicyForLoadBalancers`, v6): what ECS calls to move
# traffic. The stage's own role grants the same actions on the stage's load balancer only.
LOAD_BALANCER_READS = (
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
TARGET_ACTIONS = ("elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets")


@dataclass
class EcsServiceArgs:
    ctx: AwsContext
    image: pulumi.Input[str]  # REPOSITORY@sha256:DIGEST, never a tag
    repository_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: Sequence[pulumi.Input[str]]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    cpu: int = 256
    memory: int = 512
    min_capacity: int = 1
    max_capacity: int = 2
    log_retention_days: int = 14
    # An ACM certificate ARN: the load balancer then listens on HTTPS and redirects HTTP.
    certificate_arn: str | None = None
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    log_group_name: str | None = None  # default: /aws/ecs/<name>
    role_path: str = "/"
    permissions_boundary: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # How a release takes traffic, health checks and draining (stacks/delivery.py).
    rollout: Rollout = field(default_factory=Rollout)
    # The role ECS assumes to move traffic between the target groups (canary, linear): the
    # foundation's `EcsRoles.infrastructure_role`.
    infrastructure_role_arn: pulumi.Input[str] | None = None
    # Makes the stage's alarms once the load balancer exists (its ARN suffix in, their names
    # out): ECS fails and rolls back a deployment when one of them fires.
    deployment_alarms: Callable[[pulumi.Output[str]], Sequence[pulumi.Input[str]]] | None = None
    # The first stage when previews run on ECS (`contract.preview_port_range`, from the shared
    # stack's previewTarget): its load balancer takes the previews' ports from the internet too.
    # The security group's rules are inline, so only this stack may add them.
    preview_ports: pulumi.Output[tuple[int, int] | None] | tuple[int, int] | None = None


def check_sizing(cpu: int, memory: int, min_capacity: int, max_capacity: int) -> None:
    options = fargate_memory_options(cpu)
    if not options:
        raise pulumi.RunError(f"cpu {cpu} is not a Fargate size")
    if memory not in options:
        raise pulumi.RunError(
            f"memory {memory} MiB does not fit cpu {cpu}: use {describe_fargate_memory(cpu)}"
        )
    if not 1 <= min_capacity <= max_capacity:
        raise pulumi.RunError(
            f"minCapacity ({min_capacity}) must be at least 1 and at most maxCapacity ({max_capacity})"
        )


def container_definitions(
    image: str,
    log_group: str,
    region: str,
    environment: Mapping[str, str],
) -> str:
    return json.dumps(
        [
            {
                "name": CONTAINER,
                "image": image,
                "essential": True,
                "user": str(APP_USER),
                "readonlyRootFilesystem": True,
                "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
                "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": region,
                        "awslogs-stream-prefix": CONTAINER,
                    },
                },
                "linuxParameters": {"initProcessEnabled": True},
                # SIGTERM, then this long to finish the requests in flight before SIGKILL.
                "stopTimeout": min(STOP_TIMEOUT_SECONDS, FARGATE_STOP_TIMEOUT_MAX),
            }
        ]
    )


class EcsService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    load_balancer: Any
    target_group: Any

    def __init__(
        self, name: str, args: EcsServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EcsService", name, None, opts)
        check_sizing(args.cpu, args.memory, args.min_capacity, args.max_capacity)
        ctx = args.ctx
        tags = dict(args.tags)
        https = bool(args.certificate_arn)
        log_group_name = args.log_group_name or f"/aws/ecs/{name}"

        self.log_group = log_group(
            self, f"{name}-logs", log_group_name, args.log_retention_days, tags
        )
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=name,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            tags=tags,
            opts=child(self),
        )

        # Roles: the execution role pulls the image and writes logs; the task role (the app's own
        # identity) has no permissions at all.
        task_trust = service_trust("ecs-tasks.amazonaws.com", ctx, ctx.arn("ecs", "*"))
        self.execution_role = aws.iam.Role(
            f"{name}-execution",
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=task_trust,
            tags=tags,
            opts=child(self),
        )
        log_streams = ctx.arn("logs", f"log-group:{log_group_name}:*")
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=self.execution_role.id,
            policy=policy_output(
                lambda repository_arn: [
                    {
                        "Sid": "EcrLogin",
                        "Effect": "Allow",
                        "Action": "ecr:GetAuthorizationToken",
                        "Resource": "*",
                    },
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
                ],
                args.repository_arn,
            ),
            opts=child(self),
        )
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
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=pulumi.Output.all(
                args.image, pulumi.Output.from_input(dict(args.environment))
            ).apply(
                lambda values: container_definitions(
                    values[0], log_group_name, ctx.region, dict(values[1] or {})
                )
            ),
            tags=tags,
            opts=child(self, depends_on=[self.log_group]),
        )

        # Load balancer: public subnets; the tasks sit in private subnets and accept traffic only
        # from the load balancer's security group.
        listen_ports = [80, 443] if https else [80]
        self.lb_security_group = aws.ec2.SecurityGroup(
            f"{name}-lb",
            vpc_id=args.vpc_id,
            description=f"{name} load balancer",
            ingress=(
                lb_ingress(listen_ports, None)
                if args.preview_ports is None
                else pulumi.Output.from_input(args.preview_ports).apply(
                    lambda ports: lb_ingress(listen_ports, ports)
                )
            ),
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": APP_PORT,
                    "to_port": APP_PORT,
                    "cidr_blocks": [args.vpc_cidr],
                    "description": "to the tasks",
                }
            ],
            tags=tags,
            opts=child(self),
        )
        self.service_security_group = aws.ec2.SecurityGroup(
            f"{name}-service",
            vpc_id=args.vpc_id,
            description=f"{name} tasks",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": APP_PORT,
                    "to_port": APP_PORT,
                    "security_groups": [self.lb_security_group.id],
                    "description": "from the load balancer",
                }
            ],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "HTTPS to AWS APIs (ECR, CloudWatch Logs)",
                }
            ],
            tags=tags,
            opts=child(self),
        )
        # The logical names are exactly the component's name: Pulumi appends "-" and 7 characters,
        # and the spec keeps that within the 32 characters AWS allows.
        self.load_balancer = aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            internal=False,
            security_groups=[self.lb_security_group.id],
            subnets=list(args.public_subnet_ids),
            drop_invalid_header_fields=True,
            enable_deletion_protection=False,
            tags=tags,
            opts=child(self),
        )
        rollout = args.rollout
        shifting = rollout.ecs_strategy != "ROLLING"
        if shifting and args.infrastructure_role_arn is None:
            raise pulumi.RunError(f"{rollout.strategy} deployments need ECS's infrastructure role")
        target_group: dict[str, Any] = {
            "port": APP_PORT,
            "protocol": "HTTP",
            "target_type": "ip",
            "vpc_id": args.vpc_id,
            "deregistration_delay": rollout.deregistration_delay,
            "health_check": {
                "enabled": True,
                "path": HEALTH_PATH,
                "protocol": "HTTP",
                "matcher": "200",
                "interval": rollout.health_check_interval,
                "timeout": HEALTH_CHECK_TIMEOUT_SECONDS,
                "healthy_threshold": rollout.healthy_threshold,
                "unhealthy_threshold": UNHEALTHY_THRESHOLD,
            },
            "tags": tags,
        }
        self.target_group = aws.lb.TargetGroup(name, **target_group, opts=child(self))
        # The other half of ECS's traffic shifting: a new revision's tasks register here while
        # the production listener rule moves its weight over.
        self.alternate_target_group = aws.lb.TargetGroup(
            f"{name}-{ALTERNATE_SUFFIX}",
            name=f"{name}-{ALTERNATE_SUFFIX}",
            **target_group,
            opts=child(self),
        )
        # The listener's own default: the production rule below takes every request first, so
        # this serves only while the rule does not exist yet (a stage deployed by an earlier
        # template keeps serving through its update).
        forward = [{"type": "forward", "target_group_arn": self.target_group.arn}]
        if https:
            self.listener = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=args.certificate_arn,
                default_actions=forward,
                tags=tags,
                opts=child(self),
            )
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    {
                        "type": "redirect",
                        "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
                    }
                ],
                tags=tags,
                opts=child(self),
            )
        else:
            self.listener = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=forward,
                tags=tags,
                opts=child(self),
            )
        self.production_rule = aws.lb.ListenerRule(
            f"{name}-production",
            listener_arn=self.listener.arn,
            priority=PRODUCTION_RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": ["/*"]}}],
            actions=[
                {
                    "type": "forward",
                    "forward": {
                        "target_groups": [
                            {"arn": self.target_group.arn, "weight": 100},
                            {"arn": self.alternate_target_group.arn, "weight": 0},
                        ]
                    },
                }
            ],
            tags=tags,
            # ECS owns the weights while it shifts traffic, and leaves them on whichever target
            # group the running revision is in.
            opts=child(self, ignore_changes=["actions"]),
        )
        alarm_names = (
            list(args.deployment_alarms(self.load_balancer.arn_suffix))
            if args.deployment_alarms
            else []
        )
        load_balancer: dict[str, Any] = {
            "target_group_arn": self.target_group.arn,
            "container_name": CONTAINER,
            "container_port": APP_PORT,
        }
        if shifting:
            load_balancer["advanced_configuration"] = {
                "alternate_target_group_arn": self.alternate_target_group.arn,
                "production_listener_rule": self.production_rule.arn,
                "role_arn": args.infrastructure_role_arn,
            }

        self.service = aws.ecs.Service(
            f"{name}-service",
            name=name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            launch_type="FARGATE",
            desired_count=args.min_capacity,
            network_configuration={
                "subnets": list(args.private_subnet_ids),
                "security_groups": [self.service_security_group.id],
                "assign_public_ip": False,
            },
            load_balancers=[load_balancer],
            deployment_controller={"type": "ECS"},
            deployment_configuration=deployment_configuration(rollout),
            # The stage's alarms fail (and roll back) a deployment, from its first task to the
            # end of the bake time.
            alarms=(
                {"alarm_names": alarm_names, "enable": True, "rollback": rollout.alarm_rollback}
                if alarm_names
                else None
            ),
            # Tasks that never turn healthy fail a rolling deployment (ECS applies the circuit
            # breaker to ROLLING only; canary and linear fail on unhealthy targets and alarms).
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=30,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # `pulumi up` returns only once the new tasks are healthy (or rolled back).
            wait_for_steady_state=True,
            tags=tags,
            # Autoscaling owns the running count between min and max.
            opts=child(
                self, depends_on=[self.production_rule], ignore_changes=["desiredCount"]
            ),
        )
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name),
            min_capacity=args.min_capacity,
            max_capacity=args.max_capacity,
            tags=tags,
            opts=child(self),
        )
        self.scaling_policy = aws.appautoscaling.Policy(
            f"{name}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            scalable_dimension=self.scaling_target.scalable_dimension,
            resource_id=self.scaling_target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": CPU_TARGET,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "scale_in_cooldown": 120,
                "scale_out_cooldown": 60,
            },
            opts=child(self),
        )

        scheme = "https" if https else "http"
        self.url = pulumi.Output.concat(scheme, "://", self.load_balancer.dns_name)
        self.load_balancer_arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.alarm_names = alarm_names
        # What an ECS preview reuses of this stage (stacks/pr_ecs.py reads it).
        self.preview_platform: dict[str, Any] = {
            "clusterArn": self.cluster.arn,
            "clusterName": self.cluster.name,
            "vpcId": args.vpc_id,
            "privateSubnetIds": list(args.private_subnet_ids),
            "serviceSecurityGroupId": self.service_security_group.id,
            "loadBalancerArn": self.load_balancer.arn,
            "loadBalancerDnsName": self.load_balancer.dns_name,
            "loadBalancerSecurityGroupId": self.lb_security_group.id,
        }
        self.register_outputs({"url": self.url, "clusterName": self.cluster.name})


def lb_ingress(
    listen_ports: Sequence[int], preview_ports: tuple[int, int] | None
) -> list[dict[str, Any]]:
    """The load balancer's rules in: its listeners' ports, and the previews' range if any."""
    rules: list[dict[str, Any]] = [
        {
            "protocol": "tcp",
            "from_port": port,
            "to_port": port,
            "cidr_blocks": ["0.0.0.0/0"],
            "description": "HTTP(S) from the internet",
        }
        for port in listen_ports
    ]
    if preview_ports:
        low, high = preview_ports
        rules.append(
            {
                "protocol": "tcp",
                "from_port": low,
                "to_port": high,
                "cidr_blocks": ["0.0.0.0/0"],
                "description": "pull-request previews (HTTP) from the internet",
            }
        )
    return rules


def deployment_configuration(rollout: Rollout) -> dict[str, Any]:
    """The service's strategy with its steps and bake time (the provider takes the minutes as
    strings: Terraform's nullable integers)."""
    strategy = rollout.ecs_strategy
    config: dict[str, Any] = {"strategy": strategy}
    if strategy == "ROLLING":
        return config
    config["bake_time_in_minutes"] = str(rollout.bake_minutes)
    if strategy == "CANARY":
        config["canary_configuration"] = {
            "canary_percent": rollout.canary_percent,
            "canary_bake_time_in_minutes": str(rollout.canary_minutes),
        }
    else:
        config["linear_configuration"] = {
            "step_percent": rollout.linear_percent,
            "step_bake_time_in_minutes": str(rollout.linear_minutes),
        }
    return config


@dataclass
class EcsRolesArgs:
    ctx: AwsContext
    prefix: str  # the stage's `<project>-<stage>`: its load balancer's name
    path: str  # contract.foundation_role_path: outside every path the deploy role may change
    tags: Mapping[str, str] = field(default_factory=dict)


class EcsRoles(pulumi.ComponentResource):
    """ECS's infrastructure role for load balancers: ECS assumes it to register a new revision's
    tasks and move the production listener rule's weights. Part of the stage's foundation (a child
    of the deploy role's component): its policy acts on the load balancer, which the permissions
    boundary of workload roles does not (and should not) allow."""

    infrastructure_role: Any

    def __init__(
        self, name: str, args: EcsRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EcsRoles", name, None, opts)
        ctx = args.ctx
        self.infrastructure_role = aws.iam.Role(
            f"{name}-infrastructure",
            path=args.path,
            description=f"ECS moves the traffic of {args.prefix} between its target groups",
            # AWS's documented trust for this role has no source conditions ("Amazon ECS
            # infrastructure IAM role for load balancers"): ECS may not send them.
            assume_role_policy=service_trust("ecs.amazonaws.com", ctx, scoped=False),
            tags=dict(args.tags),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-infrastructure",
            role=self.infrastructure_role.id,
            policy=policy(infrastructure_statements(ctx, args.prefix)),
            opts=child(self),
        )
        self.register_outputs({"infrastructureRoleArn": self.infrastructure_role.arn})


def infrastructure_statements(ctx: AwsContext, prefix: str) -> list[Statement]:
    """AWS's managed policy for ECS's load balancer role, limited to the stage's load balancer."""
    lb = f"{prefix}-???????"
    return [
        {
            "Sid": "ReadLoadBalancing",
            "Effect": "Allow",
            "Action": list(LOAD_BALANCER_READS),
            "Resource": "*",  # no resource-level permissions for these reads
        },
        {
            "Sid": "StageTargets",
            "Effect": "Allow",
            "Action": list(TARGET_ACTIONS),
            "Resource": ctx.arn("elasticloadbalancing", f"targetgroup/{lb}/*"),
        },
        # IAM lists both load balancer kinds for these; only the stage's application load
        # balancer carries its name.
        {
            "Sid": "StageListeners",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:ModifyListener",
            "Resource": [
                ctx.arn("elasticloadbalancing", f"listener/{kind}/{lb}/*/*")
                for kind in ("app", "net")
            ],
        },
        {
            "Sid": "StageProductionRule",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:ModifyRule",
            "Resource": [
                ctx.arn("elasticloadbalancing", f"listener-rule/{kind}/{lb}/*/*/*")
                for kind in ("app", "net")
            ],
        },
    ]


def deploy_grants(scope: StageScope) -> list[Statement]:
    """What the stage's deploy role needs to create, update and destroy an `EcsService` named for
    the stage (`<project>-<stage>`): sources in docs/sources.md, "stacks"."""
    ctx, prefix = scope.ctx, scope.prefix
    lb = f"{prefix}-???????"  # Pulumi's auto-name: the logical name, "-" and 7 characters
    service = ctx.arn("ecs", f"service/{prefix}/{prefix}")
    return [
        pull_own_image(scope),
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
                "ecs:ListServiceDeployments",
                "ecs:ListTagsForResource",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCluster",
                "ecs:UpdateClusterSettings",
                "ecs:UpdateService",
            ],
            "Resource": [ctx.arn("ecs", f"cluster/{prefix}"), service],
        },
        {
            # `wait_for_steady_state`: the provider finds the service's new deployment
            # (ListServiceDeployments, above) and polls it until it succeeds or rolls back. IAM
            # authorizes the call on the service and on the deployment.
            "Sid": "EcsServiceDeployments",
            "Effect": "Allow",
            "Action": "ecs:DescribeServiceDeployments",
            "Resource": [service, ctx.arn("ecs", f"service-deployment/{prefix}/{prefix}/*")],
        },
        {
            "Sid": "EcsTaskDefinitions",
            "Effect": "Allow",
            "Action": [
                "ecs:ListTagsForResource",
                "ecs:RegisterTaskDefinition",
                "ecs:TagResource",
                "ecs:UntagResource",
            ],
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
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetRulePriorities",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            "Resource": [
                ctx.arn("elasticloadbalancing", f"loadbalancer/app/{lb}/*"),
                # both target groups: the alternate one's name is `<prefix>-nextrev`
                ctx.arn("elasticloadbalancing", f"targetgroup/{lb}/*"),
                # Its listeners and listener rules. IAM lists the network load balancer forms too
                # for these actions (`listener/net/...`, matched by the `*`); no network load
                # balancer carries the stage's name, so this grants nothing beyond the stage.
                ctx.arn("elasticloadbalancing", f"listener/*/{lb}/*/*"),
                ctx.arn("elasticloadbalancing", f"listener-rule/*/{lb}/*/*/*"),
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
        {
            # Application Auto Scaling creates and deletes a target tracking policy's two alarms
            # with the caller's permissions; their names are fixed by AWS:
            # TargetTracking-<resource id>-AlarmHigh-<uuid> and -AlarmLow-<uuid>.
            "Sid": "TargetTrackingAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
            ],
            # -AlarmHigh-<uuid> and -AlarmLow-<uuid>, in one pattern (IAM's 10,240 characters)
            "Resource": ctx.arn("cloudwatch", f"alarm:{target_tracking_alarm(prefix, prefix)}*"),
        },
        pass_role("PassTaskRoles", scope.workload_roles, ["ecs-tasks.amazonaws.com"]),
        # CreateService and UpdateService with the load balancer's advanced configuration pass
        # the foundation's infrastructure role (EcsRoles; read in permissions.py, never changed).
        pass_role("PassInfrastructureRole", scope.foundation_roles, ["ecs.amazonaws.com"]),
        service_linked_roles(
            [
                "ecs.amazonaws.com",
                "ecs.application-autoscaling.amazonaws.com",
                "elasticloadbalancing.amazonaws.com",
            ],
            ctx,
        ),
    ]


def target_tracking_alarm(cluster: str, service: str, side: str = "Alarm") -> str:
    """The name Application Auto Scaling gives a target tracking alarm of an ECS service
    (`side`: AlarmHigh or AlarmLow), less its `-<uuid>` suffix; without a side, the beginning
    both share."""
    return f"TargetTracking-service/{cluster}/{service}-{side}"
