"""The PyGithub client for one API URL, with bounded retries and one clear error per failure.

Every provisioning step is an idempotent "ensure" (look, then create or update), so a step is
retried as a whole: a 5xx, a network error or a rate limit makes `run` wait and run the step
again, a bounded number of times. PyGithub's own urllib3 retries are switched off so that the
waits are ours: they honour `Retry-After` and `x-ratelimit-reset`, back off exponentially
otherwise, and go through an injectable `sleep` (tests wait for nothing). When the attempts are
used up, or a wait would be longer than `max_wait`, a `RemoteError` names the step reached.
"""

from __future__ import annotations

import email.utils
import ipaddress
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlparse

from bootstrap.errors import CredentialsError, RemoteError, UserError
from stacks.contract import GITHUB_API_URL

if TYPE_CHECKING:
    from github import Github

DEFAULT_API_URL = GITHUB_API_URL
API_URL_ENV = "GITHUB_API_URL"
# What a classic token needs: `repo` (or `public_repo` for public repositories) for the
# repository, environments, variables, secrets and branch protection; `workflow` to push
# .github/workflows/.
REQUIRED_SCOPES = ("repo", "workflow")
FINE_GRAINED_PERMISSIONS = (
    "Administration, Contents, Environments, Secrets, Variables and Workflows (read and write)"
)
RERUN = "finished steps are kept and skipped"  # the command layer adds which command to rerun

T = TypeVar("T")


def resolve_api_url(option: str | None) -> str:
    """`--github-api-url`, else `GITHUB_API_URL`, else api.github.com; no trailing slash."""
    url = (option or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise UserError(
            f"'{url}' is not a GitHub API URL",
            "use https://api.github.com or, for GitHub Enterprise Server, https://HOST/api/v3",
        )
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        raise UserError(
            f"refusing to send a GitHub token over plain http to {parsed.hostname}",
            "use an https:// API URL",
        )
    return url


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def path(*parts: str) -> str:
    """An API path from its segments, each quoted (names come from users)."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `sleep` and `clock` are seams: tests pass a recorder and a fixed clock."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_wait: float = 300.0  # the longest rate-limit wait honoured before giving up
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class GitHubClient:
    """A PyGithub `Github` for one token and API URL, plus the step runner and a write count."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        retry: RetryPolicy | None = None,
        throttle: bool = True,
        timeout: int = 30,
    ) -> None:
        from github import Auth, Github

        pacing: dict[str, Any] = (
            {} if throttle else {"seconds_between_requests": 0, "seconds_between_writes": 0}
        )
        self.api_url = api_url
        self.token = token  # in memory only: git's push needs it too (bootstrap.github.gitpush)
        self.retry = retry or RetryPolicy()
        self.gh: Github = Github(
            auth=Auth.Token(token), base_url=api_url, retry=None, timeout=timeout, **pacing
        )
        self.writes = 0  # successful write requests (POST, PUT, PATCH, DELETE)
        self.step = "connect"

    # -- raw REST through PyGithub's requester ------------------------------------------------

    def request(
        self, verb: str, url: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], Any]:
        headers, data = self.gh.requester.requestJsonAndCheck(
            verb, url, parameters=params, input=body
        )
        if verb != "GET":
            self.writes += 1
        return headers, data

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON at `url`, or None when GitHub answers 404."""
        from github import GithubException

        try:
            return self.request("GET", url, params=params)[1]
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise

    def write(self, verb: str, url: str, body: Any = None) -> Any:
        return self.request(verb, url, body)[1]

    def repository(self, full_name: str) -> Any:
        """PyGithub's `Repository` named `full_name` (`OWNER/NAME`), read as a step."""
        return self.run(f"read the repository {full_name}", lambda: self.gh.get_repo(full_name))

    # -- steps ----------------------------------------------------------------------------------

    def run(self, step: str, fn: Callable[[], T]) -> T:
        """Run one idempotent step; retry what is transient; turn the rest into a UserError."""
        import requests
        from github import GithubException

        self.step = step
        policy = self.retry
        last = ""
        for attempt in range(1, policy.attempts + 1):
            try:
                return fn()
            except GithubException as exc:
                wait = self._transient_wait(step, exc, attempt)
                if wait is None:
                    raise translate(step, exc) from exc
                last = f"{exc.status} {message_of(exc)}".strip()
            except requests.RequestException as exc:
                wait = policy.backoff(attempt)
                last = f"network error: {type(exc).__name__}"
            if attempt < policy.attempts:
                policy.sleep(wait)
        raise RemoteError(
            f"GitHub kept failing at step '{step}' after {policy.attempts} attempts ({last})",
            RERUN,
            rerun=True,
        )

    def _transient_wait(self, step: str, exc: Any, attempt: int) -> float | None:
        """Seconds to wait before retrying `exc`, or None when retrying cannot help."""
        policy = self.retry
        status = exc.status
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        retry_after = parse_retry_after(headers.get("retry-after"), policy.clock())
        if status >= 500:
            return retry_after if retry_after is not None else policy.backoff(attempt)
        if status not in (403, 429):
            return None
        text = message_of(exc).lower()
        wait: float | None = None
        if retry_after is not None:
            wait = retry_after
        elif headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            try:
                wait = max(0.0, float(headers["x-ratelimit-reset"]) - policy.clock()) + 1
            except ValueError:
                wait = None
        elif "secondary rate limit" in text or "abuse" in text:
            wait = max(60.0, policy.backoff(attempt))  # GitHub: wait at least a minute
        elif status == 429:
            wait = policy.backoff(attempt)
        if wait is None:
            return None
        if wait > policy.max_wait:
            resume = time.strftime("%H:%M:%S UTC", time.gmtime(policy.clock() + wait))
            raise RemoteError(
                f"GitHub's rate limit stopped step '{step}' until {resume} ({int(wait)} s)",
                f"wait until then ({RERUN})",
                rerun=True,
            )
        return wait


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def message_of(exc: Any) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        details = [
            str(e.get("message") or e.get("code") or "")
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        details = [d for d in details if d]
        return f"{message} ({'; '.join(details)})" if details else message
    return str(data or "")


def translate(step: str, exc: Any) -> UserError:
    """One clear line for a GitHub error that retrying cannot fix."""
    status = exc.status
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    text = message_of(exc)
    answer = f"GitHub answered {status}{' ' + text if text else ''}"
    if status == 401:
        return CredentialsError(
            f"GitHub rejected the token at step '{step}' ({answer})",
            "create a new token (classic scopes: repo, workflow) and set GITHUB_TOKEN",
        )
    if status == 403:
        accepted = headers.get("x-accepted-oauth-scopes")
        have = headers.get("x-oauth-scopes")
        if accepted:
            return CredentialsError(
                f"the token may not {step} ({answer}; it has scopes: {have or 'none'})",
                f"give the token the scope(s) {accepted} (this tool needs: "
                f"{', '.join(REQUIRED_SCOPES)}) and run again",
            )
        if "personal access token" in text.lower() or have is None:
            return CredentialsError(
                f"the token may not {step} ({answer})",
                f"give the fine-grained token these repository permissions: "
                f"{FINE_GRAINED_PERMISSIONS}; or use a classic token with scopes "
                f"{', '.join(REQUIRED_SCOPES)}",
            )
        return CredentialsError(
            f"the token may not {step} ({answer})",
            "the token's user needs the admin role on the repository (and scopes "
            f"{', '.join(REQUIRED_SCOPES)})",
        )
    if status == 404:
        return RemoteError(
            f"step '{step}' failed: {answer}",
            "check the owner, the API URL and that the token can see the repository "
            "(without the repo scope private repositories look missing)",
        )
    if status == 422:
        return UserError(f"GitHub refused step '{step}' ({answer})", "fix the input and run again")
    return RemoteError(f"step '{step}' failed: {answer}", RERUN, rerun=True)
