"""What `bootstrap destroy --all` removes besides the stacks: the GitHub side and the state
backend (docs/provision.md).

(Not the teardown workflow, which removes one stage's workload and keeps its foundation:
docs/deploy.md says which to use when.)

- `--github`: after every stack is destroyed, delete the repository's environments (one per
  stage: their variables, secrets and protection rules go with them) and archive the
  repository (read-only; its code, history and runs are kept; GitHub can unarchive it).
  Nothing is deleted outright.
- `--delete-backend`: after that, delete the state backend, only when every stack in it is
  empty (`resource_count == 0`): the S3 bucket (every object version, then the bucket) when it
  carries the tool's tag `managed-by=bootstrap`, or the local state directory. A Pulumi Cloud
  backend is refused (its stacks are removed with `pulumi stack rm`).

Both need a typed confirmation: the repository's `OWNER/NAME`, the bucket's name (or the state
directory's path), typed at the prompt or given with `--confirm`. Every step looks before it
writes, so running the same command again continues after a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bootstrap.errors import Aborted, SpecError, UserError

if TYPE_CHECKING:
    import boto3

    from bootstrap.automation import StackOps
    from bootstrap.github.client import GitHubClient
    from bootstrap.lifecycle import Project


@dataclass(frozen=True)
class TeardownPlan:
    github: bool
    delete_backend: bool
    repository: str | None  # OWNER/NAME
    backend_name: str | None  # the bucket, or the state directory's path

    def confirmations(self) -> list[tuple[str, str]]:
        """(what, the name to type) for each part asked for."""
        needed = []
        if self.github and self.repository:
            needed.append(
                (
                    f"the GitHub repository {self.repository} (its environments are deleted and "
                    "it is archived)",
                    self.repository,
                )
            )
        if self.delete_backend and self.backend_name:
            needed.append((f"the state backend {self.backend_name} (deleted)", self.backend_name))
        return needed


@dataclass
class TeardownReport:
    environments: list[str] = field(default_factory=list)  # deleted
    repository: str = ""  # archived | already archived | absent | ""
    backend: str = ""  # deleted | absent | kept | ""
    github_writes: int = 0
    aws_writes: int = 0
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environments_deleted": self.environments,
            "repository": self.repository,
            "backend": self.backend,
            "writes": {"github": self.github_writes, "aws": self.aws_writes},
        }


def plan_teardown(
    project: Project, *, github: bool, delete_backend: bool, all_stacks: bool
) -> TeardownPlan | None:
    """What to tear down beyond the stacks (None: nothing), checked before anything runs."""
    from bootstrap.github.rerender import read_record

    if not github and not delete_backend:
        return None
    if not all_stacks:
        raise SpecError(
            "--github and --delete-backend apply only with --all",
            "tear every stack down with --all first, or leave them out",
        )
    repository = None
    if github:
        record = read_record(project.repo)
        repository = str(record.get("repository") or project.spec.repository or "") or None
        if repository is None:
            raise SpecError(
                "this repository has no GitHub owner, so there is no GitHub repository to archive",
                "leave out --github",
            )
    backend = project.backend
    name = None
    if delete_backend:
        if backend.kind == "cloud":
            raise SpecError(
                f"--delete-backend does not delete Pulumi Cloud stacks ({backend.url})",
                "remove them with `pulumi stack rm STACK` in infra/, or leave out --delete-backend",
            )
        name = backend.bucket if backend.kind == "s3" else str(backend.path)
    return TeardownPlan(github, delete_backend, repository, name)


def confirm_teardown(
    plan: TeardownPlan, *, confirm: list[str], ask: Callable[[str], str] | None
) -> None:
    """Each part needs its name: given with --confirm, or typed at the prompt."""
    from bootstrap.lifecycle import ConfirmationRequired

    for what, name in plan.confirmations():
        if name in confirm:
            continue
        if ask is None:
            raise ConfirmationRequired(
                f"{what} needs its name confirmed; nothing was destroyed",
                f"add --confirm {name}",
            )
        typed = ask(f"This affects {what}. Type '{name}' to go on").strip()
        if typed != name:
            raise Aborted(f"'{typed}' is not '{name}'; nothing was destroyed", "run again")


def github_client(project: Project, *, api_url: str | None = None) -> GitHubClient:
    """A client for the repository's GitHub: the token from the environment, the API URL
    from --github-api-url, GITHUB_API_URL or the repository's record."""
    from bootstrap.github.connect import connect

    return connect(api_url, repo=project.repo)


def run_teardown(
    plan: TeardownPlan,
    project: Project,
    ops: StackOps,
    *,
    client: GitHubClient | None = None,
    session: boto3.Session | None = None,
    on_message: Callable[[str], None] | None = None,
) -> TeardownReport:
    """GitHub first (environments, then the archive: an archived repository is read-only),
    then the backend. Call it after the stacks are destroyed."""
    report = TeardownReport()

    def say(message: str) -> None:
        report.messages.append(message)
        if on_message:
            on_message(message)

    if plan.github and plan.repository:
        client = client or github_client(project)
        before = client.writes
        _github(client, plan.repository, project.spec.stage_names, report, say)
        report.github_writes = client.writes - before
    if plan.delete_backend:
        _backend(project, ops, report, say, session)
    return report


def _github(
    client: GitHubClient,
    repository: str,
    stages: list[str],
    report: TeardownReport,
    say: Callable[[str], None],
) -> None:
    from bootstrap.github.client import path

    owner, name = repository.split("/", 1)
    data = client.run(
        f"look up the repository {repository}", lambda: client.get(path("repos", owner, name))
    )
    if data is None:
        report.repository = "absent"
        say(f"GitHub has no repository {repository}: nothing to archive")
        return
    for stage in stages:
        url = path("repos", owner, name, "environments", stage)

        def delete(url: str = url) -> bool:
            if data.get("archived") or client.get(url) is None:
                return False
            client.write("DELETE", url)
            return True

        if client.run(f"delete the environment {stage}", delete):
            report.environments.append(stage)
            say(f"deleted the GitHub environment {stage}")
    if data.get("archived"):
        report.repository = "already archived"
        say(f"{repository} is archived already")
        return
    client.run(
        f"archive the repository {repository}",
        lambda: client.write("PATCH", path("repos", owner, name), {"archived": True}),
    )
    report.repository = "archived"
    say(f"archived {repository} (read-only; unarchive it in its settings)")


def _backend(
    project: Project,
    ops: StackOps,
    report: TeardownReport,
    say: Callable[[str], None],
    session: boto3.Session | None,
) -> None:
    from bootstrap.backend import backend_has_state, delete_state_bucket

    backend, spec = project.backend, project.spec
    if not backend_has_state(backend, region=spec.region, session=session):
        report.backend = "absent"
        say(f"no state backend to delete ({backend.describe()})")
        return
    busy = {s: n for s in spec.stacks if (n := ops.resource_count(s)) > 0}
    if busy:
        report.backend = "kept"
        listed = ", ".join(f"{s} ({n} resources)" for s, n in busy.items())
        raise UserError(
            f"the state backend {backend.describe()} was kept: stacks still hold resources: "
            f"{listed}",
            "destroy them first (`bootstrap destroy --all`), then run again with --delete-backend",
        )
    if backend.kind == "file":
        assert backend.path is not None
        shutil.rmtree(backend.path)
        report.backend = "deleted"
        say(f"deleted the local state in {backend.path}")
        return
    assert backend.bucket is not None
    writes = delete_state_bucket(backend.bucket, spec.region, session=session)
    report.aws_writes += writes
    report.backend = "deleted"
    say(f"deleted the state bucket {backend.bucket} and every version of its objects")
