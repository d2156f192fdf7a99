"""Fixtures of the end-to-end tests: moto (S3, STS, IAM, ECR) in-process, the local GitHub with its
real git endpoint, and the Automation API behind a recording seam that leaves in AWS and in the
repository what a real `pulumi up` leaves there."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from typer.testing import CliRunner

from bootstrap import automation
from bootstrap import aws as aws_mod
from bootstrap import backend as backend_mod
from bootstrap.automation import OpResult
from bootstrap.backend import Backend
from bootstrap.cli import app
from bootstrap.repo import load_spec
from bootstrap.scaffold import Scaffolder
from bootstrap.spec import Spec
from stacks import contract
from tests.bootstrap.github.conftest import FRESH_WRITES
from tests.conftest import git, make_spec
from tests.fakes.github_server import FakeGitHub, github_server
from tests.fakes.stack_ops import RecordedStack, RecordingOps

__all__ = ["github_server"]

ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"
BUCKET = f"shop-pulumi-state-{ACCOUNT}"
PASSPHRASE = "correct horse battery staple"
STAGES = ("dev", "test", "prod")
# One full run of a 3-stage project (prod manual), measured by the tests (docs/provision.md):
GITHUB_WRITES = FRESH_WRITES  # GitHub's part is `github sync`'s (docs/github.md)
S3_WRITES = 7  # create, tags, ownership, versioning, encryption, public access block, policy
PULUMI_UPS = 1 + len(STAGES)  # shared, then one targeted up per stage's deploy role
RENAME_UPS = 1 + len(STAGES)  # after a rename: shared's roles, then each deploy role
ARCHIVE_WRITES = len(STAGES) + 1  # destroy --all --github: each environment, then the archive
READS = ("Get", "List", "Head", "Describe")

runner = CliRunner()
_RENDERED: dict[str, Path] = {}


@pytest.fixture
def fast_scaffold(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Copier renders each spec once per worker; later scaffolds copy that render (the commit,
    the move into place and everything after are the real ones). test_flow renders for real."""
    real = Scaffolder._render

    def render(self: Scaffolder, template: Any, staging: Path) -> None:
        key = json.dumps(self.spec.to_answers(), sort_keys=True)
        if key not in _RENDERED:
            cache = tmp_path_factory.mktemp("rendered")
            real(self, template, cache)
            _RENDERED[key] = cache
        shutil.copytree(_RENDERED[key], staging, symlinks=True, dirs_exist_ok=True)

    monkeypatch.setattr(Scaffolder, "_render", render)


@dataclass
class AwsCalls:
    """Every call bootstrap makes through its boto3 sessions (botocore events, independent of
    the tool's own count): `writes` are the successful non-read calls."""

    calls: list[tuple[str, int]] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # operation -> times to fail

    @property
    def writes(self) -> list[str]:
        return [name for name, status in self.calls if status < 300 and not name.startswith(READS)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCalls]:
    """moto in-process, with credentials only moto accepts; bootstrap's sessions are watched."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    record = AwsCalls()
    real = aws_mod.aws_session

    def watched(region: str | None = None, profile: str | None = None) -> Any:
        session = real(region, profile)
        if profile is not None:  # another account's: the runner's own count watches those
            return session

        def before(model: Any = None, **_: Any) -> None:
            if record.fail_next.get(model.name):
                record.fail_next[model.name] -= 1
                import botocore.exceptions as bx

                raise bx.EndpointConnectionError(endpoint_url=f"https://{model.name}.invalid")

        def after(model: Any = None, http_response: Any = None, **_: Any) -> None:
            record.calls.append((model.name, int(getattr(http_response, "status_code", 0))))

        session.events.register("before-call", before)
        session.events.register("after-call", after)
        return session

    for module in (aws_mod, backend_mod):  # where the session is made, and a user of it
        monkeypatch.setattr(module, "aws_session", watched)
    with mock_aws():
        yield record


class CloudOps(RecordingOps):
    """`RecordingOps` plus what a real `pulumi up` leaves behind:

    - shared: the GitHub OIDC provider in IAM (unless `oidcProviderArn` names one to reuse: a
      second provider for the same URL would fail, as in AWS) and the CI role;
    - a stage (a targeted up of its deploy role): the role in IAM under
      `/bootstrap-deploy/<project>/`, trusting the subject of the repository's current answers;
      the stack then holds only those resources and outputs (no URL before the first deploy);
    - each stack acts in the account of the credentials its run is given (`use_env`, the
      stack's profile), else the ambient one; a stage in another account than the shared
      stack's gets that account's OIDC provider (reused when its config names it, else made);
    - like the passphrase secrets provider and `pulumi config set`, `infra/Pulumi.<stack>.yaml`
      gets its `encryptionsalt` and the config given.
    """

    def __init__(self, spec: Spec) -> None:
        super().__init__(spec, account=ACCOUNT)
        self.repo: Path | None = None
        self.ups: list[tuple[str, dict[str, str], list[str]]] = []  # successful ups
        self.provider: str | None = None
        self.issuer = contract.GITHUB_OIDC_HOST

    def up(
        self,
        stack: str,
        *,
        config: Mapping[str, str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> OpResult:
        result = super().up(stack, config=config, targets=targets)  # may fail (injected)
        assert self.repo is not None
        spec = load_spec(self.repo)
        iam = self.client("iam", stack)
        state = self.stacks[stack]
        # as the program: a real update refuses a trust GitHub has not told yet
        assert spec.github_subject_prefix, "a real update needs GitHub's subject prefix"
        self.issuer = spec.github_oidc_issuer
        if stack == "shared":
            reused = state.config.get(f"{spec.name}:oidcProviderArn")
            if not reused and self.provider is None:
                made = iam.create_open_id_connect_provider(
                    Url=contract.oidc_provider_url(spec.github_oidc_issuer),
                    ClientIDList=[contract.GITHUB_OIDC_AUDIENCE],
                    ThumbprintList=["0" * 40],
                )
                self.provider = made["OpenIDConnectProviderArn"]
            provider = str(reused or self.provider)
            prefix = spec.github_subject_prefix
            ci = self._role(iam, contract.ci_role_name(spec.name), contract.CI_ROLE_PATH, provider,
                            contract.subject(prefix, "branch"))  # fmt: skip
            preview = self._role(iam, contract.preview_role_name(spec.name), contract.CI_ROLE_PATH,
                                 provider, contract.subject(prefix, "pull_request"))  # fmt: skip
            state.outputs["oidcProviderArn"] = provider
            state.outputs["previewRoleArn"] = preview
            state.outputs["ciRoleArn"] = ci
        else:
            network = spec.stage(stack).target.value != "lambda"
            assert list(targets or []) == contract.foundation_urns(spec.name, stack, network=network)
            provider = self._stage_provider(iam, stack, state.config)
            arn = self._role(
                iam, contract.deploy_role_name(spec.name, stack),
                contract.deploy_role_path(spec.name), provider, _subject(spec, stack),
            )  # fmt: skip
            outputs = {"deployRoleArn": arn, "stage": stack, "region": self._region(stack)}
            if stack != spec.stage_names[-1]:  # the next stage reads its alarms through it
                reader = contract.alarm_reader_role_name(spec.name, stack)
                outputs[contract.ALARM_READER_OUTPUT] = f"{arn.rsplit('/', 1)[0]}/{reader}"
            self.stacks[stack] = RecordedStack(6, outputs, state.config)
        self._write_settings(stack, config or {})
        self.ups.append((stack, dict(config or {}), list(targets or [])))
        return OpResult(stack, "up", result.changes, outputs=dict(self.stacks[stack].outputs))

    def client(self, service: str, stack: str) -> Any:
        """A boto3 client acting as the stack's Pulumi run would: with the credentials of its
        environment (`use_env`), else the ambient ones."""
        env = dict(self.env_for(stack)) if self.env_for is not None else {}
        if not env.get("AWS_ACCESS_KEY_ID"):
            return boto3.client(service, region_name=REGION)
        return boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def _stage_provider(self, iam: Any, stack: str, config: Mapping[str, str]) -> str:
        """The shared stack's provider in its account; in another account, the one the stage's
        config names, else a new one (a second one for the URL fails, as in AWS)."""
        shared = str(self.stacks["shared"].outputs["oidcProviderArn"])
        account = self.client("sts", stack).get_caller_identity()["Account"]
        if shared.split(":")[4] == account:
            return shared
        named = config.get(f"{self.spec.name}:oidcProviderArn")
        if named:
            return named
        made = iam.create_open_id_connect_provider(
            Url=contract.oidc_provider_url(self.issuer),
            ClientIDList=[contract.GITHUB_OIDC_AUDIENCE],
            ThumbprintList=["0" * 40],
        )
        return str(made["OpenIDConnectProviderArn"])

    def _region(self, stack: str) -> str:
        """The stack's region as its file sets it (the program exports it)."""
        assert self.repo is not None
        file = self.repo / "infra" / f"Pulumi.{stack}.yaml"
        config = yaml.safe_load(file.read_text()).get("config") or {}
        return str(config.get("aws:region") or REGION)

    def _role(self, iam: Any, name: str, path: str, provider: str, subject: str) -> str:
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{self.issuer}:aud": contract.GITHUB_OIDC_AUDIENCE,
                                f"{self.issuer}:sub": subject,
                            }
                        },
                    }
                ],
            }
        )
        try:
            role = iam.get_role(RoleName=name)["Role"]
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust)["Role"]
        return str(role["Arn"])

    def _write_settings(self, stack: str, config: Mapping[str, str]) -> None:
        """Like the CLI: the config keys set under `config:` (the file's last section), the
        passphrase provider's salt added at the end; nothing else of the file changes."""
        assert self.repo is not None
        file = self.repo / "infra" / f"Pulumi.{stack}.yaml"
        lines = file.read_text().splitlines()
        salt = next((i for i, line in enumerate(lines) if line.startswith("encryptionsalt:")), None)
        current = yaml.safe_load("\n".join(lines)).get("config") or {}
        added = [f"  {key}: {value}" for key, value in config.items() if current.get(key) != value]
        at = len(lines) if salt is None else salt
        lines[at:at] = added
        if salt is None:
            lines.append(f"encryptionsalt: v1:{stack}salt==:v1:fakefakefake==")
        file.write_text("\n".join(lines) + "\n")


def _subject(spec: Spec, stage: str) -> str:
    """What the program's deploy role trusts: the stage's environment, or main."""
    prefix = spec.github_subject_prefix or ""
    if spec.trust_subject == "environment":
        return contract.subject(prefix, "environment", stage)
    return contract.subject(prefix, "branch")


@pytest.fixture
def cloud() -> Iterator[CloudOps]:
    """The seam every command of the test uses (one state, as if kept in the backend)."""
    ops = CloudOps(make_spec(region=REGION))

    def factory(repo: Path, spec: Spec, backend: Backend) -> CloudOps:
        ops.repo, ops.spec = repo, spec
        return ops

    with automation.use_ops(factory):
        yield ops


@dataclass
class World:
    server: FakeGitHub
    token: str
    tmp: Path

    @property
    def repo(self) -> Path:
        return self.tmp / "shop"

    @property
    def api_writes(self) -> list[Any]:
        """GitHub API writes that succeeded (failed attempts are logged too)."""
        return [r for r in self.server.writes if r.status < 400]


@pytest.fixture
def world(github_server: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """User `octo` (the token) in organisation `acme` (enterprise plan), in the environment."""
    token = github_server.add_user("octo", plan="pro")
    github_server.add_org("acme", members=("octo",), plan="enterprise")
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    return World(github_server, token, tmp_path)


def new(world: World, *args: str) -> Any:
    return runner.invoke(
        app,
        ["new", "shop", "--owner", "acme", "--region", REGION, "--dir", str(world.tmp), *args],
    )


def provision(world: World, *args: str) -> Any:
    return runner.invoke(app, ["provision", "--repo", str(world.repo), *args])


def summary_of(result: Any) -> dict[str, Any]:
    return dict(json.loads(result.stdout))


def interrupt_after(step: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == step:
            raise KeyboardInterrupt

    return hook


def assert_converged(world: World, cloud: CloudOps) -> None:
    """The end state of a full run, whatever the path to it."""
    from bootstrap.backend import audit_bucket

    repo = world.repo
    # the state bucket: made safe, tagged as ours
    s3 = boto3.client("s3", region_name=REGION)
    assert audit_bucket(s3, BUCKET) == []
    assert {"Key": "managed-by", "Value": "bootstrap"} in s3.get_bucket_tagging(Bucket=BUCKET)[
        "TagSet"
    ]
    # IAM: one provider, the CI role and the deploy roles, trusting each environment
    iam = boto3.client("iam", region_name=REGION)
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    assert {"shop-ci", *(f"shop-{s}-deploy" for s in STAGES)} <= set(roles)
    # the stacks
    assert cloud.outputs("shared")["ciRoleArn"] == roles["shop-ci"]["Arn"]
    # GitHub: everything the workflows read, from the stacks' outputs
    gh = world.server.repo("acme/shop")
    assert list(gh.environments) == list(STAGES)
    for stage in STAGES:
        variables = {k: v["value"] for k, v in gh.environments[stage].variables.items()}
        assert variables["AWS_DEPLOY_ROLE_ARN"] == roles[f"shop-{stage}-deploy"]["Arn"]
        assert variables["PULUMI_STACK"] == stage
    repo_vars = {k: v["value"] for k, v in gh.variables.items()}
    assert repo_vars["PULUMI_BACKEND_URL"] == f"s3://{BUCKET}"
    assert repo_vars["AWS_CI_ROLE_ARN"] == roles["shop-ci"]["Arn"]
    assert world.server.decrypt_secret("acme/shop", "PULUMI_CONFIG_PASSPHRASE") == PASSPHRASE
    # main on GitHub is the local main, clean, and carries the stacks' encryption salts
    assert world.server.head("acme/shop") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "status", "--porcelain") == ""
    bare = world.server.bare_path("acme/shop")
    for stack in ("shared", *STAGES):
        settings = yaml.safe_load(git(bare, "show", f"main:infra/Pulumi.{stack}.yaml"))
        assert settings["encryptionsalt"].startswith("v1:")
    answers = yaml.safe_load(git(bare, "show", "main:.copier-answers.yml"))
    assert answers["backend"] == f"s3://{BUCKET}" and answers["owner"] == "acme"
