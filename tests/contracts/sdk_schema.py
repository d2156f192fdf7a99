"""Resource inputs against the provider schema of the installed pulumi-aws SDK.

The SDK's `<Resource>Args` classes are its own type information: each input property carries its
wire name (`pulumi.getter(name=...)`) and its type annotation (scalar, list, map or a nested
`...Args` input type). Every planned input key must be one of them, of that shape, all the way down.
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache
from typing import Any

_NESTED = re.compile(r"ForwardRef\('(\w+Args)'\)")


def sdk_version() -> str:
    from importlib.metadata import version

    return f"pulumi-aws {version('pulumi-aws')}, pulumi-kubernetes {version('pulumi-kubernetes')}"


def _module_of(token: str) -> tuple[str, str]:
    """aws:ecs/service:Service -> (pulumi_aws.ecs, ServiceArgs); lambda is `lambda_`."""
    _, module, name = token.split(":")
    package = module.split("/")[0]
    package = f"{package}_" if package in ("lambda",) else package
    return f"pulumi_aws.{package}", f"{name}Args"


@cache
def _properties(module: str, cls_name: str) -> dict[str, str] | None:
    """Wire name -> annotation text of an input type, or None if the SDK has no such type."""
    mod = importlib.import_module(module)
    cls = getattr(mod, cls_name, None)
    if cls is None:
        inputs = importlib.import_module(f"{module}._inputs")
        cls = getattr(inputs, cls_name, None)
    if cls is None:
        return None
    properties: dict[str, str] = {}
    for attr in dir(cls):
        prop = getattr(cls, attr)
        if isinstance(prop, property) and hasattr(prop.fget, "_pulumi_name"):
            annotation = inspect.get_annotations(prop.fget).get("return")
            properties[prop.fget._pulumi_name] = str(annotation)
    return properties


def _kind(annotation: str) -> str:
    head = annotation.split("[", 2)[1] if annotation.startswith("typing.Union[") else annotation
    if head.startswith("typing.Sequence"):
        return "list"
    if head.startswith("typing.Mapping"):
        return "map"
    if head.startswith("ForwardRef("):
        return "object"
    for scalar in ("bool", "int", "float", "str"):
        if head.startswith(scalar):
            return scalar
    return "any"


def check(token: str, inputs: dict[str, Any]) -> list[str]:
    """Problems of one resource's inputs against its SDK type, as 'path: problem' lines."""
    module, cls_name = _module_of(token)
    try:
        properties = _properties(module, cls_name)
    except ModuleNotFoundError:
        properties = None
    if properties is None:
        return [f"{token}: the installed SDK has no {module}.{cls_name}"]
    return _check_object(module, properties, inputs, "")


def _check_object(
    module: str, properties: dict[str, str], value: dict[str, Any], path: str
) -> list[str]:
    problems = []
    for key, item in value.items():
        where = f"{path}{key}"
        if key not in properties:
            problems.append(
                f"{where}: not an input of the SDK (known: {', '.join(sorted(properties))})"
            )
            continue
        problems += _check_value(module, properties[key], item, where)
    return problems


def _check_value(module: str, annotation: str, value: Any, where: str) -> list[str]:
    if value is None or value == "[secret]":
        return []
    kind = _kind(annotation)
    nested = _NESTED.findall(annotation)
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        inner = annotation.split("typing.Sequence[", 1)[1]
        return [
            p for i, v in enumerate(value) for p in _check_value(module, inner, v, f"{where}[{i}]")
        ]
    if kind == "map":
        return [] if isinstance(value, dict) else [f"{where}: expected a map"]
    if kind == "object" and nested:
        if not isinstance(value, dict):
            return [f"{where}: expected an object ({nested[0]})"]
        properties = _properties(module, nested[0])
        if properties is None:
            return [f"{where}: the SDK has no type {nested[0]}"]
        return _check_object(module, properties, value, f"{where}.")
    expected = {"bool": bool, "int": (int, float), "float": (int, float), "str": str}.get(kind)
    if expected and not isinstance(value, expected):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
    if kind in ("int", "float") and isinstance(value, bool):
        return [f"{where}: expected {kind}, got bool"]
    return []
