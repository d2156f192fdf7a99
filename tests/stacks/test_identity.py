"""Deploy roles: exact OIDC trust, least privilege, the permissions boundary; parliament on every
policy document of every stack of every target."""

from __future__ import annotations

import json

import pytest

from bootstrap.offline import PlanError, run_program
from stacks.scan import SCAN_ACTIONS

from .helpers import (
    ACCOUNT,
    GHES_ISSUER,
    GHES_PREFIX,
    ISSUER,
    MANAGED_POLICY,
    PREFIX,
    PROJECT,
    REAL_DIGEST,
    REGION,
    REPOSITORY_URL,
    ROLE,
    ROLE_POLICY,
    PolicyDocument,
    actions,
    by_urn,
    component_of,
    one,
    parliament_findings,
    policy_documents,
    resources,
    shared_config,
    stage_config,
    trust_condition,
)

STAGES = ("dev", "test", "prod")
TARGETS = ("ecs", "eks", "lambda")
# Actions IAM offers no resource-level permissions for: the only ones allowed on "*".
RESOURCE_STAR_OK = {
    "ecr:GetAuthorizationToken",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "eks:CreateCluster",
    "logs:DescribeLogGroups",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
}
RESOURCE_STAR_PREFIXES = ("ec2:Describe", "elasticloadbalancing:Describe")


def deploy_role(plan):
    (role,) = [r for r in plan.of_type(ROLE) if r.name.endswith("-deploy-role")]
    return role


def deploy_policies(plan) -> dict[str, dict]:
    return {
        r.inputs["name"]: json.loads(r.inputs["policy"])
        for r in plan.of_type(ROLE_POLICY)
        if r.name.startswith(f"{PROJECT}-{plan.stack}-deploy-") and "name" in r.inputs
    }


def all_plans(project_plans, mixed_plans):
    for plans in (*project_plans.values(), mixed_plans):
        yield from plans.values()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stage", STAGES)
def test_deploy_role_trusts_exactly_the_stage_environment(project_plans, target, stage):
    role = deploy_role(project_plans[target][stage])
    assert role.inputs["name"] == f"{PROJECT}-{stage}-deploy"
    assert role.inputs["path"] == f"/bootstrap-deploy/{PROJECT}/"
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
    }
    # The subject GitHub issues for an immutable-subject repository: the prefix it told us.
    assert trust_condition(role) == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": f"{PREFIX}:environment:{stage}",
        }
    }
    assert project_plans[target][stage].outputs["deployRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/bootstrap-deploy/{PROJECT}/{PROJECT}-{stage}-deploy"
    )


def test_ghes_trust_uses_its_issuer_and_branch_subjects(mixed_plans):
    """A repository on GitHub Enterprise Server without environments (the mixed repo): every
    deploy role trusts main-branch workflows, under the server's own issuer."""
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GHES_ISSUER}"
    for stage in STAGES:
        role = deploy_role(mixed_plans[stage])
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Federated": provider}
        assert trust_condition(role)["StringEquals"] == {
            f"{GHES_ISSUER}:aud": "sts.amazonaws.com",
            f"{GHES_ISSUER}:sub": f"{GHES_PREFIX}:ref:refs/heads/main",
        }
    provider_resource = one(mixed_plans["shared"], "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider_resource.inputs["url"] == f"https://{GHES_ISSUER}"
    assert mixed_plans["shared"].outputs["oidcProviderArn"] == provider
    # nothing of the program is fixed to github.com
    for plan in mixed_plans.values():
        for resource in plan.resources:
            assert "githubusercontent" not in json.dumps(resource.inputs), resource.name


def test_branch_trust_subject_from_config(plan_stage):
    plan = plan_stage("test", stage_config("ecs", "test", trustSubject="branch"))
    assert trust_condition(deploy_role(plan))["StringEquals"][f"{ISSUER}:sub"] == (
        f"{PREFIX}:ref:refs/heads/main"
    )


def test_unknown_subject_is_marked_never_guessed(unknown_subject_plans):
    """`bootstrap new` offline: GitHub has not been asked, so every trust names the marked
    placeholder (no token carries it), the plan warns with the fix, and no `repo:` subject is
    guessed from the names."""
    subjects = []
    for plan in unknown_subject_plans.values():
        for role in plan.of_type(ROLE):
            if "Federated" in json.dumps(json.loads(role.inputs["assumeRolePolicy"])):
                found = trust_condition(role)["StringEquals"][f"{ISSUER}:sub"]
                subjects += found if isinstance(found, list) else [found]  # previews: two
        warnings = [m for m in plan.messages if "githubSubjectPrefix is not set" in m]
        assert warnings and "bootstrap github sync" in warnings[0], plan.messages
    assert sorted(subjects) == sorted(
        [
            "github-subject-prefix-not-yet-known:ref:refs/heads/main",
            "github-subject-prefix-not-yet-known:pull_request",
            "github-subject-prefix-not-yet-known:environment:dev",
            # dev's alarm reader: test's deploy job (tests/stacks/test_alarm_reader.py)
            "github-subject-prefix-not-yet-known:environment:test",
            # the previews' deploy role: pull requests, and main for the sweep
            "github-subject-prefix-not-yet-known:ref:refs/heads/main",
            "github-subject-prefix-not-yet-known:pull_request",
        ]
    )


@pytest.mark.parametrize("stack", ["shared", "dev"])
def test_a_real_update_without_the_subject_prefix_is_refused(infra, shared_outputs, stack):
    config = (shared_config if stack == "shared" else stage_config)(
        **({} if stack == "shared" else {"target": "lambda"}),
        githubSubjectPrefix=None,
        image=None if stack == "shared" else f"{REPOSITORY_URL}@{REAL_DIGEST}",
        **{"bootstrap:offlinePlan": False},
    )
    with pytest.raises(PlanError, match="githubSubjectPrefix is not set") as raised:
        run_program(infra, PROJECT, stack, config, stack_outputs=shared_outputs)
    assert "bootstrap github sync" in str(raised.value)


def test_every_policy_document_passes_parliament(project_plans, mixed_plans):
    documents = [doc for plan in all_plans(project_plans, mixed_plans) for doc in policy_documents(plan)]
    kinds = {doc.kind for doc in documents}
    assert kinds == {"identity", "trust", "resource"}
    assert len(documents) > 100
    failures = {doc.label: parliament_findings(doc) for doc in documents}
    assert {label: found for label, found in failures.items() if found} == {}


def test_parliament_check_catches_a_bad_policy():
    """The check above would fail: a policy granting an action on the wrong resource type."""
    bad = PolicyDocument(
        "negative/control",
        "identity",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*",
                }
            ],
        },
    )
    assert any(finding.startswith("RESOURCE_MISMATCH") for finding in parliament_findings(bad))
    # The allowance for parliament's missing GitHub OIDC data covers GitHub's provider only.
    other = PolicyDocument(
        "negative/other-provider",
        "trust",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"gitlab.com:sub": "project_path:x/y"}},
                }
            ],
        },
        f"arn:aws:iam::{ACCOUNT}:role/x",
    )
    found = parliament_findings(other)
    assert any(f.startswith("UNKNOWN_FEDERATION_SOURCE") for f in found)
    assert any(f.startswith("UNKNOWN_CONDITION_FOR_ACTION") for f in found)


def test_no_wildcard_actions_and_no_iam_star(project_plans, mixed_plans):
    for plan in all_plans(project_plans, mixed_plans):
        for doc in policy_documents(plan):
            for statement in doc.statements:
                for action in actions(statement):
                    assert action != "*" and not action.endswith(":*"), (doc.label, action)
                    assert not action.startswith("iam:*"), (doc.label, action)
                if doc.kind == "identity" and "*" in resources(statement):
                    for action in actions(statement):
                        assert action in RESOURCE_STAR_OK or action.startswith(
                            RESOURCE_STAR_PREFIXES
                        ), (doc.label, action)


@pytest.mark.parametrize("target", TARGETS)
def test_deploy_role_is_scoped_to_the_stage(project_plans, target):
    plan = project_plans[target]["dev"]
    policies = deploy_policies(plan)
    assert set(policies) >= {"iam", "platform", "observability", "release"}
    # the deploy marks its release in the registry (retention) and reads the image's scan
    # findings (the scan gate), and nothing else there
    by_sid = {s["Sid"]: s for s in policies["release"]["Statement"]}
    assert set(by_sid) == {"MarkRelease", "ReadScanFindings"}
    assert set(actions(by_sid["MarkRelease"])) == {
        "ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"
    }
    assert set(actions(by_sid["ReadScanFindings"])) == set(SCAN_ACTIONS)
    for statement in by_sid.values():
        assert resources(statement) == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}"]
    for name, policy in policies.items():
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            for arn in resources(statement):
                if arn == "*":
                    continue
                # Every ARN names this stage (its prefix, path, tag-scoped region) or the
                # project's own repository.
                assert (
                    f"{PROJECT}-dev" in arn
                    or f"/{PROJECT}/dev/" in arn
                    or arn == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}"
                    or arn in (f"arn:aws:ec2:{REGION}:{ACCOUNT}:*",
                               f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*",
                               f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*",
                               f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*")
                ), (name, arn)
    # EC2 changes need the stage's tags; region-wide statements create only.
    if target != "lambda":
        network = {s["Sid"]: s for s in policies["network"]["Statement"]}
        assert network["Ec2ChangeOwnResources"]["Condition"] == {
            "StringEquals": {
                "aws:ResourceTag/bootstrap:project": PROJECT,
                "aws:ResourceTag/bootstrap:stage": "dev",
            }
        }
        assert all(
            a.startswith("ec2:Create") or a == "ec2:AllocateAddress"
            for a in actions(network["Ec2Create"])
        )
        # Security groups (the VPC's default group has no tags) only within the stage's VPC.
        vpc_id = one(plan, "aws:ec2/flowLog:FlowLog").inputs["vpcId"]
        assert network["Ec2SecurityGroupsInOwnVpc"]["Condition"] == {
            "ArnEquals": {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc_id}"}
        }


def statements_by_sid(policies: dict[str, dict]) -> dict[str, dict]:
    return {s["Sid"]: s for policy in policies.values() for s in policy["Statement"]}


def test_deploy_role_manages_only_stage_roles_and_never_itself(project_plans):
    plan = project_plans["ecs"]["dev"]
    iam = {s["Sid"]: s for s in deploy_policies(plan)["iam"]["Statement"]}
    stage_roles = f"arn:aws:iam::{ACCOUNT}:role/bootstrap/{PROJECT}/dev/*"
    for sid in ("ManageStageRoles", "RolesWithinBoundary"):
        assert resources(iam[sid]) == [stage_roles]
    # Its own role sits outside that path, so it can read but never change itself.
    own = deploy_role(plan)
    assert not own.inputs["path"].startswith(f"/bootstrap/{PROJECT}/dev/")
    write = {a for s in iam.values() for a in actions(s) if not a.startswith(("iam:Get", "iam:List"))}
    for statement in iam.values():
        if any(own.inputs["name"] in arn for arn in resources(statement)):
            assert not set(actions(statement)) & write, statement
    # PassRole only to the services of the stage's own components.
    passes = {
        sid: s for sid, s in statements_by_sid(deploy_policies(plan)).items() if actions(s) == ["iam:PassRole"]
    }
    assert {sid: s["Condition"] for sid, s in passes.items()} == {
        "PassTaskRoles": {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}},
        "PassFlowLogRole": {"StringEquals": {"iam:PassedToService": ["vpc-flow-logs.amazonaws.com"]}},
        # the foundation's ECS infrastructure role (canary and linear deployments)
        "PassInfrastructureRole": {"StringEquals": {"iam:PassedToService": ["ecs.amazonaws.com"]}},
    }
    foundation_roles = f"arn:aws:iam::{ACCOUNT}:role/bootstrap-foundation/{PROJECT}/dev/*"
    for sid, statement in passes.items():
        expected = foundation_roles if sid == "PassInfrastructureRole" else stage_roles
        assert resources(statement) == [expected], sid


# The role actions AWS's service authorization data (parliament's iam_definition.json) gives the
# `iam:PermissionsBoundary` condition key.
BOUNDARY_KEYED = {
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
}


def test_boundary_keyed_actions_come_from_aws_data():
    """The list above is AWS's: every role action parliament's IAM data gives the key."""
    from parliament import iam_definition

    keyed = {
        f"iam:{p['privilege']}"
        for service in iam_definition
        if service["prefix"] == "iam"
        for p in service["privileges"]
        if any("iam:PermissionsBoundary" in r["condition_keys"] for r in p["resource_types"])
        and any(r["resource_type"].startswith("role") for r in p["resource_types"])
    }
    assert keyed == BOUNDARY_KEYED


def boundary_violations(policies: dict[str, dict], boundary: str, stage_roles: str) -> list[str]:
    """What lets a deploy role make or change a role outside its stage's boundary and path."""
    allowed_keyed = {"iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"}
    problems = []
    for sid, statement in statements_by_sid(policies).items():
        granted = set(actions(statement))
        keyed = granted & BOUNDARY_KEYED
        if keyed - allowed_keyed:
            problems.append(f"{sid}: {sorted(keyed - allowed_keyed)} granted at all")
        if keyed and statement.get("Condition") != {"ArnEquals": {"iam:PermissionsBoundary": boundary}}:
            problems.append(f"{sid}: {sorted(keyed)} without the stage's boundary")
        role_writes = {"iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:TagRole", "iam:UpdateRole"}
        if granted & (role_writes | keyed) and resources(statement) != [stage_roles]:
            problems.append(f"{sid}: changes roles outside {stage_roles}")
    return problems


@pytest.mark.parametrize("target", TARGETS)
def test_roles_are_made_or_changed_only_within_the_boundary(project_plans, mixed_plans, target):
    """Least privilege that holds: the deploy role creates a role, gives it an inline policy or a
    boundary only when that boundary is the stage's; it never removes a boundary, attaches a
    managed policy, or changes a role outside its stage's path (trust policies included)."""
    for plan in (project_plans[target]["dev"], mixed_plans["test"]):
        stage_roles = f"arn:aws:iam::{ACCOUNT}:role/bootstrap/{PROJECT}/{plan.stack}/*"
        policies = deploy_policies(plan)
        assert "RolesWithinBoundary" in statements_by_sid(policies)
        assert boundary_violations(policies, one_boundary(plan), stage_roles) == []


def test_boundary_check_reports_a_planted_defect():
    stage_roles = f"arn:aws:iam::{ACCOUNT}:role/bootstrap/{PROJECT}/dev/*"
    planted = {
        "iam": {
            "Statement": [
                {"Sid": "Loose", "Effect": "Allow", "Action": "iam:CreateRole", "Resource": stage_roles},
                {"Sid": "Attach", "Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": stage_roles},
                {"Sid": "Retrust", "Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"},
            ]
        }
    }
    found = boundary_violations(planted, "arn:aws:iam::123456789012:policy/b", stage_roles)
    assert any(f.startswith("Loose: ['iam:CreateRole'] without") for f in found)
    assert any(f.startswith("Attach: ['iam:AttachRolePolicy'] granted at all") for f in found)
    assert any(f.startswith("Retrust: changes roles outside") for f in found)


def one_boundary(plan) -> str:
    (policy,) = plan.of_type(MANAGED_POLICY)
    assert policy.inputs["name"] == f"{PROJECT}-{plan.stack}-boundary"
    return f"arn:aws:iam::{ACCOUNT}:policy{policy.inputs['path']}{policy.inputs['name']}"


@pytest.mark.parametrize("target", TARGETS)
def test_workload_roles_carry_the_boundary(project_plans, target):
    plan = project_plans[target]["dev"]
    boundary = one_boundary(plan)
    statements = json.loads(plan.of_type(MANAGED_POLICY)[0].inputs["policy"])["Statement"]
    granted = {a for s in statements for a in actions(s)}
    assert not {a for a in granted if a.startswith("iam:")}
    inline_roles = {
        r.inputs["role"] for r in plan.of_type(ROLE_POLICY) if "-deploy-" not in r.name
    }
    roles = [r for r in plan.of_type(ROLE) if not r.name.endswith("-deploy-role")]
    assert roles
    for role in roles:
        component = component_of(plan, role)
        assert component is not None
        if component.type in ("bootstrap:index:EksRoles", "bootstrap:index:EcsRoles",
                              "bootstrap:index:AlarmReader"):  # fmt: skip
            continue  # the foundation's roles: test_eks_roles_are_foundation, tests/stacks/test_delivery.py, test_alarm_reader.py
        assert role.inputs["path"] == f"/bootstrap/{PROJECT}/dev/", role.name
        assert role.inputs["permissionsBoundary"] == boundary, role.name
    assert inline_roles  # the boundary matters because these roles have inline policies


def test_eks_roles_are_foundation(project_plans):
    """EKS's cluster and node roles take AWS's managed policies, which no boundary of ours can
    follow: an administrator makes them with the foundation (children of the DeployRole
    component, kept by the teardown), at a path the deploy role may only read and pass."""
    from stacks import contract

    plan = project_plans["eks"]["dev"]
    foundation_path = f"/bootstrap-foundation/{PROJECT}/dev/"
    roles = [r for r in plan.of_type(ROLE) if component_of(plan, r).type == "bootstrap:index:EksRoles"]
    assert sorted(r.name for r in roles) == [
        f"{PROJECT}-dev-deploy-eks-cluster", f"{PROJECT}-dev-deploy-eks-node"
    ]
    patterns = contract.foundation_urns(PROJECT, "dev", network=True)
    for role in roles:
        assert role.inputs["path"] == foundation_path
        assert "permissionsBoundary" not in role.inputs
        assert any(_glob(pattern, engine_urn(plan, role)) for pattern in patterns), role.urn
    attachments = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert {a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments} == {
        "AmazonEKSClusterPolicy", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy",
        "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy",
        "AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly",
    }
    assert all(any(_glob(p, engine_urn(plan, a)) for p in patterns) for a in attachments)
    # The deploy role reads and passes them; nothing else names their path.
    foundation = f"arn:aws:iam::{ACCOUNT}:role{foundation_path}*"
    naming = [s for s in statements_by_sid(deploy_policies(plan)).values() if foundation in resources(s)]
    named = {a for s in naming for a in actions(s)}
    assert {"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:PassRole"} <= named
    assert all(a == "iam:PassRole" or a.startswith(("iam:Get", "iam:List")) for a in named), named
    (passing,) = [s for s in naming if actions(s) == ["iam:PassRole"]]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": ["eks.amazonaws.com"]}}
    granted = {a for s in statements_by_sid(deploy_policies(plan)).values() for a in actions(s)}
    assert not {"iam:AttachRolePolicy", "iam:DetachRolePolicy"} & granted


def engine_urn(plan, resource) -> str:
    """The URN the Pulumi engine gives `resource`: its type qualified by every ancestor's type
    (Pulumi's Python mocks keep only the parent's own type)."""
    urns = by_urn(plan)
    chain = [resource.type]
    parent = urns.get(resource.parent or "")
    while parent is not None and parent.type != "pulumi:pulumi:Stack":
        chain.insert(0, parent.type)
        parent = urns.get(parent.parent or "")
    return f"urn:pulumi:{plan.stack}::{PROJECT}::{'$'.join(chain)}::{resource.name}"


def _glob(pattern: str, urn: str) -> bool:
    """A foundation URN pattern (its only wildcard is Pulumi's `**`: anything) matches `urn`."""
    import re

    regex = ".*".join(re.escape(part) for part in pattern.split("**"))
    return re.fullmatch(regex, urn) is not None


def test_state_backend_access_is_this_stack_only(mixed_plans, project_plans):
    # The mixed repo uses an s3 backend; the others a local one (nothing to grant in AWS).
    assert "state" not in deploy_policies(project_plans["ecs"]["dev"])
    state = {s["Sid"]: s for s in deploy_policies(mixed_plans["test"])["state"]["Statement"]}
    root = "arn:aws:s3:::acme-pulumi-state/infra/.pulumi"
    assert resources(state["StateBucket"]) == ["arn:aws:s3:::acme-pulumi-state"]
    assert resources(state["StateRead"]) == [f"{root}/*"]
    assert actions(state["StateRead"]) == ["s3:GetObject"]
    assert sorted(resources(state["StateWriteOwnStack"])) == sorted(
        [
            f"{root}/stacks/{PROJECT}/test.json*",
            f"{root}/history/{PROJECT}/test/*",
            f"{root}/backups/{PROJECT}/test/*",
            f"{root}/locks/*/{PROJECT}/test/*",
        ]
    )


@pytest.mark.parametrize("target", TARGETS)
def test_deploy_policies_fit_the_inline_quota(project_plans, mixed_plans, target):
    for plan in (project_plans[target]["prod"], mixed_plans["prod"]):
        size = sum(
            len(json.dumps(policy, separators=(",", ":"))) for policy in deploy_policies(plan).values()
        )
        assert size < 10240  # IAM's limit for all inline policies of one role


def test_target_permissions_follow_the_target(mixed_plans):
    granted = {
        stage: {a for p in deploy_policies(mixed_plans[stage]).values() for s in p["Statement"] for a in actions(s)}
        for stage in STAGES
    }
    assert "lambda:CreateFunction" in granted["dev"] and "ecs:CreateService" not in granted["dev"]
    assert "eks:CreateAccessEntry" in granted["test"] and "lambda:CreateFunction" not in granted["test"]
    assert "ecs:CreateService" in granted["prod"] and "eks:CreateCluster" not in granted["prod"]
    # Lambda without a VPC needs no EC2 at all.
    assert not {a for a in granted["dev"] if a.startswith("ec2:")}


def test_service_roles_trust_only_their_service(project_plans):
    expected = {
        f"{PROJECT}-dev-execution": ("ecs-tasks.amazonaws.com", f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"),
        f"{PROJECT}-dev-task": ("ecs-tasks.amazonaws.com", f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"),
        f"{PROJECT}-dev-network-flow-logs": (
            "vpc-flow-logs.amazonaws.com",
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*",
        ),
    }
    roles = {r.name: r for r in project_plans["ecs"]["dev"].of_type(ROLE)}
    for name, (service, source) in expected.items():
        (statement,) = json.loads(roles[name].inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": service}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": source},
        }
    lambda_roles = {r.name: r for r in project_plans["lambda"]["dev"].of_type(ROLE)}
    (statement,) = json.loads(lambda_roles[f"{PROJECT}-dev-function"].inputs["assumeRolePolicy"])[
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    eks_roles = {r.name: r for r in project_plans["eks"]["dev"].of_type(ROLE)}
    (cluster,) = json.loads(eks_roles[f"{PROJECT}-dev-deploy-eks-cluster"].inputs["assumeRolePolicy"])["Statement"]
    assert cluster["Principal"] == {"Service": "eks.amazonaws.com"}
    assert cluster["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    (node,) = json.loads(eks_roles[f"{PROJECT}-dev-deploy-eks-node"].inputs["assumeRolePolicy"])["Statement"]
    assert node["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_workload_policies_write_only_their_own_logs(project_plans):
    plan = project_plans["ecs"]["dev"]
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in plan.of_type(ROLE_POLICY)
        if "-deploy-" not in r.name
    }
    execution = {s["Sid"]: s for s in policies[f"{PROJECT}-dev-execution"]["Statement"]}
    assert resources(execution["WriteLogs"]) == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/ecs/{PROJECT}-dev:*"
    ]
    assert resources(execution["PullImage"]) == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}"]
    flow = {s["Sid"]: s for s in policies[f"{PROJECT}-dev-network-flow-logs"]["Statement"]}
    assert resources(flow["WriteFlowLogs"]) == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vpc/{PROJECT}-dev:*"
    ]
