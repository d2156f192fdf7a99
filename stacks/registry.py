"""The container registry of the project (shared stack): one ECR repository for every stage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import AwsContext, child, policy
from .retention import retention_rules


@dataclass
class RegistryArgs:
    repository_name: str
    ctx: AwsContext
    # Stages in lifecycle order: each keeps its current and previous release (retention.py).
    stages: tuple[str, ...] = ()
    # Release images (tagged with the git SHA) kept; older ones expire.
    keep_releases: int = 30
    # Untagged images (superseded manifests, failed pushes) expire after this many days.
    untagged_expiry_days: int = 1
    # Lambda functions whose names start with this may pull (Lambda pulls with its service principal).
    lambda_function_prefix: str | None = None
    # Scan on push is a registry-wide (per account and region) setting; turn this off when the
    # account's scanning configuration is managed elsewhere.
    manage_scanning: bool = True
    # Delete the repository even when it still holds images (set before `pulumi destroy`).
    force_delete: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    """ECR repository: immutable tags, KMS encryption, scan on push, lifecycle policy."""

    repository: Any
    repository_url: pulumi.Output[str]
    repository_name: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:Registry", name, None, opts)
        if args.keep_releases < 1:
            raise pulumi.RunError("keepReleases must be at least 1")
        if args.untagged_expiry_days < 1:
            raise pulumi.RunError("untaggedExpiryDays must be at least 1")
        if any("." in stage for stage in args.stages):
            raise pulumi.RunError("stage names cannot contain dots")

        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS"}],
            force_delete=args.force_delete,
            tags=dict(args.tags),
            opts=child(self),
        )
        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": retention_rules(
                        args.stages, args.keep_releases,
                        untagged_expiry_days=args.untagged_expiry_days,
                    )
                }
            ),
            opts=child(self),
        )
        if args.manage_scanning:
            # The per-repository `image_scanning_configuration` is deprecated in favour of this
            # registry-level setting. It is one value per account and region, so the rule covers
            # every repository ("*"): several projects in one account converge on the same value
            # instead of overwriting each other, and deleting this stack leaves scanning on.
            self.scanning = aws.ecr.RegistryScanningConfiguration(
                f"{name}-scanning",
                scan_type="BASIC",
                rules=[
                    {
                        "scan_frequency": "SCAN_ON_PUSH",
                        "repository_filters": [{"filter": "*", "filter_type": "WILDCARD"}],
                    }
                ],
                opts=child(self, retain_on_delete=True),
            )
        if args.lambda_function_prefix:
            source = args.ctx.arn("lambda", f"function:{args.lambda_function_prefix}*")
            self.repository_policy = aws.ecr.RepositoryPolicy(
                f"{name}-policy",
                repository=self.repository.name,
                policy=policy(_lambda_pull(source)),
                opts=child(self),
            )

        self.repository_url = self.repository.repository_url
        self.repository_name = self.repository.name
        self.repository_arn = self.repository.arn
        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "repositoryName": self.repository_name,
                "repositoryArn": self.repository_arn,
            }
        )


def _lambda_pull(source_arn: str) -> list[dict[str, object]]:
    """Lambda pulls container images with its service principal; only this project's functions."""
    return [
        {
            "Sid": "LambdaPull",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
        }
    ]
