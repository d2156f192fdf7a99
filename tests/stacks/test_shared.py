"""The shared stack: registry, GitHub OIDC provider, CI push role; its outputs."""

from __future__ import annotations

import json
import re

import pytest

from bootstrap.offline import PlanError, run_program
from stacks import contract

from .helpers import (
    ACCOUNT,
    GHES_ISSUER,
    ISSUER,
    PREFIX,
    PROJECT,
    REGION,
    ROLE,
    ROLE_POLICY,
    actions,
    count,
    one,
    resources,
    shared_config,
    trust_condition,
    types,
)

REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def shared(project_plans):
    """The shared stack without the previews' resources (tests/stacks/test_previews_stack.py)."""
    import dataclasses

    plan = project_plans["ecs"]["shared"]
    kept = [r for r in plan.resources if "bootstrap:index:PreviewAccess" not in r.urn]
    return dataclasses.replace(plan, resources=kept)


def test_inventory(shared):
    assert {
        "aws:ecr/repository:Repository",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        ROLE,
        ROLE_POLICY,
    } <= types(shared)
    # The shared stack holds account-level things only: no network, no workload.
    assert not {t for t in types(shared) if t.startswith(("aws:ec2", "aws:ecs", "aws:eks", "aws:lambda"))}
    assert count(shared, ROLE) == 2  # CI (push) and preview (read-only)


def test_repository_is_immutable_and_encrypted(shared):
    repository = one(shared, "aws:ecr/repository:Repository")
    assert repository.inputs["name"] == PROJECT
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
    # Scanning is registry-level, not the deprecated per-repository setting.
    assert "imageScanningConfiguration" not in repository.inputs
    assert repository.inputs.get("forceDelete") is False


def test_scan_on_push_is_registry_level(shared):
    scanning = one(shared, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "BASIC"
    assert scanning.inputs["rules"] == [
        {
            "scanFrequency": "SCAN_ON_PUSH",
            "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
        }
    ]


def test_scanning_can_be_left_to_the_account(infra):
    plan = run_program(infra, PROJECT, "shared", shared_config(registryScanning="false"))
    assert count(plan, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration") == 0


def test_lifecycle_expires_untagged_and_keeps_releases(shared, infra):
    rules = json.loads(one(shared, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    ordered = sorted(rules, key=lambda r: r["rulePriority"])
    # each stage keeps its current and previous release, the last stage's rule first
    assert [r["selection"].get("tagPrefixList") for r in ordered[:3]] == [
        ["deployed.prod."], ["deployed.test."], ["deployed.dev."]
    ]
    assert all(r["selection"]["countNumber"] == 2 for r in ordered[:3])
    untagged, releases = ordered[3:]
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 1,
    }
    assert releases["selection"]["tagStatus"] == "tagged"
    assert releases["selection"]["countType"] == "imageCountMoreThan"
    assert releases["selection"]["countNumber"] == 30  # keepReleases in Pulumi.shared.yaml
    assert {r["action"]["type"] for r in rules} == {"expire"}

    plan = run_program(infra, PROJECT, "shared", shared_config(keepReleases=7, untaggedExpiryDays=3,
                                                               previewTarget="none"))  # fmt: skip
    rules = json.loads(one(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert [r["selection"]["countNumber"] for r in sorted(rules, key=lambda r: r["rulePriority"])] == [2, 2, 2, 3, 7]


def test_lambda_may_pull_only_for_this_projects_functions(shared):
    policy = json.loads(one(shared, "aws:ecr/repositoryPolicy:RepositoryPolicy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(actions(statement)) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PROJECT}-*"}
    }


def test_oidc_provider_for_github_actions(shared):
    provider = one(shared, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert not provider.inputs.get("thumbprintLists")


def test_existing_oidc_provider_is_reused(infra):
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    plan = run_program(infra, PROJECT, "shared", shared_config(oidcProviderArn=existing))
    assert count(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == 0
    assert plan.outputs["oidcProviderArn"] == existing
    for role in plan.of_type(ROLE):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Federated": existing}


@pytest.mark.parametrize(
    ("issuer", "wrong"),
    [
        (ISSUER, "gitlab.com"),
        # A GitHub Enterprise Server repository cannot reuse github.com's provider.
        (GHES_ISSUER, ISSUER),
    ],
)
def test_a_wrong_provider_arn_is_refused(infra, issuer, wrong):
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{wrong}"
    config = shared_config(oidcProviderArn=arn, githubOidcIssuer=issuer)
    # (the config check names the issuer; so does the component, for callers without it)
    with pytest.raises(PlanError, match=f"issuer {re.escape(issuer)}"):
        run_program(infra, PROJECT, "shared", config)


def role_named(plan, name):
    (role,) = [r for r in plan.of_type(ROLE) if r.inputs["name"] == name]
    return role


def policy_of(plan, role_name):
    (policy,) = [r for r in plan.of_type(ROLE_POLICY) if r.name.startswith(f"{role_name}-")]
    return json.loads(policy.inputs["policy"])


def test_ci_role_trusts_only_main_branch_builds_of_this_repo(shared):
    role = role_named(shared, f"{PROJECT}-ci")
    assert role.inputs["name"] == f"{PROJECT}-ci"
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust_condition(role) == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": f"{PREFIX}:ref:refs/heads/main",
        }
    }


def test_ci_role_may_push_only_to_this_repository(shared):
    policy = policy_of(shared, f"{PROJECT}-ci")
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all(action.startswith("ecr:") for action in actions(statement))
        if resources(statement) == ["*"]:
            assert actions(statement) == ["ecr:GetAuthorizationToken"]
        else:
            assert resources(statement) == [REPOSITORY_ARN]
    granted = {a for s in policy["Statement"] for a in actions(s)}
    assert {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload"} <= granted
    assert not {a for a in granted if "Delete" in a or "Policy" in a}


def test_ci_role_reads_never_writes_the_state(mixed_plans):
    """promote.yml looks up the digest the previous stage runs with `pulumi stack output`, as the
    CI role: with an S3 backend it may list the bucket and read the state, nothing more."""
    policy = policy_of(mixed_plans["shared"], f"{PROJECT}-ci")
    state = {s["Sid"]: s for s in policy["Statement"] if s["Sid"].startswith("State")}
    assert {sid: (actions(s), resources(s)) for sid, s in state.items()} == {
        "StateBucket": (["s3:GetBucketLocation", "s3:ListBucket"], ["arn:aws:s3:::acme-pulumi-state"]),
        "StateRead": (["s3:GetObject"], ["arn:aws:s3:::acme-pulumi-state/infra/.pulumi/*"]),
    }
    granted = {a for s in policy["Statement"] for a in actions(s)}
    assert not {a for a in granted if a.startswith("s3:") and a.split(":")[1].startswith(("Put", "Delete"))}


def test_outputs_are_the_contract(shared):
    # what provisioning reads; the previews' deploy role is optional (previewTarget none)
    assert set(shared.outputs) == {
        *contract.SHARED_OUTPUTS, contract.PR_ROLE_OUTPUT, contract.PREVIEW_REPOSITORY_OUTPUT,
        contract.ACCOUNT_OUTPUT, contract.PREVIEW_TARGET_OUTPUT,
    }
    assert shared.outputs[contract.ACCOUNT_OUTPUT] == ACCOUNT
    assert shared.outputs["repositoryUrl"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}"
    assert shared.outputs["repositoryName"] == PROJECT
    assert shared.outputs["repositoryArn"] == REPOSITORY_ARN
    assert shared.outputs["ciRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/bootstrap-ci/{PROJECT}-ci"
    assert shared.outputs["oidcProviderArn"] == PROVIDER_ARN
    assert shared.outputs["previewRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/bootstrap-ci/{PROJECT}-preview"
    )


def test_preview_role_is_read_only_for_pull_requests(shared, mixed_plans):
    role = role_named(shared, f"{PROJECT}-preview")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust_condition(role) == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": f"{PREFIX}:pull_request",
        }
    }
    readonly = ("Describe", "Get", "List")
    local = policy_of(shared, f"{PROJECT}-preview")
    assert [s["Sid"] for s in local["Statement"]] == ["ProgramLookups"]  # local state: nothing else
    with_s3 = policy_of(mixed_plans["shared"], f"{PROJECT}-preview")
    granted = {a for s in with_s3["Statement"] for a in actions(s)}
    assert "s3:GetObject" in granted
    assert all(a.split(":")[1].startswith(readonly) for a in granted), granted
    (read,) = [s for s in with_s3["Statement"] if s["Sid"] == "StateRead"]
    assert resources(read) == ["arn:aws:s3:::acme-pulumi-state/infra/.pulumi/*"]


# What each invoke of the program asks AWS (the Terraform AWS provider's data sources:
# aws_caller_identity and aws_partition need no permission; aws_availability_zones reads the
# zones; aws_lb, internal/service/elbv2/load_balancer_data_source.go, reads the load balancer, its
# attributes and, through its @Tags annotation, its tags). Sources: docs/sources.md, "stacks".
INVOKE_ACTIONS = {
    "aws:index/getCallerIdentity:getCallerIdentity": set(),
    "aws:index/getPartition:getPartition": set(),
    "aws:index/getRegion:getRegion": set(),
    "aws:index/getAvailabilityZones:getAvailabilityZones": {"ec2:DescribeAvailabilityZones"},
    "aws:lb/getLoadBalancer:getLoadBalancer": {
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    },
}


def test_preview_role_answers_every_lookup_of_every_stack(shared, infra, shared_outputs):
    """`pulumi preview` of an EKS stage runs the load balancer lookup as the preview role."""
    from bootstrap.offline import fake_aws

    from .helpers import REAL_DIGEST, REPOSITORY_URL, stage_config

    made: list[str] = []
    original = fake_aws.FakeAws.call

    def call(self, args):
        made.append(args.token)
        return original(self, args)

    fake_aws.FakeAws.call = call
    try:
        image = f"{REPOSITORY_URL}@{REAL_DIGEST}"
        for stack, config in (("shared", shared_config()), ("dev", stage_config("eks", image=image))):
            run_program(infra, PROJECT, stack, config, stack_outputs=shared_outputs)
    finally:
        fake_aws.FakeAws.call = original
    assert "aws:lb/getLoadBalancer:getLoadBalancer" in made
    needed = set().union(*(INVOKE_ACTIONS[token] for token in made))
    (lookups,) = policy_of(shared, f"{PROJECT}-preview")["Statement"]
    assert needed <= set(actions(lookups)), needed - set(actions(lookups))


def test_every_target_shares_one_shared_stack_shape(project_plans):
    shapes = {
        target: sorted((r.type, r.name) for r in plans["shared"].resources)
        for target, plans in project_plans.items()
    }
    assert shapes["ecs"] == shapes["eks"] == shapes["lambda"]
