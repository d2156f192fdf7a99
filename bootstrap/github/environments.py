"""One GitHub environment per stage, limited to `main`, with required reviewers on manual stages;
and what the plan allows (private repositories on GitHub Free have no environments, GitHub Pro and
Team no required reviewers), found on the first environment written, not probed."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from bootstrap.errors import UserError
from bootstrap.github import rerender
from bootstrap.github.client import path
from bootstrap.github.context import Sync
from stacks.contract import BRANCH, subject

BRANCH_POLICY = {"protected_branches": False, "custom_branch_policies": True}


def ensure_environments(sync: Sync) -> None:
    result = sync.result
    if sync.spec.trust_subject != "environment":
        result.environments = False
        result.required_reviewers = False
        sync.change("environment", "*", "skipped", "trust subject is branch")
        return
    want_reviewers = any(s.manual for s in sync.spec.stages)
    if want_reviewers and result.private and sync.record.get("required_reviewers") is False:
        result.required_reviewers = False
        want_reviewers = False
        sync.skip(
            "required reviewers: not available for this private repository on its plan "
            f"(recorded in {rerender.RECORD})"
        )
    reviewers = resolve_reviewers(sync) if want_reviewers else []
    for stage in sync.spec.stages:
        chosen = reviewers if stage.manual and result.required_reviewers else []
        outcome = sync.client.run(
            f"set up the environment {stage.name}", partial(environment, sync, stage.name, chosen)
        )
        if outcome == "unavailable":
            result.environments = False
            result.required_reviewers = False
            return
    sync.progress(f"Environments {', '.join(sync.spec.stage_names)}")


def resolve_reviewers(sync: Sync) -> list[dict[str, Any]]:
    identity = sync.identity
    found = []
    for name in sync.options.reviewers or (identity.login,):
        if name == identity.login:
            found.append({"type": "User", "id": identity.user_id})
            continue
        if "/" in name:
            org, _, slug = name.partition("/")
            url, kind = path("orgs", org, "teams", slug), "Team"
        else:
            url, kind = path("users", name), "User"
        data = sync.client.run(f"look up the reviewer {name}", partial(sync.client.get, url))
        if data is None:
            raise UserError(
                f"the reviewer '{name}' does not exist on GitHub",
                "pass --reviewers with GitHub logins or ORG/TEAM slugs",
            )
        found.append({"type": kind, "id": int(data["id"])})
    return found


def environment(sync: Sync, name: str, reviewers: list[dict[str, Any]]) -> str:
    from github import GithubException

    client = sync.client
    url = sync.repo_path("environments", name)
    current = client.get(url)
    have = _reviewers_of(current) if current else []
    ok_policy = bool(current) and _policy_of(current) == BRANCH_POLICY
    known = {(h["type"], h["id"]) for h in have}
    missing = [r for r in reviewers if (r["type"], r["id"]) not in known]
    if current is not None and ok_policy and not missing:
        action = sync.change("environment", name, "unchanged")
    else:
        body: dict[str, Any] = {
            "wait_timer": _wait_timer_of(current) if current else 0,
            "prevent_self_review": _prevent_self_review_of(current) if current else False,
            "reviewers": [*have, *missing] or None,
            "deployment_branch_policy": BRANCH_POLICY,
        }
        try:
            client.write("PUT", url, body)
        except GithubException as exc:
            if exc.status not in (404, 422) or not sync.result.private:
                raise
            if not body["reviewers"]:
                _without_environments(sync, exc)
                return "unavailable"
            try:  # reviewers are what the plan refuses: try without them
                client.write("PUT", url, {**body, "reviewers": None})
            except GithubException as again:
                if again.status not in (404, 422):
                    raise
                _without_environments(sync, again)
                return "unavailable"
            _without_reviewers(sync, exc)
        count = len(body["reviewers"] or []) if sync.result.required_reviewers else 0
        action = sync.change(
            "environment", name, "updated" if current is not None else "created",
            f"reviewers: {count}",
        )  # fmt: skip
    ensure_branch_policy(sync, name)
    return action


def ensure_branch_policy(sync: Sync, environment: str) -> None:
    url = sync.repo_path("environments", environment, "deployment-branch-policies")
    listing = sync.client.get(url, params={"per_page": 100}) or {}
    policies = listing.get("branch_policies", [])
    if any(p.get("name") == BRANCH and p.get("type", "branch") == "branch" for p in policies):
        sync.change("branch-policy", f"{environment}:{BRANCH}", "unchanged")
        return
    sync.client.write("POST", url, {"name": BRANCH, "type": "branch"})
    sync.change("branch-policy", f"{environment}:{BRANCH}", "created")


def _without_reviewers(sync: Sync, exc: Any) -> None:
    sync.result.required_reviewers = False
    manual = ", ".join(s.name for s in sync.spec.stages if s.manual)
    sync.notice(
        f"required reviewers are not available for this private repository on its GitHub plan "
        f"(GitHub answered {exc.status}): the environments exist without them, so the manual "
        f"stage(s) {manual} deploy without approval. Make the repository public or use "
        "GitHub Enterprise to get approvals"
    )


def _without_environments(sync: Sync, exc: Any) -> None:
    prefix = sync.result.subject_prefix or f"repo:{sync.result.repository}"
    sync.notice(
        "GitHub environments are not available for this private repository on its plan "
        f"(GitHub answered {exc.status}): switching the OIDC trust subject to the branch "
        f"({subject(prefix, 'branch')}); deploy roles are set as repository variables "
        "AWS_DEPLOY_ROLE_ARN_<STAGE>, and manual stages have no approval gate. Make the "
        "repository public or upgrade the plan to use environments"
    )


def _reviewers_of(env: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for rule in env.get("protection_rules") or []:
        if rule.get("type") == "required_reviewers":
            for item in rule.get("reviewers") or []:
                who = item.get("reviewer") or {}
                if "id" in who:
                    found.append({"type": item.get("type", "User"), "id": int(who["id"])})
    return found


def _policy_of(env: Mapping[str, Any]) -> dict[str, Any]:
    policy = env.get("deployment_branch_policy") or {}
    return {
        "protected_branches": bool(policy.get("protected_branches")),
        "custom_branch_policies": bool(policy.get("custom_branch_policies")),
    }


def _prevent_self_review_of(env: Mapping[str, Any]) -> bool:
    for rule in env.get("protection_rules") or []:
        if rule.get("type") == "required_reviewers":
            return bool(rule.get("prevent_self_review"))
    return False


def _wait_timer_of(env: Mapping[str, Any]) -> int:
    for rule in env.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            return int(rule.get("wait_timer") or 0)
    return 0
