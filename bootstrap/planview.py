"""Presenting a plan: the JSON of `preview --json`, resource trees, and stage differences.

Works on anything shaped like `bootstrap.offline.StackPlan` (stack, resources, outputs) whose
resources have type, name, urn, parent and inputs; the real preview's resources (collected from
engine events) are turned into the same shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from stacks.contract import SECRET_MASK

if TYPE_CHECKING:
    from rich.tree import Tree

MASK = SECRET_MASK
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
_SECRET_KEY = re.compile(
    r"(password|passphrase|secret(?!sManager)|token(?!Url)|private_?key|api_?key|credential)",
    re.I,
)
# Inputs worth a glance in the tree, first come first shown.
_KEY_INPUTS = (
    "name", "cidrBlock", "cpu", "memory", "memorySize", "desiredCount", "instanceTypes",
    "scalingConfig", "version", "packageType", "imageUri", "image", "port", "protocol",
    "url", "retentionInDays", "imageTagMutability", "availabilityZone", "runtime", "timeout",
)  # fmt: skip
SIZE_KEYS = frozenset(
    {
        "cpu", "memory", "memorySize", "desiredCount", "desiredSize", "minSize", "maxSize",
        "minCapacity", "maxCapacity", "instanceType", "instanceTypes", "retentionInDays",
        "reservedConcurrentExecutions", "ephemeralStorage", "size", "timeout", "replicas",
        "allocatedStorage", "multiAz", "count",
    }
)  # fmt: skip
_MAX_VALUE = 60


class ResourceLike(Protocol):
    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]


class PlanLike(Protocol):
    stack: str
    resources: list[Any]
    outputs: dict[str, Any]


# --- masking and order ------------------------------------------------------------------------


def mask(value: Any, key: str | None = None) -> Any:
    """A copy of `value` with secrets replaced by `[secret]` (Pulumi secrets, secret-ish keys)."""
    if isinstance(value, Mapping):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
            return MASK
        return {str(k): mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, key) for v in value]
    if key and _SECRET_KEY.search(key) and isinstance(value, str) and value:
        return MASK
    return value


def ordered(resources: Iterable[ResourceLike]) -> list[ResourceLike]:
    """Parents before children, siblings by (type, name): the same order on every run."""
    items = list(resources)
    urns = {r.urn for r in items}
    children: dict[str | None, list[ResourceLike]] = {}
    for r in items:
        parent = r.parent if r.parent in urns else None
        children.setdefault(parent, []).append(r)
    result: list[ResourceLike] = []

    def visit(parent: str | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x.type, x.name, x.urn)):
            result.append(r)
            if r.urn != parent:
                visit(r.urn)

    visit(None)
    return result


def warnings(plan: PlanLike) -> list[str]:
    """What the infra program warned about while planning (its `pulumi.log.warn` lines)."""
    return [str(m).removeprefix("warning: ") for m in getattr(plan, "messages", None) or []]


def plan_json(project: str, plans: Iterable[PlanLike]) -> dict[str, Any]:
    """Exactly `{"project", "stacks": [{"stack", "resources": [...], "outputs", "warnings"}]}`."""
    return {
        "project": project,
        "stacks": [
            {
                "stack": plan.stack,
                "resources": [
                    {
                        "type": r.type,
                        "name": r.name,
                        "parent": r.parent or None,
                        "inputs": mask(dict(r.inputs or {})),
                    }
                    for r in ordered(plan.resources)
                ],
                "outputs": mask(dict(plan.outputs or {})),
                "warnings": warnings(plan),
            }
            for plan in plans
        ],
    }


@dataclass
class EventResource:
    """A resource seen in a real preview's engine events, in the shape of a planned one."""

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]


@dataclass
class PreviewPlan:
    stack: str
    resources: list[Any] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, int] | None = None  # real previews: op -> count
    messages: list[str] = field(default_factory=list)  # the program's warnings


def plan_from_events(
    stack: str,
    resources: list[dict[str, Any]],
    changes: dict[str, int] | None = None,
    messages: Iterable[str] = (),
) -> PreviewPlan:
    items = [
        EventResource(r["type"], r["name"], r.get("urn", ""), r.get("parent"), r["inputs"])
        for r in resources
    ]
    return PreviewPlan(stack, list(items), changes=changes, messages=list(messages))


# --- the tree ---------------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    if " " not in text and (text.startswith(("arn:", "http://", "https://")) or "@sha256:" in text):
        return text  # an ARN, a URL or an image by digest is never cut: it is copied
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def key_inputs(inputs: Mapping[str, Any], limit: int = 4) -> list[tuple[str, str]]:
    """A few telling inputs: known keys first, then other scalars; no tags or policy blobs."""
    masked = mask(dict(inputs))
    chosen: list[tuple[str, str]] = []
    for key in _KEY_INPUTS:
        if key in masked and masked[key] not in (None, "", [], {}):
            chosen.append((key, _short(masked[key])))
    for key in sorted(masked):
        value = masked[key]
        if len(chosen) >= limit:
            break
        if key in _KEY_INPUTS or key.startswith("tags") or value in (None, "", [], {}):
            continue
        if isinstance(value, str) and value.lstrip().startswith(("{", "[", "arn:")):
            continue  # a JSON document (policy, container definitions) or a reference
        if isinstance(value, str | int | float | bool):
            chosen.append((key, _short(value)))
    return chosen[:limit]


def resource_tree(plan: PlanLike, *, title: str | None = None) -> Tree:
    from rich.text import Text
    from rich.tree import Tree

    resources = ordered(plan.resources)
    count = len(resources)
    counted = f"  {count} resources" if count or title is None else ""
    tree = Tree(Text.assemble((title or plan.stack, "bold"), counted))
    nodes: dict[str, Tree] = {}
    urns = {r.urn for r in resources}
    for r in resources:
        parent_node = nodes.get(r.parent) if r.parent in urns and r.parent else None
        label = Text.assemble((r.type, "cyan"), " ", (r.name, "bold"))
        inputs = key_inputs(r.inputs or {})
        if inputs:
            label.append("  " + "  ".join(f"{k}={v}" for k, v in inputs), style="dim")
        nodes[r.urn] = (parent_node or tree).add(label)
    if plan.outputs:
        outputs = tree.add(Text("outputs", style="bold"))
        for key, value in sorted(mask(dict(plan.outputs)).items()):
            outputs.add(Text(f"{key} = {_short(value)}"))
    return tree


def render_plain(renderable: Any, width: int = 1000) -> str:
    """Text of a renderable at a width wide enough that no line is wrapped or cropped."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


# --- differences between stages ---------------------------------------------------------------


@dataclass
class StageDiff:
    stage: str
    base: str
    extra: list[str] = field(default_factory=list)  # "type name" in stage, not in base
    lacking: list[str] = field(default_factory=list)  # in base, not in stage
    sizes: list[str] = field(default_factory=list)  # "type name key: base → stage"

    @property
    def empty(self) -> bool:
        return not (self.extra or self.lacking or self.sizes)

    def lines(self) -> list[str]:
        if self.empty:
            return [f"{self.stage} vs {self.base}: same resources and sizes"]
        lines = [f"{self.stage} vs {self.base}:"]
        lines += [f"  + {item}" for item in self.extra]
        lines += [f"  - {item}" for item in self.lacking]
        lines += [f"  ~ {item}" for item in self.sizes]
        return lines


def _normal_name(name: str, stage: str) -> str:
    return re.sub(rf"(?<![a-z0-9]){re.escape(stage)}(?![a-z0-9])", "<stage>", name)


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    if isinstance(value, Mapping) and depth < 3:
        flat: dict[str, Any] = {}
        for k, v in value.items():
            flat.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1))
        return flat
    return {prefix: value}


def _is_size(path: str, a: Any, b: Any) -> bool:
    leaf = path.rsplit(".", 1)[-1]
    if leaf in SIZE_KEYS:
        return True
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


def stage_diff(base: PlanLike, other: PlanLike) -> StageDiff:
    def index(plan: PlanLike) -> dict[tuple[str, str], Any]:
        return {(r.type, _normal_name(r.name, plan.stack)): r for r in plan.resources}

    a, b = index(base), index(other)
    diff = StageDiff(other.stack, base.stack)
    diff.extra = [f"{t} {n}" for t, n in sorted(set(b) - set(a))]
    diff.lacking = [f"{t} {n}" for t, n in sorted(set(a) - set(b))]
    for key in sorted(set(a) & set(b)):
        left = _flatten(mask(dict(a[key].inputs or {})))
        right = _flatten(mask(dict(b[key].inputs or {})))
        for path in sorted(set(left) & set(right)):
            lv, rv = left[path], right[path]
            if lv != rv and _is_size(path, lv, rv):
                diff.sizes.append(f"{key[0]} {key[1]} {path}: {_short(lv)} → {_short(rv)}")
    return diff


def stage_diffs(plans: list[PlanLike]) -> list[StageDiff]:
    """Each stage against the first stage (the shared stack is left out)."""
    stages = [p for p in plans if p.stack != "shared"]
    if len(stages) < 2 or not all(p.resources for p in stages):
        return []
    first = stages[0]
    return [stage_diff(first, other) for other in stages[1:]]
