"""Fixtures of the status/promote/rollback tests.

- stack outputs: `ReleaseOps`, a RecordingOps (tests/fakes/stack_ops.py) whose stage stacks keep
  the URLs the test gives and export `previousImage` the way the stage program is asked to (the
  image it ran before);
- GitHub: `StatusGitHub` (tests/bootstrap/status/fake_additions.py) with user `octo` in organisation
  `acme`, which owns `acme/shop`;
- ECR: moto in-process, with the repository `shop` and images pushed by git SHA, read and
  tagged through the one adapter (stacks/ecr.py);
- a generated repo reduced to what the commands read (`.copier-answers.yml`, `infra/`, state dir).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bootstrap import automation
from bootstrap.automation import OpResult
from bootstrap.aws import repository
from bootstrap.backend import LOCAL_STATE_DIR
from bootstrap.cli import app
from bootstrap.github.client import GitHubClient, RetryPolicy
from bootstrap.spec import Spec
from bootstrap.status import GitHubView, Health, Sources
from stacks.ecr import Repository
from tests.bootstrap.status.fake_additions import StatusGitHub
from tests.conftest import make_spec
from tests.fakes.stack_ops import RecordingOps

ACCOUNT = "123456789012"  # moto's default account, and RecordingOps'
REGION = "eu-west-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop"
NOW = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64 if n < 16 else "sha256:" + f"{n:02x}" * 32


def sha(n: int) -> str:
    return f"{n:x}" * 40 if n < 16 else f"{n:02x}" * 20


def image(n: int) -> str:
    return f"{REGISTRY}@{digest(n)}"


class ReleaseOps(RecordingOps):
    """RecordingOps with fixed stage URLs and the requested `previousImage` output."""

    def __init__(self, spec: Spec, urls: Mapping[str, str] | None = None) -> None:
        super().__init__(spec)
        self.urls = dict(urls or {})
        self.ups: list[tuple[str, dict[str, str]]] = []

    def _fix(self, stack: str) -> None:
        outputs = self.stacks[stack].outputs
        if stack in self.urls and outputs:
            outputs["url"] = self.urls[stack]

    def run(self, stage: str, n: int, *, previous: int | None = None) -> ReleaseOps:
        """Set up: `stage` runs image n (and ran `previous` before)."""
        self.deploy(stage, image=image(n))
        self.stacks[stage].config = {"shop:image": image(n)}
        if previous is not None:
            self.stacks[stage].outputs["previousImage"] = image(previous)
        self._fix(stage)
        return self

    def up(
        self,
        stack: str,
        *,
        config: Mapping[str, str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> OpResult:
        before = self.stacks[stack].outputs.get("image") if stack in self.stacks else None
        self.ups.append((stack, dict(config or {})))
        result = super().up(stack, config=config, targets=targets)
        outputs = self.stacks[stack].outputs
        if before and before != outputs.get("image"):
            outputs["previousImage"] = before
        self._fix(stack)
        result.outputs = dict(outputs)
        return result


@pytest.fixture
def spec() -> Spec:
    return make_spec(region=REGION)


@pytest.fixture
def ops(spec: Spec) -> ReleaseOps:
    return ReleaseOps(spec).deploy("shared")  # type: ignore[return-value]


# --- AWS ------------------------------------------------------------------------------------------


class Ecr:
    """The moto registry `shop`, with images pushed like the build pushes them."""

    def __init__(self) -> None:
        import boto3

        self.client = boto3.client("ecr", region_name=REGION)
        self.client.create_repository(repositoryName="shop", imageTagMutability="IMMUTABLE")

    def push(self, n: int, *, tag: str | None = None) -> str:
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": f"sha256:{n:064x}", "size": 1, "mediaType": "x"},
            "layers": [{"digest": f"sha256:{n + 1000:064x}", "size": 1, "mediaType": "y"}],
        }
        self.client.put_image(
            repositoryName="shop",
            imageManifest=json.dumps(manifest),
            imageTag=tag or sha(n),
            imageDigest=digest(n),
        )
        return digest(n)

    def mark(self, n: int, stage: str) -> str:
        """Tag image n deployed to `stage`, the way a deploy does; the tag."""
        return self.registry().tag_deployed(stage, digest(n), sha(n))[0]

    def tags(self, n: int) -> list[str]:
        found = self.client.describe_images(
            repositoryName="shop", imageIds=[{"imageDigest": digest(n)}]
        )["imageDetails"]
        return sorted(found[0].get("imageTags", []))

    def registry(self, name: str = "shop") -> Repository:
        return repository(self.client, name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def ecr(aws: None) -> Ecr:
    return Ecr()


def stage_alarms(stage: str, state: str = "OK", *, session: Any = None) -> None:
    """The stage's alarms (the names its stack gives them) in moto's CloudWatch, in `state`;
    in the account of `session` (default: moto's default account)."""
    import boto3

    from stacks.contract import stage_alarm_names

    cloudwatch = (session or boto3).client("cloudwatch", region_name=REGION)
    for name in stage_alarm_names("shop", stage):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="5XXError", Namespace="AWS/ApplicationELB",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


# --- GitHub ---------------------------------------------------------------------------------------


@dataclass
class GitHub:
    server: StatusGitHub
    token: str
    repo: str = "acme/shop"

    def view(self) -> GitHubView:
        client = GitHubClient(
            self.token,
            self.server.api_url,
            retry=RetryPolicy(sleep=lambda _: None, clock=lambda: 1_000_000.0),
            throttle=False,
        )
        return GitHubView(client, self.repo)

    def deployed(self, stage: str, n: int, *, at: str, ok: bool = True, **kw: Any) -> None:
        """A deploy-stage job of build.yml (a push) deploying image n to `stage`."""
        states = ("queued", "in_progress", "success" if ok else "failure")
        self.server.seed_deployment(
            self.repo, environment=stage, sha=sha(n), states=states, at=at, **kw
        )

    def records(self) -> Any:
        """The deployment records (stacks/records.py) on the stdlib transport the workflows use."""
        from stacks.github_api import UrllibTransport
        from stacks.records import Records

        return Records(UrllibTransport(self.token, self.server.api_url), self.repo)

    def recorded(self, stage: str, n: int, *verdicts: str, git_sha: str | None = None) -> int:
        """A deploy of image n to `stage` as deploy-stage.yml records it, with these verdicts
        (default: deployed, smoke and acceptance passed)."""
        records = self.records()
        record = records.start(stage, digest(n), git_sha or sha(n))
        for verdict in verdicts or ("deployed", "smoke-passed", "acceptance-passed"):
            records.add(record.id, verdict, f"{verdict} summary")
        return record.id

    def promoted(self, stage: str, n: int, *, at: str, head: int, ok: bool = True) -> None:
        """A promote.yml run (dispatched on main at commit `head`) deploying image n."""
        run = self.server.add_workflow_run(
            self.repo,
            name="promote",
            display_title=f"promote {stage} {digest(n)}",
            event="workflow_dispatch",
            head_sha=sha(head),
        )
        states = ("queued", "in_progress", "success" if ok else "failure")
        self.server.seed_deployment(
            self.repo, environment=stage, sha=sha(head), states=states, at=at, run_id=run["id"]
        )


@pytest.fixture
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHub]:
    server = StatusGitHub(tmp_path_factory.mktemp("github"))
    server.start()
    try:
        token = server.add_user("octo", plan="pro")
        server.add_org("acme", members=("octo",), plan="enterprise")
        server.add_repo("acme", "shop")
        yield GitHub(server, token)
    finally:
        server.stop()


# --- sources and health ---------------------------------------------------------------------------


def fixed_health(results: Mapping[str, tuple[int | None, str | None]]) -> Callable[..., Any]:
    """A health check answering from a table: stage -> (HTTP status or None, release digest)."""

    def check(urls: dict[str, str]) -> dict[str, Health]:
        found = {}
        for stage, url in urls.items():
            status, release = results.get(stage, (200, None))
            target = url.rstrip("/") + "/health"
            if status is None:
                found[stage] = Health(target, False, None, "connection refused")
            else:
                ok = 200 <= status < 300
                found[stage] = Health(
                    target, ok, status, str(status) if ok else f"HTTP {status}", release
                )
        return found

    return check


def sources(
    ops: RecordingOps | None,
    *,
    github: GitHub | None = None,
    ecr: Ecr | None = None,
    health: Callable[..., Any] | None = None,
) -> Sources:
    return Sources(
        ops=ops,
        github=github.view() if github else None,
        registry=ecr.registry if ecr else None,
        registry_name="shop",
        health=health or fixed_health({}),
        now=lambda: NOW,
    )


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, spec: Spec, generated_repos: dict[str, Path]) -> Path:
    """What the commands read of a generated repo: its answers (the spec's, without a template
    version), the stack files of infra/ (from the session's ecs render, made from the same spec)
    and the state directory."""
    rendered = generated_repos["ecs"]
    assert Spec.from_answers(yaml.safe_load((rendered / ".copier-answers.yml").read_text())) == spec
    root = tmp_path / "shop"
    (root / "infra").mkdir(parents=True)
    (root / LOCAL_STATE_DIR).mkdir()
    (root / ".copier-answers.yml").write_text(yaml.safe_dump(spec.to_answers()))
    for stack_file in (rendered / "infra").glob("Pulumi*.yaml"):
        shutil.copy2(stack_file, root / "infra")
    return root


class Cli:
    def __init__(self, repo: Path, ops: RecordingOps) -> None:
        self.repo = repo
        self.ops = ops
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(app, [*args, "--repo", str(self.repo)], input=input)


@pytest.fixture
def cli(repo: Path, ops: ReleaseOps) -> Iterator[Cli]:
    def factory(*_: Any) -> automation.StackOps:
        return ops

    with automation.use_ops(factory):
        yield Cli(repo, ops)


def error_line(result: Any) -> str:
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- a service answering /health ------------------------------------------------------------------


class Service:
    """A local HTTP server with a few stages' /health: path prefix -> (status, body, delay)."""

    def __init__(self) -> None:
        import http.server
        import threading

        routes: dict[str, tuple[int, bytes, float]] = {}
        self.routes = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                import time

                status, body, delay = routes.get(self.path, (404, b"not found", 0.0))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stage(self, name: str, status: int = 200, *, release: str | None = None,
              delay: float = 0.0) -> str:  # fmt: skip
        body = json.dumps({"status": "ok" if status < 300 else "broken", "stage": name,
                           "release": release or ""}).encode()  # fmt: skip
        self.routes[f"/{name}/health"] = (status, body, delay)
        return f"{self.base}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service() -> Iterator[Service]:
    svc = Service()
    try:
        yield svc
    finally:
        svc.stop()


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused at once)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
