"""A stack's planned AWS resources as IAM sees them: ARNs, tags, and what refers to what.

The plan records each resource's inputs. The physical ids and ARNs are what the offline plan's
mocks answered (bootstrap/offline/, deterministic for a stack): they are recomputed here from the
same inputs, so references between resources (a subnet's `vpcId`, a listener's target group ARN)
resolve to the resource they name.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from bootstrap.offline import PlannedResource, StackPlan
from bootstrap.offline.fake_aws import ACCOUNT_ID

ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+")


@dataclass
class Resource:
    stack: str
    planned: PlannedResource
    physical_id: str
    state: dict[str, Any]
    arns: list[str] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.planned.type

    @property
    def inputs(self) -> dict[str, Any]:
        return self.planned.inputs

    @property
    def name(self) -> str:
        return self.planned.name

    @property
    def tags(self) -> dict[str, str]:
        tags = self.inputs.get("tags") or {}
        return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

    def label(self) -> str:
        return f"{self.stack}/{self.name} ({self.type})"


@dataclass
class StackModel:
    stack: str
    region: str
    partition: str
    resources: list[Resource]
    by_key: dict[str, list[Resource]]  # physical id, name and ARNs -> resources
    account: str = ACCOUNT_ID  # the account the stack runs in

    def owner(self, arn: str) -> Resource | None:
        found = self.by_key.get(arn) or []
        return found[0] if found else None

    def lookup(self, value: str) -> list[Resource]:
        return self.by_key.get(value, [])

    def related(self, resource: Resource) -> list[Resource]:
        """The resources this one's inputs name (by id, name or ARN), nearest first."""
        seen: dict[int, Resource] = {}
        for value in references(resource.inputs):
            for other in self.by_key.get(value, []):
                if other is not resource:
                    seen.setdefault(id(other), other)
        return list(seen.values())

    def vpc_arn(self, resource: Resource) -> str | None:
        if resource.type == "aws:ec2/vpc:Vpc":
            return resource.arns[0] if resource.arns else None
        vpc_id = resource.inputs.get("vpcId")
        for vpc in self.lookup(str(vpc_id)) if vpc_id else []:
            if vpc.type == "aws:ec2/vpc:Vpc" and vpc.arns:
                return vpc.arns[0]
        return None


# Inputs holding documents (policies, dashboards): the ARNs in them are not what the resource is.
DOCUMENTS = ("policy", "assumeRolePolicy", "dashboardBody")


def references(inputs: dict[str, Any]) -> Iterator[str]:
    for key, value in inputs.items():
        if key not in DOCUMENTS:
            yield from strings(value)


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-ish value, JSON documents in strings included."""
    if isinstance(value, str):
        yield value
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                yield from strings(json.loads(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@contextlib.contextmanager
def in_account(account: str | None) -> Iterator[None]:
    """Run the offline plan's mocks as if in `account` (None: their one account), as a stack
    deployed with that account's credentials sees its ARNs."""
    from bootstrap.offline import fake_aws

    original = fake_aws.ACCOUNT_ID
    fake_aws.ACCOUNT_ID = account or original
    try:
        yield
    finally:
        fake_aws.ACCOUNT_ID = original


def build(plan: StackPlan, region: str, account: str | None = None) -> StackModel:
    from bootstrap.offline import fake_aws

    resources: list[Resource] = []
    with in_account(account):
        account = fake_aws.ACCOUNT_ID
        # The same answers as the plan's run: the mocks are deterministic per stack and region.
        mocks = fake_aws.FakeAws(plan.stack, region, {}, account)
        for planned in plan.resources:
            if not planned.type.startswith("aws:") or not planned.custom:
                continue
            inputs = dict(planned.inputs)
            args = SimpleNamespace(typ=planned.type, name=planned.name, inputs=inputs)
            physical_id, state = mocks.new_resource(args)
            resource = Resource(plan.stack, planned, str(physical_id), dict(state))
            resource.arns = _own_arns(resource, mocks.ids.partition, region, account)
            resources.append(resource)
    by_key: dict[str, list[Resource]] = {}
    for resource in resources:
        keys = {resource.physical_id, *resource.arns}
        name = resource.inputs.get("name")
        if isinstance(name, str):
            keys.add(name)
        for key in keys:
            by_key.setdefault(key, []).append(resource)
    return StackModel(plan.stack, region, mocks.ids.partition, resources, by_key, account)


def _own_arns(resource: Resource, partition: str, region: str, account: str) -> list[str]:
    """The ARNs IAM authorizes this resource's actions on."""
    inputs, state = resource.inputs, resource.state
    candidates = (state.get("arn"), state.get("dashboardArn"), resource.physical_id)
    arns = [v for v in candidates if isinstance(v, str) and ARN.match(v)]
    prefix = f"arn:{partition}:lambda:{region}:{account}:function:"
    if resource.type in ("aws:lambda/functionUrl:FunctionUrl", "aws:lambda/permission:Permission"):
        function = inputs.get("functionName") or inputs.get("function")
        qualifier = inputs.get("qualifier")
        arns = [f"{prefix}{function}:{qualifier}" if qualifier else f"{prefix}{function}"]
    elif resource.type in (
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    ):
        # An association acts on the access entry of its principal: the same ARN.
        principal = str(inputs.get("principalArn", ""))
        kind, _, name = principal.split(":", 5)[-1].partition("/")
        arns = [
            f"arn:{partition}:eks:{region}:{account}:access-entry/{inputs.get('clusterName')}/"
            f"{kind}/{account}/{name.rsplit('/', 1)[-1]}/{UUID}"
        ]
    seen: list[str] = []
    for arn in arns:
        if arn not in seen:
            seen.append(arn)
    return seen


# Stands for ids AWS makes at creation (access entries, target-tracking alarms).
UUID = "0a1b2c3d-0000-4000-8000-000000000000"
