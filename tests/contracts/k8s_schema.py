"""Kubernetes objects of the EKS workload against the Kubernetes OpenAPI schema of the cluster's
version: the JSON schemas kubernetes-validate ships per Kubernetes release, in strict mode (no
property the API does not define). Custom resources have no schema there and are listed apart."""

from __future__ import annotations

from typing import Any

from bootstrap.offline import StackPlan


def package_version() -> str:
    from importlib.metadata import version

    return f"kubernetes-validate {version('kubernetes-validate')}"


def cluster_version(plan: StackPlan) -> str | None:
    """The cluster's Kubernetes version, as the schema directory names it (1.35 -> 1.35.0)."""
    for resource in plan.resources:
        if resource.type == "aws:eks/cluster:Cluster" and resource.inputs.get("version"):
            return f"{resource.inputs['version']}.0"
    return None


def manifest(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in inputs.items() if k in ("apiVersion", "kind", "metadata", "spec", "data")
    }


def check(obj: dict[str, Any], version: str) -> tuple[list[str], bool]:
    """(problems, checked): checked is False when the schema has no such kind (a custom resource)."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except SchemaNotFoundError:
        return [], False
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        return [
            f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: {path}: {exc.message}"
        ], True
    return [], True
