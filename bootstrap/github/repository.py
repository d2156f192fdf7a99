"""The repository on GitHub: its owner, the repository itself (create, adopt, follow a rename or
transfer, or refuse), what it holds, its topics and description, and the OIDC subject GitHub
issues for it. Every step looks before it writes."""

from __future__ import annotations

from functools import partial
from typing import Any

from bootstrap.errors import TargetExistsError, UserError
from bootstrap.github import gitpush
from bootstrap.github.client import path
from bootstrap.github.context import Sync


def resolve_owner(sync: Sync) -> dict[str, Any]:
    owner = sync.owner
    client = sync.client
    account = client.run(f"look up the owner {owner}", lambda: client.get(path("users", owner)))
    if account is None:
        raise UserError(
            f"GitHub has no user or organisation '{owner}' at {client.api_url}",
            "check --owner (and --github-api-url for GitHub Enterprise Server)",
        )
    login = str(account["login"])
    if login != owner:
        sync.notice(
            f"GitHub spells the owner '{login}', not '{owner}': the OIDC subject uses "
            f"GitHub's spelling, so set owner to '{login}' in .copier-answers.yml "
            "(`bootstrap update`) to match the IAM trust policies"
        )
    sync.progress(f"Owner {login} ({str(account.get('type', 'User')).lower()})")
    return dict(account)


def ensure_repository(sync: Sync, account: dict[str, Any]) -> dict[str, Any]:
    """The repository's JSON: found (following a rename or transfer of the recorded one),
    adopted, or created."""
    full = f"{sync.owner}/{sync.name}"
    recorded_id = sync.record.get("repository_id")

    def look() -> dict[str, Any] | None:
        data = sync.client.get(sync.repo_path())  # GitHub redirects a renamed repository
        if data is None:
            return None
        found = str(data.get("full_name", ""))
        if found.lower() == full.lower():
            return dict(data)
        if recorded_id is not None and data.get("id") == recorded_id:
            return dict(data)  # ours, renamed or transferred: followed below
        raise TargetExistsError(
            f"the name {full} now leads to the repository {found} (it was renamed or moved)",
            "choose another project name, or rename that repository",
        )

    data = sync.client.run(f"look up the repository {full}", look)
    if data is not None:
        found = str(data["full_name"])
        if found.lower() != full.lower():
            follow(sync, data, full)
        sync.result.remote = "existing"
        if sync.options.public and data.get("private"):
            sync.notice(
                f"{found} exists and is private; --public does not change the visibility "
                "of an existing repository (change it in the repository settings)"
            )
        sync.change("repository", found, "unchanged", "exists")
    else:
        data = sync.client.run(f"create the repository {full}", partial(create, sync, account))
        sync.created = True
        sync.change("repository", full, "created", "public" if sync.options.public else "private")
    sync.result.html_url = str(data.get("html_url", ""))
    sync.result.clone_url = str(data["clone_url"])
    sync.result.private = bool(data.get("private", True))
    sync.result.repository_id = int(data["id"])
    sync.progress(
        f"Repository {sync.result.repository} ({'private' if sync.result.private else 'public'})"
    )
    sync.repo_data = data
    return data


def follow(sync: Sync, data: dict[str, Any], old: str) -> None:
    """The recorded repository has another name now (renamed or transferred): use it."""
    new = str(data["full_name"])
    sync.owner, sync.name = new.split("/", 1)
    sync.result.repository = new
    sync.result.renamed_from = old
    sync.notice(
        f"{old} is now {new} on GitHub (renamed or transferred): following it; its OIDC "
        "subject changes with the name"
    )


def create(sync: Sync, account: dict[str, Any]) -> dict[str, Any]:
    from github import GithubException

    client = sync.client
    existing = client.get(sync.repo_path())  # a retried create may have succeeded
    if existing is not None:
        return dict(existing)
    login = str(account["login"])
    if login.lower() == sync.identity.login.lower():
        url = "/user/repos"
    elif account.get("type") == "Organization":
        url = path("orgs", login, "repos")
    else:
        raise UserError(
            f"'{login}' is another user's account: a token can only create repositories for "
            f"its own user ({sync.identity.login}) or an organisation",
            f"pass --owner {sync.identity.login} or an organisation you belong to",
        )
    body = {
        "name": sync.name,
        "description": description(sync),
        "private": not sync.options.public,
        "auto_init": False,
        "has_wiki": False,
        "has_projects": False,
    }
    try:
        return dict(client.write("POST", url, body))
    except GithubException as exc:
        if exc.status == 422:
            raise TargetExistsError(
                f"GitHub refused to create {sync.owner}/{sync.name}: the name is taken by "
                "another repository this token cannot see (or one being deleted)",
                "ask an owner for access and run again with --adopt, or choose another name",
            ) from exc
        raise


def description(sync: Sync) -> str:
    if sync.options.description:
        return sync.options.description
    spec = sync.spec
    stages = " → ".join(f"{s.name}{' (manual)' if s.manual else ''}" for s in spec.stages)
    return f"{spec.name}: a {spec.target.value.upper()} service deployed through {stages}"


def topics(sync: Sync) -> list[str]:
    if sync.options.topics is not None:
        return list(sync.options.topics)
    return ["bootstrap", "pulumi", "aws", sync.spec.target.value, "github-actions"]


def check_content(sync: Sync) -> gitpush.RemoteState:
    """What GitHub's branches hold, compared with the local main (before `new` has rendered
    it, only an empty repository can be adopted)."""
    full = sync.result.repository
    if sync.created:
        state = gitpush.RemoteState("empty")
    elif not sync.local:
        heads = sync.client.run(f"read what {full} holds", sync.transport.remote_heads)
        if heads:
            raise TargetExistsError(
                f"{full} already exists and holds commits; `bootstrap new` adopts only an empty "
                "repository",
                "choose another name, or clone it and add the service by hand",
            )
        state = gitpush.RemoteState("empty")
    else:
        state = sync.client.run(f"read what {full} holds", sync.transport.inspect)
        if state.kind not in gitpush.HOLDS_SCAFFOLD:
            if not sync.options.adopt:
                raise TargetExistsError(
                    f"{full} already exists with other content (its main does not hold this "
                    "scaffold's history)"
                    if state.kind == "foreign"
                    else f"{full} already exists with other branches and no main",
                    "pass --adopt to use it anyway (nothing on GitHub is overwritten), or "
                    "choose another name; nothing was changed",
                )
            sync.notice(f"adopting {full}, which holds other content (--adopt)")
    sync.result.remote = state.kind
    sync.remote_state = state
    return state


def ensure_topics(sync: Sync) -> None:
    data = sync.repo_data
    wanted = topics(sync)
    text = description(sync)
    client = sync.client

    def apply() -> None:
        current = data.get("topics")
        if current is None:
            current = (client.get(sync.repo_path("topics")) or {}).get("names", [])
        missing = [t for t in wanted if t not in current]
        if missing:
            client.write("PUT", sync.repo_path("topics"), {"names": [*current, *missing]})
            data["topics"] = [*current, *missing]
            sync.change("topics", ",".join(missing), "updated")
        else:
            sync.change("topics", ",".join(wanted), "unchanged")
        if not data.get("description"):
            client.write("PATCH", sync.repo_path(), {"description": text})
            data["description"] = text
            sync.change("description", text, "updated")

    client.run("set the repository topics", apply)


def learn_subject(sync: Sync) -> None:
    """The OIDC subject GitHub issues for the repository; a difference from the recorded prefix
    (a rename, a transfer, an opt-in to immutable subjects) is said, and recorded later."""
    from bootstrap.github.subject import learn

    subject = learn(sync.client, sync.repo_data)
    sync.subject = subject
    sync.result.subject_prefix = subject.prefix
    sync.result.oidc_issuer = subject.issuer
    sync.result.subject_template = subject.template
    recorded = sync.spec.github_subject_prefix
    if recorded != subject.prefix:
        sync.result.previous_subject_prefix = recorded
        sync.result.subject_changed = True
        if recorded:
            sync.notice(
                f"GitHub now issues OIDC subjects {subject.prefix}:..., not {recorded}:...: "
                "recording it; the roles' trust must follow"
            )
    sync.progress(f"OIDC subject {subject.prefix}:... ({subject.template} template)")
