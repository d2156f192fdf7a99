"""The checks behind `bootstrap doctor`, also run first by `bootstrap new` before it writes.

Each check says what it found and, when something is missing or broken, the exact fix:
- pulumi: the CLI on PATH and its version;
- aws: the identity of the AWS credentials (STS GetCallerIdentity);
- github: a token (GITHUB_TOKEN or GH_TOKEN), its user and scopes (GET /user on GITHUB_API_URL);
- docker: the client on PATH and whether its daemon answers.
The checks run in parallel, each with a timeout, so doctor takes as long as the slowest one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bootstrap.errors import UserError

Status = Literal["ok", "warn", "missing", "error"]
CHECKS = ("pulumi", "aws", "github", "docker")
GITHUB_API = "https://api.github.com"
GITHUB_SCOPES = ("repo", "workflow")
PULUMI_INSTALL = "curl -fsSL https://get.pulumi.com | sh"


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "warn")


@dataclass
class DoctorReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def get(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [{**asdict(c), "ok": c.ok} for c in self.checks],
        }


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def check_pulumi(timeout: float = 20.0) -> Check:
    path = shutil.which("pulumi")
    if not path:
        return Check(
            "pulumi",
            "missing",
            "the Pulumi CLI is not on PATH (needed for real previews and deploys)",
            f"install it: {PULUMI_INSTALL} (then open a new shell); "
            "`bootstrap preview --offline` works without it",
        )
    try:
        result = _run([path, "version"], timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(
            "pulumi", "error", f"{path} does not run ({exc})", f"reinstall it: {PULUMI_INSTALL}"
        )
    version = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    if result.returncode != 0 or not version:
        return Check(
            "pulumi",
            "error",
            f"`pulumi version` failed: {(result.stderr or result.stdout).strip()[:200]}",
            f"reinstall it: {PULUMI_INSTALL}",
        )
    return Check("pulumi", "ok", f"Pulumi CLI {version}", data={"version": version, "path": path})


def check_aws(region: str | None = None) -> Check:
    from bootstrap.backend import caller_identity
    from bootstrap.errors import CredentialsError

    try:
        identity = caller_identity(region=region or os.environ.get("AWS_REGION") or "us-east-1")
    except CredentialsError as exc:
        status: Status = "missing" if "no AWS credentials" in exc.problem else "error"
        return Check("aws", status, exc.problem, exc.fix)
    except UserError as exc:
        return Check("aws", "error", exc.problem, exc.fix)
    return Check(
        "aws",
        "ok",
        f"account {identity.account} as {identity.arn}",
        data={"account": identity.account, "arn": identity.arn},
    )


_AWS_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def aws_credentials_hinted() -> bool:
    """Whether anything on this machine could hold AWS credentials (variables or the shared
    files), without importing boto3: `new` with no credentials at all stays light. Instance
    roles (EC2 metadata) are not looked for here; `bootstrap provision` finds them."""
    from pathlib import Path

    if any(os.environ.get(name) for name in _AWS_CREDENTIAL_ENV):
        return True
    files = (
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials",
        os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config",
    )
    return any(Path(f).expanduser().is_file() for f in files)


def github_token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


def check_github(api_url: str | None = None, timeout: float = 10.0) -> Check:
    import urllib.error
    import urllib.request

    fix_hint = (
        "create a token with the scopes repo and workflow "
        "(https://github.com/settings/tokens/new?scopes=repo,workflow) and export GITHUB_TOKEN, "
        "or run: export GITHUB_TOKEN=$(gh auth token)"
    )
    token = github_token()
    if not token:
        return Check("github", "missing", "no GitHub token (GITHUB_TOKEN or GH_TOKEN)", fix_hint)
    base = (api_url or os.environ.get("GITHUB_API_URL") or GITHUB_API).rstrip("/")
    if not base.startswith(("https://", "http://")):
        return Check(
            "github", "error", f"GITHUB_API_URL '{base}' is not an http(s) URL", "fix or unset it"
        )
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        f"{base}/user",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "bootstrap-doctor",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read().decode() or "{}")
            scopes_header = response.headers.get("X-OAuth-Scopes")
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return Check(
                "github", "error", "GitHub rejected the token (expired or revoked)", fix_hint
            )
        return Check(
            "github",
            "error",
            f"GET {base}/user answered {exc.code}",
            "check the token's permissions and GITHUB_API_URL",
        )
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(
            "github",
            "error",
            f"cannot reach {base} ({reason})",
            "check your network, or GITHUB_API_URL for GitHub Enterprise",
        )
    login = str(body.get("login", "?"))
    data: dict[str, Any] = {"user": login, "api": base}
    if scopes_header is None:  # fine-grained tokens and app tokens list no scopes
        data["scopes"] = None
        return Check(
            "github",
            "ok",
            f"token of {login} (fine-grained: it needs read/write on Administration, Contents, "
            "Environments, Secrets, Variables and Workflows)",
            data=data,
        )
    scopes = sorted(s.strip() for s in scopes_header.split(",") if s.strip())
    data["scopes"] = scopes
    lacking = [s for s in GITHUB_SCOPES if s not in scopes]
    if lacking:
        return Check(
            "github",
            "error",
            f"the token of {login} lacks the scope(s) {', '.join(lacking)}",
            "make a token with scopes repo and workflow at "
            "https://github.com/settings/tokens/new?scopes=repo,workflow and export GITHUB_TOKEN",
            data=data,
        )
    return Check("github", "ok", f"token of {login}, scopes {', '.join(scopes)}", data=data)


def check_docker(timeout: float = 10.0) -> Check:
    path = shutil.which("docker")
    install = "install Docker (https://docs.docker.com/get-docker/); CI builds the image without it"
    if not path:
        return Check("docker", "missing", "Docker is not on PATH (builds images locally)", install)
    try:
        client = _run([path, "--version"], timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("docker", "error", f"{path} does not run ({exc})", install)
    version = client.stdout.strip()
    if client.returncode != 0 or not version:
        return Check("docker", "error", f"`docker --version` failed in {path}", install)
    data: dict[str, Any] = {"version": version, "path": path}
    try:
        server = _run([path, "info", "--format", "{{.ServerVersion}}"], timeout)
        daemon = server.returncode == 0 and bool(server.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        daemon = False
    data["daemon"] = daemon
    if not daemon:
        return Check(
            "docker",
            "warn",
            f"{version}; the Docker daemon does not answer",
            "start Docker (e.g. sudo systemctl start docker) to build images locally",
            data=data,
        )
    return Check("docker", "ok", version, data=data)


def run_checks(
    names: Iterable[str] | None = None,
    *,
    region: str | None = None,
    github_api_url: str | None = None,
) -> DoctorReport:
    """Run the named checks (default: all) in parallel; results in `CHECKS` order."""
    wanted = list(names or CHECKS)
    unknown = [n for n in wanted if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown checks: {unknown}")
    runners: dict[str, Callable[[], Check]] = {
        "pulumi": check_pulumi,
        "aws": lambda: check_aws(region),
        "github": lambda: check_github(github_api_url),
        "docker": check_docker,
    }
    order = [n for n in CHECKS if n in wanted]
    with ThreadPoolExecutor(max_workers=len(order) or 1) as pool:
        futures = {name: pool.submit(runners[name]) for name in order}
        return DoctorReport([futures[name].result() for name in order])
