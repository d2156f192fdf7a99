"""What every component shares: where the stack runs, the stage's names, and policy documents.

Policy documents are built as plain dicts and serialised with `json.dumps` (never through the
`aws.iam.get_policy_document` invoke), so what a stack sends to AWS is plain JSON that tests can
parse and lint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract

POLICY_VERSION = "2012-10-17"
APP_PORT = 8080
HEALTH_PATH = "/health"
APP_USER = 10001

Statement = dict[str, Any]

# What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network interfaces
# with its role. None of these actions has resource-level permissions.
LAMBDA_VPC_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
]


@dataclass(frozen=True)
class AwsContext:
    """Where a stack runs: resolved once by the program and handed to every component."""

    partition: str
    region: str
    account_id: str
    dns_suffix: str = "amazonaws.com"

    @classmethod
    def current(cls) -> AwsContext:
        """The account, partition and region of the credentials and config this run uses."""
        region = pulumi.Config("aws").get("region") or aws.get_region().region
        partition = aws.get_partition()
        return cls(
            partition=partition.partition,
            region=region,
            account_id=aws.get_caller_identity().account_id,
            dns_suffix=partition.dns_suffix,
        )

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return contract.arn(
            self.partition,
            service,
            self.region if region else "",
            self.account_id if account else "",
            resource,
        )

    def iam_arn(self, resource: str) -> str:
        return self.arn("iam", resource, region=False)


@dataclass(frozen=True)
class Naming:
    """The names of one stage: `<project>-<stage>` prefixes everything the stage creates."""

    project: str
    stage: str

    @property
    def prefix(self) -> str:
        return contract.stage_prefix(self.project, self.stage)

    @property
    def role_path(self) -> str:
        """IAM path of the stage's workload roles; the deploy role may manage only these."""
        return contract.workload_role_path(self.project, self.stage)

    @property
    def foundation_role_path(self) -> str:
        """IAM path of the service roles an administrator makes with the stage's foundation."""
        return contract.foundation_role_path(self.project, self.stage)

    @property
    def deploy_role_path(self) -> str:
        """IAM path of deploy roles: outside `role_path`, so a deploy role never manages itself."""
        return contract.deploy_role_path(self.project)

    def log_group(self, kind: str) -> str:
        return f"/aws/{kind}/{self.prefix}"

    def alarm(self, metric: str) -> str:
        # A dot cannot occur in project or stage names, so `<prefix>.` never matches another stage.
        return f"{self.prefix}.{metric}"

    def tags(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        tags = {contract.TAG_PROJECT: self.project, contract.TAG_STAGE: self.stage, "ManagedBy": "pulumi"}
        tags.update(extra or {})
        return tags


def policy(statements: Sequence[Statement]) -> str:
    """A policy document as the JSON string AWS takes."""
    return json.dumps(
        {"Version": POLICY_VERSION, "Statement": list(statements)}, separators=(",", ":")
    )


def policy_output(
    build: Callable[..., Sequence[Statement]], *inputs: pulumi.Input[Any]
) -> pulumi.Output[str]:
    """A policy document whose statements need resolved values (ARNs of other resources)."""
    return pulumi.Output.all(*inputs).apply(lambda values: policy(build(*values)))


def service_trust(
    principal: str, ctx: AwsContext, source_arn: str | None = None, *, scoped: bool = True
) -> str:
    """Trust policy for an AWS service. `scoped`: only on behalf of this account (and source),
    the confused-deputy protection, for services that send those keys when assuming roles."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "sts:AssumeRole",
    }
    if scoped:
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}
        if source_arn:
            condition["ArnLike"] = {"aws:SourceArn": source_arn}
        statement["Condition"] = condition
    return policy([statement])


def pass_role(sid: str, roles: str | list[str], services: list[str]) -> Statement:
    """iam:PassRole of `roles` to exactly these AWS services."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": roles,
        "Condition": {"StringEquals": {"iam:PassedToService": sorted(services)}},
    }


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: always parented to the component."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def log_group(
    parent: pulumi.Resource, resource_name: str, group_name: str, retention_days: int,
    tags: Mapping[str, str],
) -> Any:  # fmt: skip
    """A component's log group, made before what writes to it so that it has a retention."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=group_name,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=child(parent),
    )
