"""GitHub's REST API through the standard library: the transport the carried modules use.

No dependency beyond the stdlib, so a generated repository's workflows can talk to GitHub from the
infra virtualenv without adding a package. A transport is any callable

    transport(method, path, body=None, params=None) -> decoded JSON (None for 204)

that raises `GitHubError` on an error answer. `UrllibTransport` is the workflow's (token and API URL
from `GITHUB_TOKEN` / `GITHUB_API_URL`, which every Actions job has); the bootstrap CLI passes one
built on its PyGithub client (`bootstrap/github/records.py`).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from .contract import GITHUB_API_URL

TOKEN_ENV = "GITHUB_TOKEN"  # noqa: S105 - the variable's name
API_URL_ENV = "GITHUB_API_URL"
REPOSITORY_ENV = "GITHUB_REPOSITORY"  # OWNER/NAME, set in every Actions job
API_VERSION = "2022-11-28"  # X-GitHub-Api-Version (GitHub's REST API versions page)


class GitHubError(Exception):
    """GitHub answered with an error (or could not be reached): the status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub answered {status}: {message}" if status else message)
        self.status = status
        self.message = message


class Transport(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any: ...


def repo_path(repository: str, *parts: str | int) -> str:
    """`/repos/OWNER/NAME/...`, every segment quoted (names come from users)."""
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"'{repository}' is not a repository (OWNER/NAME)")
    segments = [owner, name, *(str(p) for p in parts)]
    return "/repos/" + "/".join(urllib.parse.quote(s, safe="") for s in segments)


class UrllibTransport:
    """The REST API at `api_url` with a token, one request per call, no retries (a workflow step
    that fails is re-run as a whole)."""

    def __init__(self, token: str, api_url: str = GITHUB_API_URL, *, timeout: float = 30) -> None:
        self._token = token  # in memory only
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> UrllibTransport:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise GitHubError(0, f"{TOKEN_ENV} is not set (give the step `GITHUB_TOKEN` in env:)")
        return cls(token, os.environ.get(API_URL_ENV) or GITHUB_API_URL)

    def __call__(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        url = self.api_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https API
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                text = answer.read().decode()
        except urllib.error.HTTPError as exc:
            raise GitHubError(exc.code, _message(exc.read().decode(errors="replace"))) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(0, f"cannot reach {self.api_url}: {reason}") from exc
        return json.loads(text) if text.strip() else None


def _message(text: str) -> str:
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text.strip()[:200]


# -- the job's files ------------------------------------------------------------------------------


def append_to(variable: str, text: str) -> None:
    """Append `text` as a line to the file a GitHub Actions variable names (GITHUB_OUTPUT,
    GITHUB_STEP_SUMMARY); nothing outside a job, where the variable is unset."""
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(text + "\n")


def step_outputs(**values: str) -> None:
    """Single-line step outputs (`name=value`, the value's whitespace folded to spaces)."""
    for name, value in values.items():
        append_to("GITHUB_OUTPUT", f"{name}={' '.join(value.split())}")
