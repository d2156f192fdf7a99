"""GitHub Actions' way into AWS: the OIDC provider, the CI push role and the per-stage deploy role.

No long-lived keys: every role here trusts only GitHub's OIDC tokens whose `aud` is
`sts.amazonaws.com` and whose `sub` is exactly one subject of this repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from .common import (
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    AwsContext,
    Statement,
    child,
    github_subject,
    github_trust,
    policy,
    policy_output,
)
from .permissions import StateBucket
from .sdk import aws

GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"


def github_role(
    parent: pulumi.ComponentResource,
    name: str,
    *,
    role_name: str | None,
    path: str,
    description: str,
    subject: str,
    provider_arn: pulumi.Input[str],
    tags: Mapping[str, str],
) -> Any:
    """A role that GitHub Actions assumes through OIDC: trust pinned to `subject` (and `aud`),
    one-hour sessions. The CI, preview and deploy roles differ only in subject and policies."""
    return aws.iam.Role(
        f"{name}-role",
        name=role_name,
        path=path,
        description=description,
        assume_role_policy=policy_output(lambda arn: github_trust(arn, subject), provider_arn),
        max_session_duration=3600,
        tags=dict(tags),
        opts=child(parent),
    )


@dataclass
class GithubOidcArgs:
    # An account has at most one provider per URL: pass the existing one's ARN to reuse it.
    existing_provider_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class GithubOidc(pulumi.ComponentResource):
    """The IAM OIDC identity provider for GitHub Actions (or a reference to an existing one)."""

    provider_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:GithubOidc", name, None, opts)
        if args.existing_provider_arn:
            if not args.existing_provider_arn.endswith(f":oidc-provider/{GITHUB_OIDC_HOST}"):
                raise pulumi.RunError(
                    f"oidcProviderArn '{args.existing_provider_arn}' is not the GitHub Actions "
                    f"provider; it must end with ':oidc-provider/{GITHUB_OIDC_HOST}'"
                )
            self.provider_arn = pulumi.Output.from_input(args.existing_provider_arn)
        else:
            # AWS validates GitHub's certificate chain itself: no thumbprint is needed.
            self.provider = aws.iam.OpenIdConnectProvider(
                f"{name}-provider",
                url=GITHUB_OIDC_URL,
                client_id_lists=[GITHUB_OIDC_AUDIENCE],
                tags=dict(args.tags),
                opts=child(self),
            )
            self.provider_arn = self.provider.arn
        self.register_outputs({"providerArn": self.provider_arn})


@dataclass
class CiRoleArgs:
    ctx: AwsContext
    provider_arn: pulumi.Input[str]
    owner: str
    repository: str  # the GitHub repository's name
    ecr_repository_arn: pulumi.Input[str]
    role_name: str
    path: str = "/bootstrap-ci/"
    tags: Mapping[str, str] = field(default_factory=dict)


def ci_push_statements(repository_arn: str) -> list[Statement]:
    return [
        # GetAuthorizationToken has no resource-level permissions: "*" is the only valid value.
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PushThisRepository",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            "Resource": repository_arn,
        },
    ]


class CiRole(pulumi.ComponentResource):
    """The role the build job assumes: push images to this project's repository, nothing else."""

    role: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: CiRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:CiRole", name, None, opts)
        self.role = github_role(
            self,
            name,
            role_name=args.role_name,
            path=args.path,
            description=f"GitHub Actions builds of {args.owner}/{args.repository} (main branch)",
            subject=github_subject(args.owner, args.repository, "branch", None),
            provider_arn=args.provider_arn,
            tags=args.tags,
        )
        self.push_policy = aws.iam.RolePolicy(
            f"{name}-push",
            role=self.role.id,
            policy=policy_output(ci_push_statements, args.ecr_repository_arn),
            opts=child(self),
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})


@dataclass
class PreviewRoleArgs:
    ctx: AwsContext
    provider_arn: pulumi.Input[str]
    owner: str
    repository: str  # the GitHub repository's name
    role_name: str
    path: str = "/bootstrap-ci/"
    # The Pulumi state backend URL; for s3:// the role may read the state (never write it).
    state_backend: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def preview_statements(ctx: AwsContext, state_backend: str | None) -> list[Statement]:
    """`pulumi preview` reads the state and answers the program's lookups; it changes nothing
    (the DIY backends neither lock nor write for a preview)."""
    statements: list[Statement] = [
        {
            # The program's data sources; both have no resource-level permissions.
            "Sid": "ProgramLookups",
            "Effect": "Allow",
            "Action": ["ec2:DescribeAvailabilityZones", "elasticloadbalancing:DescribeLoadBalancers"],
            "Resource": "*",
        }
    ]
    state = StateBucket.parse(state_backend)
    if state is not None:
        bucket = f"arn:{ctx.partition}:s3:::{state.bucket}"
        statements += [
            {
                "Sid": "StateBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": bucket,
            },
            {
                "Sid": "StateRead",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket}/{state.prefix}.pulumi/*",
            },
        ]
    return statements


class PreviewRole(pulumi.ComponentResource):
    """The read-only role of infra previews on pull requests (`preview.yml`)."""

    role: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:PreviewRole", name, None, opts)
        self.role = github_role(
            self,
            name,
            role_name=args.role_name,
            path=args.path,
            description=f"Read-only infra previews of {args.owner}/{args.repository} pull requests",
            subject=f"repo:{args.owner}/{args.repository}:pull_request",
            provider_arn=args.provider_arn,
            tags=args.tags,
        )
        self.read_policy = aws.iam.RolePolicy(
            f"{name}-read",
            role=self.role.id,
            policy=policy(preview_statements(args.ctx, args.state_backend)),
            opts=child(self),
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})


@dataclass
class DeployRoleArgs:
    provider_arn: pulumi.Input[str]
    subject: str  # the exact OIDC `sub` claim trusted
    role_name: str
    path: str
    # Inline policies by name: each a policy document (JSON).
    policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


class DeployRole(pulumi.ComponentResource):
    """The role one stage's deploy job assumes to run `pulumi up` for that stage."""

    role: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:DeployRole", name, None, opts)
        self.role = github_role(
            self,
            name,
            role_name=args.role_name,
            path=args.path,
            description=args.description or f"GitHub Actions deploys ({args.subject})",
            subject=args.subject,
            provider_arn=args.provider_arn,
            tags=args.tags,
        )
        self.policies = [
            aws.iam.RolePolicy(
                f"{name}-{policy_name}",
                name=policy_name,
                role=self.role.id,
                policy=document,
                opts=child(self),
            )
            for policy_name, document in args.policies.items()
        ]
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})


__all__ = [
    "CiRole",
    "CiRoleArgs",
    "DeployRole",
    "DeployRoleArgs",
    "GithubOidc",
    "GithubOidcArgs",
    "PreviewRole",
    "PreviewRoleArgs",
    "ci_push_statements",
    "preview_statements",
]
