"""The stage network: zones, subnets, NAT (one, or one per zone for the last stage), flow logs."""

from __future__ import annotations

import ipaddress

import pytest

from .helpers import LOG_GROUP, PROJECT, count, one, stage_config

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"


@pytest.mark.parametrize("target", ["ecs", "eks"])
def test_early_stages_are_two_zones_with_one_nat(project_plans, target):
    for stage in ("dev", "test"):
        plan = project_plans[target][stage]
        subnets = plan.of_type(SUBNET)
        assert len(subnets) == 4
        assert {s.inputs["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b"}
        assert count(plan, NAT) == 1
        assert count(plan, "aws:ec2/eip:Eip") == 1


@pytest.mark.parametrize("target", ["ecs", "eks"])
def test_last_stage_is_multi_az_with_a_nat_per_zone(project_plans, target):
    plan = project_plans[target]["prod"]
    subnets = plan.of_type(SUBNET)
    zones = {s.inputs["availabilityZone"] for s in subnets}
    assert zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert count(plan, NAT) == 3
    # Each private subnet routes through the NAT in its own zone.
    routes = [
        r for r in plan.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId") is not None
    ]
    assert len(routes) == 3
    assert len({r.inputs["natGatewayId"] for r in routes}) == 3


def test_subnets_are_public_and_private_and_do_not_overlap(project_plans):
    plan = project_plans["ecs"]["prod"]
    subnets = plan.of_type(SUBNET)
    tiers = [s.inputs["tags"]["tier"] for s in subnets]
    assert sorted(tiers) == ["private"] * 3 + ["public"] * 3
    networks = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in subnets]
    vpc = ipaddress.ip_network(one(plan, "aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    assert all(n.subnet_of(vpc) for n in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    for subnet in subnets:
        role = "kubernetes.io/role/elb" if subnet.inputs["tags"]["tier"] == "public" else "kubernetes.io/role/internal-elb"
        assert subnet.inputs["tags"][role] == "1"


def test_flow_logs_go_to_a_log_group_with_retention(project_plans):
    for stage, days in (("dev", 14), ("prod", 90)):
        plan = project_plans["ecs"][stage]
        flow_log = one(plan, "aws:ec2/flowLog:FlowLog")
        assert flow_log.inputs["trafficType"] == "ALL"
        assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
        (group,) = [g for g in plan.of_type(LOG_GROUP) if g.inputs["name"] == f"/aws/vpc/{PROJECT}-{stage}"]
        assert group.inputs["retentionInDays"] == days
        assert flow_log.inputs["logDestination"].endswith(f"log-group:/aws/vpc/{PROJECT}-{stage}")
        assert flow_log.inputs["iamRoleArn"].startswith("arn:aws:iam::")


def test_default_security_group_allows_nothing(project_plans):
    default = one(project_plans["ecs"]["dev"], "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs.get("ingress", []) == []
    assert default.inputs.get("egress", []) == []


def test_every_network_resource_carries_the_stage_tags(project_plans):
    """The deploy role may change EC2 resources only by these tags."""
    plan = project_plans["ecs"]["test"]
    tagged = [r for r in plan.resources if r.type.startswith("aws:ec2/") and "tags" in r.inputs]
    assert len(tagged) > 10
    for resource in tagged:
        assert resource.inputs["tags"]["bootstrap:project"] == PROJECT, resource.name
        assert resource.inputs["tags"]["bootstrap:stage"] == "test", resource.name


def test_lambda_stages_have_no_network_unless_configured(project_plans, plan_stage):
    assert not [r for r in project_plans["lambda"]["dev"].resources if r.type.startswith("aws:ec2/")]
    plan = plan_stage("dev", stage_config("lambda", lambdaVpc=True))
    assert count(plan, "aws:ec2/vpc:Vpc") == 1
    function = one(plan, "aws:lambda/function:Function")
    assert len(function.inputs["vpcConfig"]["subnetIds"]) == 2
    assert len(function.inputs["vpcConfig"]["securityGroupIds"]) == 1


def test_zone_count_is_checked(plan_stage):
    from bootstrap.offline import PlanError

    with pytest.raises(PlanError, match="azCount"):
        plan_stage("dev", stage_config("ecs", azCount=1))
    with pytest.raises(PlanError, match="offers 3 availability zones"):
        plan_stage("dev", stage_config("ecs", azCount=4))
