"""Provision a generated repository on GitHub, idempotently: every step looks before it writes.

Three phases, in this order (docs/github.md), which `bootstrap provision` runs with its AWS
phases in between (the roles' trust needs what the first one learns):

1. `remote`:  the owner, the repository (create, adopt, follow a rename or transfer, or refuse),
              the OIDC subject GitHub issues for it, what it holds, its topics, and the
              environments (which also find out what the plan allows);
2. `local`:   the Copier answers that GitHub's state changes (owner, trust subject, subject
              prefix, issuer), re-rendered and committed with the record `.bootstrap/github.json`;
3. `publish`: repository and environment variables, secrets, the push of `main`, and its
              branch protection.

Re-running after a failure at any step converges without duplicates; a run with nothing to do
makes no API write.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bootstrap.github import environments, local, publish, repository, rerender
from bootstrap.github.client import GitHubClient, translate
from bootstrap.github.context import Sync
from bootstrap.github.model import Change, Options, ProvisionResult, Values
from bootstrap.github.publish import seal
from bootstrap.github.token import Identity
from bootstrap.spec import Spec


def open_sync(
    spec: Spec,
    repo: Path,
    *,
    client: GitHubClient,
    identity: Identity,
    token: str,
    options: Options | None = None,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Sync:
    return Sync(
        spec, repo.resolve(), client, identity, token, options or Options(),
        notify=notify, progress=progress,
    )  # fmt: skip


def remote(sync: Sync) -> None:
    """Phase 1: everything on GitHub that the roles' trust and the local answers depend on."""
    if sync.local and sync.spec.owner is None:
        rerender.require_clean(sync.repo, "setting the owner re-renders the repository")
    account = repository.resolve_owner(sync)
    repository.ensure_repository(sync, account)
    repository.learn_subject(sync)
    if sync.local and local.answers(sync):  # a re-render follows: nothing to mix it with
        rerender.require_clean(sync.repo, "recording GitHub's settings re-renders the repository")
    repository.check_content(sync)
    repository.ensure_topics(sync)
    environments.ensure_environments(sync)


def provision(
    spec: Spec,
    repo: Path,
    *,
    client: GitHubClient,
    identity: Identity,
    token: str,
    options: Options | None = None,
    values: Values | None = None,
    notify: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProvisionResult:
    """`bootstrap github sync`: the three phases in a row (no AWS here: when the subject changed,
    the next steps name the command that updates the roles' trust)."""
    sync = open_sync(
        spec, repo, client=client, identity=identity, token=token, options=options,
        notify=notify, progress=progress,
    )  # fmt: skip
    before = client.writes
    try:
        remote(sync)
        local.apply(sync)
        publish.publish(sync, values or Values())
        finish(sync)
    finally:
        sync.result.writes = client.writes - before
    return sync.result


def finish(sync: Sync) -> None:
    """What `github sync` (which does not touch AWS) leaves to do when the trust changed."""
    result = sync.result
    steps = result.next_steps
    if result.subject_changed and result.previous_subject_prefix:
        steps.append(
            f"the IAM roles still trust {result.previous_subject_prefix}:..., GitHub now issues "
            f"{result.subject_prefix}:...: run `bootstrap provision` (it updates the shared "
            "stack's CI and preview roles and each stage's deploy role)"
        )
    elif result.trust_subject_changed:
        steps.append(
            "the deploy roles must trust the branch now: run `bootstrap provision` (or "
            "`pulumi up` on each stage stack) so their trust policies match"
        )


__all__ = [
    "Change",
    "Options",
    "ProvisionResult",
    "Sync",
    "Values",
    "finish",
    "open_sync",
    "provision",
    "remote",
    "seal",
    "translate",
]
