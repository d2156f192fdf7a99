"""A local GitHub: the REST API subset bootstrap uses, keeping state the way GitHub does, plus
git's smart HTTP (the real `git http-backend`, as CGI) behind the same server, so pushes are real.

Use the `github_server` fixture (or `FakeGitHub(root).start()`), then point PyGithub at
`server.api_url` (`Github(base_url=...)`, `GITHUB_API_URL`, `--github-api-url`).

State: users and organisations (each with a plan), tokens (classic with `X-OAuth-Scopes`, or
fine-grained without), repositories (created for a user or an organisation; 422 when the name is
taken; private ones are invisible (404) to outsiders), topics, environments with protection rules
(required reviewers, wait timer, deployment branch policies), repository and environment
variables (POST 201 / 409 when it exists, PATCH 204), secrets with a real libsodium key pair per
repository and environment (`decrypt_secret` opens what was sent), branch protection, deployments
and their statuses, workflow runs and `workflow_dispatch` events (minimal).

Plans, for private repositories (public ones get everything, as on GitHub):
- free: no environments (PUT answers `environments_status`, 404 by default, or 422), no branch
  protection (403 "Upgrade to GitHub Pro or make this repository public ..."), no reviewers;
- pro / team: environments and branch policies, but required reviewers answer 422;
- enterprise: everything.

Faults: `fail(method, path_regex, status, times=1, headers=..., body=...)` answers the next
matching request(s) with that status instead of handling them (5xx, secondary rate limits with
`Retry-After`, 401, 403 with `X-Accepted-OAuth-Scopes`, 404, 422, ...). Every request, git's
included, is logged (`requests`: method, path, query, headers, body, status) so tests can count
writes and check that the token appears in no request except its Authorization header.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nacl import encoding, public
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DOCS = "https://docs.github.com/rest"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PLANS = ("free", "pro", "team", "enterprise")
_ids = itertools.count(1000)


def issued_prefix(owner: str, name: str, generation: int = 1) -> str:
    """The immutable subject prefix this stand-in issues for the `generation`-th repository made
    as OWNER/NAME (IDs are `stable_id`s): what a render made for it records."""
    owner_id = stable_id(f"account:{owner}")
    return f"repo:{owner}@{owner_id}/{name}@{stable_id(f'repo:{owner}/{name}#{generation}')}"


def stable_id(text: str) -> int:
    """An account's or repository's ID, the same in every run for the same name (so renders made
    with the subject prefix GitHub will issue can be cached); GitHub's IDs are never reused."""
    import zlib

    return 100_000 + zlib.crc32(text.lower().encode()) % 900_000_000


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class HTTPError(Exception):
    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = {"message": message, "documentation_url": DOCS, **extra}


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int = 0
    response: str = ""  # the answer's body (API requests only)

    @property
    def is_git(self) -> bool:
        return self.path.startswith("/git/")

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS and not self.is_git

    def text_without_authorization(self) -> str:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        return "\n".join([self.method, self.path, self.query, json.dumps(headers), self.body])


@dataclass
class Account:
    login: str
    id: int
    type: str  # "User" or "Organization"
    plan: str = "pro"
    members: set[str] = field(default_factory=set)  # organisations: member logins (all admins)
    teams: dict[str, int] = field(default_factory=dict)  # organisations: slug -> id


@dataclass
class TokenInfo:
    login: str
    scopes: str | None  # None: fine-grained (no X-OAuth-Scopes header)


@dataclass
class KeyPair:
    key_id: str
    private: public.PrivateKey

    @classmethod
    def make(cls) -> KeyPair:
        return cls(str(next(_ids)) + "3456789", public.PrivateKey.generate())

    def public_json(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "key": self.private.public_key.encode(encoding.Base64Encoder).decode(),
        }

    def decrypt(self, encrypted_b64: str) -> str:
        box = public.SealedBox(self.private)
        return box.decrypt(base64.b64decode(encrypted_b64)).decode()


@dataclass
class Environment:
    name: str
    id: int
    reviewers: list[dict[str, Any]] = field(default_factory=list)  # {"type", "id"}
    wait_timer: int = 0
    prevent_self_review: bool = False
    branch_policy: dict[str, bool] | None = None
    branch_policies: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: KeyPair = field(default_factory=KeyPair.make)
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    private: bool = True
    description: str = ""
    # The OIDC subject settings (GET/PUT .../actions/oidc/customization/sub): repositories made,
    # renamed or transferred since July 2026 use immutable subjects; `oidc_prefix` plants a
    # `sub_claim_prefix` that disagrees with `immutable_subject`, as GitHub has been seen to.
    immutable_subject: bool = True
    oidc_use_default: bool = True
    oidc_claim_keys: list[str] = field(default_factory=list)
    oidc_prefix: str | None = None
    topics: list[str] = field(default_factory=list)
    environments: dict[str, Environment] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: KeyPair = field(default_factory=KeyPair.make)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)  # branch -> settings
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)  # add_pull; newest last
    issue_comments: list[dict[str, Any]] = field(default_factory=list)  # `_issue`: its number
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=_now)
    archived: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    body: Any


@dataclass
class RunScript:
    """The states a workflow run goes through, one frame per poll (see `FakeGitHub.script_run`).

    A frame is {"status": ..., "conclusion": ..., "jobs": [{"name", "status", "conclusion",
    "steps": [{"name", "status", "conclusion"}]}]}. `on_frame(index, frame)` is called when a
    frame is served (e.g. to deploy a stack the way the deploy job would)."""

    frames: list[dict[str, Any]]
    after_rerun: list[dict[str, Any]] | None = None
    on_frame: Callable[[int, dict[str, Any]], None] | None = None
    name: str = "build"
    index: int = 0

    @property
    def frame(self) -> dict[str, Any]:
        return self.frames[min(self.index, len(self.frames) - 1)]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


Route = tuple[str, re.Pattern[str], Callable[..., Any]]
# The links GitHub puts in every user and repository it answers with (their `*_url` fields).
_USER_LINKS = ("followers", "subscriptions", "organizations", "repos", "received_events")
_REPO_LINKS = {
    "archive": "{archive_format}{/ref}", "assignees": "{/user}", "blobs": "{/sha}",
    "branches": "{/branch}", "collaborators": "{/collaborator}", "comments": "{/number}",
    "commits": "{/sha}", "compare": "{base}...{head}", "contents": "{+path}",
    "contributors": "", "deployments": "", "downloads": "", "events": "", "forks": "",
    "git_commits": "{/sha}", "git_refs": "{/sha}", "git_tags": "{/sha}",
    "issue_comment": "{/number}", "issue_events": "{/number}", "issues": "{/number}",
    "keys": "{/key_id}", "labels": "{/name}", "languages": "", "merges": "",
    "milestones": "{/number}", "notifications": "{?since,all,participating}",
    "pulls": "{/number}", "releases": "{/id}", "stargazers": "", "statuses": "{sha}",
    "subscribers": "", "subscription": "", "tags": "", "teams": "", "trees": "{/sha}",
    "hooks": "",
}


class FakeGitHub:
    """The server. Configure with add_user/add_org/add_repo/fail; read its state directly."""

    def __init__(
        self,
        root: Path,
        *,
        api_prefix: str = "",
        host: str = "127.0.0.1",
        environments_status: int = 404,
        enterprise_version: str | None = None,
        oidc_endpoint: bool = True,
    ) -> None:
        self.root = Path(root)
        self.git_root = self.root / "git"
        self.git_root.mkdir(parents=True, exist_ok=True)
        self.api_prefix = api_prefix.rstrip("/")
        self.host = host
        self.environments_status = environments_status
        # GitHub Enterprise Server: `/meta` says its version; its subjects keep names, it has no
        # `sub_claim_prefix`, and versions before the OIDC customization endpoint answer 404 there.
        self.enterprise_version = enterprise_version
        self.oidc_endpoint = oidc_endpoint
        self.method = ""  # the method of the request being handled
        self.moved: dict[str, int] = {}  # a renamed or transferred repository's old name -> id
        self.generations: dict[str, int] = {}  # full name -> repositories made under it
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, TokenInfo] = {}
        self.repos: dict[str, Repository] = {}
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.rate_remaining = 5000
        # scripted workflow runs (`script_run`, `run_on_push`): run id -> script
        self.run_scripts: dict[int, RunScript] = {}
        self.push_scripts: dict[str, RunScript] = {}  # repo full name (lower) -> next push's run
        self.routes: list[Route] = self._routes()
        # The clock of deployments and their statuses (tests of soak times set a fixed one).
        self.clock: Callable[[], float] = time.time

    def now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._server = make_server(
            self.host, 0, self.wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + self.api_prefix

    # -- configuration --------------------------------------------------------------------------

    def add_user(
        self,
        login: str,
        *,
        token: str | None = None,
        scopes: str | None = "repo, workflow",
        plan: str = "pro",
    ) -> str:
        """A user; returns its token (classic with `scopes`, or fine-grained if scopes=None)."""
        assert plan in PLANS, plan
        with self.lock:
            self.accounts[login.lower()] = Account(login, stable_id(f"account:{login}"), "User", plan)
            token = token or f"ghp_{login}{next(_ids)}TOKENx9"
            self.tokens[token] = TokenInfo(login, scopes)
        return token

    def add_token(self, login: str, token: str, scopes: str | None = "repo, workflow") -> str:
        with self.lock:
            self.tokens[token] = TokenInfo(login, scopes)
        return token

    def add_org(
        self, login: str, *, members: tuple[str, ...] = (), plan: str = "team",
        teams: tuple[str, ...] = (),
    ) -> Account:  # fmt: skip
        assert plan in PLANS, plan
        with self.lock:
            org = Account(
                login, stable_id(f"account:{login}"), "Organization", plan, {m.lower() for m in members},
                {t: next(_ids) for t in teams},
            )  # fmt: skip
            self.accounts[login.lower()] = org
        return org

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool = True,
        description: str = "",
        push_from: Path | None = None,
        foreign_content: bool = False,
    ) -> Repository:
        """An existing repository: empty, or holding `push_from`'s main, or unrelated history."""
        with self.lock:
            repo = self._new_repo(self.accounts[owner.lower()], name, private, description)
        bare = self.bare_path(repo.full_name)
        if push_from is not None:
            _git(push_from, "push", "--quiet", str(bare), "refs/heads/main:refs/heads/main")
        if foreign_content:
            work = self.root / f"foreign-{repo.id}"
            work.mkdir()
            _git(work, "init", "--quiet", "--initial-branch=main")
            (work / "README.md").write_text("# Someone else's project\n")
            _git(work, "add", "README.md")
            _git(work, "-c", "user.name=Other", "-c", "user.email=o@example.com", "commit",
                 "--quiet", "-m", "Initial commit")  # fmt: skip
            _git(work, "push", "--quiet", str(bare), "refs/heads/main:refs/heads/main")
        return repo

    def rename(self, full_name: str, *, name: str | None = None, owner: str | None = None) -> Repository:
        """Rename or transfer a repository, as on GitHub: its ID stays, its old name redirects
        (301 for reads, 307 for writes), and since July 2026 it moves to immutable subjects."""
        with self.lock:
            repo = self.repos.pop(full_name.lower())
            old_bare = self.git_root / repo.owner / f"{repo.name}.git"
            self.moved[full_name.lower()] = repo.id
            repo.owner = self.accounts[(owner or repo.owner).lower()].login
            repo.name = name or repo.name
            repo.immutable_subject = True
            self.repos[repo.full_name.lower()] = repo
            self.moved.pop(repo.full_name.lower(), None)
            new_bare = self.git_root / repo.owner / f"{repo.name}.git"
            new_bare.parent.mkdir(parents=True, exist_ok=True)
            old_bare.rename(new_bare)
        return repo

    def subject_prefix(self, full_name: str) -> str:
        """The `sub` claim prefix GitHub issues for the repository's tokens (default template)."""
        repo = self.repo(full_name)
        owner = self.accounts[repo.owner.lower()]
        if repo.immutable_subject and not self.enterprise_version:
            return f"repo:{owner.login}@{owner.id}/{repo.name}@{repo.id}"
        return f"repo:{owner.login}/{repo.name}"

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` requests matching METHOD and the path regex with `status`."""
        default = {"message": "Server Error" if status >= 500 else f"HTTP {status}"}
        with self.lock:
            self.faults.append(
                Fault(method.upper(), re.compile(pattern), status, times, headers or {},
                      default if body is None else body)
            )  # fmt: skip

    # -- reading state (for tests) ----------------------------------------------------------------

    def repo(self, full_name: str) -> Repository:
        return self.repos[full_name.lower()]

    def bare_path(self, full_name: str) -> Path:
        repo = self.repo(full_name)
        return self.git_root / repo.owner / f"{repo.name}.git"

    def head(self, full_name: str, branch: str = "main") -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.bare_path(full_name), capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip() or None

    def decrypt_secret(self, full_name: str, name: str, environment: str | None = None) -> str:
        repo = self.repo(full_name)
        holder: Repository | Environment = repo.environments[environment] if environment else repo
        return holder.keys.decrypt(holder.secrets[name]["encrypted_value"])

    @property
    def writes(self) -> list[LoggedRequest]:
        """API write requests (not git's), in order."""
        return [r for r in self.requests if r.is_write]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def token_leaks(self, token: str) -> list[LoggedRequest]:
        """Requests carrying `token` anywhere but their Authorization header."""
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return [
            r for r in self.requests
            if token in r.text_without_authorization() or basic in r.text_without_authorization()
        ]  # fmt: skip

    # -- WSGI -------------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data()
        logged = LoggedRequest(
            request.method,
            request.path,
            request.query_string.decode(),
            {k: v for k, v in request.headers.items()},
            body.decode("utf-8", errors="replace"),
        )
        with self.lock:
            self.requests.append(logged)
        response = self._respond(request, body)
        logged.status = response.status_code
        if not logged.is_git:
            logged.response = response.get_data(as_text=True)
        return response(environ, start_response)

    def _respond(self, request: Request, body: bytes) -> Response:
        fault = self._take_fault(request.method, request.path)
        if request.path.startswith("/git/"):
            if fault:
                return Response(json.dumps(fault.body), fault.status, fault.headers)
            return self._git_http(request, body)
        scopes_header: dict[str, str] = {}
        try:
            token = self._authenticate(request)
            if token.scopes is not None:
                scopes_header = {"X-OAuth-Scopes": token.scopes}
            if fault:
                headers = {**scopes_header, **self._rate_headers(), **fault.headers}
                return _json(fault.body, fault.status, headers)
            path = request.path
            if self.api_prefix:
                if not path.startswith(self.api_prefix + "/"):
                    raise HTTPError(404, "Not Found")
                path = path[len(self.api_prefix) :]
            payload = json.loads(body) if body.strip() else {}
            for method, pattern, handler in self.routes:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    with self.lock:
                        self.method = request.method
                        status, data = handler(
                            token.login, payload, request.args, **match.groupdict()
                        )
                    return _json(data, status, {**scopes_header, **self._rate_headers()})
            raise HTTPError(404, "Not Found")
        except HTTPError as exc:
            headers = {**scopes_header, **self._rate_headers(), **exc.headers}
            return _json(exc.body, exc.status, headers)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method in (method, "*") and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _authenticate(self, request: Request) -> TokenInfo:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            raise HTTPError(401, "Requires authentication")
        if scheme.lower() == "basic":
            value = base64.b64decode(value).decode().partition(":")[2]
        elif scheme.lower() not in ("token", "bearer"):
            raise HTTPError(401, "Bad credentials")
        info = self.tokens.get(value.strip())
        if info is None:
            raise HTTPError(401, "Bad credentials")
        return info

    def _rate_headers(self) -> dict[str, str]:
        if self.enterprise_version:  # what GitHub Enterprise Server adds to every answer
            extra = {"X-GitHub-Enterprise-Version": self.enterprise_version}
        else:
            extra = {}
        return {**self._core_rate_headers(), **extra}

    def _core_rate_headers(self) -> dict[str, str]:
        self.rate_remaining = max(0, self.rate_remaining - 1)
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Request-Id": f"FAKE:{next(_ids)}",
        }

    # -- git smart HTTP ---------------------------------------------------------------------------

    def _git_http(self, request: Request, body: bytes) -> Response:
        match = re.fullmatch(r"/git/([^/]+)/([^/]+)\.git(/.*)", request.path)
        if not match:
            return Response("not found\n", 404)
        try:
            token = self._authenticate(request)
        except HTTPError:
            return Response(
                "Authentication required\n", 401,
                {"WWW-Authenticate": 'Basic realm="GitHub"'},
            )  # fmt: skip
        owner, name, rest = match.groups()
        with self.lock:
            repo = self.repos.get(f"{owner}/{name}".lower())
            visible = repo is not None and self._can_see(token.login, repo)
        if repo is None or not visible:
            return Response("Repository not found.\n", 404)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": str(self.root),
            "PATH_INFO": f"/{repo.owner}/{repo.name}.git{rest}",
            "REMOTE_USER": token.login,
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.query_string.decode(),
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in request.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = request.headers[header]
        pushing = request.method == "POST" and rest.endswith("/git-receive-pack")
        before = self.head(repo.full_name) if pushing else None
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        if pushing:
            self._after_push(repo, before)
        head, _, content = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = done.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        return Response(content, status, headers)

    # -- helpers for handlers ---------------------------------------------------------------------

    def _account(self, login: str) -> Account:
        account = self.accounts.get(login.lower())
        if account is None:
            raise HTTPError(404, "Not Found")
        return account

    def _can_see(self, login: str, repo: Repository) -> bool:
        if not repo.private:
            return True
        return self._is_admin(login, repo)

    def _is_admin(self, login: str, repo: Repository) -> bool:
        owner = self.accounts[repo.owner.lower()]
        return owner.login.lower() == login.lower() or login.lower() in owner.members

    def _repo(self, login: str, owner: str, name: str, *, admin: bool = False) -> Repository:
        key = f"{owner}/{name}".lower()
        repo = self.repos.get(key)
        if repo is None and key in self.moved:  # GitHub redirects a renamed repository's old name
            self._redirect(login, self.moved[key])
        if repo is None or not self._can_see(login, repo):
            raise HTTPError(404, "Not Found")
        if admin and not self._is_admin(login, repo):
            raise HTTPError(403, "Must have admin rights to Repository.")
        return repo

    def _plan(self, repo: Repository) -> str:
        return "enterprise" if not repo.private else self.accounts[repo.owner.lower()].plan

    def _new_repo(self, owner: Account, name: str, private: bool, description: str) -> Repository:
        key = f"{owner.login}/{name}".lower()
        if key in self.repos:
            raise HTTPError(
                422, "Repository creation failed.",
                errors=[{"resource": "Repository", "code": "custom", "field": "name",
                         "message": "name already exists on this account"}],
            )  # fmt: skip
        generation = self.generations[key] = self.generations.get(key, 0) + 1
        repo = Repository(
            owner.login, name, stable_id(f"repo:{key}#{generation}"), private, description
        )
        self.repos[key] = repo
        self.moved.pop(key, None)
        bare = self.git_root / owner.login / f"{name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git(self.git_root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        _git(bare, "config", "http.receivepack", "true")
        return repo

    def _user_json(self, account: Account) -> dict[str, Any]:
        """A user as GitHub embeds one (`simple-user`)."""
        url = f"{self.api_url}/users/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": f"U_{account.id}",
            "avatar_url": f"{self.url}/avatars/u/{account.id}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.url}/{account.login}",
            **{f"{k}_url": f"{url}/{k}" for k in _USER_LINKS},
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "events_url": f"{url}/events{{/privacy}}",
            "type": account.type,
            "site_admin": False,
        }

    def _profile_json(self, account: Account, *, private: bool = False) -> dict[str, Any]:
        """A user as `GET /users/{username}` (`public-user`) or `GET /user` (`private-user`)."""
        data = {
            **self._user_json(account), "name": account.login, "company": None, "blog": "",
            "location": None, "email": None, "hireable": None, "bio": None, "public_repos": 0,
            "public_gists": 0, "followers": 0, "following": 0,
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        }  # fmt: skip
        if private:
            data.update(
                private_gists=0, total_private_repos=0, owned_private_repos=0, disk_usage=0,
                collaborators=0, two_factor_authentication=True,
                plan={"name": account.plan, "space": 976562499, "collaborators": 0,
                      "private_repos": 10000},
            )  # fmt: skip
        return data

    def _repo_json(self, repo: Repository, login: str) -> dict[str, Any]:
        owner = self.accounts[repo.owner.lower()]
        refs = _git(self.bare_path(repo.full_name), "for-each-ref", "refs/heads")
        admin = self._is_admin(login, repo)
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self._user_json(owner),
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "description": repo.description or None,
            "fork": False,
            "archived": repo.archived,
            "topics": list(repo.topics),
            "default_branch": "main",
            "size": 1 if refs.strip() else 0,
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "html_url": f"{self.url}/{repo.full_name}",
            "clone_url": f"{self.url}/git/{repo.full_name}.git",
            "ssh_url": f"git@{self.host}:{repo.full_name}.git",
            "git_url": f"git://{self.host}/{repo.full_name}.git",
            "svn_url": f"{self.url}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            **{f"{k}_url": f"{self.api_url}/repos/{repo.full_name}/{k.replace('git_', 'git/')}"
               f"{suffix}" for k, suffix in _REPO_LINKS.items()},
            "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "open_issues_count": 0,
            "subscribers_count": 1, "network_count": 0, "forks": 0, "open_issues": 0,
            "watchers": 0, "license": None,
            "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False,
            "has_discussions": False, "has_downloads": True, "disabled": False,
            "pushed_at": repo.created_at,
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "permissions": {
                "admin": admin,
                "maintain": admin,
                "push": admin,
                "triage": admin,
                "pull": True,
            },  # fmt: skip
        }

    def _env_json(self, repo: Repository, env: Environment) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        if env.wait_timer:
            rules.append({"id": env.id + 1, "node_id": f"GA_{env.id}1", "type": "wait_timer",
                          "wait_timer": env.wait_timer})  # fmt: skip
        if env.reviewers:
            reviewers = []
            for r in env.reviewers:
                if r["type"] == "User":
                    who = next(a for a in self.accounts.values() if a.id == r["id"])
                    reviewer: dict[str, Any] = self._user_json(who)
                else:
                    reviewer = {"id": r["id"], "slug": self._team_slug(r["id"]), "type": "Team"}
                reviewers.append({"type": r["type"], "reviewer": reviewer})
            rules.append({"id": env.id + 2, "node_id": f"GA_{env.id}2", "type": "required_reviewers",
                          "prevent_self_review": env.prevent_self_review, "reviewers": reviewers})  # fmt: skip
        if env.branch_policy:
            rules.append({"id": env.id + 3, "node_id": f"GA_{env.id}3", "type": "branch_policy"})
        return {
            "id": env.id,
            "node_id": f"EN_{env.id}",
            "name": env.name,
            "url": f"{self.api_url}/repos/{repo.full_name}/environments/{env.name}",
            "html_url": f"{self.url}/{repo.full_name}/deployments/activity_log?environments_filter={env.name}",
            "created_at": env.created_at,
            "updated_at": env.updated_at,
            "can_admins_bypass": True,
            "protection_rules": rules,
            "deployment_branch_policy": dict(env.branch_policy) if env.branch_policy else None,
        }

    def _team_slug(self, team_id: int) -> str:
        for account in self.accounts.values():
            for slug, tid in account.teams.items():
                if tid == team_id:
                    return slug
        return str(team_id)

    def _environment(self, repo: Repository, name: str) -> Environment:
        env = repo.environments.get(name)
        if env is None:
            raise HTTPError(404, "Not Found")
        return env

    # -- routes -----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        R = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        E = R + r"/environments/(?P<env>[^/]+)"
        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/user", self.get_authenticated_user),
            ("GET", r"/users/(?P<user>[^/]+)", self.get_user),
            ("GET", r"/orgs/(?P<org>[^/]+)", self.get_org),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)", self.get_team),
            ("GET", r"/rate_limit", self.get_rate_limit),
            ("GET", r"/meta", self.get_meta),
            ("GET", r"/repositories/(?P<rid>\d+)", self.get_repo_by_id),
            ("GET", R + r"/actions/oidc/customization/sub", self.get_oidc_sub),
            ("PUT", R + r"/actions/oidc/customization/sub", self.put_oidc_sub),
            ("POST", r"/user/repos", self.create_user_repo),
            ("POST", r"/orgs/(?P<org>[^/]+)/repos", self.create_org_repo),
            ("GET", R, self.get_repo),
            ("PATCH", R, self.edit_repo),
            ("DELETE", R, self.delete_repo),
            ("GET", R + r"/topics", self.get_topics),
            ("PUT", R + r"/topics", self.put_topics),
            ("GET", R + r"/branches/(?P<branch>[^/]+)", self.get_branch),
            ("GET", R + r"/branches/(?P<branch>[^/]+)/protection", self.get_protection),
            ("PUT", R + r"/branches/(?P<branch>[^/]+)/protection", self.put_protection),
            ("DELETE", R + r"/branches/(?P<branch>[^/]+)/protection", self.delete_protection),
            ("GET", R + r"/environments", self.list_environments),
            ("GET", E, self.get_environment),
            ("PUT", E, self.put_environment),
            ("DELETE", E, self.delete_environment),
            ("GET", E + r"/deployment-branch-policies", self.list_branch_policies),
            ("POST", E + r"/deployment-branch-policies", self.create_branch_policy),
            ("DELETE", E + r"/deployment-branch-policies/(?P<pid>\d+)", self.delete_branch_policy),
            ("GET", R + r"/actions/variables", self.list_variables),
            ("POST", R + r"/actions/variables", self.create_variable),
            ("GET", R + r"/actions/variables/(?P<var>[^/]+)", self.get_variable),
            ("PATCH", R + r"/actions/variables/(?P<var>[^/]+)", self.update_variable),
            ("DELETE", R + r"/actions/variables/(?P<var>[^/]+)", self.delete_variable),
            ("GET", E + r"/variables", self.list_variables),
            ("POST", E + r"/variables", self.create_variable),
            ("GET", E + r"/variables/(?P<var>[^/]+)", self.get_variable),
            ("PATCH", E + r"/variables/(?P<var>[^/]+)", self.update_variable),
            ("DELETE", E + r"/variables/(?P<var>[^/]+)", self.delete_variable),
            ("GET", R + r"/actions/secrets/public-key", self.get_public_key),
            ("GET", R + r"/actions/secrets", self.list_secrets),
            ("GET", R + r"/actions/secrets/(?P<secret>[^/]+)", self.get_secret),
            ("PUT", R + r"/actions/secrets/(?P<secret>[^/]+)", self.put_secret),
            ("DELETE", R + r"/actions/secrets/(?P<secret>[^/]+)", self.delete_secret),
            ("GET", E + r"/secrets/public-key", self.get_public_key),
            ("GET", E + r"/secrets", self.list_secrets),
            ("GET", E + r"/secrets/(?P<secret>[^/]+)", self.get_secret),
            ("PUT", E + r"/secrets/(?P<secret>[^/]+)", self.put_secret),
            ("DELETE", E + r"/secrets/(?P<secret>[^/]+)", self.delete_secret),
            ("GET", R + r"/deployments", self.list_deployments),
            ("POST", R + r"/deployments", self.create_deployment),
            ("GET", R + r"/deployments/(?P<did>\d+)", self.get_deployment),
            ("GET", R + r"/deployments/(?P<did>\d+)/statuses", self.list_statuses),
            ("POST", R + r"/deployments/(?P<did>\d+)/statuses", self.create_status),
            ("GET", R + r"/compare/(?P<basehead>[^/]+)", self.compare),
            ("GET", R + r"/commits/(?P<sha>[^/]+)/pulls", self.commit_pulls),
            ("GET", R + r"/pulls/(?P<number>\d+)", self.get_pull),
            ("GET", R + r"/issues/(?P<number>\d+)/comments", self.list_issue_comments),
            ("POST", R + r"/issues/(?P<number>\d+)/comments", self.create_issue_comment),
            ("PATCH", R + r"/issues/comments/(?P<cid>\d+)", self.update_issue_comment),
            ("GET", R + r"/actions/runs", self.list_runs),
            ("GET", R + r"/actions/runs/(?P<rid>\d+)", self.get_run),
            ("GET", R + r"/actions/runs/(?P<rid>\d+)/jobs", self.list_jobs),
            ("POST", R + r"/actions/runs/(?P<rid>\d+)/rerun", self.rerun),
            ("POST", R + r"/actions/workflows/(?P<wf>[^/]+)/dispatches", self.dispatch),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    # users and organisations

    def get_authenticated_user(self, login: str, body: Any, args: Any) -> tuple[int, Any]:
        return 200, self._profile_json(self._account(login), private=True)

    def get_user(self, login: str, body: Any, args: Any, user: str) -> tuple[int, Any]:
        return 200, self._profile_json(self._account(user))

    def get_org(self, login: str, body: Any, args: Any, org: str) -> tuple[int, Any]:
        account = self._account(org)
        if account.type != "Organization":
            raise HTTPError(404, "Not Found")
        return 200, self._org_json(account)

    def get_team(self, login: str, body: Any, args: Any, org: str, slug: str) -> tuple[int, Any]:
        account = self._account(org)
        if slug not in account.teams:
            raise HTTPError(404, "Not Found")
        tid = account.teams[slug]
        url = f"{self.api_url}/organizations/{account.id}/team/{tid}"
        return 200, {
            "id": tid, "node_id": f"T_{tid}", "url": url,
            "html_url": f"{self.url}/orgs/{account.login}/teams/{slug}", "name": slug,
            "slug": slug, "description": None, "privacy": "closed", "permission": "pull",
            "members_url": f"{url}/members{{/member}}", "repositories_url": f"{url}/repos",
            "members_count": len(account.members), "repos_count": 0,
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "organization": self._org_json(account), "type": "organization",
        }  # fmt: skip

    def _org_json(self, account: Account) -> dict[str, Any]:
        """An organisation as `GET /orgs/{org}` answers (`organization-full`)."""
        url = f"{self.api_url}/orgs/{account.login}"
        return {
            "login": account.login, "id": account.id, "node_id": f"O_{account.id}", "url": url,
            "repos_url": f"{url}/repos", "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks", "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"{self.url}/avatars/u/{account.id}", "description": None,
            "html_url": f"{self.url}/{account.login}", "has_organization_projects": True,
            "has_repository_projects": True, "public_repos": 0, "public_gists": 0,
            "followers": 0, "following": 0, "type": "Organization",
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "archived_at": None, "plan": {"name": account.plan, "space": 976562499,
                                          "private_repos": 10000},
        }  # fmt: skip

    def get_meta(self, login: str, body: Any, args: Any) -> tuple[int, Any]:
        meta: dict[str, Any] = {"verifiable_password_authentication": False}
        if self.enterprise_version:
            meta["installed_version"] = self.enterprise_version
        else:
            meta["domains"] = {"actions": ["*.actions.githubusercontent.com"]}
        return 200, meta

    def _redirect(self, login: str, rid: int) -> None:
        repo = next((r for r in self.repos.values() if r.id == rid), None)
        if repo is None or not self._can_see(login, repo):
            raise HTTPError(404, "Not Found")
        url = f"{self.api_url}/repositories/{rid}"
        status = 301 if self.method == "GET" else 307  # as GitHub: reads move, writes repeat
        message = "Moved Permanently" if status == 301 else "Temporary Redirect"
        raise HTTPError(status, message, headers={"Location": url}, url=url)

    def get_repo_by_id(self, login: str, body: Any, args: Any, rid: str) -> tuple[int, Any]:
        repo = next((r for r in self.repos.values() if r.id == int(rid)), None)
        if repo is None or not self._can_see(login, repo):
            raise HTTPError(404, "Not Found")
        return 200, self._repo_json(repo, login)

    def _oidc_json(self, repo: Repository) -> dict[str, Any]:
        data: dict[str, Any] = {"use_default": repo.oidc_use_default}
        if not repo.oidc_use_default:
            data["include_claim_keys"] = list(repo.oidc_claim_keys)
        if self.enterprise_version:  # GHES: names only, no prefix in the answer
            return data
        data["use_immutable_subject"] = repo.immutable_subject
        prefix = repo.oidc_prefix or self.subject_prefix(repo.full_name)
        if not repo.oidc_use_default:
            prefix = self._custom_prefix(repo, prefix)
        data["sub_claim_prefix"] = prefix
        return data

    def _custom_prefix(self, repo: Repository, default: str) -> str:
        owner = self.accounts[repo.owner.lower()]
        values = {
            "repo": default,
            "repository": f"repository:{repo.full_name}",
            "repository_owner": f"repository_owner:{owner.login}",
            "repository_owner_id": f"repository_owner_id:{owner.id}",
            "repository_id": f"repository_id:{repo.id}",
            "repository_visibility": f"repository_visibility:{'private' if repo.private else 'public'}",
        }
        keys = repo.oidc_claim_keys
        before = keys[: keys.index("context")] if "context" in keys else keys
        return ":".join(values.get(k, f"{k}:*") for k in before)

    def get_oidc_sub(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        if not self.oidc_endpoint:
            raise HTTPError(404, "Not Found")
        return 200, self._oidc_json(repo)

    def put_oidc_sub(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        if not self.oidc_endpoint:
            raise HTTPError(404, "Not Found")
        if not isinstance(body.get("use_default"), bool):
            raise HTTPError(422, "Validation Failed", errors=[{"field": "use_default"}])
        repo.oidc_use_default = body["use_default"]
        repo.oidc_claim_keys = list(body.get("include_claim_keys") or [])
        if "use_immutable_subject" in body and not self.enterprise_version:
            repo.immutable_subject = bool(body["use_immutable_subject"])
        return 201, {}

    def get_rate_limit(self, login: str, body: Any, args: Any) -> tuple[int, Any]:
        core = {"limit": 5000, "remaining": self.rate_remaining, "reset": int(time.time()) + 3600}
        return 200, {"resources": {"core": core}, "rate": core}

    # repositories

    def create_user_repo(self, login: str, body: Any, args: Any) -> tuple[int, Any]:
        return self._create_repo(login, self._account(login), body)

    def create_org_repo(self, login: str, body: Any, args: Any, org: str) -> tuple[int, Any]:
        account = self._account(org)
        if account.type != "Organization":
            raise HTTPError(404, "Not Found")
        if login.lower() not in account.members:
            raise HTTPError(403, "You need admin access to the organization before adding a "
                                 "repository to it.")  # fmt: skip
        return self._create_repo(login, account, body)

    def _create_repo(self, login: str, owner: Account, body: Any) -> tuple[int, Any]:
        name = body.get("name")
        if not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise HTTPError(422, "Repository creation failed.",
                            errors=[{"resource": "Repository", "code": "missing_field",
                                     "field": "name"}])  # fmt: skip
        repo = self._new_repo(owner, name, bool(body.get("private", False)),
                              body.get("description") or "")  # fmt: skip
        return 201, self._repo_json(repo, login)

    def get_repo(self, login: str, body: Any, args: Any, owner: str, name: str) -> tuple[int, Any]:
        return 200, self._repo_json(self._repo(login, owner, name), login)

    def edit_repo(self, login: str, body: Any, args: Any, owner: str, name: str) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        if "description" in body:
            repo.description = body["description"] or ""
        if "private" in body:
            repo.private = bool(body["private"])
        if "archived" in body:
            repo.archived = bool(body["archived"])
        return 200, self._repo_json(repo, login)

    def delete_repo(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        del self.repos[repo.full_name.lower()]
        return 204, None

    def get_topics(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        return 200, {"names": list(self._repo(login, owner, name).topics)}

    def put_topics(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        names = body.get("names")
        if not isinstance(names, list) or any(
            not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,49}", n) for n in names
        ):
            raise HTTPError(422, "Validation Failed", errors=[{"field": "names"}])
        repo.topics = list(dict.fromkeys(names))
        return 200, {"names": repo.topics}

    def get_branch(
        self, login: str, body: Any, args: Any, owner: str, name: str, branch: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        sha = self.head(repo.full_name, branch)
        if sha is None:
            raise HTTPError(404, "Branch not found")
        return 200, {"name": branch, "commit": {"sha": sha}, "protected": branch in repo.protection}

    def _protection_allowed(self, repo: Repository) -> None:
        if self._plan(repo) == "free":
            raise HTTPError(403, "Upgrade to GitHub Pro or make this repository public to "
                                 "enable this feature.")  # fmt: skip

    def get_protection(
        self, login: str, body: Any, args: Any, owner: str, name: str, branch: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        self._protection_allowed(repo)
        if self.head(repo.full_name, branch) is None:
            raise HTTPError(404, "Branch not found")
        if branch not in repo.protection:
            raise HTTPError(404, "Branch not protected")
        return 200, self._protection_json(repo, branch)

    def _protection_json(self, repo: Repository, branch: str) -> dict[str, Any]:
        settings = repo.protection[branch]
        base = f"{self.api_url}/repos/{repo.full_name}/branches/{branch}/protection"
        data: dict[str, Any] = {
            "url": base,
            "enforce_admins": {
                "url": base + "/enforce_admins",
                "enabled": settings["enforce_admins"],
            },
            "required_linear_history": {"enabled": False},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False},
        }
        checks = settings["required_status_checks"]
        if checks is not None:
            data["required_status_checks"] = {
                "url": base + "/required_status_checks",
                "strict": checks["strict"],
                "contexts_url": base + "/required_status_checks/contexts",
                "contexts": list(checks["contexts"]),
                "checks": [{"context": c, "app_id": None} for c in checks["contexts"]],
            }
        reviews = settings["required_pull_request_reviews"]
        if reviews is not None:
            data["required_pull_request_reviews"] = {
                "url": base + "/required_pull_request_reviews",
                **reviews,
            }
        return data

    def put_protection(
        self, login: str, body: Any, args: Any, owner: str, name: str, branch: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        self._protection_allowed(repo)
        missing = [
            k for k in ("required_status_checks", "enforce_admins",
                        "required_pull_request_reviews", "restrictions")
            if k not in body
        ]  # fmt: skip
        if missing:
            raise HTTPError(
                422, "Invalid request.", errors=[f"{k} wasn't supplied." for k in missing]
            )
        if self.head(repo.full_name, branch) is None:
            raise HTTPError(404, "Branch not found")
        checks = body["required_status_checks"]
        if checks is not None:
            contexts = list(checks.get("contexts") or [])
            contexts += [c["context"] for c in checks.get("checks") or []]
            checks = {"strict": bool(checks.get("strict")), "contexts": sorted(set(contexts))}
        reviews = body["required_pull_request_reviews"]
        if reviews is not None:
            reviews = {
                "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews", False)),
                "require_code_owner_reviews": bool(
                    reviews.get("require_code_owner_reviews", False)
                ),
                "required_approving_review_count": int(
                    reviews.get("required_approving_review_count", 1)
                ),
            }
        repo.protection[branch] = {
            "required_status_checks": checks,
            "enforce_admins": bool(body["enforce_admins"]),
            "required_pull_request_reviews": reviews,
            "restrictions": body["restrictions"],
        }
        return 200, self._protection_json(repo, branch)

    def delete_protection(
        self, login: str, body: Any, args: Any, owner: str, name: str, branch: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        if repo.protection.pop(branch, None) is None:
            raise HTTPError(404, "Branch not protected")
        return 204, None

    # environments

    def list_environments(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        envs = [self._env_json(repo, e) for e in repo.environments.values()]
        return 200, {"total_count": len(envs), "environments": envs}

    def get_environment(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        return 200, self._env_json(repo, self._environment(repo, env))

    def put_environment(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        plan = self._plan(repo)
        if plan == "free":
            raise HTTPError(self.environments_status, "Not Found" if self.environments_status == 404
                            else "Environments are not available for private repositories on "
                                 "this plan.")  # fmt: skip
        reviewers = body.get("reviewers") or []
        if reviewers and plan != "enterprise":
            raise HTTPError(422, "Failed to create the environment protection rule: required "
                                 "reviewers are not available for private repositories on this "
                                 "plan.")  # fmt: skip
        for r in reviewers:
            known = (
                any(a.id == r.get("id") for a in self.accounts.values())
                if r.get("type") == "User"
                else any(r.get("id") in a.teams.values() for a in self.accounts.values())
            )
            if r.get("type") not in ("User", "Team") or not known:
                raise HTTPError(422, "Validation Failed", errors=[{"field": "reviewers"}])
        policy = body.get("deployment_branch_policy")
        if policy is not None:
            flags = (policy.get("protected_branches"), policy.get("custom_branch_policies"))
            if flags[0] == flags[1] or None in flags:
                raise HTTPError(422, "Invalid deployment_branch_policy: exactly one of "
                                     "protected_branches and custom_branch_policies must be true")  # fmt: skip
            policy = {
                "protected_branches": bool(flags[0]),
                "custom_branch_policies": bool(flags[1]),
            }
        environment = repo.environments.get(env)
        if environment is None:
            environment = repo.environments[env] = Environment(env, next(_ids) * 10)
        environment.reviewers = [{"type": r["type"], "id": r["id"]} for r in reviewers]
        environment.wait_timer = int(body.get("wait_timer") or 0)
        environment.prevent_self_review = bool(body.get("prevent_self_review"))
        if not (policy or {}).get("custom_branch_policies"):
            environment.branch_policies = []
        environment.branch_policy = policy
        environment.updated_at = _now()
        return 200, self._env_json(repo, environment)

    def delete_environment(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        self._environment(repo, env)
        del repo.environments[env]
        return 204, None

    def list_branch_policies(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str
    ) -> tuple[int, Any]:
        environment = self._environment(self._repo(login, owner, name), env)
        return 200, {"total_count": len(environment.branch_policies),
                     "branch_policies": list(environment.branch_policies)}  # fmt: skip

    def create_branch_policy(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str
    ) -> tuple[int, Any]:
        environment = self._environment(self._repo(login, owner, name, admin=True), env)
        if not (environment.branch_policy or {}).get("custom_branch_policies"):
            raise HTTPError(404, "Not Found")
        kind = body.get("type", "branch")
        if not body.get("name") or kind not in ("branch", "tag"):
            raise HTTPError(422, "Validation Failed")
        for policy in environment.branch_policies:
            if policy["name"] == body["name"] and policy["type"] == kind:
                raise HTTPError(303, "See Other")
        policy = {
            "id": next(_ids),
            "node_id": f"DBP_{next(_ids)}",
            "name": body["name"],
            "type": kind,
        }
        environment.branch_policies.append(policy)
        return 200, policy

    def delete_branch_policy(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str, pid: str
    ) -> tuple[int, Any]:
        environment = self._environment(self._repo(login, owner, name, admin=True), env)
        before = len(environment.branch_policies)
        environment.branch_policies = [
            p for p in environment.branch_policies if p["id"] != int(pid)
        ]
        if len(environment.branch_policies) == before:
            raise HTTPError(404, "Not Found")
        return 204, None

    # variables (repository or environment, by the presence of `env`)

    def _holder(
        self, login: str, owner: str, name: str, env: str | None, *, admin: bool = False
    ) -> Repository | Environment:
        repo = self._repo(login, owner, name, admin=admin)
        return self._environment(repo, env) if env is not None else repo

    def list_variables(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str | None = None
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env)
        items = list(holder.variables.values())
        return 200, {"total_count": len(items), "variables": items}

    def create_variable(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str | None = None
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env, admin=True)
        var, value = body.get("name"), body.get("value")
        if (
            not var
            or not isinstance(value, str)
            or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var)
        ):
            raise HTTPError(422, "Validation Failed")
        key = var.upper()
        if key in holder.variables:
            raise HTTPError(409, "Already exists - Variable already exists")
        holder.variables[key] = {
            "name": key,
            "value": value,
            "created_at": _now(),
            "updated_at": _now(),
        }
        return 201, {}

    def get_variable(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        var: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env)
        found = holder.variables.get(var.upper())
        if found is None:
            raise HTTPError(404, "Not Found")
        return 200, dict(found)

    def update_variable(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        var: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env, admin=True)
        found = holder.variables.get(var.upper())
        if found is None:
            raise HTTPError(404, "Not Found")
        if "value" in body:
            found["value"] = body["value"]
            found["updated_at"] = _now()
        return 204, None

    def delete_variable(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        var: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env, admin=True)
        if holder.variables.pop(var.upper(), None) is None:
            raise HTTPError(404, "Not Found")
        return 204, None

    # secrets

    def get_public_key(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str | None = None
    ) -> tuple[int, Any]:
        return 200, self._holder(login, owner, name, env).keys.public_json()

    def list_secrets(
        self, login: str, body: Any, args: Any, owner: str, name: str, env: str | None = None
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env)
        items = [
            {k: v for k, v in s.items() if k != "encrypted_value"} for s in holder.secrets.values()
        ]
        return 200, {"total_count": len(items), "secrets": items}

    def get_secret(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        secret: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env)
        found = holder.secrets.get(secret.upper())
        if found is None:
            raise HTTPError(404, "Not Found")
        return 200, {k: v for k, v in found.items() if k != "encrypted_value"}

    def put_secret(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        secret: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env, admin=True)
        if body.get("key_id") != holder.keys.key_id:
            raise HTTPError(422, "Bad request - key_id does not match the public key")
        try:
            holder.keys.decrypt(body.get("encrypted_value", ""))
        except Exception as exc:  # noqa: BLE001 - any decryption failure is the client's fault
            raise HTTPError(422, "Bad request - the value is not sealed to the public key") from exc
        key = secret.upper()
        existed = key in holder.secrets
        holder.secrets[key] = {
            "name": key,
            "encrypted_value": body["encrypted_value"],
            "created_at": holder.secrets.get(key, {}).get("created_at", _now()),
            "updated_at": _now(),
        }
        return (204 if existed else 201), ({} if not existed else None)

    def delete_secret(
        self,
        login: str,
        body: Any,
        args: Any,
        owner: str,
        name: str,
        secret: str,
        env: str | None = None,
    ) -> tuple[int, Any]:
        holder = self._holder(login, owner, name, env, admin=True)
        if holder.secrets.pop(secret.upper(), None) is None:
            raise HTTPError(404, "Not Found")
        return 204, None

    # deployments (for `status`, `promote`, `rollback`)

    def add_deployment(self, full_name: str, *, environment: str, sha: str, ref: str = "main",
                       creator: str | None = None, payload: Any = None,
                       statuses: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
        """Seed a deployment (and its statuses, oldest first) directly."""
        with self.lock:
            repo = self.repo(full_name)
            login = creator or repo.owner
            deployment = self._deployment(repo, login, {"ref": ref, "environment": environment,
                                                        "payload": payload or {}}, sha)  # fmt: skip
            for state in statuses:
                self._status(repo, login, deployment["id"], {"state": state})
        return deployment

    def _deployment(self, repo: Repository, login: str, body: Any, sha: str) -> dict[str, Any]:
        did = next(_ids)
        url = f"{self.api_url}/repos/{repo.full_name}/deployments/{did}"
        deployment = {
            "id": did,
            "node_id": f"DE_{did}",
            "url": url,
            "sha": sha,
            "ref": body.get("ref"),
            "task": body.get("task", "deploy"),
            "payload": body.get("payload") or {},
            "original_environment": body.get("environment", "production"),
            "environment": body.get("environment", "production"),
            "description": body.get("description"),
            "creator": self._user_json(self._account(login)),
            "created_at": self.now(),
            "updated_at": self.now(),
            "statuses_url": url + "/statuses",
            "repository_url": f"{self.api_url}/repos/{repo.full_name}",
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(body.get("production_environment", False)),
        }
        repo.deployments.insert(0, deployment)  # newest first, as GitHub lists them
        repo.statuses[did] = []
        return deployment

    def list_deployments(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        found = [
            d for d in repo.deployments
            if all(args.get(k) in (None, d.get(k)) for k in ("environment", "sha", "ref", "task"))
        ]  # fmt: skip
        return 200, _page(found, args)

    def create_deployment(
        self, login: str, body: Any, args: Any, owner: str, name: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        ref = body.get("ref")
        if not ref:
            raise HTTPError(422, "Validation Failed", errors=[{"field": "ref"}])
        sha = ref if re.fullmatch(r"[0-9a-f]{40}", ref) else self.head(repo.full_name, ref)
        if sha is None:
            raise HTTPError(422, f"No ref found for: {ref}")
        return 201, self._deployment(repo, login, body, sha)

    def get_deployment(
        self, login: str, body: Any, args: Any, owner: str, name: str, did: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        for deployment in repo.deployments:
            if deployment["id"] == int(did):
                return 200, deployment
        raise HTTPError(404, "Not Found")

    def _status(self, repo: Repository, login: str, did: int, body: Any) -> dict[str, Any]:
        state = body.get("state")
        if state not in (
            "error",
            "failure",
            "inactive",
            "in_progress",
            "queued",
            "pending",
            "success",
        ):
            raise HTTPError(422, "Validation Failed", errors=[{"field": "state"}])
        deployment = next(d for d in repo.deployments if d["id"] == did)
        sid = next(_ids)
        status = {
            "id": sid,
            "node_id": f"DES_{sid}",
            "url": f"{deployment['url']}/statuses/{sid}",
            "state": state,
            "creator": self._user_json(self._account(login)),
            "description": body.get("description", ""),
            "environment": body.get("environment", deployment["environment"]),
            "environment_url": body.get("environment_url", ""),
            "log_url": body.get("log_url", ""),
            "target_url": body.get("log_url", ""),
            "deployment_url": deployment["url"],
            "repository_url": deployment["repository_url"],
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        repo.statuses[did].insert(0, status)
        if state == "success" and body.get("auto_inactive", True):
            for other in repo.deployments:
                if other["id"] != did and other["environment"] == deployment["environment"]:
                    latest = repo.statuses[other["id"]]
                    if latest and latest[0]["state"] == "success":
                        latest.insert(0, {**latest[0], "id": next(_ids), "state": "inactive"})
        return status

    def list_statuses(
        self, login: str, body: Any, args: Any, owner: str, name: str, did: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        if int(did) not in repo.statuses:
            raise HTTPError(404, "Not Found")
        return 200, _page(repo.statuses[int(did)], args)

    def create_status(
        self, login: str, body: Any, args: Any, owner: str, name: str, did: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        if int(did) not in repo.statuses:
            raise HTTPError(404, "Not Found")
        return 201, self._status(repo, login, int(did), body)

    # commits: compare, and the pull requests that brought a commit (promotion's change list)

    def _commit_json(self, repo: Repository, sha: str) -> dict[str, Any]:
        """A commit as `compare` lists it (`commit`), read from the bare repository."""
        fields = _git(self.bare_path(repo.full_name), "show", "-s",
                      "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)  # fmt: skip
        tree, parents, an, ae, ad, cn, ce, cd, message = fields.split("\x00", 8)
        api = f"{self.api_url}/repos/{repo.full_name}"
        return {
            "url": f"{api}/commits/{sha}", "sha": sha, "node_id": f"C_{sha[:16]}",
            "html_url": f"{self.url}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": {"name": an, "email": ae, "date": ad},
                "committer": {"name": cn, "email": ce, "date": cd},
                "message": message.rstrip("\n"), "comment_count": 0,
                "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            },
            "author": None, "committer": None,
            "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in parents.split()],
        }  # fmt: skip

    def _resolve(self, repo: Repository, ref: str) -> str:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=self.bare_path(repo.full_name), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if not done.stdout.strip():
            raise HTTPError(404, "Not Found")
        return done.stdout.strip()

    def compare(
        self, login: str, body: Any, args: Any, owner: str, name: str, basehead: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        base_ref, sep, head_ref = basehead.partition("...")
        if not sep:
            raise HTTPError(404, "Not Found")
        base, head = self._resolve(repo, base_ref), self._resolve(repo, head_ref)
        bare = self.bare_path(repo.full_name)
        ahead = _git(bare, "rev-list", "--reverse", f"{base}..{head}").split()
        behind = _git(bare, "rev-list", f"{head}..{base}").split()
        merge_base = _git(bare, "merge-base", base, head).strip()
        status = ("identical" if not ahead and not behind else "ahead" if not behind
                  else "behind" if not ahead else "diverged")  # fmt: skip
        web = f"{self.url}/{repo.full_name}/compare/{basehead}"
        return 200, {
            "url": f"{self.api_url}/repos/{repo.full_name}/compare/{basehead}",
            "html_url": web, "permalink_url": web, "diff_url": web + ".diff",
            "patch_url": web + ".patch",
            "base_commit": self._commit_json(repo, base),
            "merge_base_commit": self._commit_json(repo, merge_base),
            "status": status, "ahead_by": len(ahead), "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [self._commit_json(repo, sha) for sha in ahead[-250:]],  # GitHub's limit
            "files": [],
        }  # fmt: skip

    def add_pull(self, full_name: str, *, title: str, commits: tuple[str, ...],
                 merge_commit_sha: str | None = None, login: str | None = None) -> dict[str, Any]:  # fmt: skip
        """A merged pull request that brought `commits` (merged as `merge_commit_sha`)."""
        with self.lock:
            repo = self.repo(full_name)
            number = len(repo.pulls) + 1
            user = self._user_json(self._account(login or repo.owner))
            api = f"{self.api_url}/repos/{full_name}"
            web = f"{self.url}/{full_name}/pull/{number}"
            repo_json = self._repo_json(repo, repo.owner)
            side = {"label": f"{repo.owner}:main", "ref": "main", "repo": repo_json,
                    "sha": commits[-1], "user": user}  # fmt: skip
            links = {k: {"href": f"{api}/pulls/{number}"} for k in
                     ("comments", "commits", "statuses", "html", "issue", "review_comments",
                      "review_comment", "self")}  # fmt: skip
            pull = {
                "url": f"{api}/pulls/{number}", "id": next(_ids), "node_id": f"PR_{number}",
                "html_url": web, "diff_url": web + ".diff", "patch_url": web + ".patch",
                "issue_url": f"{api}/issues/{number}", "commits_url": f"{api}/pulls/{number}/commits",
                "review_comments_url": f"{api}/pulls/{number}/comments",
                "review_comment_url": f"{api}/pulls/comments{{/number}}",
                "comments_url": f"{api}/issues/{number}/comments",
                "statuses_url": f"{api}/statuses/{commits[-1]}", "number": number,
                "state": "closed", "locked": False, "title": title, "user": user, "body": None,
                "labels": [], "milestone": None, "created_at": self.now(),
                "updated_at": self.now(), "closed_at": self.now(), "merged_at": self.now(),
                "merge_commit_sha": merge_commit_sha or commits[-1], "assignee": None,
                "head": {**side, "ref": f"change-{number}"}, "base": side, "_links": links,
                "author_association": "OWNER", "auto_merge": None,
                "_commits": list(commits),
            }  # fmt: skip
            repo.pulls.append(pull)
        return pull

    def commit_pulls(
        self, login: str, body: Any, args: Any, owner: str, name: str, sha: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        sha = self._resolve(repo, sha)
        found = [{k: v for k, v in p.items() if k != "_commits"} for p in repo.pulls
                 if sha == p["merge_commit_sha"] or sha in p["_commits"]]  # fmt: skip
        return 200, _page(found, args)

    # pull requests and their comments (the preview environments: tests/stacks/test_previews.py)

    def open_pull(self, full_name: str, *, title: str, head_sha: str, fork: bool = False,
                  login: str | None = None) -> dict[str, Any]:  # fmt: skip
        """An open pull request whose head is `head_sha` (from a fork: another repository)."""
        pull = self.add_pull(full_name, title=title, commits=(head_sha,), login=login)
        with self.lock:
            pull.update(state="open", closed_at=None, merged_at=None, merge_commit_sha=None)
            if fork:
                head_repo = {**pull["head"]["repo"], "full_name": f"forker/{pull['head']['repo']['name']}"}
                pull["head"] = {**pull["head"], "repo": head_repo, "label": "forker:change"}
        return pull

    def close_pull(self, full_name: str, number: int, *, merged: bool = False) -> None:
        with self.lock:
            pull = self._pull(self.repo(full_name), number)
            pull.update(state="closed", closed_at=self.now(), updated_at=self.now())
            if merged:
                pull.update(merged_at=self.now(), merge_commit_sha=pull["head"]["sha"])

    def _pull(self, repo: Repository, number: int) -> dict[str, Any]:
        for pull in repo.pulls:
            if pull["number"] == number:
                return pull
        raise HTTPError(404, "Not Found")

    def get_pull(
        self, login: str, body: Any, args: Any, owner: str, name: str, number: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        pull = {k: v for k, v in self._pull(repo, int(number)).items() if k != "_commits"}
        merged = pull["merged_at"] is not None
        comments = sum(1 for c in repo.issue_comments if c["_issue"] == int(number))
        return 200, {
            **pull, "merged": merged, "mergeable": None if pull["state"] == "open" else False,
            "mergeable_state": "unknown", "merged_by": pull["user"] if merged else None,
            "comments": comments, "review_comments": 0, "maintainer_can_modify": False,
            "commits": len(self._pull(repo, int(number))["_commits"]), "additions": 1,
            "deletions": 0, "changed_files": 1,
        }  # fmt: skip

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    def list_issue_comments(
        self, login: str, body: Any, args: Any, owner: str, name: str, number: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        found = [self._comment_json(c) for c in repo.issue_comments if c["_issue"] == int(number)]
        return 200, _page(found, args)

    def create_issue_comment(
        self, login: str, body: Any, args: Any, owner: str, name: str, number: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        if not any(p["number"] == int(number) for p in repo.pulls):
            raise HTTPError(404, "Not Found")
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            raise HTTPError(422, "Invalid request: body is required")
        cid = next(_ids)
        api = f"{self.api_url}/repos/{repo.full_name}"
        comment = {
            "id": cid, "node_id": f"IC_{cid}", "url": f"{api}/issues/comments/{cid}",
            "html_url": f"{self.url}/{repo.full_name}/pull/{number}#issuecomment-{cid}",
            "body": body["body"], "user": self._user_json(self._account(login)),
            "created_at": self.now(), "updated_at": self.now(),
            "issue_url": f"{api}/issues/{number}", "author_association": "OWNER",
            "_issue": int(number),
        }  # fmt: skip
        repo.issue_comments.append(comment)
        return 201, self._comment_json(comment)

    def update_issue_comment(
        self, login: str, body: Any, args: Any, owner: str, name: str, cid: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        for comment in repo.issue_comments:
            if comment["id"] == int(cid):
                if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                    raise HTTPError(422, "Invalid request: body is required")
                comment.update(body=body["body"], updated_at=self.now())
                return 200, self._comment_json(comment)
        raise HTTPError(404, "Not Found")

    # workflow runs (minimal)

    def add_workflow_run(self, full_name: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            repo = self.repo(full_name)
            rid = next(_ids)
            run = {
                "id": rid, "name": fields.pop("name", "build"), "head_branch": "main",
                "head_sha": fields.pop("head_sha", self.head(full_name) or "0" * 40),
                "event": "push", "status": "completed", "conclusion": "success",
                "workflow_id": 1, "run_number": len(repo.workflow_runs) + 1, "run_attempt": 1,
                "path": ".github/workflows/build.yml",
                "jobs_url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}/jobs",
                "rerun_url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}/rerun",
                "html_url": f"{self.url}/{full_name}/actions/runs/{rid}",
                "url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}",
                "node_id": f"WFR_{rid}", "pull_requests": [], "display_title": "build",
                "logs_url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}/logs",
                "check_suite_url": f"{self.api_url}/repos/{full_name}/check-suites/{rid}",
                "artifacts_url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}/artifacts",
                "cancel_url": f"{self.api_url}/repos/{full_name}/actions/runs/{rid}/cancel",
                "workflow_url": f"{self.api_url}/repos/{full_name}/actions/workflows/1",
                "head_commit": None, "repository": self._repo_json(repo, repo.owner),
                "head_repository": self._repo_json(repo, repo.owner),
                "created_at": _now(), "updated_at": _now(), **fields,
            }  # fmt: skip
            repo.workflow_runs.insert(0, run)
        return run

    def list_runs(self, login: str, body: Any, args: Any, owner: str, name: str) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        keys = ("branch", "event", "status", "head_sha")
        field_of = {"branch": "head_branch"}
        runs = [
            r for r in repo.workflow_runs
            if all(args.get(k) in (None, r.get(field_of.get(k, k))) for k in keys)
        ]  # fmt: skip
        return 200, {"total_count": len(runs), "workflow_runs": runs}

    def get_run(
        self, login: str, body: Any, args: Any, owner: str, name: str, rid: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        for run in repo.workflow_runs:
            if run["id"] == int(rid):
                return 200, run
        raise HTTPError(404, "Not Found")

    # scripted workflow runs and their jobs (`bootstrap provision --wait`)

    def script_run(
        self, full_name: str, run_id: int, frames: list[dict[str, Any]], *,
        after_rerun: list[dict[str, Any]] | None = None,
        on_frame: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> RunScript:  # fmt: skip
        """Script a run: each GET of its jobs serves the next frame (the last one stays); list
        and get requests show the run in the frame served next. `after_rerun` replaces the
        frames when the run is re-run (POST .../rerun)."""
        script = RunScript(list(frames), after_rerun, on_frame)
        with self.lock:
            self.run_scripts[run_id] = script
            self._apply_frame(self.repo(full_name), run_id)
        return script

    def run_on_push(
        self, full_name: str, frames: list[dict[str, Any]], *,
        after_rerun: list[dict[str, Any]] | None = None,
        on_frame: Callable[[int, dict[str, Any]], None] | None = None, name: str = "build",
    ) -> RunScript:  # fmt: skip
        """When main is next pushed (a real git push), GitHub starts a `push` run of the new
        head, scripted with `frames`, the way build.yml starts on GitHub."""
        script = RunScript(list(frames), after_rerun, on_frame, name)
        with self.lock:
            self.push_scripts[full_name.lower()] = script
        return script

    def _after_push(self, repo: Repository, before: str | None) -> None:
        after = self.head(repo.full_name)
        with self.lock:
            script = self.push_scripts.pop(repo.full_name.lower(), None)
            if script is None or after is None or after == before:
                if script is not None:
                    self.push_scripts[repo.full_name.lower()] = script
                return
            run = self.add_workflow_run(repo.full_name, head_sha=after, name=script.name)
            self.run_scripts[run["id"]] = script
            self._apply_frame(repo, run["id"])

    def _apply_frame(self, repo: Repository, run_id: int) -> None:
        script = self.run_scripts.get(run_id)
        run = next((r for r in repo.workflow_runs if r["id"] == run_id), None)
        if script is None or run is None:
            return
        frame = script.frame
        run["status"] = frame.get("status", "in_progress")
        run["conclusion"] = frame.get("conclusion")
        run["updated_at"] = _now()

    def _job_json(
        self, repo: Repository, run: dict[str, Any], index: int, job: dict[str, Any]
    ) -> dict[str, Any]:
        jid = run["id"] * 100 + index
        status = job.get("status", "queued")
        steps = [
            {"name": step["name"], "status": step.get("status", status),
             "conclusion": step.get("conclusion"), "number": number,
             "started_at": _now(), "completed_at": _now() if step.get("conclusion") else None}
            for number, step in enumerate(job.get("steps") or [], start=1)
        ]  # fmt: skip
        return {
            "id": jid, "run_id": run["id"], "run_attempt": run.get("run_attempt", 1),
            "name": job["name"], "status": status, "conclusion": job.get("conclusion"),
            "head_sha": run["head_sha"], "workflow_name": run.get("name"),
            "url": f"{self.api_url}/repos/{repo.full_name}/actions/jobs/{jid}",
            "html_url": f"{self.url}/{repo.full_name}/actions/runs/{run['id']}/job/{jid}",
            "run_url": run["url"], "started_at": _now(), "created_at": _now(),
            "completed_at": _now() if status == "completed" else None,
            "steps": steps, "labels": ["ubuntu-latest"], "node_id": f"CR_{jid}",
            "check_run_url": f"{self.api_url}/repos/{repo.full_name}/check-runs/{jid}",
            "runner_id": 1, "runner_name": "GitHub Actions 1", "runner_group_id": 1,
            "runner_group_name": "GitHub Actions", "head_branch": run.get("head_branch", "main"),
        }  # fmt: skip

    def list_jobs(
        self, login: str, body: Any, args: Any, owner: str, name: str, rid: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        run = next((r for r in repo.workflow_runs if r["id"] == int(rid)), None)
        if run is None:
            raise HTTPError(404, "Not Found")
        script = self.run_scripts.get(int(rid))
        if script is None:
            return 200, {"total_count": 0, "jobs": []}
        served = script.index
        frame = script.frame
        self._apply_frame(repo, int(rid))
        jobs = [self._job_json(repo, run, i, job) for i, job in enumerate(frame.get("jobs") or [])]
        if script.on_frame is not None:
            script.on_frame(served, frame)
        script.index = min(script.index + 1, len(script.frames) - 1)
        self._apply_frame(repo, int(rid))  # list/get now show the next frame's run state
        return 200, {"total_count": len(jobs), "jobs": jobs}

    def rerun(
        self, login: str, body: Any, args: Any, owner: str, name: str, rid: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        run = next((r for r in repo.workflow_runs if r["id"] == int(rid)), None)
        if run is None:
            raise HTTPError(404, "Not Found")
        if run.get("status") != "completed":
            raise HTTPError(403, "This workflow is already running")
        run["run_attempt"] = int(run.get("run_attempt", 1)) + 1
        run["status"], run["conclusion"] = "queued", None
        script = self.run_scripts.get(int(rid))
        if script is not None and script.after_rerun is not None:
            script.frames, script.after_rerun, script.index = script.after_rerun, None, 0
            self._apply_frame(repo, int(rid))
        return 201, {}

    def dispatch(
        self, login: str, body: Any, args: Any, owner: str, name: str, wf: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name, admin=True)
        if not body.get("ref"):
            raise HTTPError(422, "Invalid request. ref wasn't supplied.")
        repo.dispatches.append({"workflow": wf, "ref": body["ref"], "inputs": body.get("inputs") or {},
                                "actor": login, "at": _now()})  # fmt: skip
        return 204, None


def _page(items: list[Any], args: Any) -> list[Any]:
    per_page = int(args.get("per_page", 30))
    page = int(args.get("page", 1))
    return items[(page - 1) * per_page : page * per_page]


def _json(data: Any, status: int, headers: dict[str, str]) -> Response:
    if data is None or status == 204:
        return Response(b"", status, headers)
    return Response(
        json.dumps(data), status, headers, content_type="application/json; charset=utf-8"
    )


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@pytest.fixture
def github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGitHub]:
    """A running local GitHub with no accounts yet: add users, orgs and repos in the test."""
    server = FakeGitHub(tmp_path_factory.mktemp("github")).start()
    try:
        yield server
    finally:
        server.stop()
