"""Helpers shared by the components: the AWS account context, ARNs, tags and policy documents.

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

POLICY_VERSION = "2012-10-17"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# Every tag key the stacks set; IAM conditions in the deploy role's policy key on these.
TAG_PROJECT = "bootstrap:project"
TAG_STAGE = "bootstrap:stage"
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

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            [
                "arn",
                self.partition,
                service,
                self.region if region else "",
                self.account_id if account else "",
                resource,
            ]
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
        return f"{self.project}-{self.stage}"

    @property
    def role_path(self) -> str:
        """IAM path of the stage's workload roles; the deploy role may manage only these."""
        return f"/bootstrap/{self.project}/{self.stage}/"

    @property
    def deploy_role_path(self) -> str:
        """IAM path of deploy roles: outside `role_path`, so a deploy role never manages itself."""
        return f"/bootstrap-deploy/{self.project}/"

    def log_group(self, kind: str) -> str:
        return f"/aws/{kind}/{self.prefix}"

    def alarm(self, metric: str) -> str:
        # A dot cannot occur in project or stage names, so `<prefix>.` never matches another stage.
        return f"{self.prefix}.{metric}"

    def tags(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        tags = {TAG_PROJECT: self.project, TAG_STAGE: self.stage, "ManagedBy": "pulumi"}
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


def github_trust(provider_arn: str, subject: str) -> list[Statement]:
    """Trust statements for GitHub Actions OIDC tokens with exactly this `sub` claim."""
    return [
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subject,
                }
            },
        }
    ]


def github_subject(owner: str, repo: str, trust_subject: str, stage: str | None) -> str:
    """The OIDC `sub` claim GitHub sends for the deploy of `stage` (or for main-branch builds)."""
    if trust_subject == "environment" and stage is not None:
        return f"repo:{owner}/{repo}:environment:{stage}"
    return f"repo:{owner}/{repo}:ref:refs/heads/main"


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: always parented to the component."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)
