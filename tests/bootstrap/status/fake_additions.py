"""What the status tests need from the local GitHub beyond tests/fakes/github_server.py, added
in a subclass (that module belongs to the GitHub provisioning work):

- `GET /repos/{o}/{r}/actions/runs/{id}/pending_deployments`: the environments a waiting run
  waits for (`add_waiting_run`), shaped like GitHub's answer;
- `GET /repos/{o}/{r}/actions/workflows/{file}`: the generated repo's workflows (PyGithub reads
  one before dispatching it); its `url` names the workflow by id, as GitHub's does, and
  `workflow_file` maps a dispatch back to the file;
- `seed_deployment`: a deployment with statuses at fixed times, with the fields Actions fills
  (`log_url` to the run, `environment_url`, `description`), and states the base server refuses
  to accept over the API (`waiting`), written straight into the state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from tests.fakes.github_server import FakeGitHub, HTTPError, Route

_ids = itertools.count(50_000)


class StatusGitHub(FakeGitHub):
    WORKFLOWS = ("build.yml", "deploy-stage.yml", "preview.yml", "promote.yml", "teardown.yml")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pending: dict[int, list[str]] = {}  # run id -> environments it waits for
        self.workflow_ids = {name: 161_000 + i for i, name in enumerate(self.WORKFLOWS)}
        super().__init__(*args, **kwargs)

    def workflow_file(self, ref: str) -> str:
        """The file of a workflow named by id (as in GitHub's URLs) or by file name."""
        by_id = {str(i): name for name, i in self.workflow_ids.items()}
        return by_id.get(ref, ref)

    def _routes(self) -> list[Route]:
        import re

        R = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        extra: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", R + r"/actions/runs/(?P<rid>\d+)/pending_deployments", self.list_pending),
            ("GET", R + r"/actions/workflows/(?P<wf>[^/]+)", self.get_workflow),
        ]
        return [(m, re.compile(p), h) for m, p, h in extra] + super()._routes()

    def list_pending(
        self, login: str, body: Any, args: Any, owner: str, name: str, rid: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        if not any(r["id"] == int(rid) for r in repo.workflow_runs):
            raise HTTPError(404, "Not Found")
        items = []
        for env in self.pending.get(int(rid), []):
            items.append(
                {
                    "environment": {
                        "id": next(_ids),
                        "node_id": "EN_x",
                        "name": env,
                        "url": f"{self.api_url}/repos/{repo.full_name}/environments/{env}",
                        "html_url": f"{self.url}/{repo.full_name}/deployments",
                    },
                    "wait_timer": 0,
                    "wait_timer_started_at": None,
                    "current_user_can_approve": True,
                    "reviewers": [
                        {"type": "User", "reviewer": self._user_json(self._account(login))}
                    ],
                }
            )
        return 200, items

    def get_workflow(
        self, login: str, body: Any, args: Any, owner: str, name: str, wf: str
    ) -> tuple[int, Any]:
        repo = self._repo(login, owner, name)
        file = self.workflow_file(wf)
        if file not in self.workflow_ids:
            raise HTTPError(404, "Not Found")
        wid = self.workflow_ids[file]
        return 200, {
            "id": wid,
            "node_id": f"W_{wid}",
            "name": file.removesuffix(".yml"),
            "path": f".github/workflows/{file}",
            "state": "active",
            "url": f"{self.api_url}/repos/{repo.full_name}/actions/workflows/{wid}",
            "html_url": f"{self.url}/{repo.full_name}/blob/main/.github/workflows/{file}",
            "badge_url": f"{self.url}/{repo.full_name}/workflows/{file}/badge.svg",
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
        }

    # -- seeding -----------------------------------------------------------------------------------

    def seed_deployment(
        self,
        full_name: str,
        *,
        environment: str,
        sha: str,
        states: tuple[str, ...] = ("queued", "in_progress", "success"),
        at: str = "2024-05-01T10:00:00Z",
        creator: str | None = None,
        description: str | None = None,
        payload: Any = None,
        status_description: str = "",
        environment_url: str = "",
        run_id: int | None = None,
    ) -> dict[str, Any]:
        """A deployment and its statuses (oldest first), all at time `at`. Successes mark older
        successful deployments of the environment inactive, as GitHub does."""
        with self.lock:
            repo = self.repo(full_name)
            login = creator or repo.owner
            body = {"ref": "main", "environment": environment, "payload": payload or {}}
            if description:
                body["description"] = description
            deployment = self._deployment(repo, login, body, sha)
            deployment["created_at"] = deployment["updated_at"] = at
            log_url = f"{self.url}/{repo.full_name}/actions/runs/{run_id}/job/1" if run_id else ""
            for state in states:
                if state == "waiting":  # Actions' state while reviewers decide; not API-settable
                    status = dict(self._status(repo, login, deployment["id"], {"state": "queued"}))
                    repo.statuses[deployment["id"]][0]["state"] = "waiting"
                    status["state"] = "waiting"
                else:
                    self._status(
                        repo,
                        login,
                        deployment["id"],
                        {
                            "state": state,
                            "description": status_description,
                            "environment_url": environment_url,
                            "log_url": log_url,
                        },
                    )
            for status in repo.statuses[deployment["id"]]:
                status["created_at"] = status["updated_at"] = at
        return deployment

    def add_waiting_run(
        self, full_name: str, *, environments: list[str], **fields: Any
    ) -> dict[str, Any]:
        run = self.add_workflow_run(
            full_name, status="waiting", conclusion=None, event="workflow_dispatch", **fields
        )
        self.pending[int(run["id"])] = list(environments)
        return run
