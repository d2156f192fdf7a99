"""The workload of an EKS stage, through pulumi-kubernetes: namespace, Deployment by digest,
Service, an Ingress that EKS Auto Mode turns into an Application Load Balancer, and autoscaling.

The program makes the Kubernetes provider from the cluster's kubeconfig (a component never makes a
provider) and hands it in. Only EKS stages import this module: pulumi-kubernetes is the slowest
import of the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .common import APP_PORT, APP_USER, HEALTH_PATH, child
from .delivery import (
    HEALTH_CHECK_TIMEOUT_SECONDS,
    PRE_STOP_SLEEP_SECONDS,
    STOP_TIMEOUT_SECONDS,
    UNHEALTHY_THRESHOLD,
    Rollout,
)

# The AWS Load Balancer Controller injects a readiness gate into the pods of a namespace with this
# label: a new pod counts as ready only once its target in the ALB is healthy, so a rolling update
# never removes an old pod before the load balancer sends the new one requests.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


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
    # Health checks, draining and the rollout's progress deadline (stacks/delivery.py).
    rollout: Rollout = field(default_factory=Rollout)


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
                    READINESS_GATE_LABEL: "enabled",
                },
            },
            opts=k8s_opts(),
        )
        namespace = self.namespace.metadata.name
        probe = {"http_get": {"path": HEALTH_PATH, "port": APP_PORT}}
        env = [{"name": key, "value": value} for key, value in sorted(args.environment.items())]
        rollout = args.rollout
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={
                "name": app,
                "namespace": namespace,
                "labels": labels,
                # pulumi-kubernetes waits for the rollout; it gives up a minute after Kubernetes
                # marks it failed (ProgressDeadlineExceeded), which fails the update.
                "annotations": {"pulumi.com/timeoutSeconds": str(rollout.progress_deadline + 60)},
            },
            spec={
                "replicas": args.min_replicas,
                "progress_deadline_seconds": rollout.progress_deadline,
                "selector": {"match_labels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rolling_update": {"max_unavailable": 0, "max_surge": 1},
                },
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        # The pre-stop pause, then SIGTERM and the app's shutdown, then SIGKILL.
                        "termination_grace_period_seconds": (
                            PRE_STOP_SLEEP_SECONDS + STOP_TIMEOUT_SECONDS
                        ),
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
                                    "period_seconds": 2,
                                    "failure_threshold": 3,
                                },
                                # Keep serving while the load balancer deregisters the pod.
                                "lifecycle": {
                                    "pre_stop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}
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
            **health_check_annotations(rollout),
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


def health_check_annotations(rollout: Rollout) -> dict[str, str]:
    """The target group's health check and draining, as the load balancer controller reads them
    from the Ingress (the same values as an ECS stage's target group)."""
    prefix = "alb.ingress.kubernetes.io"
    return {
        f"{prefix}/healthcheck-interval-seconds": str(rollout.health_check_interval),
        f"{prefix}/healthcheck-timeout-seconds": str(HEALTH_CHECK_TIMEOUT_SECONDS),
        f"{prefix}/healthy-threshold-count": str(rollout.healthy_threshold),
        f"{prefix}/unhealthy-threshold-count": str(UNHEALTHY_THRESHOLD),
        f"{prefix}/target-group-attributes": (
            f"deregistration_delay.timeout_seconds={rollout.deregistration_delay}"
        ),
    }


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
