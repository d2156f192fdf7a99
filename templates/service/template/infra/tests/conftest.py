"""Run this Pulumi program under Pulumi's mocks: no cloud, no Pulumi CLI, no credentials.

    pip install -r requirements.txt pytest && pytest tests     (from infra/)

`plan(stack)` runs `__main__.py` for one stack with the config the Pulumi CLI would give it
(`Pulumi.yaml`'s declared defaults, then `Pulumi.<stack>.yaml`) and records every resource the
program declares, with its inputs. The mocks answer with made-up ids and ARNs in account
123456789012 (the shared stack's), or in a stage's own `account` for that stage; they are good
enough for the program to run, not a model of AWS.
"""

from __future__ import annotations

import json
import logging
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

INFRA = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(INFRA))  # the program imports its own ./stacks

ACCOUNT = "123456789012"


def pytest_configure(config: pytest.Config) -> None:
    # pulumi-aws announces its deprecated resources when its modules load; none is used here.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")


def project_name() -> str:
    return str(yaml.safe_load((INFRA / "Pulumi.yaml").read_text())["name"])


def stack_names() -> list[str]:
    """Every stack with a settings file, `shared` first."""
    names = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in INFRA.glob("Pulumi.*.yaml"))
    return sorted(names, key=lambda name: name != "shared")


def stack_config(stack: str) -> dict[str, Any]:
    """Config as the Pulumi CLI merges it: the project's declared defaults (keys in the project's
    namespace), then the stack file."""
    project = project_name()
    declared = yaml.safe_load((INFRA / "Pulumi.yaml").read_text()).get("config") or {}
    config: dict[str, Any] = {}
    for key, declaration in declared.items():
        value = declaration.get("default") if isinstance(declaration, dict) else declaration
        if value is not None:
            config[key if ":" in key else f"{project}:{key}"] = value
    stack_file = yaml.safe_load((INFRA / f"Pulumi.{stack}.yaml").read_text()) or {}
    for key, value in (stack_file.get("config") or {}).items():
        config[key if ":" in key else f"{project}:{key}"] = value
    return config


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


@dataclass
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Plan:
    stack: str
    resources: list[Declared] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]


class Mocks(pulumi.runtime.Mocks):
    """Records every resource; answers with ids, ARNs and the few outputs the program reads."""

    def __init__(self, plan: Plan, region: str, issuer: str, account: str = ACCOUNT) -> None:
        self.plan = plan
        self.region = region
        self.issuer = issuer
        self.account = account  # whose credentials the run has

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.plan.resources.append(Declared(args.typ, args.name, dict(args.inputs)))
        name = args.inputs.get("name") or f"{args.name}-abc1234"
        service = args.typ.split(":")[1].split("/")[0]
        state = {
            **args.inputs,
            "name": name,
            "arn": f"arn:aws:{service}:{self.region}:{self.account}:{args.name}",
        }
        if args.typ in ("aws:iam/role:Role", "aws:iam/policy:Policy"):
            kind = args.typ.rsplit(":", 1)[1].lower()
            state["arn"] = f"arn:aws:iam::{self.account}:{kind}{args.inputs.get('path', '/')}{name}"
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            issuer = str(args.inputs["url"]).removeprefix("https://")
            state["arn"] = f"arn:aws:iam::{self.account}:oidc-provider/{issuer}"
        elif args.typ == "pulumi:pulumi:StackReference":  # the shared stack, in ACCOUNT
            repository = f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{project_name()}"
            state["outputs"] = {
                "repositoryUrl": repository,
                "repositoryArn": f"arn:aws:ecr:{self.region}:{ACCOUNT}:repository/{project_name()}",
                "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{self.issuer}",
            }
        elif args.typ == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{name}"
        elif args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state["dnsName"] = f"{name}.{self.region}.elb.amazonaws.com"
            state["arnSuffix"] = f"app/{name}/0123456789abcdef"
        elif args.typ == "aws:eks/cluster:Cluster":
            state["endpoint"] = "https://0123456789ABCDEF.gr7.eks.amazonaws.com"
            state["certificateAuthority"] = {"data": "LS0tLS1CRUdJTi0tLS0t"}
        elif args.typ == "aws:lambda/function:Function":
            state["version"] = "1"
        elif args.typ == "aws:lambda/functionUrl:FunctionUrl":
            state["functionUrl"] = f"https://{name}.lambda-url.{self.region}.on.aws/"
        elif args.typ == "kubernetes:networking.k8s.io/v1:Ingress":
            hostname = f"k8s-app-0123456789-1234567890.{self.region}.elb.amazonaws.com"
            state["status"] = {"loadBalancer": {"ingress": [{"hostname": hostname}]}}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda: {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/test",
                "userId": "AIDATEST",
            },
            "aws:index/getPartition:getPartition": lambda: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
            "aws:index/getRegion:getRegion": lambda: {"region": self.region, "name": self.region},
            "aws:index/getAvailabilityZones:getAvailabilityZones": lambda: {
                "names": [f"{self.region}{zone}" for zone in "abc"],
            },
            "aws:lb/getLoadBalancer:getLoadBalancer": lambda: {
                "arn": f"arn:aws:elasticloadbalancing:{self.region}:{self.account}:loadbalancer/app/k8s/0",
                "arnSuffix": "app/k8s/0",
            },
        }
        if args.token not in answers:
            raise NotImplementedError(f"no mock answer for the invoke {args.token}")
        return answers[args.token]()


class _Warnings(logging.Handler):
    """The program's `pulumi.log.warn` messages (the mock engine logs them)."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(logging.WARNING)
        self.plan = plan

    def emit(self, record: logging.LogRecord) -> None:
        self.plan.warnings.append(record.getMessage())


def run(
    stack: str, overrides: dict[str, Any] | None = None, *, preview: bool = True,
    credentials: str | None = None,
) -> Plan:  # fmt: skip
    """Run the program for `stack` under mocks; `preview=False` runs it as `pulumi up` would.
    `credentials`: the account the run's credentials are of (default: the stack's own)."""
    config = {**stack_config(stack), **(overrides or {})}
    config = {key: value for key, value in config.items() if value is not None}
    plan = Plan(stack)
    region = str(config.get("aws:region") or "us-east-1")
    issuer = str(config.get(f"{project_name()}:githubOidcIssuer"))
    account = credentials or str(config.get(f"{project_name()}:account") or ACCOUNT)
    logger = logging.getLogger(f"infra-tests.{stack}")
    logger.handlers = [_Warnings(plan)]
    logger.propagate = False
    pulumi.runtime.set_mocks(
        Mocks(plan, region, issuer, account), project=project_name(), stack=stack, preview=preview, logger=logger
    )
    pulumi.runtime.set_all_config({key: _text(value) for key, value in config.items()})

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")

    program()
    return plan


@pytest.fixture(scope="session")
def plans() -> Iterator[dict[str, Plan]]:
    """Every stack of this repository, planned once (as a preview)."""
    yield {stack: run(stack) for stack in stack_names()}
