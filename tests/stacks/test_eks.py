"""The EKS target: Auto Mode cluster, access entries, and the workload through an explicit
Kubernetes provider made by the program."""

from __future__ import annotations

import json

from .helpers import (
    ACCOUNT,
    CERTIFICATE,
    DIGEST_REF,
    LOG_GROUP,
    PROJECT,
    REAL_DIGEST,
    REPOSITORY_URL,
    ROLE_POLICY,
    by_urn,
    count,
    one,
    stage_config,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def test_cluster_is_current_private_and_auto_mode(project_plans):
    cluster = one(project_plans["eks"]["dev"], "aws:eks/cluster:Cluster").inputs
    assert cluster["name"] == f"{PROJECT}-dev"
    assert cluster["version"] == "1.35"
    vpc = cluster["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert len(vpc["subnetIds"]) == 2  # the private subnets
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["computeConfig"]["enabled"] is True
    assert cluster["computeConfig"]["nodeRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert cluster["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"] is True
    assert cluster["storageConfig"]["blockStorage"]["enabled"] is True
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert set(cluster["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_version_and_public_endpoint_are_configurable(plan_stage):
    plan = plan_stage(
        "dev",
        stage_config("eks", kubernetesVersion="1.34", eksPublicAccessCidrs="203.0.113.0/24"),
    )
    cluster = one(plan, "aws:eks/cluster:Cluster").inputs
    assert cluster["version"] == "1.34"
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    plan = plan_stage("dev", stage_config("eks", eksPublicEndpoint=False))
    vpc = one(plan, "aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True


def test_deploy_role_has_an_access_entry(project_plans):
    """The cluster gives no one access implicitly: with the creator's implicit entry on, the
    deploy role that creates the cluster on the first CI deploy would get one from EKS, and the
    stack's own entry for it would then fail with 409 ResourceInUseException."""
    plan = project_plans["eks"]["dev"]
    cluster = one(plan, "aws:eks/cluster:Cluster").inputs
    assert cluster["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    deploy_arn = plan.outputs["deployRoleArn"]
    entry = one(plan, "aws:eks/accessEntry:AccessEntry").inputs
    assert entry["principalArn"] == deploy_arn
    assert entry["clusterName"] == f"{PROJECT}-dev"
    association = one(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert association["principalArn"] == deploy_arn
    assert association["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert association["accessScope"] == {"type": "cluster"}


def test_the_deploy_role_can_only_create_clusters_without_the_implicit_entry(project_plans):
    plan = project_plans["eks"]["dev"]
    (policy,) = [r for r in plan.of_type(ROLE_POLICY) if r.name.endswith("-deploy-platform")]
    (create,) = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "CreateOwnCluster"]
    assert create["Action"] == "eks:CreateCluster"
    assert create["Condition"]["Bool"] == {"eks:bootstrapClusterCreatorAdminPermissions": "false"}
    assert create["Condition"]["StringEquals"]["eks:authenticationMode"] == "API"


def test_administrators_who_run_up_themselves_get_their_own_entries(plan_stage):
    """`eksAdmins`: an administrator running `pulumi up` of the stage from a workstation reaches
    the cluster's API through an entry of their own, declared by the stack like the deploy
    role's (so nothing is created twice)."""
    admins = [f"arn:aws:iam::{ACCOUNT}:role/Admin", f"arn:aws:iam::{ACCOUNT}:user/alice"]
    plan = plan_stage("dev", stage_config("eks", eksAdmins=",".join(admins)))
    entries = {e.name: e.inputs["principalArn"] for e in plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert entries == {
        f"{PROJECT}-dev-admin-0": plan.outputs["deployRoleArn"],
        f"{PROJECT}-dev-admin-Admin": admins[0],
        f"{PROJECT}-dev-admin-alice": admins[1],
    }
    associations = plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert {a.inputs["principalArn"] for a in associations} == set(entries.values())


def test_the_workload_waits_for_the_access_entries(project_plans):
    """The Kubernetes provider reaches the cluster only through an access entry: the workload
    depends on the cluster component, so on its entries and their policy associations."""
    plan = project_plans["eks"]["dev"]
    urns = by_urn(plan)
    workload = one(plan, "bootstrap:index:EksWorkload")
    cluster = one(plan, "bootstrap:index:EksCluster")
    entries = [r for r in plan.resources if r.type.startswith("aws:eks/access")]
    assert entries and all(urns[r.parent] is cluster for r in entries)
    waits_for = set(workload.dependencies)
    assert {r.urn for r in entries} <= waits_for, waits_for


def test_control_plane_logs_have_retention(project_plans):
    groups = {g.inputs["name"]: g.inputs for g in project_plans["eks"]["prod"].of_type(LOG_GROUP)}
    assert groups[f"/aws/eks/{PROJECT}-prod/cluster"]["retentionInDays"] == 90


def test_kubernetes_provider_is_made_by_the_program(project_plans):
    plan = project_plans["eks"]["dev"]
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    stack = one(plan, "pulumi:pulumi:Stack")
    assert provider.parent == stack.urn  # not a component's child
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")
    assert cluster["cluster"]["certificate-authority-data"]
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", f"{PROJECT}-dev"]
    workload = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert len(workload) >= 6
    for resource in workload:
        assert resource.provider is not None and resource.provider.startswith(provider.urn + "::"), (
            resource.name
        )
    urns = by_urn(plan)
    components = {urns[r.parent].type for r in workload if r.parent}
    assert components == {"bootstrap:index:EksWorkload"}


def test_pods_run_the_image_by_digest_hardened(project_plans, released):
    for plan, expected in ((project_plans["eks"]["dev"], None), (released["eks"], REAL_DIGEST)):
        deployment = one(plan, DEPLOYMENT).inputs
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert DIGEST_REF.match(container["image"])
        if expected:
            assert container["image"] == f"{REPOSITORY_URL}@{expected}"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": 8080}
        assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
        assert container["resources"]["limits"] == {"memory": "512Mi"}


def test_replicas_and_sizes_per_stage(project_plans):
    for stage, low, high, memory in (("dev", 1, 2, "512Mi"), ("prod", 2, 10, "2048Mi")):
        plan = project_plans["eks"][stage]
        hpa = one(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (low, high)
        deployment = one(plan, DEPLOYMENT).inputs["spec"]
        assert deployment["replicas"] == low
        (container,) = deployment["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["memory"] == memory


def test_service_and_ingress_expose_the_workload(project_plans):
    plan = project_plans["eks"]["dev"]
    service = one(plan, "kubernetes:core/v1:Service").inputs["spec"]
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": 8080}]
    ingress = one(plan, INGRESS).inputs
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    ingress_class = one(plan, "kubernetes:networking.k8s.io/v1:IngressClass").inputs["spec"]
    assert ingress_class["controller"] == "eks.amazonaws.com/alb"
    assert ingress["spec"]["ingressClassName"] == f"{PROJECT}-alb"
    params = one(plan, "kubernetes:eks.amazonaws.com/v1:IngressClassParams").inputs["spec"]
    assert params == {"scheme": "internet-facing"}
    namespace = one(plan, "kubernetes:core/v1:Namespace").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert plan.outputs["url"].startswith("http://k8s-")


def test_certificate_makes_the_ingress_https(plan_stage):
    certificate = CERTIFICATE
    plan = plan_stage("dev", stage_config("eks", certificateArn=certificate))
    params = one(plan, "kubernetes:eks.amazonaws.com/v1:IngressClassParams").inputs["spec"]
    assert params["certificateARNs"] == [certificate]
    annotations = one(plan, INGRESS).inputs["metadata"]["annotations"]
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert plan.outputs["url"].startswith("https://")


def test_no_ecs_or_lambda_on_eks(project_plans):
    plan = project_plans["eks"]["test"]
    assert count(plan, "aws:ecs/service:Service") == count(plan, "aws:lambda/function:Function") == 0
    assert count(plan, "aws:lb/loadBalancer:LoadBalancer") == 0  # Auto Mode makes the ALB
