"""Where `status` reads from, each optional: the stacks' outputs (Pulumi), GitHub
(`github.py`), the registry (`bootstrap.aws`), the service's /health (`health.py`) and each
stage's alarms in its own account (`live.py`).

The state and the registry live in the tooling account: they are read with its credentials
(`--profile shared=...`, else the ambient ones); a stage's alarms with the stage's own.

Reading writes nothing: the stacks are opened read-only (`open_ops(read_only=True)`: no
passphrase is generated for a project that has none; its stacks are then a note), and a project
whose local state directory does not exist yet has nothing deployed, without a Pulumi call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.status.health import check_all
from bootstrap.status.model import Health
from stacks.contract import INFRA_DIR

if TYPE_CHECKING:
    from bootstrap.accounts import Accounts
    from bootstrap.automation import StackOps
    from bootstrap.lifecycle import Project
    from bootstrap.spec import Spec
    from bootstrap.status.github import GitHubView
    from bootstrap.status.live import StageReads
    from bootstrap.status.registry import Registry


@dataclass
class Sources:
    """Where `collect` reads from; any may be None (not configured, or not reachable)."""

    ops: StackOps | None = None
    github: GitHubView | None = None
    registry: Callable[[str], Registry] | None = None  # repository name -> registry
    registry_name: str | None = None  # when the shared stack does not say
    health: Callable[[dict[str, str]], dict[str, Health]] | None = check_all
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    why_no_stacks: str | None = None
    why_no_github: str | None = None
    template: dict[str, Any] | None = None  # bootstrap.update.template_info of the repo
    previews: Callable[[], list[Any]] | None = None  # bootstrap.previews.live, bound
    infra: Path | None = None  # the Pulumi project folder: the stages' freeze windows
    live: StageReads | None = None  # each stage's alarms, with its own account's credentials


class NoState:
    """The stacks of a project whose local state directory does not exist yet: none deployed."""

    def outputs(self, stack: str) -> dict[str, Any]:
        return {}

    def resource_urns(self, stack: str) -> list[str]:
        return []


def project_sources(
    project: Project,
    *,
    github: GitHubView | None,
    verbose: bool = False,
    why_no_github: str | None = None,
    accounts: Accounts | None = None,
) -> Sources:
    """The sources of a generated repo: its stacks (Automation API, or the installed seam) and
    its registry, both with the tooling account's credentials, each stage's alarms with its own
    (`accounts`; default: the profiles of BOOTSTRAP_AWS_PROFILES) and `github` when
    configured."""
    from bootstrap.errors import ToolMissingError
    from bootstrap.lifecycle import open_accounts, open_stacks
    from bootstrap.status.live import StageReads
    from bootstrap.update import template_info

    spec = project.spec
    accounts = accounts or open_accounts(project)
    sources = Sources(
        github=github, registry=tooling_registry(accounts), registry_name=spec.name,
        why_no_github=why_no_github, template=template_info(project.repo),
        infra=project.repo / INFRA_DIR, live=StageReads(accounts, spec.name),
    )  # fmt: skip
    backend = project.backend
    if backend.kind == "file" and (backend.path is None or not backend.path.is_dir()):
        sources.ops = NoState()  # type: ignore[assignment]
        return sources
    ops = open_stacks(project, accounts, verbose=verbose, read_only=True, as_tooling=True)
    try:
        ops.check()
        sources.ops = ops
        sources.previews = _previews(project, ops, sources)
    except ToolMissingError as exc:
        sources.why_no_stacks = exc.problem
    return sources


def tooling_registry(accounts: Accounts) -> Callable[[str], Registry]:
    """Repository name -> the registry, opened with the tooling account's credentials at the
    first call (a missing profile is that call's error: a note, not the grid's failure)."""
    from bootstrap.aws import repository
    from stacks.contract import SHARED

    def open_repository(name: str) -> Registry:
        region = accounts.region_of(SHARED)
        return repository(accounts.session(SHARED).client("ecr", region_name=region), name)

    return open_repository


def _previews(project: Project, ops: StackOps, sources: Sources) -> Callable[[], list[Any]]:
    """The live pull-request previews, with their age and cost (docs/previews.md)."""
    from bootstrap import previews

    cost = previews.project_cost(project)
    return lambda: previews.live(ops, now=sources.now(), monthly=cost)


def read_stacks(ops: StackOps, spec: Spec) -> dict[str, dict[str, Any]]:
    """Every stack's outputs ({} for one never deployed or destroyed)."""
    return {stack: dict(ops.outputs(stack)) for stack in spec.stacks}


def torn_down(ops: StackOps, spec: Spec, outputs: dict[str, dict[str, Any]]) -> set[str]:
    """The stages whose workload the teardown workflow removed: their stacks keep their last
    outputs, but their state holds only the foundation."""
    from bootstrap.lifecycle import workload_torn_down

    return {
        stage
        for stage in spec.stage_names
        if outputs.get(stage) and workload_torn_down(spec.name, stage, ops.resource_urns(stage))
    }
