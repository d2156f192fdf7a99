"""What the plan cannot say: traffic, log volume, image sizes. Each quantity has a documented
default for early stages and one for the production (last) stage; a usage file overrides them:

    all:                 # every stack
      log_gb: 2
    stages:
      prod:              # one stage (or shared)
        nat_gb_processed: 200

Keys whose default is "from the plan" are taken from the plan's inputs unless the file sets them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.cost.catalog import INSTANCE_TYPE
from bootstrap.errors import UserError

FROM_PLAN = None  # the default of keys the plan answers


class UsageFileError(UserError):
    """A usage file that is missing, unreadable or wrong."""

    exit_code = 2


@dataclass(frozen=True)
class UsageKey:
    name: str
    meaning: str
    unit: str
    early: float | str | None
    production: float | str | None
    text: bool = False  # a name (instance type), not a number


KEYS: dict[str, UsageKey] = {
    key.name: key
    for key in (
        UsageKey("nat_gb_processed", "data through the stage's NAT gateways, all together", "GB/month", 5, 50),
        UsageKey("alb_lcu", "average load balancer capacity units in use", "LCU", 0.1, 1),
        UsageKey("requests_per_month", "requests served (Lambda)", "requests/month", 100_000, 5_000_000),
        UsageKey("lambda_duration_ms", "average duration of one Lambda request", "ms", 100, 100),
        UsageKey("log_gb", "application logs ingested", "GB/month", 1, 10),
        UsageKey("control_plane_log_gb", "EKS control-plane logs ingested", "GB/month", 2, 10),
        UsageKey("flow_log_gb", "VPC flow logs delivered", "GB/month", 1, 10),
        UsageKey("average_tasks", "tasks or pods running on average (default: minCapacity)", "tasks", FROM_PLAN, FROM_PLAN),
        UsageKey("eks_node_instance_type", "instance type EKS Auto Mode runs the pods on", "", "c6a.large", "c6a.large", text=True),
        UsageKey("eks_nodes", "EKS Auto Mode nodes (default: enough for the pods' requests)", "nodes", FROM_PLAN, FROM_PLAN),
        UsageKey("image_gb", "compressed size of one image in the registry", "GB", 0.15, 0.15),
        UsageKey("images_kept", "images the registry keeps (default: the lifecycle policy's count)", "images", FROM_PLAN, FROM_PLAN),
    )
}  # fmt: skip
SECTIONS = ("all", "stages")


@dataclass(frozen=True)
class StageUsage:
    """The usage of one stack: a value per key (None: from the plan) and where it came from."""

    stack: str
    production: bool
    values: Mapping[str, float | str | None]
    from_file: frozenset[str] = frozenset()

    def number(self, key: str) -> float | None:
        value = self.values.get(key)
        return float(value) if isinstance(value, int | float) else None

    def text(self, key: str) -> str:
        return str(self.values.get(key) or "")

    def assumption(self, key: str, shown: str | None = None) -> str:
        """How a figure was assumed, for the report: value, key and where it comes from."""
        spec = KEYS[key]
        value = shown if shown is not None else _format(self.values.get(key))
        value = f"{value} {spec.unit}".strip()
        if key in self.from_file:
            origin = "usage file"
        else:
            origin = "production default" if self.production else "early-stage default"
        return f"{value} ({key}, {origin})"


@dataclass(frozen=True)
class Usage:
    """Defaults plus a usage file's overrides, for any stack."""

    shared: Mapping[str, Any] = field(default_factory=dict)
    per_stack: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    def for_stack(self, stack: str, *, production: bool) -> StageUsage:
        values: dict[str, float | str | None] = {
            name: (key.production if production else key.early) for name, key in KEYS.items()
        }
        given = {**self.shared, **self.per_stack.get(stack, {})}
        values.update(given)
        return StageUsage(stack, production, values, frozenset(given))


def _format(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def _check_values(path: Path, where: str, values: object) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise UsageFileError(
            f"{path}: {where} is not a mapping of usage keys",
            f"write it as 'key: value' lines (keys: {', '.join(KEYS)})",
        )
    checked: dict[str, Any] = {}
    for name, value in values.items():
        spec = KEYS.get(str(name))
        if spec is None:
            raise UsageFileError(
                f"{path}: unknown usage key '{where}.{name}'",
                f"use one of {', '.join(KEYS)}",
            )
        if spec.text:
            if not isinstance(value, str) or not INSTANCE_TYPE.match(value):
                raise UsageFileError(
                    f"{path}: {where}.{name} is {value!r}, not an EC2 instance type",
                    "give one such as c6a.large",
                )
            checked[spec.name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageFileError(
                f"{path}: {where}.{name} is {value!r}, not a number",
                f"give a number of {spec.unit or 'units'} (0 or more)",
            )
        if not value >= 0:  # negative, or NaN
            raise UsageFileError(
                f"{path}: {where}.{name} is {value}, which is negative",
                "give 0 or more",
            )
        checked[spec.name] = value
    return checked


def load_usage(path: Path, stacks: Iterable[str]) -> Usage:
    """Read and check a usage file; `stacks` are the project's (shared and every stage)."""
    import yaml

    stacks = list(stacks)
    if not path.is_file():
        raise UsageFileError(
            f"usage file {path} does not exist",
            "give the path of a YAML usage file (docs/cost.md lists its keys)",
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())
        raise UsageFileError(f"{path} is not valid YAML ({problem})", "fix the file") from exc
    if not isinstance(document, dict):
        raise UsageFileError(f"{path} is not a mapping", "give 'all:' and/or 'stages:' sections")
    for section in document:
        if section not in SECTIONS:
            raise UsageFileError(
                f"{path}: unknown section '{section}'",
                "use 'all:' (every stack) and 'stages:' (per stack)",
            )
    shared = _check_values(path, "all", document.get("all") or {})
    stages = document.get("stages") or {}
    if not isinstance(stages, dict):
        raise UsageFileError(f"{path}: 'stages' is not a mapping", "map stage names to usage keys")
    per_stack: dict[str, dict[str, Any]] = {}
    for stack, values in stages.items():
        if stack not in stacks:
            raise UsageFileError(
                f"{path}: stages.{stack}: no stack '{stack}' in this project",
                f"use one of {', '.join(stacks)}",
            )
        per_stack[str(stack)] = _check_values(path, f"stages.{stack}", values or {})
    return Usage(shared, per_stack, path)
