"""What GitHub's state changes in the local repository, committed before anything is pushed:
the Copier answers (`owner`, `trust_subject`, `github_subject_prefix`, `github_oidc_issuer`),
re-rendered at the repository's own template version so that the stacks' settings follow, and
the record `.bootstrap/github.json` (where the repository is, by name and ID; what its plan
allows). Neither holds a secret."""

from __future__ import annotations

from typing import Any

from bootstrap.errors import UserError
from bootstrap.github import rerender
from bootstrap.github.context import Sync


def answers(sync: Sync) -> dict[str, str]:
    """The Copier answers that differ from what GitHub says (empty: nothing to re-render)."""
    spec = sync.spec
    changes: dict[str, str] = {}
    if spec.owner is None or spec.owner.lower() != sync.owner.lower():
        changes["owner"] = sync.owner  # set once, or followed after a transfer
    if spec.trust_subject == "environment" and not sync.result.environments:
        changes["trust_subject"] = "branch"
    if sync.subject is not None:
        if spec.github_subject_prefix != sync.subject.prefix:
            changes["github_subject_prefix"] = sync.subject.prefix
        if spec.github_oidc_issuer != sync.subject.issuer:
            changes["github_oidc_issuer"] = sync.subject.issuer
    return changes


def record(sync: Sync, trust_subject: str) -> dict[str, Any]:
    result = sync.result
    return {
        "repository": result.repository,
        "repository_id": result.repository_id,
        "api_url": sync.client.api_url,
        "html_url": result.html_url,
        "environments": result.environments,
        "required_reviewers": result.required_reviewers,
        "trust_subject": trust_subject,
    }


def apply(sync: Sync, extra: dict[str, str] | None = None, *, tool: str = "github sync") -> None:
    """Re-render with the changed answers (and `extra`, e.g. provisioning's backend) in one go,
    write the record, and commit both in one commit. The spec is read back afterwards."""
    from bootstrap.repo import load_spec

    changes = {**answers(sync), **(extra or {})}
    if changes:
        changed = rerender.rerender(sync.repo, changes)
        sync.spec = load_spec(sync.repo)
        _check_recorded(sync, changes)
        for key, value in changes.items():
            sync.change("answer", key, "updated", f"{value} ({len(changed)} files re-rendered)")
    sync.result.trust_subject_changed = "trust_subject" in changes
    commit_record(sync, changes, tool=tool)


def commit_record(sync: Sync, changes: dict[str, str], *, tool: str) -> str | None:
    """Write the record; commit it (with a re-render's changes) when anything changed."""
    written = rerender.write_record(sync.repo, record(sync, sync.spec.trust_subject))
    if not (changes or written):
        return None
    why = reason(sync, changes)
    head = rerender.commit(
        sync.repo, [str(rerender.RECORD)], f"bootstrap {tool}: {why}", all_changes=bool(changes)
    )
    if head:
        sync.change("commit", head[:12], "committed", why)
    return head


def reason(sync: Sync, changes: dict[str, str]) -> str:
    if "trust_subject" in changes:
        return "switch the OIDC trust subject to the branch (no GitHub environments)"
    if "github_subject_prefix" in changes:
        return f"record GitHub's OIDC subject prefix {changes['github_subject_prefix']}"
    if changes:
        return "set " + ", ".join(f"{k}: {v}" for k, v in changes.items())
    return f"record the GitHub settings of {sync.result.repository}"


def _check_recorded(sync: Sync, changes: dict[str, str]) -> None:
    """A repository made from a template version without an answer cannot record it."""
    have = sync.spec.model_dump()
    lost = [k for k, v in changes.items() if k in have and str(have[k] or "") != v]
    if lost:
        raise UserError(
            f"the repository's template version does not know the answer(s) {', '.join(lost)}",
            "bring it up to this tool's template first (`bootstrap update`), then run again",
        )
