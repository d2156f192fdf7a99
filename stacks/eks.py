"""The EKS target: an EKS Auto Mode cluster, and the workload on it through pulumi-kubernetes.

`EksCluster` makes the AWS side. The program then makes the Kubernetes provider from the cluster's
`kubeconfig` (providers are never made inside components) and hands it to `EksWorkload`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from .common import APP_PORT, APP_USER, HEALTH_PATH, AwsContext, child, policy
from .permissions import EKS_ADMIN_ACCESS_POLICY, EKS_CLUSTER_POLICIES, EKS_NODE_POLICIES
from .sdk import aws, kubernetes
from .settings import DEFAULT_KUBERNETES_VERSION

k8s = kubernetes()

LOG_TYPES = ["api", "audit", "authenticator"]


@dataclass
class EksClusterArgs:
    ctx: AwsContext
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets: nodes and the control plane's ENIs
    version: str = DEFAULT_KUBERNETES_VERSION
    # Principals given cluster-admin through EKS access entries (the stage's deploy role).
    admin_principal_arns: Sequence[pulumi.Input[str]] = ()
    # The API endpoint is always reachable privately (from the VPC); the public endpoint lets
    # GitHub-hosted runners deploy. Restrict it to CIDRs, or turn it off for in-VPC runners.
    public_endpoint: bool = True
    public_access_cidrs: Sequence[str] = ("0.0.0.0/0",)
    log_retention_days: int = 14
    role_path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)


def kubeconfig(name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that gets short-lived tokens from the caller's AWS credentials."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": endpoint,
                        "certificate-authority-data": certificate_authority,
                    },
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        }
    )


class EksCluster(pulumi.ComponentResource):
    cluster: Any
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EksCluster", name, None, opts)
        ctx = args.ctx
        tags = dict(args.tags)
        managed = f"arn:{ctx.partition}:iam::aws:policy"

        # EKS writes control-plane logs to this exact group; made first so it has a retention.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child(self),
        )
        self.cluster_role = aws.iam.Role(
            f"{name}-cluster",
            path=args.role_path,
            assume_role_policy=policy(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ]
            ),
            tags=tags,
            opts=child(self),
        )
        cluster_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-{policy_name}",
                role=self.cluster_role.name,
                policy_arn=f"{managed}/{policy_name}",
                opts=child(self),
            )
            for policy_name in EKS_CLUSTER_POLICIES
        ]
        self.node_role = aws.iam.Role(
            f"{name}-node",
            path=args.role_path,
            assume_role_policy=policy(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            tags=tags,
            opts=child(self),
        )
        for policy_name in EKS_NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy_name}",
                role=self.node_role.name,
                policy_arn=f"{managed}/{policy_name}",
                opts=child(self),
            )

        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            version=args.version,
            role_arn=self.cluster_role.arn,
            vpc_config={
                "subnet_ids": list(args.subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": args.public_endpoint,
                "public_access_cidrs": list(args.public_access_cidrs)
                if args.public_endpoint
                else None,
            },
            access_config={
                "authentication_mode": "API",
                # Whoever creates the cluster (the administrator's first `pulumi up`) can finish
                # deploying the workload in the same run; CI gets access through its entry below.
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            # EKS Auto Mode: AWS runs the nodes, load balancers and block storage.
            bootstrap_self_managed_addons=False,
            compute_config={
                "enabled": True,
                "node_pools": ["general-purpose", "system"],
                "node_role_arn": self.node_role.arn,
            },
            kubernetes_network_config={"elastic_load_balancing": {"enabled": True}},
            storage_config={"block_storage": {"enabled": True}},
            enabled_cluster_log_types=LOG_TYPES,
            # Standard support only: a version past it is upgraded, never billed as extended.
            upgrade_policy={"support_type": "STANDARD"},
            tags=tags,
            opts=child(self, depends_on=[self.log_group, *cluster_attachments]),
        )

        for index, principal in enumerate(args.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=tags,
                opts=child(self),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}",
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=f"arn:{ctx.partition}:eks::aws:cluster-access-policy/{EKS_ADMIN_ACCESS_POLICY}",
                access_scope={"type": "cluster"},
                opts=child(self),
            )

        self.cluster_name = self.cluster.name
        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority
        ).apply(
            lambda values: kubeconfig(
                values[0], values[1], (values[2] or {}).get("data", ""), ctx.region
            )
        )
        self.register_outputs({"clusterName": self.cluster_name})


@dataclass
class EksWorkloadArgs:
    # The Kubernetes provider for the cluster, made by the program (never by a component).
    provider: Any
    image: pulumi.Input[str]  # REPOSITORY@sha256:DIGEST, never a tag
    namespace: str
    cpu: int = 256  # CPU units as ECS counts them: 1024 = one vCPU
    memory: int = 512  # MiB
    min_replicas: int = 1
    max_replicas: int = 2
    certificate_arn: str | None = None
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


class EksWorkload(pulumi.ComponentResource):
    """Namespace, Deployment (by digest), Service, Ingress (an ALB made by Auto Mode) and HPA."""

    url: pulumi.Output[str]
    hostname: pulumi.Output[str]

    def __init__(
        self, name: str, args: EksWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:EksWorkload", name, None, opts)
        if not 1 <= args.min_replicas <= args.max_replicas:
            raise pulumi.RunError(
                f"minCapacity ({args.min_replicas}) must be at least 1 and at most "
                f"maxCapacity ({args.max_replicas})"
            )
        app = args.namespace
        labels = {"app.kubernetes.io/name": app, **dict(args.labels)}
        selector = {"app.kubernetes.io/name": app}
        https = bool(args.certificate_arn)

        def k8s_opts(**kwargs: Any) -> pulumi.ResourceOptions:
            return child(self, provider=args.provider, **kwargs)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": app,
                "labels": {
                    **labels,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
            opts=k8s_opts(),
        )
        namespace = self.namespace.metadata.name
        probe = {"http_get": {"path": HEALTH_PATH, "port": APP_PORT}}
        env = [{"name": key, "value": value} for key, value in sorted(args.environment.items())]
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": app, "namespace": namespace, "labels": labels},
            spec={
                "replicas": args.min_replicas,
                "selector": {"match_labels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rolling_update": {"max_unavailable": 0, "max_surge": 1},
                },
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": APP_USER,
                            "run_as_group": APP_USER,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "topology_spread_constraints": [
                            {
                                "max_skew": 1,
                                "topology_key": "topology.kubernetes.io/zone",
                                "when_unsatisfiable": "ScheduleAnyway",
                                "label_selector": {"match_labels": selector},
                            }
                        ],
                        "containers": [
                            {
                                "name": "app",
                                "image": args.image,
                                "ports": [{"name": "http", "container_port": APP_PORT}],
                                "env": env,
                                "resources": {
                                    "requests": {
                                        "cpu": f"{max(args.cpu * 1000 // 1024, 10)}m",
                                        "memory": f"{args.memory}Mi",
                                    },
                                    "limits": {"memory": f"{args.memory}Mi"},
                                },
                                "readiness_probe": {
                                    **probe,
                                    "period_seconds": 5,
                                    "failure_threshold": 3,
                                },
                                "liveness_probe": {
                                    **probe,
                                    "initial_delay_seconds": 10,
                                    "period_seconds": 15,
                                    "failure_threshold": 3,
                                },
                                "security_context": {
                                    "allow_privilege_escalation": False,
                                    "read_only_root_filesystem": True,
                                    "run_as_non_root": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                            }
                        ],
                    },
                },
            },
            # The autoscaler owns the replica count between min and max.
            opts=k8s_opts(ignore_changes=["spec.replicas"]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": app, "namespace": namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "target_port": APP_PORT}],
            },
            opts=k8s_opts(),
        )
        self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata={"name": app, "namespace": namespace, "labels": labels},
            spec={
                "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": app},
                "min_replicas": args.min_replicas,
                "max_replicas": args.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "average_utilization": 60},
                        },
                    }
                ],
            },
            opts=k8s_opts(depends_on=[self.deployment]),
        )

        # EKS Auto Mode's load balancing: an IngressClass whose parameters make a public ALB.
        class_name = f"{app}-alb"
        params: dict[str, object] = {"scheme": "internet-facing"}
        if https:
            params["certificateARNs"] = [args.certificate_arn]
        self.ingress_class_params = k8s.apiextensions.CustomResource(
            f"{name}-ingress-params",
            api_version="eks.amazonaws.com/v1",
            kind="IngressClassParams",
            metadata={"name": class_name, "labels": labels},
            spec=params,
            opts=k8s_opts(),
        )
        self.ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-ingress-class",
            metadata={"name": class_name, "labels": labels},
            spec={
                "controller": "eks.amazonaws.com/alb",
                "parameters": {
                    "api_group": "eks.amazonaws.com",
                    "kind": "IngressClassParams",
                    "name": class_name,
                },
            },
            opts=k8s_opts(depends_on=[self.ingress_class_params]),
        )
        annotations = {
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/healthcheck-path": HEALTH_PATH,
            "alb.ingress.kubernetes.io/success-codes": "200",
        }
        if https:
            annotations["alb.ingress.kubernetes.io/listen-ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
            annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                "name": app,
                "namespace": namespace,
                "labels": labels,
                "annotations": annotations,
            },
            spec={
                "ingress_class_name": self.ingress_class.metadata.name,
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "path_type": "Prefix",
                                    "backend": {
                                        "service": {
                                            "name": self.service.metadata.name,
                                            "port": {"number": 80},
                                        }
                                    },
                                }
                            ]
                        }
                    }
                ],
            },
            opts=k8s_opts(depends_on=[self.service]),
        )

        # pulumi-kubernetes waits until the Ingress has an address: the ALB's DNS name.
        self.hostname = self.ingress.status.apply(_ingress_hostname)
        scheme = "https" if https else "http"
        self.url = self.hostname.apply(lambda host: f"{scheme}://{host}" if host else "")
        self.register_outputs({"url": self.url})


def _ingress_hostname(status: object) -> str:
    try:
        return str(status.load_balancer.ingress[0].hostname or "")  # type: ignore[attr-defined]
    except (AttributeError, IndexError, TypeError):
        return ""


def load_balancer_name(hostname: str) -> str:
    """The ALB's name from its DNS name (`<name>-<id>.<region>.elb.amazonaws.com`)."""
    label = hostname.split(".", 1)[0]
    label = label.removeprefix("internal-")
    return label.rsplit("-", 1)[0] if "-" in label else label
