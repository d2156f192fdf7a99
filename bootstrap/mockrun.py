"""Run a generated repo's Pulumi program in-process under Pulumi's mocks and record everything.

This is the offline plan (`bootstrap preview --offline`) and the test harness of the stacks: the
real program (the repo's own `infra/__main__.py` and `infra/stacks/`) runs against the real
pulumi-aws and pulumi-kubernetes SDKs, with `pulumi.runtime.set_mocks` standing in for the engine
and the providers. Every resource registration is recorded as plain data: type, name, URN, parent
URN and inputs (secrets masked). The mocks answer with realistic physical ids and ARNs in account
123456789012, and answer the invokes the program uses (caller identity, partition, region,
availability zones, load balancer lookup).

Runs use `preview=False` so every output resolves (a preview leaves unknowns whose `.apply`
callbacks never run). The program is told it is an offline plan through the config key
`bootstrap:offlinePlan`, so it plans a stage without an image instead of refusing the update.

Each run gets a fresh thread (hence a fresh contextvars context, which is where Pulumi keeps its
runtime settings, config and root stack), a fresh event loop, and a clean `stacks` package
imported from the repo itself; runs are serialised by a lock because `sys.modules` is global.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import runpy
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from bootstrap.errors import UserError

ACCOUNT_ID = "123456789012"
ORGANIZATION = "organization"  # what the DIY (file and s3) backends call every organisation
MASKED = "[secret]"  # what a secret value shows in a plan
OFFLINE_PLAN_CONFIG = "bootstrap:offlinePlan"
PACKAGE = "stacks"

_RUN_LOCK = threading.Lock()
_RPC_WORKERS = min(8, (os.cpu_count() or 1) + 4)
_NEVER_AWAITED = "coroutine .* was never awaited"


class PlanError(UserError):
    """The infra program could not be planned offline."""


@dataclass
class PlannedResource:
    type: str
    name: str
    urn: str
    parent: str | None  # the parent's URN; None only for the stack itself
    inputs: dict[str, Any]  # plain data; secrets are "[secret]"
    custom: bool
    provider: str | None = None  # the explicit provider reference ("<urn>::<id>"), if any
    dependencies: tuple[str, ...] = ()  # URNs it waits for (depends_on, components expanded)


@dataclass
class StackPlan:
    stack: str
    resources: list[PlannedResource]  # sorted by URN
    outputs: dict[str, Any]  # the stack's exports; secrets are "[secret]"
    messages: list[str] = field(default_factory=list)  # what the program logged

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> PlannedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} in stack {self.stack}")
        return matches[0]


# --------------------------------------------------------------------------------------------
# Config


def load_stack_config(infra_dir: Path, project: str, stack: str) -> dict[str, Any]:
    """The configuration the Pulumi CLI would hand the program for `stack`: `Pulumi.<stack>.yaml`
    (keys qualified: `shop:target`, `aws:region`) merged with `Pulumi.yaml`'s declarations
    exactly as the CLI merges them (bootstrap/stackconfig.py; its ConfigError, exit 2, names
    what the CLI would refuse)."""
    from bootstrap.stackconfig import stack_config

    path = Path(infra_dir) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise PlanError(
            f"stack '{stack}' has no config file {path}",
            "create it (bootstrap update restores the generated ones) or choose another stack",
        )
    return stack_config(Path(infra_dir), project, stack)


def _config_strings(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to programs: strings (JSON for objects; an empty key is
    ""), secret keys apart."""
    from bootstrap.stackconfig import config_text, is_secure

    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in config.items():
        if is_secure(value):
            values[key] = MASKED  # ciphertext the offline plan cannot (and need not) decrypt
            secrets.append(key)
        else:
            values[key] = config_text(value)
    return values, secrets


# --------------------------------------------------------------------------------------------
# Plain data from the wire format


def _plain(value: Any) -> Any:
    """Protobuf struct values as plain Python: secrets masked, resource references as URNs."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    if isinstance(value, struct_pb2.Struct):
        sig = value.fields.get(rpc._special_sig_key)
        if sig is not None:
            kind = sig.string_value
            if kind == rpc._special_secret_sig:
                return MASKED
            if kind == rpc._special_resource_sig:
                return _plain(value["urn"])
            if kind == rpc._special_output_value_sig:
                if value.get("secret"):
                    return MASKED
                return _plain(value["value"]) if "value" in value else None
            if kind == rpc._special_asset_sig:
                return "[asset]"
            if kind == rpc._special_archive_sig:
                return "[archive]"
        return {k: _plain(v) for k, v in value.items() if v != rpc.UNKNOWN}
    if isinstance(value, struct_pb2.ListValue):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return None
    return value


def _mask(value: Any) -> Any:
    """Deserialised values (mock inputs, stack outputs) with secrets masked."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return MASKED
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


# --------------------------------------------------------------------------------------------
# Realistic physical ids, ARNs and invoke answers


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class _Ids:
    """Deterministic, realistic-looking identifiers (same program + stack = same ids)."""

    def __init__(self, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region
        self.partition = _partition(region)

    def hex(self, *seed: object, length: int = 17) -> str:
        text = "/".join([self.stack, *map(str, seed)])
        digest = hashlib.sha256(text.encode()).hexdigest()
        while len(digest) < length:
            digest += hashlib.sha256(digest.encode()).hexdigest()
        return digest[:length]

    def digits(self, *seed: object, length: int = 10) -> str:
        return str(int(self.hex(*seed, length=16), 16))[:length]

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            [
                "arn",
                self.partition,
                service,
                self.region if region else "",
                ACCOUNT_ID if account else "",
                resource,
            ]
        )


class _Mocks:
    """The answers of the engine and providers (implements pulumi.runtime.Mocks)."""

    def __init__(self, stack: str, region: str, stack_outputs: Mapping[str, Mapping[str, Any]]):
        self.ids = _Ids(stack, region)
        self.region = region
        self.stack_outputs = stack_outputs

    # pulumi.runtime.Mocks -------------------------------------------------------------------

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        typ: str = args.typ
        if typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(inputs)
        if typ.startswith("pulumi:providers:"):
            return f"{self.ids.hex('provider', args.name, length=8)}-offline", inputs
        if typ.startswith("kubernetes:"):
            return self._kubernetes(typ, args.name, inputs)
        if typ.startswith("aws:"):
            return self._aws(typ, args.name, inputs)
        return f"{args.name}-{self.ids.hex(typ, args.name, length=8)}", inputs

    def call(self, args: Any) -> dict[str, Any]:
        invoke: str = args.token
        ids = self.ids
        region = args.args.get("region") or self.region
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{ids.partition}:sts::{ACCOUNT_ID}:assumed-role/bootstrap-offline/plan",
                "userId": "AROAOFFLINEPLAN000001:plan",
                "id": ACCOUNT_ID,
            }
        if invoke == "aws:index/getPartition:getPartition":
            suffix = "amazonaws.com.cn" if ids.partition == "aws-cn" else "amazonaws.com"
            return {
                "partition": ids.partition,
                "dnsSuffix": suffix,
                "reverseDnsPrefix": ".".join(reversed(suffix.split("."))),
                "id": ids.partition,
            }
        if invoke == "aws:index/getRegion:getRegion":
            return {
                "name": region,
                "region": region,
                "description": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "id": region,
            }
        if invoke == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abc"
            return {
                "id": region,
                "names": [f"{region}{letter}" for letter in letters],
                "zoneIds": [f"{_zone_prefix(region)}-az{i + 1}" for i in range(len(letters))],
                "groupNames": [region] * len(letters),
                "state": args.args.get("state") or "available",
            }
        if invoke == "aws:lb/getLoadBalancer:getLoadBalancer":
            name = args.args.get("name") or "offline-lb"
            lb_id = ids.hex("lb", name, length=16)
            arn = ids.arn("elasticloadbalancing", f"loadbalancer/app/{name}/{lb_id}")
            return {
                "id": arn,
                "arn": arn,
                "arnSuffix": f"app/{name}/{lb_id}",
                "name": name,
                "dnsName": f"{name}-{ids.digits('lb', name)}.{region}.elb.amazonaws.com",
                "loadBalancerType": "application",
                "internal": False,
            }
        raise PlanError(
            f"the offline plan has no answer for the invoke '{invoke}'",
            "plan with the Pulumi CLI (pulumi preview), or avoid that data source",
        )

    def register_transform(self, transform: Any) -> None:
        return None

    def register_invoke_transform(self, transform: Any) -> None:
        return None

    # answers ----------------------------------------------------------------------------------

    def _stack_reference(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = str(inputs.get("name", ""))
        short = name.rsplit("/", 1)[-1]
        if short not in self.stack_outputs:
            known = ", ".join(sorted(self.stack_outputs)) or "none"
            raise PlanError(
                f"the program reads stack '{name}', whose outputs the offline plan does not have "
                f"(it has: {known})",
                "plan the whole project (it runs 'shared' first), or pass that stack's outputs",
            )
        outputs = dict(self.stack_outputs[short])
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def _kubernetes(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
        metadata = dict(inputs.get("metadata") or {})
        object_name = metadata.get("name") or f"{name}-{self.ids.hex(typ, name, length=8)}"
        metadata.setdefault("name", object_name)
        metadata["uid"] = _uuid(self.ids.hex("uid", typ, name, length=32))
        state = {**inputs, "metadata": metadata}
        namespace = metadata.get("namespace")
        if typ == "kubernetes:networking.k8s.io/v1:Ingress":
            label = f"k8s-{object_name}-{self.ids.hex('ingress', name, length=10)}"[:32]
            host = f"{label}-{self.ids.digits('ingress', name)}.{self.region}.elb.amazonaws.com"
            state["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
        return (f"{namespace}/{object_name}" if namespace else object_name), state

    def _aws(self, typ: str, logical: str, inputs: dict[str, Any]) -> tuple[str, dict]:
        ids = self.ids
        module, _, kind = typ.removeprefix("aws:").partition(":")
        service = module.split("/")[0]
        state = dict(inputs)
        name = str(inputs.get("name") or f"{logical}-{ids.hex(typ, logical, length=7)}")
        state.setdefault("name", name)
        state.setdefault("tagsAll", inputs.get("tags") or {})
        handler = getattr(self, f"_aws_{service}_{kind.lower()}", None)
        if handler is not None:
            physical_id: str = handler(typ, logical, name, state)
            return physical_id, state
        if service == "ec2":
            prefix = _EC2_PREFIXES.get(kind, kind.lower())
            physical_id = f"{prefix}-{ids.hex(typ, logical)}"
            state["arn"] = ids.arn("ec2", f"{_EC2_ARN_TYPES.get(kind, kind.lower())}/{physical_id}")
            state["ownerId"] = ACCOUNT_ID
            if kind == "Vpc":
                state["defaultSecurityGroupId"] = f"sg-{ids.hex('default-sg', logical)}"
                state["mainRouteTableId"] = f"rtb-{ids.hex('main-rtb', logical)}"
                state["defaultNetworkAclId"] = f"acl-{ids.hex('acl', logical)}"
            if kind == "Eip":
                state["allocationId"] = physical_id
                state["publicIp"] = (
                    f"203.0.113.{int(ids.hex('ip', logical, length=2), 16) % 250 + 1}"
                )
            return physical_id, state
        resource = kind[0].lower() + kind[1:]
        state["arn"] = ids.arn(service, f"{resource}/{name}")
        return name, state

    # per-type answers: (typ, logical name, physical name, state to complete) -> physical id

    def _aws_ecr_repository(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["arn"] = self.ids.arn("ecr", f"repository/{name}")
        state["registryId"] = ACCOUNT_ID
        state["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{name}"
        return name

    def _aws_ecr_lifecyclepolicy(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["registryId"] = ACCOUNT_ID
        return str(state.get("repository", name))

    def _aws_ecr_repositorypolicy(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["registryId"] = ACCOUNT_ID
        return str(state.get("repository", name))

    def _aws_ecr_registryscanningconfiguration(
        self, typ: str, logical: str, name: str, state: dict
    ) -> str:
        state["registryId"] = ACCOUNT_ID
        return ACCOUNT_ID

    def _aws_iam_openidconnectprovider(self, typ: str, logical: str, name: str, state: dict) -> str:
        host = str(state.get("url", "")).removeprefix("https://")
        state["arn"] = self.ids.arn("iam", f"oidc-provider/{host}", region=False)
        return str(state["arn"])

    def _aws_iam_role(self, typ: str, logical: str, name: str, state: dict) -> str:
        path = str(state.get("path") or "/")
        state["path"] = path
        state["arn"] = self.ids.arn("iam", f"role{path}{name}", region=False)
        state["uniqueId"] = "AROA" + self.ids.hex("role", logical).upper()
        return name

    def _aws_iam_policy(self, typ: str, logical: str, name: str, state: dict) -> str:
        path = str(state.get("path") or "/")
        state["path"] = path
        state["arn"] = self.ids.arn("iam", f"policy{path}{name}", region=False)
        state["policyId"] = "ANPA" + self.ids.hex("policy", logical).upper()
        return str(state["arn"])

    def _aws_iam_rolepolicy(self, typ: str, logical: str, name: str, state: dict) -> str:
        return f"{state.get('role', '')}:{name}"

    def _aws_iam_rolepolicyattachment(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        return f"{state.get('role', '')}-{self.ids.hex(typ, logical, length=8)}"

    def _aws_s3_bucket(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        bucket = str(state.get("bucket") or f"{logical}-{self.ids.hex(typ, logical, length=7)}")
        state["bucket"] = bucket
        state["arn"] = f"arn:{self.ids.partition}:s3:::{bucket}"
        state["bucketDomainName"] = f"{bucket}.s3.amazonaws.com"
        state["bucketRegionalDomainName"] = f"{bucket}.s3.{self.region}.amazonaws.com"
        return bucket

    def _aws_cloudwatch_loggroup(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["arn"] = self.ids.arn("logs", f"log-group:{name}")
        return name

    def _aws_cloudwatch_metricalarm(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["arn"] = self.ids.arn("cloudwatch", f"alarm:{name}")
        return name

    def _aws_cloudwatch_dashboard(self, typ: str, logical: str, name: str, state: dict) -> str:
        dashboard = str(state.get("dashboardName") or name)
        state["dashboardArn"] = self.ids.arn("cloudwatch", f"dashboard/{dashboard}", region=False)
        return dashboard

    def _aws_ecs_cluster(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["arn"] = self.ids.arn("ecs", f"cluster/{name}")
        return str(state["arn"])

    def _aws_ecs_taskdefinition(self, typ: str, logical: str, name: str, state: dict) -> str:
        family = str(state.get("family") or name)
        state["arnWithoutRevision"] = self.ids.arn("ecs", f"task-definition/{family}")
        state["arn"] = f"{state['arnWithoutRevision']}:1"
        state["revision"] = 1
        return family

    def _aws_ecs_service(self, typ: str, logical: str, name: str, state: dict) -> str:
        cluster = str(state.get("cluster") or "default").rsplit("/", 1)[-1]
        return self.ids.arn("ecs", f"service/{cluster}/{name}")

    def _aws_lb_loadbalancer(self, typ: str, logical: str, name: str, state: dict) -> str:
        lb_id = self.ids.hex("lb", name, length=16)
        kind = "net" if state.get("loadBalancerType") == "network" else "app"
        state["arn"] = self.ids.arn("elasticloadbalancing", f"loadbalancer/{kind}/{name}/{lb_id}")
        state["arnSuffix"] = f"{kind}/{name}/{lb_id}"
        internal = "internal-" if state.get("internal") else ""
        digits = self.ids.digits("lb", name)
        state["dnsName"] = f"{internal}{name}-{digits}.{self.region}.elb.amazonaws.com"
        state["zoneId"] = "Z32O12XQLNTSW2"
        return str(state["arn"])

    def _aws_lb_targetgroup(self, typ: str, logical: str, name: str, state: dict) -> str:
        tg_id = self.ids.hex("tg", name, length=16)
        state["arn"] = self.ids.arn("elasticloadbalancing", f"targetgroup/{name}/{tg_id}")
        state["arnSuffix"] = f"targetgroup/{name}/{tg_id}"
        return str(state["arn"])

    def _aws_lb_listener(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        lb_arn = str(state.get("loadBalancerArn") or "")
        lb_path = (
            lb_arn.split(":loadbalancer/", 1)[-1] if ":loadbalancer/" in lb_arn else "app/lb/0"
        )
        state["arn"] = self.ids.arn(
            "elasticloadbalancing",
            f"listener/{lb_path}/{self.ids.hex('listener', logical, length=16)}",
        )
        return str(state["arn"])

    def _aws_appautoscaling_target(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        state["arn"] = self.ids.arn(
            "application-autoscaling", f"scalable-target/{self.ids.hex('st', logical, length=32)}"
        )
        return str(state.get("resourceId") or logical)

    def _aws_appautoscaling_policy(self, typ: str, logical: str, name: str, state: dict) -> str:
        policy_id = _uuid(self.ids.hex("scaling", logical, length=32))
        state["arn"] = self.ids.arn(
            "autoscaling",
            f"scalingPolicy:{policy_id}:resource/{state.get('resourceId', '')}:policyName/{name}",
        )
        return name

    def _aws_eks_cluster(self, typ: str, logical: str, name: str, state: dict) -> str:
        ids = self.ids
        state["arn"] = ids.arn("eks", f"cluster/{name}")
        host = ids.hex("endpoint", name, length=32).upper()
        state["endpoint"] = f"https://{host}.gr7.{self.region}.eks.amazonaws.com"
        state["certificateAuthority"] = {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk9GRkxJTkUK"}
        state["identities"] = [
            {"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{host}"}]}
        ]
        state["status"] = "ACTIVE"
        state["platformVersion"] = "eks.1"
        state["clusterId"] = _uuid(ids.hex("cluster", name, length=32))
        vpc_config = dict(state.get("vpcConfig") or {})
        vpc_config["clusterSecurityGroupId"] = f"sg-{ids.hex('cluster-sg', name)}"
        vpc_config["vpcId"] = f"vpc-{ids.hex('cluster-vpc', name)}"
        state["vpcConfig"] = vpc_config
        return name

    def _aws_eks_accessentry(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        cluster = state.get("clusterName", "")
        state["accessEntryArn"] = self.ids.arn(
            "eks",
            f"access-entry/{cluster}/role/{ACCOUNT_ID}/{self.ids.hex('ae', logical, length=36)}",
        )
        return f"{cluster}:{state.get('principalArn', '')}"

    def _aws_eks_accesspolicyassociation(
        self, typ: str, logical: str, name: str, state: dict
    ) -> str:
        state.pop("name", None)
        return f"{state.get('clusterName', '')}#{state.get('principalArn', '')}#{state.get('policyArn', '')}"

    def _aws_lambda_function(self, typ: str, logical: str, name: str, state: dict) -> str:
        arn = self.ids.arn("lambda", f"function:{name}")
        state["arn"] = arn
        state["version"] = "1"
        state["qualifiedArn"] = f"{arn}:1"
        state["invokeArn"] = (
            f"arn:{self.ids.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{arn}/invocations"
        )
        return name

    def _aws_lambda_alias(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["arn"] = self.ids.arn("lambda", f"function:{state.get('functionName', '')}:{name}")
        return str(state["arn"])

    def _aws_lambda_functionurl(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        host = _base36(self.ids.hex("url", logical, length=40))[:32]
        state["functionUrl"] = f"https://{host}.lambda-url.{self.region}.on.aws/"
        state["urlId"] = host
        function = state.get("functionName", "")
        state["functionArn"] = self.ids.arn("lambda", f"function:{function}")
        qualifier = state.get("qualifier")
        return f"{function}/{qualifier}" if qualifier else str(function)

    def _aws_lambda_permission(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        statement = state.get("statementId") or f"terraform-{self.ids.hex('perm', logical, 20)}"
        state["statementId"] = statement
        return str(statement)


_EC2_PREFIXES = {
    "Vpc": "vpc",
    "Subnet": "subnet",
    "InternetGateway": "igw",
    "RouteTable": "rtb",
    "Route": "r-rtb",
    "RouteTableAssociation": "rtbassoc",
    "Eip": "eipalloc",
    "NatGateway": "nat",
    "SecurityGroup": "sg",
    "DefaultSecurityGroup": "sg",
    "FlowLog": "fl",
}
_EC2_ARN_TYPES = {
    "Vpc": "vpc",
    "Subnet": "subnet",
    "InternetGateway": "internet-gateway",
    "RouteTable": "route-table",
    "Eip": "elastic-ip",
    "NatGateway": "natgateway",
    "SecurityGroup": "security-group",
    "DefaultSecurityGroup": "security-group",
    "FlowLog": "vpc-flow-log",
}


def _zone_prefix(region: str) -> str:
    parts = region.split("-")
    return (
        (parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1]) if len(parts) >= 3 else region
    )


def _uuid(hex32: str) -> str:
    h = (hex32 + "0" * 32)[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _base36(hex_text: str) -> str:
    number = int(hex_text, 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


# --------------------------------------------------------------------------------------------
# Running


def _monitor_class() -> type:
    """A MockMonitor that records every registration as plain data (built lazily: pulumi is a
    heavy import that the CLI must not pay for at start-up)."""
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks: Any) -> None:
            super().__init__(mocks)
            self.recorded: dict[str, PlannedResource] = {}
            self.lock = threading.Lock()

        def _record(self, request: Any, properties: Any, custom: bool) -> None:
            urn = self.make_urn(request.parent, request.type, request.name)
            inputs = _plain(properties)
            planned = PlannedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent or None,
                inputs=inputs if isinstance(inputs, dict) else {},
                custom=custom,
                provider=getattr(request, "provider", "") or None,
                dependencies=tuple(sorted(getattr(request, "dependencies", ()) or ())),
            )
            with self.lock:
                self.recorded[urn] = planned

        def RegisterResource(self, request: Any) -> Any:
            self._record(request, request.object, bool(request.custom))
            return super().RegisterResource(request)

        def ReadResource(self, request: Any) -> Any:
            self._record(request, request.properties, True)
            return super().ReadResource(request)

    return RecordingMonitor


@contextmanager
def _program_modules(infra_dir: Path) -> Iterator[None]:
    """Import `stacks` from the repo itself, and leave `sys.modules` as it was afterwards."""

    def ours(name: str) -> bool:
        return name == PACKAGE or name.startswith(f"{PACKAGE}.")

    saved: dict[str, ModuleType] = {n: m for n, m in sys.modules.items() if ours(n)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(infra_dir))
    try:
        yield
    finally:
        sys.path.remove(str(infra_dir))
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _run_in_thread(
    infra_dir: Path,
    project: str,
    stack: str,
    config: Mapping[str, Any],
    stack_outputs: Mapping[str, Mapping[str, Any]],
) -> StackPlan:
    """One run, on a fresh thread: its own context variables, event loop and RPC workers."""
    values, secret_keys = _config_strings(config)
    # A caller may pass "false" to run the program as a real update would (tests of refusals).
    values.setdefault(OFFLINE_PLAN_CONFIG, "true")
    mocks = _Mocks(stack, values.get("aws:region", "us-east-1"), stack_outputs)
    monitor = _monitor_class()(mocks)
    logger = logging.getLogger(f"bootstrap.mockrun.{stack}")
    logger.propagate = False
    capture = _Capture()
    logger.addHandler(capture)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    worker_loops = _WorkerLoops()
    loop.set_default_executor(
        ThreadPoolExecutor(
            max_workers=_RPC_WORKERS, thread_name_prefix="mockrun-rpc", initializer=worker_loops.add
        )
    )
    # Outputs that fail after the first error are reported by that error, not again at exit.
    loop.set_exception_handler(_quiet_exceptions)
    try:
        _configure_runtime(mocks, monitor, logger, project, stack, values, secret_keys)
        with warnings.catch_warnings():
            # When a program fails, Pulumi drops coroutines of the outputs that can no longer
            # resolve; the failure is reported once, not again for each of them.
            warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
            outputs = _execute(loop, infra_dir)
    finally:
        _drop_runtime_state()
        _close(loop)
        worker_loops.close()
        logger.removeHandler(capture)
        asyncio.set_event_loop(None)

    stack_urn = monitor.make_urn("", "pulumi:pulumi:Stack", f"{project}-{stack}")
    recorded = dict(monitor.recorded)
    recorded[stack_urn] = PlannedResource(
        type="pulumi:pulumi:Stack",
        name=f"{project}-{stack}",
        urn=stack_urn,
        parent=None,
        inputs={},
        custom=False,
    )
    resources = sorted(recorded.values(), key=lambda r: r.urn)
    return StackPlan(stack=stack, resources=resources, outputs=outputs, messages=capture.messages)


def _configure_runtime(
    mocks: _Mocks,
    monitor: Any,
    logger: logging.Logger,
    project: str,
    stack: str,
    values: dict[str, str],
    secret_keys: list[str],
) -> None:
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import SETTINGS

    # Pulumi keeps its runtime settings in context variables, but a setting that a new context
    # has not set falls back to a process-wide default, which the first run's values become.
    # set_mocks sets most of them; these it leaves, so each run gets its own.
    SETTINGS.outputs = set()
    SETTINGS.lock = threading.Lock()
    SETTINGS.package_refs = {}
    SETTINGS.base_providers_by_ref = {}
    pulumi_mocks.set_mocks(
        mocks,  # type: ignore[arg-type]
        project=project,
        stack=stack,
        preview=False,  # every output resolves: no unknowns whose callbacks never run
        logger=logger,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    set_all_config(values, secret_keys)


def _execute(loop: asyncio.AbstractEventLoop, infra_dir: Path) -> dict[str, Any]:
    """Run the program's entry point, wait for every registration, resolve the exports."""
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    error: BaseException | None = None
    try:
        runpy.run_path(str(infra_dir / "__main__.py"), run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - reported after the RPCs settle
        error = exc
    try:
        loop.run_until_complete(pulumi_mocks.run_pulumi_func(lambda: None))
    except BaseException as exc:  # noqa: BLE001 - the program's own error comes first
        error = error or exc
    if error is not None:
        raise error
    return loop.run_until_complete(_resolve_outputs(getattr(root, "outputs", {})))


async def _resolve_outputs(exports: Mapping[str, Any]) -> dict[str, Any]:
    import pulumi

    outputs: dict[str, Any] = {}
    for name, value in exports.items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future(with_unknowns=True)
        secret = await output.is_secret()
        outputs[name] = MASKED if secret else _mask(resolved)
    return outputs


def _drop_runtime_state() -> None:
    """Forget the run's pending work. Pulumi's setting defaults are process-wide and keep the
    last run's RPC manager; after a failure its list still holds coroutines that never ran."""
    from pulumi.runtime.settings import SETTINGS

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
        SETTINGS.rpc_manager.clear()
        SETTINGS.outputs.clear()


def _release_frames(error: BaseException) -> None:
    """A failed program leaves coroutines that will never run, held by the frames of the error's
    traceback. Clear those frames (the traceback keeps its lines) and finalise the coroutines now,
    quietly, instead of letting the garbage collector warn about each one later, anywhere."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            traceback.clear_frames(current.__traceback__)
            current = current.__cause__ or current.__context__
        gc.collect()


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    message = str(context.get("message", ""))
    if message.endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)


class _WorkerLoops:
    """Event loops of the RPC worker threads.

    The mock monitor deserialises values on the worker threads and makes itself an event loop
    there when the thread has none; made here instead, they are closed with the run rather than
    left to the garbage collector (which reports errors closing them at random later times).
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.lock = threading.Lock()

    def add(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self.lock:
            self.loops.append(loop)

    def close(self) -> None:
        with self.lock:
            for loop in self.loops:
                loop.close()
            self.loops.clear()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def run_program(
    infra_dir: Path,
    project: str,
    stack: str,
    config: dict[str, Any] | None = None,
    *,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> StackPlan:
    """Run the program of `infra_dir` for `stack` under mocks and return what it registered."""
    infra_dir = Path(infra_dir).resolve()
    if not (infra_dir / "__main__.py").is_file() or not (infra_dir / PACKAGE).is_dir():
        raise PlanError(
            f"{infra_dir} is not a generated infra program (no __main__.py and {PACKAGE}/)",
            "run this in a repository made by `bootstrap new`",
        )
    if config is None:
        config = load_stack_config(infra_dir, project, stack)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["plan"] = _run_in_thread(infra_dir, project, stack, config, stack_outputs or {})
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            _release_frames(exc)
            outcome["error"] = exc

    with _RUN_LOCK, _program_modules(infra_dir):
        thread = threading.Thread(target=target, name=f"mockrun-{project}-{stack}", daemon=True)
        thread.start()
        thread.join()
    if "error" in outcome:
        raise _as_plan_error(outcome["error"], stack) from outcome["error"]
    plan: StackPlan = outcome["plan"]
    return plan


def _as_plan_error(error: BaseException, stack: str) -> BaseException:
    if isinstance(error, UserError):
        return error
    import pulumi

    if isinstance(error, pulumi.RunError):
        return PlanError(f"stack '{stack}': {error}", "fix the stack's config and plan again")
    if isinstance(error, Exception):
        return PlanError(
            f"the infra program failed for stack '{stack}' ({type(error).__name__}: {error})",
            "run `pulumi preview` in infra/ for the full trace",
        )
    return error


def plan_project(repo: Path, project: str, stacks: list[str]) -> list[StackPlan]:
    """Plan `stacks` of the repo's infra program, `shared` first (stage stacks read its outputs).

    `shared` always runs (its outputs feed the stages' StackReferences); it is returned only when
    asked for. Plans come back in the order asked.
    """
    infra_dir = Path(repo) / "infra"
    shared = run_program(infra_dir, project, "shared")
    references = {"shared": shared.outputs}
    plans = {"shared": shared}
    for stack in stacks:
        if stack not in plans:
            plans[stack] = run_program(infra_dir, project, stack, stack_outputs=references)
    return [plans[stack] for stack in stacks]
