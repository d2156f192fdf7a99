"""GitHub as a status source: the repository's deployments per environment (= stage), with
their statuses, and the workflow runs waiting for an approval. Read only: starting promote.yml
(the one write to GitHub that promotions make) is `bootstrap.release.dispatch`.

A deployment names a commit, not an image. Its image is found, in order: a digest written in the
deployment (payload, description) or in one of its statuses (description, environment_url); the
digest in the title of the workflow run that made it (promote.yml's run-name carries its
`digest` input). The registry completes the rest (`collect.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any

from bootstrap.status.model import DIGEST_IN_TEXT, Deployment, Waiting, aware
from stacks.contract import BRANCH, PLACEHOLDER_DIGEST

if TYPE_CHECKING:
    from bootstrap.github.client import GitHubClient
    from bootstrap.spec import Spec

RUN_LINK = re.compile(r"/actions/runs/(\d+)")
DEPLOYMENTS_PER_STAGE = 10  # the newest deployments read per environment


class GitHubView:
    """The repository's deployments and the runs waiting for approval, through PyGithub.

    `branch` is the branch workflows are dispatched on (`release.dispatch`)."""

    def __init__(
        self, client: GitHubClient, repository: str, *, branch: str = BRANCH,
        limit: int = DEPLOYMENTS_PER_STAGE,
    ) -> None:  # fmt: skip
        self.client = client
        self.repository = repository
        self.branch = branch
        self.limit = limit
        self._repo: Any = None
        self._runs: dict[int, tuple[str, str]] = {}  # run id -> (event, title)

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.client.repository(self.repository)
        return self._repo

    def deployments(self, environment: str) -> list[Deployment]:
        """The newest deployments to `environment`, newest first, each with its statuses.

        Reading stops once three different releases that succeeded have been seen: the current
        and previous release are among them."""

        def read() -> list[Deployment]:
            found: list[Deployment] = []
            succeeded: set[str] = set()
            for raw in islice(self.repo.get_deployments(environment=environment), self.limit):
                deployment = self._deployment(raw, environment)
                found.append(deployment)
                if deployment.succeeded:
                    succeeded.add(deployment.digest or deployment.sha or str(deployment.id))
                    if len(succeeded) >= 3:
                        break
            return found

        return self.client.run(f"read the deployments to {environment}", read)

    def _deployment(self, raw: Any, environment: str) -> Deployment:
        statuses = list(islice(raw.get_statuses(), 50))
        states = [str(s.state) for s in statuses]
        successes = [s for s in statuses if s.state == "success"]
        creator = getattr(raw.creator, "login", None) if raw.creator is not None else None
        deployment = Deployment(
            id=int(raw.id),
            environment=environment,
            sha=raw.sha or None,
            created_at=aware(raw.created_at),
            creator=creator,
            states=states,
            succeeded_at=aware(successes[-1].created_at) if successes else None,
            environment_url=next((s.environment_url for s in statuses if s.environment_url), None),
        )
        texts: list[tuple[str, Any]] = [
            ("payload", json.dumps(raw.payload) if raw.payload else ""),
            ("payload", raw.description or ""),
        ]
        for status in statuses:
            texts.append(("status", status.description or ""))
            texts.append(("status", status.environment_url or ""))
        for source, text in texts:
            match = DIGEST_IN_TEXT.search(str(text))
            if match and match.group(0) != PLACEHOLDER_DIGEST:
                deployment.digest, deployment.digest_source = match.group(0), source
                return deployment
        run_id = next(
            (
                int(m.group(1))
                for s in statuses
                for m in [RUN_LINK.search(f"{s.log_url or ''} {s.target_url or ''}")]
                if m
            ),
            None,
        )
        if run_id is not None:
            event, title = self._run(run_id)
            deployment.dispatched = event == "workflow_dispatch"
            match = DIGEST_IN_TEXT.search(title)
            if match:
                deployment.digest, deployment.digest_source = match.group(0), "run"
        return deployment

    def _run(self, run_id: int) -> tuple[str, str]:
        if run_id not in self._runs:
            from github import GithubException

            try:
                run = self.repo.get_workflow_run(run_id)
                self._runs[run_id] = (
                    str(run.event or ""),
                    str(run.display_title or run.name or ""),
                )
            except GithubException as exc:
                if exc.status != 404:
                    raise
                self._runs[run_id] = ("", "")
        return self._runs[run_id]

    def waiting(self) -> dict[str, Waiting]:
        """Environment -> the oldest run waiting for its approval."""
        from bootstrap.github.client import path

        owner, name = self.repository.split("/", 1)

        def read() -> dict[str, Waiting]:
            found: dict[str, Waiting] = {}
            for run in islice(self.repo.get_workflow_runs(status="waiting"), 20):
                pending = (
                    self.client.get(
                        path(
                            "repos",
                            owner,
                            name,
                            "actions",
                            "runs",
                            str(run.id),
                            "pending_deployments",
                        )
                    )
                    or []
                )
                actor = getattr(run.actor, "login", None) if run.actor is not None else None
                for item in pending:
                    environment = (item.get("environment") or {}).get("name")
                    if not environment:
                        continue
                    found[environment] = Waiting(
                        run_id=int(run.id),
                        run_url=run.html_url,
                        sha=run.head_sha,
                        actor=actor,
                        since=aware(run.created_at),
                        title=run.display_title or run.name,
                    )
            return found

        return self.client.run("read the workflow runs waiting for approval", read)


def records_transport(client: GitHubClient) -> Any:
    """The carried modules' transport (`stacks.github_api.Transport`) on the CLI's GitHub client:
    one REST request per call, its failures as `stacks.github_api.GitHubError`."""
    from github import GithubException

    from stacks.github_api import GitHubError

    def call(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            return client.request(method, path, body, params)[1]
        except GithubException as exc:
            message = (exc.data or {}).get("message") if isinstance(exc.data, dict) else None
            raise GitHubError(exc.status, str(message or exc)) from exc

    return call


def github_from_env(
    spec: Spec, repo_path: Any, *, api_url: str | None = None, notify: Callable[[str], None] | None
) -> GitHubView | None:
    """The GitHub view when GitHub is configured (owner in the spec and a token), else None."""
    from bootstrap.github.connect import connect
    from bootstrap.github.rerender import read_record
    from bootstrap.github.token import token_from_env

    record = read_record(repo_path)
    repository = record.get("repository") or spec.repository
    if not repository or not token_from_env():
        return None
    client = connect(api_url, repo=repo_path, attempts=3, notify=notify, timeout=15)
    return GitHubView(client, str(repository))
