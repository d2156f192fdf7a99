"""The mocks that stand in for AWS: deterministic, realistic physical ids and ARNs in one account,
and the answers to the invokes the program makes (caller identity, partition, region, zones,
load balancer lookup)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from bootstrap.offline.plan import PlanError
from bootstrap.spec import region_partition
from stacks import contract

ACCOUNT_ID = "123456789012"


def _partition(region: str) -> str:
    """The region's partition, from botocore's partition data (as the provider resolves it)."""
    return region_partition(region) or "aws"


class _Ids:
    """Deterministic, realistic-looking identifiers (same program + stack = same ids)."""

    def __init__(self, stack: str, region: str, account: str) -> None:
        self.stack = stack
        self.region = region
        self.account = account
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
        return contract.arn(
            self.partition,
            service,
            self.region if region else "",
            self.account if account else "",
            resource,
        )


class FakeAws:
    """The answers of the engine and providers (implements pulumi.runtime.Mocks)."""

    def __init__(
        self, stack: str, region: str, stack_outputs: Mapping[str, Mapping[str, Any]],
        account: str | None = None,
    ) -> None:  # fmt: skip
        # A stage in its own account (`<project>:account`) is planned in that account.
        self.account = account or ACCOUNT_ID
        self.ids = _Ids(stack, region, self.account)
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
                "accountId": self.account,
                "arn": f"arn:{ids.partition}:sts::{self.account}:assumed-role/bootstrap-offline/plan",
                "userId": "AROAOFFLINEPLAN000001:plan",
                "id": self.account,
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
            "plan with the Pulumi CLI (`pulumi preview`), or avoid that data source",
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
            state["ownerId"] = self.account
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
        state["registryId"] = self.account
        state["repositoryUrl"] = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{name}"
        return name

    def _aws_ecr_lifecyclepolicy(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["registryId"] = self.account
        return str(state.get("repository", name))

    def _aws_ecr_repositorypolicy(self, typ: str, logical: str, name: str, state: dict) -> str:
        state["registryId"] = self.account
        return str(state.get("repository", name))

    def _aws_ecr_registryscanningconfiguration(
        self, typ: str, logical: str, name: str, state: dict
    ) -> str:
        state["registryId"] = self.account
        return self.account

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

    def _aws_budgets_budget(self, typ: str, logical: str, name: str, state: dict) -> str:
        # AWS Budgets is global: no region in the ARN; the provider's id is ACCOUNT:NAME.
        state["arn"] = self.ids.arn("budgets", f"budget/{name}", region=False)
        state["accountId"] = self.account
        return f"{self.account}:{name}"

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

    def _aws_lb_listenerrule(self, typ: str, logical: str, name: str, state: dict) -> str:
        state.pop("name", None)
        listener = str(state.get("listenerArn") or "")
        path = listener.split(":listener/", 1)[-1] if ":listener/" in listener else "app/lb/0/0"
        state["arn"] = self.ids.arn(
            "elasticloadbalancing",
            f"listener-rule/{path}/{self.ids.hex('rule', logical, length=16)}",
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
            f"access-entry/{cluster}/role/{self.account}/{self.ids.hex('ae', logical, length=36)}",
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
