"""The checks behind `bootstrap doctor`, also run first by `bootstrap new` before it writes.

Each check says what it found and, when something is missing or broken, the exact fix:
- pulumi: the CLI on PATH and its version;
- aws: the identity of the AWS credentials (STS GetCallerIdentity);
- github: a token (GITHUB_TOKEN or GH_TOKEN), its user and scopes (GET /user on GITHUB_API_URL);
- docker: the client on PATH and whether its daemon answers;
- accounts (in a generated repository whose stages live in several AWS accounts): a row per
  account and profile: which profile acts there, whose identity it signs in as, and whether that
  is the account the stages' stack files name (`--profile KEY=PROFILE`, bootstrap/accounts.py);
- trust (in a generated repository): the OIDC subjects GitHub issues for it, for each stage,
  `main` and pull requests, and whether the deployed roles' trust policies accept them; each
  stage's deploy role and the GitHub OIDC provider are looked up in that stage's own account.
The checks run in parallel, each with a timeout, so doctor takes as long as the slowest one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.automation import INSTALL_COMMAND
from bootstrap.errors import UserError

if TYPE_CHECKING:
    from bootstrap.accounts import Accounts

Status = Literal["ok", "warn", "missing", "error"]
CHECKS = ("pulumi", "aws", "github", "docker")


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
            f"install it: `{INSTALL_COMMAND}` (then open a new shell); "
            "`bootstrap preview --offline` works without it",
        )
    try:
        result = _run([path, "version"], timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(
            "pulumi", "error", f"{path} does not run ({exc})", f"reinstall it: `{INSTALL_COMMAND}`"
        )
    version = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    if result.returncode != 0 or not version:
        return Check(
            "pulumi",
            "error",
            f"`pulumi version` failed: {(result.stderr or result.stdout).strip()[:200]}",
            f"reinstall it: `{INSTALL_COMMAND}`",
        )
    return Check("pulumi", "ok", f"Pulumi CLI {version}", data={"version": version, "path": path})


def check_aws(region: str | None = None) -> Check:
    from bootstrap.aws import caller_identity
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
    from bootstrap.github.token import token_from_env

    return token_from_env()


def check_github(api_url: str | None = None, timeout: float = 10.0) -> Check:
    """The token's user and scopes: one `GET /user` through `bootstrap.github.connect`."""
    from bootstrap.errors import CredentialsError, RemoteError
    from bootstrap.github.client import RetryPolicy
    from bootstrap.github.connect import api_url_of, connect
    from bootstrap.github.token import check

    fix_hint = (
        "create a token with the scopes repo and workflow "
        "(https://github.com/settings/tokens/new?scopes=repo,workflow) and export GITHUB_TOKEN, "
        "or run `export GITHUB_TOKEN=$(gh auth token)`"
    )
    if github_token() is None:
        return Check("github", "missing", "no GitHub token (GITHUB_TOKEN or GH_TOKEN)", fix_hint)
    try:
        client = connect(api_url, retry=RetryPolicy(attempts=1), timeout=int(timeout))
        identity = check(client)
    except RemoteError as exc:  # its own fix: the client's is about resuming a run
        reach = "network error" in exc.problem
        return Check(
            "github", "error",
            f"cannot reach {api_url_of(api_url)} ({exc.problem})" if reach else exc.problem,
            "check your network and GitHub's status (https://www.githubstatus.com), or "
            "GITHUB_API_URL for GitHub Enterprise Server",
        )  # fmt: skip
    except CredentialsError as exc:  # rejected, or lacking a scope: a new token is the fix
        problem = exc.problem
        if "rejected the token" in problem:
            problem = "GitHub rejected the token (expired or revoked)"
        return Check("github", "error", problem, fix_hint)
    except UserError as exc:
        return Check("github", "error", exc.problem, exc.fix)
    data: dict[str, Any] = {"user": identity.login, "api": client.api_url}
    if identity.scopes is None:  # fine-grained tokens and app tokens list no scopes
        data["scopes"] = None
        return Check(
            "github",
            "ok",
            f"token of {identity.login} (fine-grained: it needs read/write on Administration, "
            "Contents, Environments, Secrets, Variables and Workflows)",
            data=data,
        )
    data["scopes"] = sorted(identity.scopes)
    return Check(
        "github", "ok", f"token of {identity.login}, scopes {', '.join(data['scopes'])}", data=data
    )


def check_accounts(accounts: Accounts) -> Check:
    """A row per account and profile: the stacks that live there, the profile that acts for
    them, the identity it signs in as (STS) and whether that is their account."""
    from stacks.contract import SHARED

    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for stack in accounts.where:
        placement = accounts.where[stack]
        groups.setdefault((placement.account, accounts.profile(stack)), []).append(stack)
    rows = [_account_row(accounts, account, profile, stacks)
            for (account, profile), stacks in groups.items()]  # fmt: skip
    bad = [row for row in rows if not row["ok"]]
    data: dict[str, Any] = {"accounts": rows}
    if not bad:
        return Check("accounts", "ok", f"{len(rows)} account(s), each signed in to", data=data)
    first = bad[0]
    stack = next((s for s in first["stacks"] if s != SHARED), first["stacks"][0])
    where = first["account"] or "the tooling account"
    return Check(
        "accounts", "error", "; ".join(row["problem"] for row in bad),
        f"pass --profile {stack}=PROFILE with a profile of {where} (or set "
        "BOOTSTRAP_AWS_PROFILES)", data=data,
    )  # fmt: skip


def _account_row(
    accounts: Accounts, account: str | None, profile: str | None, stacks: list[str]
) -> dict[str, Any]:
    from stacks.contract import SHARED

    row: dict[str, Any] = {"account": account, "stacks": stacks, "profile": profile,
                           "identity": None, "signs_in_to": None, "ok": False, "problem": None}  # fmt: skip
    using = f"profile '{profile}'" if profile else "the default credentials"
    try:
        identity = accounts.identity(stacks[0])
        row["account"] = account = account or accounts.identity(SHARED).account
    except UserError as exc:
        row["problem"] = f"{', '.join(stacks)}: {using} cannot sign in ({exc.problem})"
        return row
    row.update(identity=identity.arn, signs_in_to=identity.account)
    row["ok"] = identity.account == account
    if not row["ok"]:
        row["problem"] = (f"{', '.join(stacks)}: {using} signs in to {identity.account}, "
                          f"not {account}")  # fmt: skip
    return row


def check_trust(repo: Path, api_url: str | None = None, accounts: Accounts | None = None) -> Check:
    """The subjects GitHub issues for the repository (for each stage, `main` and pull requests)
    and whether the deployed roles trust them: GitHub asked when a token is here (else the
    recorded prefix), the roles' trust policies read from IAM when AWS credentials are here,
    each role in its own stack's account (`accounts`)."""
    from bootstrap.lifecycle import accounts_of
    from bootstrap.repo import load_spec

    spec = load_spec(repo)
    accounts = accounts or accounts_of(repo, spec)
    prefix, issuer = spec.github_subject_prefix, spec.github_oidc_issuer
    data: dict[str, Any] = {"recorded": prefix, "source": "recorded", "issuer": issuer}
    learnt, note = _subject_from_github(repo, spec, api_url)
    if learnt is not None:
        prefix, issuer = learnt.prefix, learnt.issuer
        data.update(source="GitHub", issuer=issuer, template=learnt.template)
    data["prefix"] = prefix
    if not prefix:
        return Check(
            "trust", "missing", "GitHub's OIDC subject for this repository is not recorded yet"
            + (f" ({note})" if note else ""),
            "run `bootstrap github sync` (or `bootstrap provision`) to learn it from GitHub",
            data=data,
        )  # fmt: skip
    rows = _trust_rows(spec, prefix)
    readable = _read_trust(accounts, issuer, rows)
    data["subjects"] = rows
    stale = [r["for"] for r in rows if r["trusted"] is False]
    notes = [note] if note else []
    if prefix != spec.github_subject_prefix:
        notes.append(f"recorded: {spec.github_subject_prefix or 'nothing'}")
    if not readable:
        notes.append("the roles were not read: no usable AWS credentials")
    elif all(r["trusted"] is None for r in rows):
        notes.append("no role deployed yet")
    detail = f"GitHub issues {prefix}:... ({data['source']})" + (
        f"; {'; '.join(notes)}" if notes else ""
    )
    if stale:
        return Check(
            "trust", "error", f"{detail}; the roles of {', '.join(stale)} trust another subject",
            "run `bootstrap provision` (it records GitHub's subject and updates the roles)",
            data=data,
        )  # fmt: skip
    if prefix != spec.github_subject_prefix:
        return Check(
            "trust", "warn", detail, "run `bootstrap github sync` to record it", data=data
        )
    return Check("trust", "ok" if readable else "warn", detail, data=data)


def _subject_from_github(repo: Path, spec: Any, api_url: str | None) -> tuple[Any, str]:
    """GitHub's subject settings for the repository, or None and why not."""
    from bootstrap.github.client import RetryPolicy, path
    from bootstrap.github.connect import connect
    from bootstrap.github.rerender import read_record
    from bootstrap.github.subject import learn

    full = read_record(repo).get("repository") or spec.repository
    if github_token() is None or not full:
        return None, "GitHub not asked: no token" if full else "GitHub not asked: no owner"
    owner, _, name = str(full).partition("/")
    try:
        client = connect(api_url, repo=repo, retry=RetryPolicy(attempts=1), timeout=10)
        data = client.run(f"look up {full}", lambda: client.get(path("repos", owner, name)))
        if data is None:
            return None, f"GitHub has no repository {full}"
        return learn(client, data), ""
    except UserError as exc:
        return None, f"GitHub not asked: {exc.problem}"


def _trust_rows(spec: Any, prefix: str) -> list[dict[str, Any]]:
    from stacks import contract

    rows = []
    for stage in spec.stage_names:
        kind = "environment" if spec.trust_subject == "environment" else "branch"
        rows.append((stage, contract.deploy_role_name(spec.name, stage), kind, stage))
    rows.append(("main", contract.ci_role_name(spec.name), "branch", None))
    rows.append(("pull requests", contract.preview_role_name(spec.name), "pull_request", None))
    return [
        {"for": who, "subject": contract.subject(prefix, kind, stage), "role": role,
         "trusted": None, "stack": stage or contract.SHARED, "account": None, "provider": None}
        for who, role, kind, stage in rows
    ]  # fmt: skip


def _read_trust(accounts: Accounts, issuer: str, rows: list[dict[str, Any]]) -> bool:
    """Fill in `trusted` (None: the role is not deployed), each role read in its stack's
    account with that account's credentials (checked with STS first), and the account's GitHub
    OIDC provider; False when some role could not be read."""
    from bootstrap.lifecycle import verify_stack
    from bootstrap.trust import find_github_oidc_provider, read_role

    if not aws_credentials_hinted():
        return False
    providers: dict[str, str | None] = {}
    readable = True
    for row in rows:
        try:
            row["account"] = account = verify_stack(accounts, row["stack"])
            session = accounts.session(row["stack"])
            if account not in providers:
                providers[account] = find_github_oidc_provider(session, issuer)
            state = read_role(session, row["role"], issuer)
        except UserError:
            readable = False
            continue
        row["provider"] = providers[account]
        if not state.readable:
            readable = False
            continue
        row["trusted"] = state.trusts(row["subject"]) if state.exists else None
    return readable


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


def _after(first: Any, then: Callable[[], Check]) -> Check:
    if first is not None:
        first.result()
    return then()


def run_checks(
    names: Iterable[str] | None = None,
    *,
    region: str | None = None,
    github_api_url: str | None = None,
    repo: Path | None = None,
    accounts: Accounts | None = None,
) -> DoctorReport:
    """Run the named checks (default: all, and `trust` for a generated repository, and
    `accounts` for one whose stages live in several accounts) in parallel; results in `CHECKS`
    order. `accounts`: the repository's (`lifecycle.accounts_of`, with the --profile given)."""
    known = (*CHECKS, "accounts", "trust")
    from bootstrap.lifecycle import multi_account

    multi = accounts is not None and multi_account(accounts)
    default = [n for n in known if n != "accounts" or multi] if repo is not None else CHECKS
    wanted = list(names or default)
    needs_repo = {"trust": repo is None, "accounts": accounts is None}
    unknown = [n for n in wanted if n not in known or needs_repo.get(n, False)]
    if unknown:
        raise ValueError(f"unknown checks: {unknown}")
    runners: dict[str, Callable[[], Check]] = {
        "pulumi": check_pulumi,
        "aws": lambda: check_aws(region),
        "github": lambda: check_github(github_api_url),
        "docker": check_docker,
    }
    if repo is not None:
        runners["trust"] = lambda: check_trust(repo, github_api_url, accounts)
    if accounts is not None:
        runners["accounts"] = lambda: check_accounts(accounts)
    order = [n for n in known if n in wanted]
    with ThreadPoolExecutor(max_workers=len(order) or 1) as pool:
        futures = {name: pool.submit(runners[name]) for name in order if name != "trust"}
        if "trust" in order:  # after `accounts`: one thread at a time on the shared sessions
            first = futures.get("accounts")
            futures["trust"] = pool.submit(_after, first, runners["trust"])
        return DoctorReport([futures[name].result() for name in order])
