"""What the workflows read, then the push that starts the first build, then branch protection:
repository and environment variables (from the stacks' outputs), secrets (sealed to the
repository's key), `main` (fast-forward only), and the protection of `main`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from itertools import pairwise
from typing import Any

from bootstrap.errors import UserError
from bootstrap.github import gitpush
from bootstrap.github.context import Sync
from bootstrap.github.model import Values
from stacks import contract
from stacks.contract import BRANCH, BUILD_CHECK


def publish(sync: Sync, values: Values) -> None:
    """Variables and secrets first: the push starts the first build, which needs them."""
    sync.check_secret_names(list(values.secrets))
    ensure_variables(sync, values)
    ensure_secrets(sync, values)
    push(sync)
    ensure_branch_protection(sync)
    sync.result.trust_subject = sync.spec.trust_subject


# -- variables -----------------------------------------------------------------------------------


def ensure_variables(sync: Sync, values: Values) -> None:
    outputs = values.outputs
    shared = outputs.get(contract.SHARED) or {}
    sources = {
        contract.VAR_CI_ROLE: "ciRoleArn",
        contract.VAR_REPOSITORY_URL: "repositoryUrl",
        contract.VAR_PREVIEW_ROLE: "previewRoleArn",
    }
    repo_vars: dict[str, str | None] = {
        contract.VAR_REGION: sync.spec.region,
        contract.VAR_BACKEND_URL: backend_url(sync, values.backend_url),
        **{name: _text(shared.get(output)) for name, output in sources.items()},
    }
    for name, output in sources.items():
        if repo_vars[name] is None:
            sync.skip(
                f"{name}: the shared stack has no output {output} yet (deploy it)"
            )
    # Optional: the shared stack exports it only while pull-request previews are on.
    repo_vars[contract.VAR_PR_ROLE] = _text(shared.get(contract.PR_ROLE_OUTPUT))
    branch_mode = sync.spec.trust_subject == "branch"
    for stage in sync.spec.stages:
        role = _text((outputs.get(stage.name) or {}).get("deployRoleArn"))
        if role is None:
            sync.skip(
                f"{contract.VAR_DEPLOY_ROLE} for {stage.name}: the {stage.name} stack has no "
                "output deployRoleArn yet (deploy it)"
            )
        if branch_mode:
            repo_vars[contract.stage_role_variable(stage.name)] = role
    own_preview_roles = stage_preview_roles(outputs, sync.spec.stage_names)
    repo_vars.update(own_preview_roles)
    readers = alarm_readers(sync, outputs)
    if branch_mode:
        for name, reader in readers.items():
            repo_vars[contract.previous_alarms_role_variable(name)] = reader
    scope = sync.repo_path("actions", "variables")
    for name, value in repo_vars.items():
        if value is not None:
            sync.client.run(
                f"set the repository variable {name}",
                partial(variable, sync, scope, name, value, "repository"),
            )
    for name in [name for name, role in own_preview_roles.items() if role is None]:
        sync.client.run(
            f"remove the repository variable {name}",
            partial(remove_variable, sync, scope, name, "repository"),
        )
    if branch_mode or not sync.result.environments:
        return
    for stage in sync.spec.stages:
        stage_out = outputs.get(stage.name) or {}
        env_vars = {
            contract.VAR_DEPLOY_ROLE: _text(stage_out.get("deployRoleArn")),
            contract.VAR_REGION: _text(stage_out.get("region")) or sync.spec.region,
            contract.VAR_STACK: stage.name,
            contract.VAR_PREVIOUS_ALARMS_ROLE: readers.get(stage.name),
        }
        env_scope = sync.repo_path("environments", stage.name, "variables")
        for name, value in env_vars.items():
            if value is not None:
                sync.client.run(
                    f"set the variable {name} of the environment {stage.name}",
                    partial(variable, sync, env_scope, name, value, stage.name),
                )
    sync.progress("Variables set")


def stage_preview_roles(
    outputs: Mapping[str, Mapping[str, Any]], stages: list[str]
) -> dict[str, str | None]:
    """The own preview role of each deployed stage (a stage in its own account has one):
    preview.yml previews that stage as it. Repository variables, as the preview job has no
    environment. None: the stage has none (any more: it moved back to the tooling account), so its
    variable goes, or preview.yml would assume a role that is gone. A stage not deployed yet is
    left out: nothing is known of it."""
    found: dict[str, str | None] = {}
    for stage in stages:
        stage_out = outputs.get(stage) or {}
        role = _text(stage_out.get(contract.STAGE_PREVIEW_ROLE_OUTPUT))
        if role or _text(stage_out.get("deployRoleArn")):
            found[contract.stage_preview_role_variable(stage)] = role
    return found


def alarm_readers(sync: Sync, outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    """For each stage after the first, the alarm reader of the stage before it (that stack's
    output): its deploy job reads the stage before's alarms through it (promotion's alarms gate)."""
    readers: dict[str, str | None] = {}
    names = [stage.name for stage in sync.spec.stages]
    for previous, stage in pairwise(names):
        reader = _text((outputs.get(previous) or {}).get(contract.ALARM_READER_OUTPUT))
        if reader is None:
            sync.skip(
                f"{contract.VAR_PREVIOUS_ALARMS_ROLE} for {stage}: the {previous} stack has no "
                f"output {contract.ALARM_READER_OUTPUT} yet (deploy its foundation); until then "
                f"{stage}'s promotions do not check {previous}'s alarms"
            )
        readers[stage] = reader
    return readers


def backend_url(sync: Sync, url: str | None) -> str | None:
    if not url:
        sync.skip(
            f"{contract.VAR_BACKEND_URL}: the state backend is local (no --backend); CI needs a "
            "shared one (s3://BUCKET or https://api.pulumi.com)"
        )
        return None
    if url.startswith("file://"):
        sync.skip(f"{contract.VAR_BACKEND_URL}: {url} is a local path CI cannot reach")
        return None
    return url


def variable(sync: Sync, scope: str, name: str, value: str, where: str) -> None:
    from github import GithubException

    client = sync.client
    url = f"{scope}/{name}"
    current = client.get(url)
    label = f"{where}:{name}"
    if current is not None and current.get("value") == value:
        sync.change("variable", label, "unchanged")
        return
    if current is None:
        try:
            client.write("POST", scope, {"name": name, "value": value})
            sync.change("variable", label, "created")
            return
        except GithubException as exc:
            if exc.status != 409:  # 409: created meanwhile; update it below
                raise
    client.write("PATCH", url, {"name": name, "value": value})
    sync.change("variable", label, "updated")


def remove_variable(sync: Sync, scope: str, name: str, where: str) -> None:
    url = f"{scope}/{name}"
    if sync.client.get(url) is None:
        return
    sync.client.write("DELETE", url)
    sync.change("variable", f"{where}:{name}", "deleted")


# -- secrets -------------------------------------------------------------------------------------


def ensure_secrets(sync: Sync, values: Values) -> None:
    if not values.secrets:
        sync.skip(
            f"secrets: none given (set {contract.SECRET_PASSPHRASE}, or "
            f"{contract.SECRET_CLOUD_TOKEN} for Pulumi Cloud, in the environment)"
        )
    for name, value in values.secrets.items():
        sync.client.run(f"set the secret {name}", partial(secret, sync, name, value))


def secret(sync: Sync, name: str, value: str) -> None:
    client = sync.client
    url = sync.repo_path("actions", "secrets", name)
    exists = client.get(url) is not None
    if exists and not sync.options.update_secrets:
        sync.change("secret", name, "unchanged", "exists (--update-secrets replaces it)")
        return
    if sync.public_key is None:
        sync.public_key = client.get(sync.repo_path("actions", "secrets", "public-key"))
        if not sync.public_key:
            raise UserError(
                f"GitHub gave no secrets public key for {sync.result.repository}",
                "check that GitHub Actions is enabled for the repository",
            )
    sealed = seal(str(sync.public_key["key"]), value)
    client.write("PUT", url, {"encrypted_value": sealed, "key_id": str(sync.public_key["key_id"])})
    sync.change("secret", name, "updated" if exists else "created")


def seal(public_key_b64: str, value: str) -> str:
    """A GitHub secret value: a libsodium sealed box to the repository's public key, base64."""
    import base64

    from nacl import encoding, public

    key = public.PublicKey(public_key_b64.encode(), encoding.Base64Encoder)
    return base64.b64encode(public.SealedBox(key).encrypt(value.encode())).decode()


# -- the push ------------------------------------------------------------------------------------


def push(sync: Sync) -> None:
    state = sync.remote_state or gitpush.RemoteState("empty")
    transport = sync.transport
    origin = transport.ensure_origin()
    via_origin = origin in ("added", "unchanged")
    if origin == "added":
        sync.change("remote", "origin", "created", sync.result.clone_url)
    elif not via_origin:
        sync.notice(
            f"the remote 'origin' points to {origin}, not {sync.result.clone_url}: "
            "it was left as it is"
        )
    local = transport.local_head()
    kind = state.kind
    if kind == "same" and local != state.remote_sha:
        kind = "behind"  # a commit was made since, on top of what GitHub has
    if kind in gitpush.PUSHABLE:
        sync.client.run(
            f"push {BRANCH} to {sync.result.clone_url}",
            lambda: transport.push(via_origin=via_origin),
        )
        sync.result.pushed = local
        sync.change("branch", BRANCH, "pushed", local[:12])
        sync.remote_has_main = True
        sync.progress(f"Pushed {BRANCH} ({local[:8]})")
        return
    sync.remote_has_main = state.has_main
    if kind == "same":
        sync.change("branch", BRANCH, "unchanged", local[:12])
    elif kind == "ahead":
        sync.notice(
            f"{BRANCH} on GitHub is ahead of the local {BRANCH}: nothing was pushed "
            f"(`git pull` brings the local branch up to date)"
        )
        sync.change("branch", BRANCH, "skipped", "GitHub is ahead")
    else:
        sync.notice(
            f"{BRANCH} on GitHub holds history the local {BRANCH} does not: nothing was "
            f"pushed (merge it: `git pull origin {BRANCH} --allow-unrelated-histories`, then "
            "`git push`)"
        )
        sync.change("branch", BRANCH, "skipped", kind)


# -- branch protection ---------------------------------------------------------------------------


def ensure_branch_protection(sync: Sync) -> None:
    if not sync.remote_has_main:
        sync.skip(f"branch protection: GitHub has no {BRANCH} branch yet")
        sync.result.branch_protection = False
        return
    sync.client.run(f"protect the branch {BRANCH}", partial(protection, sync))


def protection(sync: Sync) -> None:
    from github import GithubException

    client = sync.client
    url = sync.repo_path("branches", BRANCH, "protection")
    try:
        current = client.get(url)
    except GithubException as exc:
        if exc.status == 403 and _plan_limited(exc):
            _unavailable(sync)
            return
        raise
    contexts = _contexts_of(current) if current else []
    reviews = (current or {}).get("required_pull_request_reviews")
    if current is not None and reviews and BUILD_CHECK in contexts:
        sync.change("branch-protection", BRANCH, "unchanged")
        return
    body = {
        "required_status_checks": {"strict": True, "contexts": sorted({*contexts, BUILD_CHECK})},
        "enforce_admins": bool(((current or {}).get("enforce_admins") or {}).get("enabled")),
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": bool((reviews or {}).get("dismiss_stale_reviews", True)),
            "require_code_owner_reviews": False,
            "required_approving_review_count": int(
                (reviews or {}).get("required_approving_review_count", 0)
            ),
        },
        "restrictions": None,
    }
    try:
        client.write("PUT", url, body)
    except GithubException as exc:
        if exc.status == 403 and _plan_limited(exc):
            _unavailable(sync)
            return
        raise
    sync.change("branch-protection", BRANCH, "updated" if current else "created")


def _unavailable(sync: Sync) -> None:
    sync.result.branch_protection = False
    sync.notice(
        f"branch protection is not available for this private repository on its GitHub plan: "
        f"{BRANCH} is not protected (make the repository public or upgrade to GitHub Pro/Team "
        "to require pull requests and the build check)"
    )
    sync.change("branch-protection", BRANCH, "unavailable")


def _contexts_of(protection: dict[str, Any]) -> list[str]:
    checks = protection.get("required_status_checks") or {}
    contexts = list(checks.get("contexts") or [])
    contexts += [c["context"] for c in checks.get("checks") or [] if c.get("context")]
    return sorted(set(contexts))


def _plan_limited(exc: Any) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    text = str(data.get("message", "")).lower()
    return "upgrade to github pro" in text or "make this repository public" in text


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def backend_secrets(spec: Any) -> dict[str, str]:
    """The state backend's secret for CI: the Pulumi Cloud token from the environment, or the
    project's passphrase (the one the local stacks use: the environment, else the user's file)."""
    import os

    backend = spec.backend or ""
    if backend.startswith("https://"):
        token = os.environ.get(contract.SECRET_CLOUD_TOKEN)
        return {contract.SECRET_CLOUD_TOKEN: token} if token else {}
    from bootstrap.passphrase import get_passphrase

    return {contract.SECRET_PASSPHRASE: get_passphrase(spec.name).value}
