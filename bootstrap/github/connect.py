"""The one way to connect to GitHub: every command (`github sync`, `provision`, `new`, `status`,
`promote`, `rollback`, `destroy --github`, `doctor`) gets its client from `connect`.

- token: `GITHUB_TOKEN`, else `GH_TOKEN` (else, on a terminal only, a no-echo prompt);
- API URL: `--github-api-url`, else `GITHUB_API_URL`, else the `api_url` recorded in the
  repository's `.bootstrap/github.json`, else https://api.github.com (plain http only for loopback);
- retries: `RetryPolicy` (5xx, network errors and rate limits, the whole idempotent step again);
  a wait GitHub asks for is announced through `notify`;
- pacing: PyGithub's spacing of requests protects github.com from secondary rate limits; it is off
  for a loopback API (a local GitHub in tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from bootstrap.github.client import API_URL_ENV, GitHubClient, RetryPolicy, is_loopback
from bootstrap.github.client import resolve_api_url as _checked_url
from bootstrap.github.token import read_token, token_from_env

__all__ = ["announcing", "api_url_of", "connect", "token_from_env"]

def api_url_of(option: str | None = None, repo: Path | None = None) -> str:
    """`option` (--github-api-url), else `GITHUB_API_URL`, else the repository's recorded URL,
    else https://api.github.com; checked (https, or http on loopback) and without a trailing /."""
    recorded = None
    if not option and not os.environ.get(API_URL_ENV) and repo is not None:
        from bootstrap.github.rerender import read_record

        recorded = read_record(repo).get("api_url")
    return _checked_url(option or os.environ.get(API_URL_ENV) or recorded)


def announcing(
    notify: Callable[[str], None] | None, sleep: Callable[[float], None] = time.sleep
) -> Callable[[float], None]:
    """A `sleep` that first says why the run waits."""

    def wait(seconds: float) -> None:
        if notify is not None:
            notify(f"GitHub asked to slow down: retrying in {seconds:.0f} s")
        sleep(seconds)

    return wait


def connect(
    api_url: str | None = None,
    *,
    repo: Path | None = None,
    token: str | None = None,
    interactive: bool = False,
    attempts: int = 5,
    retry: RetryPolicy | None = None,
    notify: Callable[[str], None] | None = None,
    timeout: int = 30,
) -> GitHubClient:
    """A client for the GitHub of `api_url` (resolved as `api_url_of`). Nothing is sent yet: the
    token is checked by `bootstrap.github.token.check` where a command needs its identity.

    Raises CredentialsError when no token is found (`interactive` allows the prompt)."""
    url = api_url_of(api_url, repo)
    secret = token or read_token(interactive=interactive)
    policy = retry or RetryPolicy(attempts=attempts, sleep=announcing(notify))
    host = urlparse(url).hostname or ""
    return GitHubClient(secret, url, retry=policy, throttle=not is_loopback(host), timeout=timeout)
