"""Following the first workflow run of a pushed commit (`bootstrap provision --wait`): the
`push` run of the commit (PyGithub `Repository.get_workflow_runs(head_sha=, event="push")`), its
jobs (`WorkflowRun.jobs()`), until the first stage's deploy job ends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bootstrap.errors import RemoteError
from bootstrap.provision.model import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from stacks.contract import BUILD_CHECK, BUILD_WORKFLOW

if TYPE_CHECKING:
    from bootstrap.github.client import GitHubClient


@dataclass
class RunOutcome:
    run_id: int
    number: int
    attempt: int
    html_url: str
    job: str
    job_url: str
    conclusion: str
    reran: bool = False


_MARKS = {"success": "✓", "failure": "✗", "cancelled": "✗", "timed_out": "✗", "skipped": "-"}


def _mark(status: str, conclusion: str | None) -> str:
    if status == "completed":
        return _MARKS.get(conclusion or "", "?")
    if status == "waiting":
        return "(waiting for approval)"
    return "…" if status == "in_progress" else "·"


class RunWatcher:
    """Follows the `push` run of one commit (PyGithub: `Repository.get_workflow_runs(head_sha=)`,
    `WorkflowRun.jobs()`) until the deploy job of `stage` ends, printing each change."""

    def __init__(
        self,
        client: GitHubClient,
        repository: str,
        sha: str,
        stage: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.repository = repository
        self.sha = sha
        self.stage = stage
        self.timeout = timeout
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.progress = progress or (lambda _: None)
        self.notify = notify or (lambda _: None)
        self.deploy_name = re.compile(rf"^deploy {re.escape(stage)}(?=$|[\s/(])")
        self._repo: Any = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.client.repository(self.repository)
        return self._repo

    def find_run(self) -> Any:
        def look() -> Any:
            runs = list(self.repo.get_workflow_runs(head_sha=self.sha, event="push"))
            for run in runs:
                if str(getattr(run, "path", "") or "").endswith(BUILD_WORKFLOW) or run.name == BUILD_CHECK:
                    return run
            return runs[0] if runs else None

        return self.client.run(f"list the workflow runs of {self.sha[:8]}", look)

    def jobs(self, run: Any) -> list[Any]:
        return self.client.run(f"list the jobs of run {run.id}", lambda: list(run.jobs()))

    def deploy_job(self, jobs: Sequence[Any]) -> Any:
        return next((j for j in jobs if self.deploy_name.match(str(j.name))), None)

    def describe(self, run: Any, jobs: Sequence[Any]) -> str:
        parts = []
        for job in jobs:
            text = f"{job.name} {_mark(job.status, job.conclusion)}"
            if job.status == "in_progress":
                current = next((s.name for s in job.steps or [] if s.status == "in_progress"), None)
                if current:
                    text += f" ({current})"
            parts.append(text)
        head = f"run #{run.run_number} {run.status}"
        return f"{head}: {', '.join(parts) or 'no jobs yet'}"

    def wait(self) -> RunOutcome:
        deadline = self.clock() + self.timeout
        last = ""
        reran = False
        self.progress(f"Waiting for the workflow run of {self.sha[:8]} in {self.repository}")
        while True:
            run = self.find_run()
            if run is not None:
                jobs = self.jobs(run)
                line = self.describe(run, jobs)
                if line != last:
                    self.progress(line)
                    last = line
                deploy = self.deploy_job(jobs)
                if deploy is not None and deploy.status == "completed":
                    if deploy.conclusion == "success":
                        return RunOutcome(
                            run.id, run.run_number, run.run_attempt, run.html_url,
                            str(deploy.name), str(deploy.html_url), "success", reran,
                        )  # fmt: skip
                    if deploy.conclusion != "skipped":
                        raise self._failed(run, deploy)
                if run.status == "completed" and (deploy is None or deploy.status == "completed"):
                    if not reran and self._ran_before_variables(jobs):
                        self.notify(
                            f"run #{run.run_number} built before the repository variables were "
                            "set, so it deployed nothing: re-running it"
                        )
                        self.rerun(run.id)
                        reran = True
                        last = ""
                    else:
                        raise self._no_deploy(run, jobs)
            if self.clock() >= deadline:
                where = f" ({run.html_url})" if run is not None else ""
                raise RemoteError(
                    f"the first deploy of {self.stage} did not finish within "
                    f"{int(self.timeout)} s{where}",
                    "it goes on without us: follow it with `bootstrap status --watch`, or wait "
                    "longer with --wait-timeout",
                )
            self.sleep(self.interval)

    def rerun(self, run_id: int) -> None:
        url = _run_path(self.repository, run_id, "rerun")
        self.client.run(f"re-run run {run_id}", lambda: self.client.write("POST", url))

    def _ran_before_variables(self, jobs: Sequence[Any]) -> bool:
        """The build succeeded but pushed nothing (its variables were not set yet), so the
        deploy chain was skipped: a re-run reads the variables set since."""
        build = next((j for j in jobs if j.name == "build"), None)
        deploy = self.deploy_job(jobs)
        return (
            build is not None
            and build.conclusion == "success"
            and deploy is not None
            and deploy.conclusion == "skipped"
        )

    def _failed(self, run: Any, job: Any) -> RemoteError:
        step = next((s.name for s in job.steps or [] if s.conclusion == "failure"), None)
        where = f" at step '{step}'" if step else ""
        return RemoteError(
            f"the first deploy of {self.stage} failed{where} ({job.conclusion}; {job.html_url})",
            "read the job's log, fix the cause and push to main (or re-run the run on GitHub)",
        )

    def _no_deploy(self, run: Any, jobs: Sequence[Any]) -> RemoteError:
        failed = [j.name for j in jobs if j.conclusion in ("failure", "cancelled", "timed_out")]
        reason = f"{', '.join(failed)} failed" if failed else "its deploy job did not run"
        return RemoteError(
            f"run #{run.run_number} of {self.sha[:8]} ended ({run.conclusion}) without deploying "
            f"{self.stage}: {reason} ({run.html_url})",
            "read the run's log, fix the cause and push to main",
        )


def _run_path(repository: str, run_id: int, *rest: str) -> str:
    from bootstrap.github.client import path

    owner, name = repository.split("/", 1)
    return path("repos", owner, name, "actions", "runs", str(run_id), *rest)
