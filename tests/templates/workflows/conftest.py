"""Rendered repos for the workflow tests: 1, 3 and 5 stages with different manual sets, both
trust subjects, on github.com (targets ecs and eks) and on GitHub Enterprise Server (target
lambda), and one on GitHub Enterprise Cloud with data residency (ghe.com): 19 repos. The
workflows do not depend on the target, so the third target's cases are the GHES ones. They are rendered once per test run and shared by the xdist workers through a
directory keyed by the template's content, under a file lock."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from bootstrap import spec as spec_mod
from bootstrap.scaffold import Scaffolder
from bootstrap.template import content_digest, template_files
from stacks import contract
from tests.conftest import make_spec

STAGE_SETS: dict[int, tuple[str, list[str | None]]] = {
    # stage list, then the manual sets the targets take in turn (None: the default, last stage)
    1: ("live", [None, "", None]),
    3: ("dev,test,prod", [None, "test,prod", ""]),
    5: (
        "dev,qa-eu,staging,pre-prod,prod",
        ["qa-eu,prod", "dev", "dev,qa-eu,staging,pre-prod,prod"],
    ),
}
TARGETS = ("ecs", "eks", "lambda")
BACKENDS = {"ecs": "s3://acme-pulumi-state", "eks": None, "lambda": "https://api.pulumi.com"}
GHES_TARGET = "lambda"  # its cases live on GitHub Enterprise Server
GHES_ISSUER = contract.oidc_issuer_host("https://ghes.example.com/api/v3")
GHE_COM_ISSUER = contract.oidc_issuer_host("https://api.acme.ghe.com")


@dataclass(frozen=True)
class Case:
    name: str
    target: str
    stages: str
    manual: str | None
    trust_subject: str
    backend: str | None
    issuer: str = contract.GITHUB_OIDC_HOST

    @property
    def id(self) -> str:
        return self.name

    @property
    def ghes(self) -> bool:
        return contract.is_enterprise_server(self.issuer)

    def options(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "issuer"}

    def spec(self) -> spec_mod.Spec:
        return make_spec(**self.options()).model_copy(update={"github_oidc_issuer": self.issuer})


def _cases() -> list[Case]:
    cases = []
    for index, target in enumerate(TARGETS):
        for count, (stages, manual_sets) in STAGE_SETS.items():
            for trust in ("environment", "branch"):
                ghes = target == GHES_TARGET
                cases.append(
                    Case(
                        name=f"{'ghes' if ghes else target}{count}{trust[0]}",
                        target=target,
                        stages=stages,
                        manual=manual_sets[index],
                        trust_subject=trust,
                        backend=BACKENDS[target],
                        issuer=GHES_ISSUER if ghes else contract.GITHUB_OIDC_HOST,
                    )
                )
    # GitHub Enterprise Cloud with data residency: GitHub-hosted runners, its own issuer, `./`
    cases.append(
        Case("ghecom3e", "eks", "dev,test,prod", None, "environment", None, GHE_COM_ISSUER)
    )
    return cases


CASES = _cases()


def _renders_key() -> str:
    digest = hashlib.sha256(content_digest(list(template_files())).encode())
    digest.update(json.dumps([asdict(c) for c in CASES]).encode())
    return digest.hexdigest()[:16]


def _remove_stale(root: Path) -> None:
    """Renders of older template versions (an hour unused) go, so they do not pile up."""
    for other in root.parent.glob("workflow-renders-*"):
        if other != root and other.is_dir() and time.time() - other.stat().st_mtime > 3600:
            shutil.rmtree(other, ignore_errors=True)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory, template_cache: Path) -> dict[str, Path]:
    """Case name -> rendered repo. Each case is rendered once under its own lock; the xdist
    workers walk the cases from opposite ends, so two workers render about half each."""
    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(template_cache))
    root = tmp_path_factory.getbasetemp().parent / f"workflow-renders-{_renders_key()}"
    if not root.is_dir():
        _remove_stale(root)
        root.mkdir(parents=True, exist_ok=True)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    for case in CASES if worker % 2 == 0 else reversed(CASES):
        done = root / f"{case.name}.done"
        with (root / f"{case.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.is_file():
                shutil.rmtree(root / case.name, ignore_errors=True)
                Scaffolder(case.spec(), root / case.name).run()
                done.write_text("ok\n")
    return {case.name: root / case.name for case in CASES}
