"""GitHub Actions' way into AWS: the OIDC provider, and the CI, preview and per-stage deploy roles.

No long-lived keys: every role here trusts only GitHub's OIDC tokens from this repository's issuer
whose `aud` is `sts.amazonaws.com` and whose `sub` is exactly one subject GitHub issues for this
repository. The subjects are built from the repository's subject prefix, which GitHub tells
(`GET /repos/{owner}/{repo}/actions/oidc/customization/sub`; bootstrap records it as the config
key `githubSubjectPrefix`): `repo:OWNER@OWNER_ID/REPO@REPO_ID` for immutable subjects on
github.com, `repo:OWNER/REPO` on GitHub Enterprise Server. Nothing here guesses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .common import AwsContext, Statement, child, policy, policy_output
from .permissions import StateBucket, state_read_statements


@dataclass(frozen=True)
class GithubIdentity:
    """What GitHub's OIDC tokens for this repository carry: who issues them, and the prefix of
    their subjects (`contract.UNKNOWN_SUBJECT_PREFIX` while GitHub was not asked yet)."""

    issuer: str = contract.GITHUB_OIDC_HOST
    subject_prefix: str = contract.UNKNOWN_SUBJECT_PREFIX

    @classmethod
    def from_config(
        cls, project: str, subject_prefix: str, issuer: str, *, real_update: bool
    ) -> GithubIdentity:
        """The identity the stack's config records. Without a subject prefix a real update
        refuses (no role could trust the workflows); a preview or an offline plan shows the trust
        as not yet known, and warns."""
        if subject_prefix:
            return cls(issuer=issuer, subject_prefix=subject_prefix)
        fix = (
            "run `bootstrap github sync`: it reads the prefix from GitHub and records it as the "
            "answer github_subject_prefix in .copier-answers.yml, which infra/Pulumi.yaml's "
            "default carries to every stack"
        )
        if real_update:
            raise pulumi.RunError(
                f"{project}:githubSubjectPrefix is not set, so no role can trust this "
                f"repository's workflows: {fix}"
            )
        pulumi.log.warn(
            f"{project}:githubSubjectPrefix is not set: GitHub's OIDC subject for this "
            f"repository is not yet known, so the roles' trust shows "
            f"'{contract.UNKNOWN_SUBJECT_PREFIX}:...'; {fix}"
        )
        return cls(issuer=issuer)

    @property
    def provider_url(self) -> str:
        return contract.oidc_provider_url(self.issuer)

    def subject(self, kind: str, stage: str | None = None) -> str:
        return contract.subject(self.subject_prefix, kind, stage)

    def trust(self, provider_arn: str, subject: str) -> list[Statement]:
        """Trust statements for this issuer's tokens with exactly this `sub` claim."""
        return [
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{self.issuer}:aud": contract.GITHUB_OIDC_AUDIENCE,
                        f"{self.issuer}:sub": subject,
                    }
                },
            }
        ]


def github_role(
    parent: pulumi.ComponentResource,
    name: str,
    *,
    github: GithubIdentity,
    subject: str,
    provider_arn: pulumi.Input[str],
    role_name: str,
    path: str,
    description: str,
    tags: Mapping[str, str],
) -> Any:
    """A role that GitHub Actions assumes through OIDC: trust pinned to `subject` (and `aud`),
    one-hour sessions. The CI, preview and deploy roles differ only in subject and policies."""
    return aws.iam.Role(
        f"{name}-role",
        name=role_name,
        path=path,
        description=description,
        assume_role_policy=policy_output(lambda arn: github.trust(arn, subject), provider_arn),
        max_session_duration=3600,
        tags=dict(tags),
        opts=child(parent),
    )


@dataclass
class GithubOidcArgs:
    github: GithubIdentity
    # An account has at most one provider per URL: pass the existing one's ARN to reuse it.
    existing_provider_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class GithubOidc(pulumi.ComponentResource):
    """The IAM OIDC identity provider for GitHub Actions (or a reference to an existing one)."""

    provider_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(contract.GITHUB_OIDC_COMPONENT, name, None, opts)
        issuer = args.github.issuer
        if args.existing_provider_arn:
            if not args.existing_provider_arn.endswith(f":oidc-provider/{issuer}"):
                raise pulumi.RunError(
                    f"oidcProviderArn '{args.existing_provider_arn}' is not the provider of "
                    f"GitHub's OIDC issuer {issuer}; it must end with ':oidc-provider/{issuer}'"
                )
            self.provider_arn = pulumi.Output.from_input(args.existing_provider_arn)
        else:
            # AWS validates the issuer's certificate chain itself: no thumbprint is needed.
            self.provider = aws.iam.OpenIdConnectProvider(
                f"{name}-provider",
                url=args.github.provider_url,
                client_id_lists=[contract.GITHUB_OIDC_AUDIENCE],
                tags=dict(args.tags),
                opts=child(self),
            )
            self.provider_arn = self.provider.arn
        self.register_outputs({"providerArn": self.provider_arn})


@dataclass(kw_only=True)
class WorkflowRoleArgs:
    """A role of the project's workflows (not of one stage): CI's and previews'."""

    ctx: AwsContext
    github: GithubIdentity
    provider_arn: pulumi.Input[str]
    role_name: str
    path: str = contract.CI_ROLE_PATH
    # The Pulumi state backend URL; for s3:// the role may read the state (never write it).
    state_backend: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class WorkflowRole(pulumi.ComponentResource):
    """A role that GitHub Actions assumes for one subject of this repository, with one inline
    policy (`grant`)."""

    role: Any
    policy: Any
    arn: pulumi.Output[str]

    def grant(
        self, name: str, args: WorkflowRoleArgs, *, kind: str, purpose: str, policy_name: str,
        document: pulumi.Input[str],
    ) -> None:  # fmt: skip
        subject = args.github.subject(kind)
        self.role = github_role(
            self,
            name,
            github=args.github,
            subject=subject,
            provider_arn=args.provider_arn,
            role_name=args.role_name,
            path=args.path,
            description=f"{purpose} ({subject})",
            tags=args.tags,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-{policy_name}", role=self.role.id, policy=document, opts=child(self)
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})


@dataclass(kw_only=True)
class CiRoleArgs(WorkflowRoleArgs):
    ecr_repository_arn: pulumi.Input[str]


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


class CiRole(WorkflowRole):
    """The role of builds on main (`build.yml`, `promote.yml`): push images to this project's
    repository, and read the stacks' outputs (promotion looks up the digest the previous stage
    runs); it never writes the state."""

    def __init__(
        self, name: str, args: CiRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:CiRole", name, None, opts)
        state = state_read_statements(args.ctx, StateBucket.parse(args.state_backend))
        self.grant(
            name, args, kind="branch", purpose="GitHub Actions builds on main", policy_name="push",
            document=policy_output(
                lambda arn: [*ci_push_statements(arn), *state], args.ecr_repository_arn
            ),
        )  # fmt: skip


PreviewRoleArgs = WorkflowRoleArgs


# What `pulumi preview` of every stack asks AWS besides the state: the program's lookups. The
# caller identity and the partition need no permission; the EKS program's load balancer lookup
# (the provider's `aws_lb` data source) reads the load balancer, its attributes and its tags.
# None of these actions has resource-level permissions.
PREVIEW_LOOKUPS = [
    "ec2:DescribeAvailabilityZones",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
]


def preview_statements(ctx: AwsContext, state_backend: str | None) -> list[Statement]:
    """`pulumi preview` reads the state and answers the program's lookups; it changes nothing
    (the DIY backends neither lock nor write for a preview)."""
    lookups: Statement = {
        "Sid": "ProgramLookups",
        "Effect": "Allow",
        "Action": PREVIEW_LOOKUPS,
        "Resource": "*",
    }
    return [lookups, *state_read_statements(ctx, StateBucket.parse(state_backend))]


class PreviewRole(WorkflowRole):
    """The read-only role of infra previews on pull requests (`preview.yml`): the shared stack's,
    and a stage's own in that stage's account (stacks/stage.py, `own_preview_role`), which the
    shared one cannot act in. The same policy for both."""

    def __init__(
        self, name: str, args: PreviewRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:PreviewRole", name, None, opts)
        self.grant(
            name, args, kind="pull_request", purpose="Read-only infra previews of pull requests",
            policy_name="read", document=policy(preview_statements(args.ctx, args.state_backend)),
        )  # fmt: skip


@dataclass
class DeployRoleArgs:
    github: GithubIdentity
    provider_arn: pulumi.Input[str]
    subject: str  # the exact OIDC `sub` claim trusted
    role_name: str
    path: str
    # Inline policies by name: each a policy document (JSON).
    policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


class DeployRole(pulumi.ComponentResource):
    """The role one stage's deploy job assumes to run `pulumi up` for that stage. Its children are
    the stage's foundation: an administrator makes and changes them (contract.foundation_urns)."""

    role: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(contract.DEPLOY_ROLE_COMPONENT, name, None, opts)
        self.role = github_role(
            self,
            name,
            github=args.github,
            subject=args.subject,
            provider_arn=args.provider_arn,
            role_name=args.role_name,
            path=args.path,
            description=args.description or f"GitHub Actions deploys ({args.subject})",
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
    "PREVIEW_LOOKUPS",
    "CiRole",
    "CiRoleArgs",
    "DeployRole",
    "DeployRoleArgs",
    "GithubIdentity",
    "GithubOidc",
    "GithubOidcArgs",
    "PreviewRole",
    "PreviewRoleArgs",
    "WorkflowRole",
    "WorkflowRoleArgs",
    "ci_push_statements",
    "preview_statements",
]
