"""Fixtures for the GitHub provisioning tests: the local GitHub (`github_server`, from
tests/fakes/github_server.py), rendered projects copied per test, and a one-call `sync`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bootstrap.github.client import RetryPolicy
from bootstrap.github.connect import connect
from bootstrap.github.provision import Options, ProvisionResult, Values, provision
from bootstrap.github.token import check
from bootstrap.repo import load_spec
from bootstrap.scaffold import Scaffolder
from tests.conftest import make_spec
from tests.fakes.github_server import FakeGitHub, github_server, issued_prefix

__all__ = ["github_server"]

PASSPHRASE = "correct horse battery staple"
ACCOUNT = "123456789012"
OUTPUTS: dict[str, dict[str, Any]] = {
    "shared": {
        "ciRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-ci",
        "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-preview",
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/shop",
    },
    **{
        stage: {
            "deployRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-{stage}-deploy",
            "region": "eu-west-1",
            # every stage but the last: the next stage's deploy job reads its alarms through it
            **({"alarmReaderRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-{stage}-alarms-read"}
               if stage != "prod" else {}),
        }
        for stage in ("dev", "test", "prod")
    },
}
VALUES = Values(
    outputs=OUTPUTS,
    backend_url="s3://shop-state-123456789012",
    secrets={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
)
# A fresh 3-stage run (prod manual): repository, topics, 3 environments, 3 branch policies,
# 5 repository variables, 11 environment variables (3 per stage, and the alarm reader of the stage
# before for each later one), 1 secret, branch protection: 8 + 6 x stages (docs/github.md and
# docs/provision.md quote it; tests/test_docs.py keeps them true).
FRESH_WRITES = 26

_RENDERS: dict[tuple[tuple[str, Any], ...], Path] = {}


def render(parent: Path, *, prefix: str | None = None, **overrides: Any) -> Path:
    """A generated repo as `new` makes it; `prefix`: GitHub's subject prefix, as `new` renders it
    when GitHub is there (None: an offline scaffold, which records none)."""
    spec = make_spec(**overrides).model_copy(update={"github_subject_prefix": prefix})
    return Scaffolder(spec, parent / spec.name).run().path


@pytest.fixture
def project(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """A private copy of a rendered repo (rendered once per worker and spec). `known=True`
    renders it with the subject prefix the local GitHub will issue for its first repository of
    that name (as `bootstrap new` does when GitHub is there), or with `prefix`; otherwise it
    records none."""

    def make(*, known: bool = True, prefix: str | None = None, **overrides: Any) -> Path:
        owner = overrides.get("owner", "acme")
        if prefix is None and known and owner:
            prefix = issued_prefix(str(owner), "shop")
        key = (*sorted(overrides.items()), ("prefix", prefix))
        if key not in _RENDERS:
            _RENDERS[key] = render(tmp_path_factory.mktemp("render"), prefix=prefix, **overrides)
        dest = tmp_path / f"copy{len(list(tmp_path.glob('copy*')))}" / "shop"
        shutil.copytree(_RENDERS[key], dest, symlinks=True)
        return dest

    return make


@dataclass
class World:
    """The local GitHub with user `octo` (token) and organisation `acme` (octo is a member)."""

    server: FakeGitHub
    token: str
    sleeps: list[float] = field(default_factory=list)

    def sync(
        self,
        repo: Path,
        *,
        token: str | None = None,
        values: Values = VALUES,
        retry: RetryPolicy | None = None,
        notices: list[str] | None = None,
        **options: Any,
    ) -> ProvisionResult:
        token = token or self.token
        policy = retry or RetryPolicy(sleep=self.sleeps.append, clock=lambda: 1_000_000.0)
        client = connect(self.server.api_url, token=token, retry=policy)
        identity = check(client, public=bool(options.get("public")))
        return provision(
            load_spec(repo),
            repo,
            client=client,
            identity=identity,
            token=token,
            options=Options(**options),
            values=values,
            notify=None if notices is None else notices.append,
        )


@pytest.fixture
def world(github_server: FakeGitHub) -> World:
    token = github_server.add_user("octo", plan="pro")
    github_server.add_user("hubot")
    github_server.add_org("acme", members=("octo",), plan="enterprise", teams=("ops",))
    return World(github_server, token)


def facts(repo: Path) -> dict[str, object]:
    """The project's facts as the stacks read them (infra/Pulumi.yaml's config defaults)."""
    config = yaml.safe_load((repo / "infra/Pulumi.yaml").read_text())["config"]
    return {key: value.get("default") for key, value in config.items()}
