"""The generated repositories the contract checks look at, each planned once per test session.

A project is what the checks need of a generated repo: every stack's plan (under Pulumi's mocks,
from the repo's own files), the invokes each stack made, and the texts of its workflows, scripts
and stack files. Plans are plain data, so the pytest-xdist workers share them through a pickle
cache: each worker plans the projects no other worker has claimed, then loads the rest.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.offline import StackPlan, load_stack_config, run_program

PROJECT = "shop"
STACKS = ("shared", "dev", "test", "prod")
_COPIED = (
    ".github/workflows/*.yml",
    ".github/scripts/*.sh",
    "infra/Pulumi.*.yaml",
    "infra/stacks/*.py",
)


@dataclass
class Project:
    label: str  # ecs, eks, lambda, mixed, lambda-vpc
    plans: dict[str, StackPlan]  # stack name -> plan
    invokes: dict[str, list[str]]  # stack name -> invoke tokens, in call order
    files: dict[str, str] = field(default_factory=dict)  # repo-relative path -> text
    state_backend: str | None = None  # the stacks' stateBackend, when the repo has an S3 backend
    accounts: dict[str, str] = field(default_factory=dict)  # stack -> its AWS account, if set

    @property
    def stages(self) -> list[str]:
        return [stack for stack in self.plans if stack != "shared"]


# ----------------------------------------------------------------------------- invokes


_INVOKES: dict[str, list[str]] = {}
_INVOKES_LOCK = threading.Lock()


@contextmanager
def recorded_invokes() -> Iterator[dict[str, list[str]]]:
    """Record the invokes the program makes (the offline plan's fake AWS answers them; the plan does not keep them)."""
    from bootstrap.offline import fake_aws

    original = fake_aws.FakeAws.call

    def call(self: Any, args: Any) -> Any:
        with _INVOKES_LOCK:
            _INVOKES.setdefault(self.ids.stack, []).append(args.token)
        return original(self, args)

    _INVOKES.clear()
    fake_aws.FakeAws.call = call  # type: ignore[method-assign]
    try:
        yield _INVOKES
    finally:
        fake_aws.FakeAws.call = original  # type: ignore[method-assign]


def plan_repo(
    label: str,
    repo: Path,
    overrides: dict[str, dict[str, Any]] | None = None,
    only: tuple[str, ...] = STACKS,
) -> Project:
    """Plan `shared` and the stages of the repo (`overrides`: extra config per stack)."""
    infra = repo / "infra"
    stacks = [s for s in only if (infra / f"Pulumi.{s}.yaml").is_file()]
    plans: dict[str, StackPlan] = {}
    with recorded_invokes() as invokes:
        for stack in stacks:
            config = load_stack_config(infra, PROJECT, stack)
            config.update((overrides or {}).get(stack, {}))
            references = {"shared": plans["shared"].outputs} if "shared" in plans else {}
            plans[stack] = run_program(infra, PROJECT, stack, config, stack_outputs=references)
        recorded = {stack: list(tokens) for stack, tokens in invokes.items()}
    files = {
        str(path.relative_to(repo)): path.read_text()
        for pattern in _COPIED
        for path in sorted(repo.glob(pattern))
    }
    backend = load_stack_config(infra, PROJECT, stacks[-1]).get(f"{PROJECT}:stateBackend")
    return Project(label, plans, recorded, files, backend or None)


# ----------------------------------------------------------------------------- the cache


def shared_projects(cache: Path, makers: dict[str, Callable[[], Project]]) -> dict[str, Project]:
    """Every project, planned by whichever worker gets to it first and loaded by the others."""
    cache.mkdir(parents=True, exist_ok=True)
    projects: dict[str, Project] = {}
    waiting = []
    for label, make in makers.items():
        loaded = _load_or_make(cache, label, make, block=False)
        if loaded is None:
            waiting.append(label)
        else:
            projects[label] = loaded
    for label in waiting:
        loaded = _load_or_make(cache, label, makers[label], block=True)
        assert loaded is not None
        projects[label] = loaded
    return {label: projects[label] for label in makers}


def _load_or_make(
    cache: Path, label: str, make: Callable[[], Project], *, block: bool
) -> Project | None:
    data = cache / f"{label}.pickle"
    with open(cache / f"{label}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        if data.is_file():
            with open(data, "rb") as handle:
                project: Project = pickle.load(handle)  # written by this same session
            return project
        project = make()
        partial = data.with_suffix(f".{os.getpid()}")
        with open(partial, "wb") as handle:
            pickle.dump(project, handle)
        partial.replace(data)
        return project
