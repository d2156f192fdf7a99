"""Deploy roles: exact OIDC trust, least privilege, the permissions boundary; parliament on every
policy document of every stack of every target."""

from __future__ import annotations

import json

import pytest

from .helpers import (
    ACCOUNT,
    MANAGED_POLICY,
    OWNER,
    PROJECT,
    REGION,
    ROLE,
    ROLE_POLICY,
    PolicyDocument,
    actions,
    component_of,
    one,
    parliament_findings,
    policy_documents,
    resources,
    stage_config,
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
        if r.name.startswith(f"{PROJECT}-{plan.stack}-deploy-")
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
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{OWNER}/{PROJECT}:environment:{stage}",
        }
    }
    assert project_plans[target][stage].outputs["deployRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/bootstrap-deploy/{PROJECT}/{PROJECT}-{stage}-deploy"
    )


def test_branch_trust_subject_from_the_generated_repo(mixed_plans):
    """Repositories without environments: every deploy role trusts main-branch workflows."""
    for stage in STAGES:
        (statement,) = json.loads(deploy_role(mixed_plans[stage]).inputs["assumeRolePolicy"])[
            "Statement"
        ]
        assert statement["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{OWNER}/{PROJECT}:ref:refs/heads/main",
        }


def test_branch_trust_subject_from_config(plan_stage):
    plan = plan_stage("test", stage_config("ecs", "test", trustSubject="branch"))
    (statement,) = json.loads(deploy_role(plan).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        f"repo:{OWNER}/{PROJECT}:ref:refs/heads/main"
    )


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
    # the deploy marks its release in the registry (retention) and nothing else there
    (mark,) = policies["release"]["Statement"]
    assert set(actions(mark)) == {
        "ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"
    }
    assert resources(mark) == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}"]
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


def test_deploy_role_manages_only_stage_roles_and_never_itself(project_plans):
    plan = project_plans["ecs"]["dev"]
    iam = {s["Sid"]: s for s in deploy_policies(plan)["iam"]["Statement"]}
    stage_roles = f"arn:aws:iam::{ACCOUNT}:role/bootstrap/{PROJECT}/dev/*"
    for sid in ("ManageStageRoles", "InlinePoliciesWithinBoundary", "PassStageRoles"):
        assert resources(iam[sid]) == [stage_roles]
    # Its own role sits outside that path, so it can read but never change itself.
    own = deploy_role(plan)
    assert not own.inputs["path"].startswith(f"/bootstrap/{PROJECT}/dev/")
    write = {a for s in iam.values() for a in actions(s) if not a.startswith(("iam:Get", "iam:List"))}
    for statement in iam.values():
        if any(own.inputs["name"] in arn for arn in resources(statement)):
            assert not set(actions(statement)) & write, statement
    # Inline policies only on roles capped by the boundary; PassRole only to the stage's services.
    boundary = one_boundary(plan)
    assert iam["InlinePoliciesWithinBoundary"]["Condition"] == {
        "ArnEquals": {"iam:PermissionsBoundary": boundary}
    }
    assert iam["PassStageRoles"]["Condition"] == {
        "StringEquals": {
            "iam:PassedToService": ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
        }
    }


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
        assert role.inputs["path"] == f"/bootstrap/{PROJECT}/dev/", role.name
        component = component_of(plan, role)
        assert component is not None
        if component.type == "bootstrap:index:EksCluster":
            # EKS roles take only AWS managed policies (the deploy policy allows no others).
            assert "permissionsBoundary" not in role.inputs
        else:
            assert role.inputs["permissionsBoundary"] == boundary, role.name
    assert inline_roles  # the boundary matters because these roles have inline policies


def test_eks_roles_take_only_the_allowed_managed_policies(project_plans):
    plan = project_plans["eks"]["dev"]
    iam = {s["Sid"]: s for s in deploy_policies(plan)["iam"]["Statement"]}
    allowed = set(iam["AttachEksManagedPolicies"]["Condition"]["ArnEquals"]["iam:PolicyARN"])
    attached = {a.inputs["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == allowed
    assert all(arn.startswith("arn:aws:iam::aws:policy/") for arn in allowed)


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
    (cluster,) = json.loads(eks_roles[f"{PROJECT}-dev-cluster"].inputs["assumeRolePolicy"])["Statement"]
    assert cluster["Principal"] == {"Service": "eks.amazonaws.com"}
    assert cluster["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    (node,) = json.loads(eks_roles[f"{PROJECT}-dev-node"].inputs["assumeRolePolicy"])["Statement"]
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
