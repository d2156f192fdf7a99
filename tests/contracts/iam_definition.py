"""AWS's IAM service authorization data, as parliament ships it (`parliament/iam_definition.json`).

Per action: the resource types it is authorized on (with their ARN formats; `*` marks a required
one) and the condition keys the request carries. The evaluator builds each call's resource ARNs and
request context from this, never from memory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class ResourceType:
    name: str  # e.g. "service"
    required: bool
    arn_format: (
        str  # arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}
    )
    condition_keys: tuple[str, ...]  # keys the action carries for this resource type

    def matches(self, arn: str) -> bool:
        return bool(_arn_pattern(self.arn_format).match(arn))


@dataclass(frozen=True)
class Action:
    name: str  # "ecs:CreateService"
    resource_types: tuple[ResourceType, ...]
    request_keys: tuple[str, ...]  # keys of the request itself (the entry without a resource type)

    @property
    def required(self) -> tuple[ResourceType, ...]:
        return tuple(t for t in self.resource_types if t.required)

    @property
    def resource_level(self) -> bool:
        """False when the action is authorized on "*" only (no resource types at all)."""
        return bool(self.resource_types)


def source_path() -> Path:
    import parliament

    return Path(parliament.__file__).parent / "iam_definition.json"


def version() -> str:
    from importlib.metadata import version as dist_version

    return f"parliament {dist_version('parliament')}"


@cache
def _services() -> dict[str, dict]:
    data = json.loads(source_path().read_text())
    return {service["prefix"]: service for service in data}


@cache
def action(name: str) -> Action | None:
    """The action's authorization data, or None when AWS's data has no such action."""
    prefix, _, privilege = name.partition(":")
    service = _services().get(prefix.lower())
    if service is None:
        return None
    formats = {r["resource"]: r["arn"] for r in service["resources"]}
    for entry in service["privileges"]:
        if entry["privilege"].lower() != privilege.lower():
            continue
        types: list[ResourceType] = []
        request_keys: tuple[str, ...] = ()
        for rtype in entry["resource_types"]:
            raw = rtype["resource_type"]
            if not raw:
                request_keys = tuple(rtype["condition_keys"])
                continue
            type_name = raw.rstrip("*")
            types.append(
                ResourceType(
                    name=type_name,
                    required=raw.endswith("*"),
                    arn_format=formats.get(type_name, ""),
                    condition_keys=tuple(rtype["condition_keys"]),
                )
            )
        return Action(f"{prefix}:{entry['privilege']}", tuple(types), request_keys)
    return None


@cache
def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    """`${Variable}` matches one ARN component piece; the last one may hold slashes (paths)."""
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    pattern = ""
    for index, part in enumerate(parts):
        if part.startswith("${"):
            is_last = all(not p or p.startswith("${") for p in parts[index + 1 :])
            if part in ("${Partition}", "${Region}", "${Account}"):
                pattern += r"[^:]*"
            elif part.endswith("NameWithPath}") or is_last:
                pattern += r".+"
            else:
                pattern += r"[^:/]+"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")
