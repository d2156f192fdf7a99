"""The VPC of one stage: public and private subnets across availability zones, NAT, flow logs; and
what the stage's deploy role needs to deploy it (`deploy_grants`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .common import AwsContext, Statement, child, log_group, pass_role, policy, service_trust
from .permissions import StageScope

MIN_AZS = 2


@dataclass
class NetworkArgs:
    ctx: AwsContext
    # The availability zones to use, in order (the program reads the region's list once).
    availability_zones: Sequence[str]
    cidr: str = "10.0.0.0/16"
    az_count: int = MIN_AZS
    # One NAT gateway per availability zone (production), or one shared NAT (cheaper).
    nat_per_az: bool = False
    flow_log_group_name: str | None = None  # default: /aws/vpc/<name>
    log_retention_days: int = 14
    role_path: str = "/"
    permissions_boundary: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(public, private) subnet CIDRs: the VPC split in 16; private first (the larger share)."""
    network = ipaddress.ip_network(cidr)
    if not 16 <= network.prefixlen <= 24:
        raise pulumi.RunError(f"vpcCidr {cidr} must be a /16 to /24 network")
    blocks = [str(block) for block in network.subnets(new_prefix=network.prefixlen + 4)]
    return blocks[8 : 8 + az_count], blocks[:az_count]


class Network(pulumi.ComponentResource):
    vpc: Any
    vpc_id: pulumi.Output[str]
    vpc_arn: pulumi.Output[str]
    cidr: str
    availability_zones: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(contract.NETWORK_COMPONENT, name, None, opts)
        if args.az_count < MIN_AZS:
            raise pulumi.RunError(f"azCount must be at least {MIN_AZS} (it is {args.az_count})")
        if len(args.availability_zones) < args.az_count:
            raise pulumi.RunError(
                f"azCount is {args.az_count} but region {args.ctx.region} offers "
                f"{len(args.availability_zones)} availability zones; lower azCount"
            )
        zones = list(args.availability_zones[: args.az_count])
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr, args.az_count)
        tags = dict(args.tags)

        def named(suffix: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{suffix}", **(extra or {})}

        self.cidr = args.cidr
        self.availability_zones = zones
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=named("vpc"),
            opts=child(self),
        )
        # The default security group allows all traffic between its members: remove every rule.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=named("default-sg"),
            opts=child(self),
        )
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=named("igw"), opts=child(self)
        )
        self.public_route_table = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=self.vpc.id, tags=named("public"), opts=child(self)
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=self.public_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.internet_gateway.id,
            opts=child(self),
        )

        public_subnets: list[Any] = []
        private_subnets: list[Any] = []
        for index, zone in enumerate(zones):
            suffix = zone[-1] if zone[-1].isalpha() else str(index)
            public = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                # Load balancers (and EKS Auto Mode) find their subnets by these tags.
                tags=named(f"public-{suffix}", {"kubernetes.io/role/elb": "1", "tier": "public"}),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{suffix}",
                subnet_id=public.id,
                route_table_id=self.public_route_table.id,
                opts=child(self),
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=named(
                    f"private-{suffix}", {"kubernetes.io/role/internal-elb": "1", "tier": "private"}
                ),
                opts=child(self),
            )
            public_subnets.append(public)
            private_subnets.append(private)

        nat_count = args.az_count if args.nat_per_az else 1
        self.nat_gateways: list[Any] = []
        for index in range(nat_count):
            suffix = zones[index][-1] if zones[index][-1].isalpha() else str(index)
            address = aws.ec2.Eip(
                f"{name}-nat-{suffix}", domain="vpc", tags=named(f"nat-{suffix}"), opts=child(self)
            )
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{suffix}",
                    allocation_id=address.id,
                    subnet_id=public_subnets[index].id,
                    connectivity_type="public",
                    tags=named(f"nat-{suffix}"),
                    opts=child(self, depends_on=[self.internet_gateway]),
                )
            )
        for index, private in enumerate(private_subnets):
            suffix = zones[index][-1] if zones[index][-1].isalpha() else str(index)
            nat = self.nat_gateways[index % nat_count]
            table = aws.ec2.RouteTable(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                tags=named(f"private-{suffix}"),
                opts=child(self),
            )
            aws.ec2.Route(
                f"{name}-private-{suffix}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{suffix}",
                subnet_id=private.id,
                route_table_id=table.id,
                opts=child(self),
            )

        self._flow_logs(name, args, tags)

        self.vpc_id = self.vpc.id
        self.vpc_arn = self.vpc.arn
        self.public_subnet_ids = [subnet.id for subnet in public_subnets]
        self.private_subnet_ids = [subnet.id for subnet in private_subnets]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _flow_logs(self, name: str, args: NetworkArgs, tags: dict[str, str]) -> None:
        ctx = args.ctx
        group_name = args.flow_log_group_name or f"/aws/vpc/{name}"
        self.flow_log_group = log_group(
            self, f"{name}-flow-logs", group_name, args.log_retention_days, tags
        )
        group_arn = ctx.arn("logs", f"log-group:{group_name}:*")
        self.flow_log_role = aws.iam.Role(
            f"{name}-flow-logs",
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=service_trust(
                "vpc-flow-logs.amazonaws.com", ctx, ctx.arn("ec2", "vpc-flow-log/*")
            ),
            tags=tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=self.flow_log_role.id,
            policy=policy(
                [
                    {
                        "Sid": "WriteFlowLogs",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        "Resource": group_arn,
                    },
                    {
                        "Sid": "DescribeLogGroups",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": "*",
                    },
                ]
            ),
            opts=child(self),
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child(self),
        )


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


def deploy_grants(scope: StageScope) -> list[Statement]:
    """What the stage's deploy role needs for the `Network` (and the security groups the targets
    add to its VPC). Creation is limited to the stage's region and account; what is created carries
    the stage's tags, and only resources with those tags can be changed or deleted."""
    ctx = scope.ctx
    every = ctx.arn("ec2", "*")
    return [
        {"Sid": "Ec2Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
        {"Sid": "Ec2Create", "Effect": "Allow", "Action": _EC2_CREATE, "Resource": every},
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
                    f"aws:ResourceTag/{contract.TAG_PROJECT}": scope.naming.project,
                    f"aws:ResourceTag/{contract.TAG_STAGE}": scope.naming.stage,
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
        pass_role("PassFlowLogRole", scope.workload_roles, ["vpc-flow-logs.amazonaws.com"]),
    ]
