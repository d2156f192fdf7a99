"""The Lambda target: the same container image, run by Lambda through the Lambda Web Adapter.

The image carries the AWS Lambda Web Adapter extension, which turns invokes into HTTP requests to
the service's own server; a function URL on the `live` alias is the HTTPS entry point.
`deploy_grants` is what the stage's deploy role needs to deploy it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import (
    APP_PORT,
    HEALTH_PATH,
    LAMBDA_VPC_ACTIONS,
    AwsContext,
    Statement,
    child,
    log_group,
    pass_role,
    policy,
    service_trust,
)
from .permissions import StageScope, pull_own_image

ALIAS = "live"


def alias_routing(
    newest: str, stable: str | None, weight: float
) -> tuple[str, dict[str, float] | None]:
    """The live alias's version and extra weights while the deploy workflow shifts traffic: the
    stable version keeps `1 - weight` of the requests and the newest version gets `weight`. No
    stable version (or the newest one): everything to the newest."""
    if not stable or stable == newest:
        return newest, None
    return stable, ({newest: weight} if weight > 0 else None)


@dataclass
class LambdaServiceArgs:
    ctx: AwsContext
    image: pulumi.Input[str]  # REPOSITORY@sha256:DIGEST, never a tag
    memory: int = 512
    timeout: int = 30
    # Concurrency reserved for the function (also its ceiling); -1 leaves it unreserved.
    reserved_concurrency: int = 5
    log_retention_days: int = 14
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Run inside the stage's VPC (private subnets) instead of Lambda's own network.
    vpc_id: pulumi.Input[str] | None = None
    subnet_ids: Sequence[pulumi.Input[str]] = ()
    log_group_name: str | None = None  # default: /aws/lambda/<name>
    role_path: str = "/"
    permissions_boundary: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Traffic shifting, driven by the deploy workflow through `pulumi up` (docs/stacks.md): the
    # version that keeps the other requests of the alias, and the newest version's share.
    stable_version: str | None = None
    new_version_weight: float = 0.0


def check_sizing(memory: int, timeout: int, reserved_concurrency: int) -> None:
    if not 128 <= memory <= 10240:
        raise pulumi.RunError(f"memory {memory} MiB is outside Lambda's 128-10240 MiB")
    if not 1 <= timeout <= 900:
        raise pulumi.RunError(f"lambdaTimeout {timeout} s is outside Lambda's 1-900 s")
    if reserved_concurrency == 0 or reserved_concurrency < -1:
        raise pulumi.RunError(
            f"reservedConcurrency {reserved_concurrency} would stop the function; "
            "use a positive number, or -1 for no reservation"
        )


class LambdaService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    function: Any
    alias: Any

    def __init__(
        self, name: str, args: LambdaServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:LambdaService", name, None, opts)
        check_sizing(args.memory, args.timeout, args.reserved_concurrency)
        ctx = args.ctx
        tags = dict(args.tags)
        in_vpc = args.vpc_id is not None
        log_group_name = args.log_group_name or f"/aws/lambda/{name}"

        self.log_group = log_group(
            self, f"{name}-logs", log_group_name, args.log_retention_days, tags
        )
        statements = [
            {
                "Sid": "WriteLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": ctx.arn("logs", f"log-group:{log_group_name}:*"),
            }
        ]
        if in_vpc:
            statements.append(
                {
                    # What AWSLambdaVPCAccessExecutionRole grants; no resource-level permissions.
                    "Sid": "VpcNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": LAMBDA_VPC_ACTIONS,
                    "Resource": "*",
                }
            )
        self.role = aws.iam.Role(
            f"{name}-function",
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            # Lambda's documented trust has no source conditions.
            assume_role_policy=service_trust("lambda.amazonaws.com", ctx, scoped=False),
            tags=tags,
            opts=child(self),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-function",
            role=self.role.id,
            policy=policy(statements),
            opts=child(self),
        )

        vpc_config = None
        if in_vpc:
            self.security_group = aws.ec2.SecurityGroup(
                f"{name}-function",
                vpc_id=args.vpc_id,
                description=f"{name} function",
                egress=[
                    {
                        "protocol": "tcp",
                        "from_port": 443,
                        "to_port": 443,
                        "cidr_blocks": ["0.0.0.0/0"],
                        "description": "HTTPS to AWS APIs",
                    }
                ],
                tags=tags,
                opts=child(self),
            )
            vpc_config = {
                "subnet_ids": list(args.subnet_ids),
                "security_group_ids": [self.security_group.id],
            }

        environment = {
            "AWS_LWA_PORT": str(APP_PORT),
            "AWS_LWA_READINESS_CHECK_PATH": HEALTH_PATH,
            **dict(args.environment),
        }
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=name,
            package_type="Image",
            image_uri=args.image,
            role=self.role.arn,
            architectures=["x86_64"],
            memory_size=args.memory,
            timeout=args.timeout,
            reserved_concurrent_executions=args.reserved_concurrency,
            publish=True,
            environment={"variables": environment},
            logging_config={"log_format": "Text", "log_group": log_group_name},
            vpc_config=vpc_config,
            tags=tags,
            opts=child(self, depends_on=[self.log_group, self.role_policy]),
        )
        routing = self.function.version.apply(
            lambda newest: alias_routing(newest, args.stable_version, args.new_version_weight)
        )
        self.alias = aws.lambda_.Alias(
            f"{name}-{ALIAS}",
            name=ALIAS,
            function_name=self.function.name,
            function_version=routing.apply(lambda r: r[0]),
            routing_config=routing.apply(
                lambda r: {"additional_version_weights": r[1]} if r[1] else None
            ),
            description="The version that serves traffic",
            opts=child(self),
        )
        self.function_url = aws.lambda_.FunctionUrl(
            f"{name}-url",
            function_name=self.function.name,
            qualifier=self.alias.name,
            authorization_type="NONE",
            invoke_mode="BUFFERED",
            opts=child(self),
        )
        # A public URL needs both permissions on the alias (InvokeFunction only through the URL).
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            action="lambda:InvokeFunctionUrl",
            function=self.function.name,
            qualifier=self.alias.name,
            principal="*",
            function_url_auth_type="NONE",
            opts=child(self),
        )
        aws.lambda_.Permission(
            f"{name}-url-function",
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.alias.name,
            principal="*",
            invoked_via_function_url=True,
            opts=child(self),
        )

        self.url = self.function_url.function_url
        self.function_name = self.function.name
        self.alias_name = self.alias.name
        self.live_version = self.alias.function_version
        self.new_version = self.function.version
        self.register_outputs({"url": self.url, "functionName": self.function_name})


def deploy_grants(scope: StageScope) -> list[Statement]:
    """What the stage's deploy role needs to create, update and destroy a `LambdaService` named
    for the stage (`<project>-<stage>`, its versions and its alias)."""
    ctx, prefix = scope.ctx, scope.prefix
    return [
        # Lambda checks that the caller may read the image (and the repository policy) it runs.
        pull_own_image(scope, policy=True),
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
        pass_role("PassFunctionRole", scope.workload_roles, ["lambda.amazonaws.com"]),
    ]
