"""The AWS calls each role makes, as IAM requests: action, resource ARN, request context.

- provider calls: for each planned resource and lifecycle phase, the actions of
  data/provider_actions.json, on the ARNs that AWS's authorization data (iam_definition.py) says
  the action is authorized on, with the condition keys that action carries;
- invokes: the program's data sources;
- state: the Pulumi DIY backend's reads and writes on an S3 backend (data/workflow_actions.json).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import iam_definition
from .model import UUID, Resource, StackModel

DATA = Path(__file__).parent / "data"
PHASES = ("create", "read", "update", "delete")
_TAG_ACTIONS = re.compile(r":(TagResource|CreateTags|AddTags|Tag[A-Z]\w*)$")


@dataclass(frozen=True)
class Call:
    action: str
    resource: str  # an ARN, or "*"
    context: tuple[tuple[str, Any], ...]
    origin: str  # what makes the call: "dev/shop-dev-service (aws:ecs/service:Service) create"

    def context_dict(self) -> dict[str, Any]:
        return dict(self.context)


@dataclass(frozen=True)
class Gap:
    """A call the checker could not turn into a request: reported, never silently allowed."""

    origin: str
    problem: str


@cache
def provider_actions() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "provider_actions.json").read_text())
    return data


@cache
def workflow_actions() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "workflow_actions.json").read_text())
    return data


@dataclass(frozen=True)
class Spec:
    action: str
    when: str | None = None
    on: str | None = None
    passed_to: str | None = None
    service_name: str | None = None
    create_action: str | None = None
    arns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, item: str | dict[str, Any]) -> Spec:
        if isinstance(item, str):
            action, _, when = item.partition("?")
            return cls(action, when or None)
        return cls(
            item["action"],
            item.get("when"),
            item.get("on"),
            item.get("passedTo"),
            item.get("serviceName"),
            item.get("createAction"),
            tuple(item.get("arns", ())),
        )


def input_keys() -> set[str]:
    """Condition keys read from resource inputs (the data's per-type `context`)."""
    return {
        key
        for entry in provider_actions()["resources"].values()
        for key in entry.get("context", {})
    }


def specs(resource_type: str, phase: str) -> list[Spec] | None:
    entry = provider_actions()["resources"].get(resource_type)
    if entry is None:
        return None
    return [Spec.parse(item) for item in entry[phase]]


def _input(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if isinstance(value, str) and value[:1] in "{[":
            value = json.loads(value)
        if isinstance(value, list) and part.isdigit():  # `loadBalancers.0.roleArn`
            value = value[int(part)] if int(part) < len(value) else None
            continue
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _set(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


def resource_calls(
    model: StackModel, resource: Resource, phases: Iterable[str]
) -> tuple[list[Call], list[Gap]]:
    calls: list[Call] = []
    gaps: list[Gap] = []
    for phase in phases:
        origin = f"{resource.label()} {phase}"
        found = specs(resource.type, phase)
        if found is None:
            gaps.append(Gap(origin, f"no IAM action data for {resource.type}"))
            continue
        for index, spec in enumerate(found):
            if spec.when and not _set(_input(resource.inputs, spec.when)):
                continue
            # The first create action makes the resource; later ones act on it as it exists.
            step = "created" if phase == "create" and index > 0 else phase
            made, gap = _requests(model, resource, step, spec, origin)
            calls += made
            if gap:
                gaps.append(gap)
    return calls, gaps


def _requests(
    model: StackModel, resource: Resource, phase: str, spec: Spec, origin: str
) -> tuple[list[Call], Gap | None]:
    info = iam_definition.action(spec.action)
    if info is None:
        return [], Gap(origin, f"{spec.action} is not an action in AWS's authorization data")
    targets, problem = _targets(model, resource, spec, info)
    if problem:
        return [], Gap(origin, f"{spec.action}: {problem}")
    calls = []
    for arn, rtype in targets:
        context = _context(model, resource, phase, spec, info, rtype, arn)
        calls.append(Call(info.name, arn, tuple(sorted(context.items())), origin))
    return calls, None


def _targets(
    model: StackModel, resource: Resource, spec: Spec, info: iam_definition.Action
) -> tuple[list[tuple[str, iam_definition.ResourceType | None]], str | None]:
    """The ARNs the action is authorized on, each with its IAM resource type."""
    if spec.arns:
        arns = [_fill(template, model, resource) for template in spec.arns]
    elif spec.on:
        value = _input(resource.inputs, spec.on)
        if not isinstance(value, str) or not value:
            return [], f"input {spec.on} is not set"
        arns = (
            [value]
            if value.startswith("arn:")
            else [arn for other in model.lookup(value) for arn in other.arns]
        )
    else:
        arns = []
    if not info.resource_level:
        return [("*", None)], None
    if arns:
        typed = [(arn, _type_of(info, arn)) for arn in arns]
        bad = [arn for arn, rtype in typed if rtype is None]
        if bad:
            return [], f"{', '.join(bad)} is none of its resource types"
        return typed, None
    own = resource.arns
    related = [arn for other in model.related(resource) for arn in other.arns]
    related += [v for v in _arn_values(resource) if v not in related and v not in own]
    targets: list[tuple[str, iam_definition.ResourceType | None]] = []
    # Variants of one resource (listener/app, listener/net) are alternatives, not both required.
    groups: dict[str, list[iam_definition.ResourceType]] = {}
    for rtype in info.required:
        groups.setdefault(rtype.name.split("/")[0], []).append(rtype)
    for name, variants in groups.items():
        matching = [(a, t) for t in variants for a in own if t.matches(a)] or [
            (a, t) for t in variants for a in related if t.matches(a)
        ]
        if not matching:
            return [], f"no ARN of {resource.label()} or what it refers to is a {name}"
        targets += matching
    if targets:
        return targets, None
    for pool in (own, related):
        for arn in pool:
            rtype = _type_of(info, arn)
            if rtype is not None:
                return [(arn, rtype)], None
    return [("*", None)], None


def _arn_values(resource: Resource) -> Iterator[str]:
    from .model import ARN, references

    for value in references(resource.inputs):
        if ARN.match(value):
            yield value


def _type_of(info: iam_definition.Action, arn: str) -> iam_definition.ResourceType | None:
    for rtype in info.resource_types:
        if rtype.arn_format and rtype.matches(arn):
            return rtype
    return None


def _fill(template: str, model: StackModel, resource: Resource) -> str:
    own = resource.arns[0] if resource.arns else ""
    values = {
        "ownArn": own,
        "ownPath": own.split(":", 5)[-1].partition("/")[2],
        "partition": model.partition,
        "region": model.region,
        "account": model.account,
        "uuid": UUID,
        **{k: v for k, v in resource.inputs.items() if isinstance(v, (str, int))},
    }
    return template.format(**values)


def _context(
    model: StackModel,
    resource: Resource,
    phase: str,
    spec: Spec,
    info: iam_definition.Action,
    rtype: iam_definition.ResourceType | None,
    arn: str,
) -> dict[str, Any]:
    keys = {k.lower() for k in (*(rtype.condition_keys if rtype else ()), *info.request_keys)}
    context: dict[str, Any] = {}
    tagging = bool(_TAG_ACTIONS.search(info.name))
    # Tags sent with the create call, or by a tag-on-create call, are request tags only.
    own = arn in resource.arns or arn == "*"
    creating = own and (phase == "create" or (tagging and spec.create_action is not None))
    owner = model.owner(arn) if arn != "*" else None
    if (creating or tagging) and resource.tags:
        if "aws:requesttag/${tagkey}" in keys:
            context.update({f"aws:requesttag/{k}".lower(): v for k, v in resource.tags.items()})
        if "aws:tagkeys" in keys:
            context["aws:tagkeys"] = tuple(sorted(resource.tags))
    if owner is not None and not creating and owner.tags and "aws:resourcetag/${tagkey}" in keys:
        context.update({f"aws:resourcetag/{k}".lower(): v for k, v in owner.tags.items()})
    if "ec2:createaction" in keys and spec.create_action:
        context["ec2:createaction"] = spec.create_action
    if "ec2:vpc" in keys and owner is not None:
        vpc = model.vpc_arn(owner)
        if vpc:
            context["ec2:vpc"] = vpc
    if "iam:permissionsboundary" in keys:
        role = owner if owner is not None and owner.type == "aws:iam/role:Role" else None
        boundary = role.inputs.get("permissionsBoundary") if role else None
        if boundary:
            context["iam:permissionsboundary"] = boundary
    if "iam:passedtoservice" in keys and spec.passed_to:
        context["iam:passedtoservice"] = spec.passed_to
    if "iam:policyarn" in keys and resource.inputs.get("policyArn"):
        context["iam:policyarn"] = resource.inputs["policyArn"]
    if "iam:awsservicename" in keys and spec.service_name:
        context["iam:awsservicename"] = spec.service_name
    entry = provider_actions()["resources"].get(resource.type, {})
    for key, path in entry.get("context", {}).items():
        value = _input(resource.inputs, path)
        if key.lower() in keys and value is not None:
            context[key.lower()] = str(value).lower() if isinstance(value, bool) else value
    return context


def invoke_calls(tokens: Iterable[str], stack: str) -> tuple[list[Call], list[Gap]]:
    calls: list[Call] = []
    gaps: list[Gap] = []
    known = provider_actions()["invokes"]
    for token in dict.fromkeys(tokens):
        origin = f"{stack}: invoke {token}"
        if token not in known:
            gaps.append(Gap(origin, f"no IAM action data for the invoke {token}"))
            continue
        for action in known[token]["actions"]:
            info = iam_definition.action(action)
            if info is None:
                gaps.append(Gap(origin, f"{action} is not an action in AWS's authorization data"))
            elif info.resource_level:
                gaps.append(Gap(origin, f"{action} needs a resource the checker does not build"))
            else:
                calls.append(Call(info.name, "*", (), origin))
    return calls, gaps


def state_calls(
    backend: str | None, project: str, stack: str, *, write: bool, origin: str
) -> list[Call]:
    """The DIY backend's S3 requests for one stack: a read (preview, stack output, the
    StackReference) or an update (`pulumi up`, `destroy`)."""
    if not backend or not backend.startswith("s3://"):
        return []
    from urllib.parse import urlparse

    parsed = urlparse(backend)
    bucket = f"arn:aws:s3:::{parsed.netloc}"
    prefix = parsed.path.strip("/")
    prefix = f"{prefix}/" if prefix else ""
    layout = workflow_actions()["state"]
    calls = []
    for item in layout["read"] + (layout["write"] if write else []):
        key = item["object"]
        arn = (
            bucket
            if key is None
            else f"{bucket}/{prefix}" + key.format(project=project, stack=stack, uuid=UUID)
        )
        calls.append(Call(item["action"], arn, (), origin))
    return calls
