"""Provision a generated repository on GitHub, idempotently: every step looks before it writes.

Order (docs/github.md): token checked (by the caller, `connect`) -> owner -> repository (create,
adopt or refuse) -> environments (which also finds what the plan allows) -> local changes
(re-render for a changed answer, the record, one commit) -> push `main` -> repository and
environment variables -> secrets -> branch protection on `main`. Re-running after a failure at
any step converges without duplicates; a run with nothing to do makes no API write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bootstrap.errors import SpecError, TargetExistsError, UserError
from bootstrap.github import gitpush, rerender
from bootstrap.github.client import GitHubClient, RetryPolicy, path, translate
from bootstrap.github.token import Identity
from bootstrap.spec import Spec

BRANCH = gitpush.BRANCH
REQUIRED_CHECK = "build"  # the build job's check name (docs/contracts.md)
BRANCH_POLICY = {"protected_branches": False, "custom_branch_policies": True}
_SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class Options:
    """What the user chose (`bootstrap github sync` flags)."""

    owner: str | None = None  # default: the spec's owner
    public: bool = False
    reviewers: tuple[str, ...] = ()  # logins or ORG/TEAM; default: the token's user
    adopt: bool = False
    update_secrets: bool = False
    description: str | None = None
    topics: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Values:
    """Plain inputs: stack outputs ({"shared": {...}, "dev": {...}}), backend URL, secrets."""

    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    backend_url: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    kind: str  # repository, topics, environment, branch-policy, variable, secret, ...
    name: str
    action: str  # created, updated, unchanged, pushed, committed, skipped, unavailable
    detail: str = ""


@dataclass
class ProvisionResult:
    repository: str
    api_url: str
    login: str = ""
    html_url: str = ""
    clone_url: str = ""
    private: bool = True
    trust_subject: str = "environment"
    trust_subject_changed: bool = False
    environments: bool = True
    required_reviewers: bool = True
    branch_protection: bool = True
    remote: str = ""  # what GitHub's main held before the push (gitpush.Kind)
    pushed: str | None = None  # the commit pushed
    changes: list[Change] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    writes: int = 0

    def of(self, *actions: str) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def created(self) -> list[Change]:
        return self.of("created")

    @property
    def updated(self) -> list[Change]:
        return self.of("updated", "pushed", "committed")

    @property
    def unchanged(self) -> list[Change]:
        return self.of("unchanged")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "writes": self.writes,
        }
        return data


def connect(
    token: str,
    api_url: str,
    *,
    public: bool = False,
    retry: RetryPolicy | None = None,
    throttle: bool = True,
) -> tuple[GitHubClient, Identity]:
    """A client whose token is checked (identity, scopes). Nothing is written anywhere."""
    from bootstrap.github.token import check

    client = GitHubClient(token, api_url, retry=retry, throttle=throttle)
    return client, check(client, public=public)


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
    """Converge GitHub (and the repo's record) to the spec. See the module docstring."""
    run = _Provisioner(
        spec, repo.resolve(), client, identity, token, options or Options(), values or Values()
    )
    run.notify_fn = notify
    run.progress_fn = progress
    writes_before = client.writes
    try:
        run.all()
    finally:
        run.result.writes = client.writes - writes_before
    return run.result


class _Provisioner:
    def __init__(
        self,
        spec: Spec,
        repo: Path,
        client: GitHubClient,
        identity: Identity,
        token: str,
        options: Options,
        values: Values,
    ) -> None:
        owner = options.owner or spec.owner
        if not owner:
            raise SpecError(
                "the repository has no GitHub owner", "pass --owner USER_OR_ORGANISATION"
            )
        if spec.owner and owner.lower() != spec.owner.lower():
            raise SpecError(
                f"this repository was generated for the owner '{spec.owner}', not '{owner}'",
                "drop --owner (the owner is in the IAM trust policies), or regenerate",
            )
        for name in values.secrets:
            if not _SECRET_NAME.match(name) or name.startswith("GITHUB_"):
                raise UserError(f"'{name}' is not a valid secret name", "use A-Z, 0-9 and _")
        self.spec = spec
        self.repo = repo
        self.client = client
        self.identity = identity
        self.token = token
        self.options = options
        self.values = values
        self.owner = owner
        self.name = spec.name
        self.record = rerender.read_record(repo)
        self.result = ProvisionResult(
            repository=f"{owner}/{spec.name}", api_url=client.api_url, login=identity.login
        )
        self.notify_fn: Callable[[str], None] | None = None
        self.progress_fn: Callable[[str], None] | None = None
        self._public_key: dict[str, Any] | None = None
        self.created = False
        self.remote_has_main = False

    # -- reporting ----------------------------------------------------------------------------

    def change(self, kind: str, name: str, action: str, detail: str = "") -> str:
        """Report what a step did. A retried step reports once: its first write wins."""
        for index, old in enumerate(self.result.changes):
            if (old.kind, old.name) == (kind, name):
                if old.action in ("created", "updated") and action == "unchanged":
                    return old.action
                self.result.changes[index] = Change(kind, name, action, detail)
                return action
        self.result.changes.append(Change(kind, name, action, detail))
        return action

    def notice(self, message: str) -> None:
        if message not in self.result.notices:
            self.result.notices.append(message)
            if self.notify_fn:
                self.notify_fn(message)

    def skip(self, message: str) -> None:
        if message not in self.result.skipped:
            self.result.skipped.append(message)

    def progress(self, message: str) -> None:
        if self.progress_fn:
            self.progress_fn(message)

    def repo_path(self, *parts: str) -> str:
        return path("repos", self.owner, self.name, *parts)

    # -- the steps ----------------------------------------------------------------------------

    def all(self) -> None:
        account = self.resolve_owner()
        if self.spec.owner is None:
            rerender.require_clean(self.repo, "setting the owner re-renders the repository")
        data = self.ensure_repository(account)
        self.transport = gitpush.GitTransport(self.repo, data["clone_url"], self.token)
        state = self.check_content()
        self.ensure_topics(data)
        self.ensure_environments()
        self.local_changes()
        # Variables and secrets before the push: the push starts the first build, which needs them.
        self.ensure_variables()
        self.ensure_secrets()
        self.push(state)
        self.ensure_branch_protection()
        self.result.trust_subject = self.spec.trust_subject
        self.finish()

    def resolve_owner(self) -> dict[str, Any]:
        owner = self.owner
        account = self.client.run(
            f"look up the owner {owner}", lambda: self.client.get(path("users", owner))
        )
        if account is None:
            raise UserError(
                f"GitHub has no user or organisation '{owner}' at {self.client.api_url}",
                "check --owner (and --github-api-url for GitHub Enterprise Server)",
            )
        login = str(account["login"])
        if login != owner:
            self.notice(
                f"GitHub spells the owner '{login}', not '{owner}': the OIDC subject uses "
                f"GitHub's spelling, so set owner to '{login}' in .copier-answers.yml "
                "(bootstrap update) to match the IAM trust policies"
            )
        self.progress(f"Owner {login} ({str(account.get('type', 'User')).lower()})")
        return dict(account)

    def ensure_repository(self, account: dict[str, Any]) -> dict[str, Any]:
        full = f"{self.owner}/{self.name}"
        url = self.repo_path()

        def look() -> dict[str, Any] | None:
            data = self.client.get(url)
            if data is not None and str(data.get("full_name", "")).lower() != full.lower():
                raise TargetExistsError(
                    f"the name {full} now leads to the repository {data.get('full_name')} "
                    "(it was renamed or moved)",
                    "choose another project name, or rename that repository",
                )
            return data

        data = self.client.run(f"look up the repository {full}", look)
        if data is not None:
            self.result.remote = "existing"
            if self.options.public and data.get("private"):
                self.notice(
                    f"{full} exists and is private; --public does not change the visibility "
                    "of an existing repository (change it in the repository settings)"
                )
            self.change("repository", full, "unchanged", "exists")
        else:
            data = self.client.run(f"create the repository {full}", partial(self.create, account))
            self.created = True
            self.change(
                "repository", full, "created", "public" if self.options.public else "private"
            )
        self.result.html_url = str(data.get("html_url", ""))
        self.result.clone_url = str(data["clone_url"])
        self.result.private = bool(data.get("private", True))
        self.progress(f"Repository {full} ({'private' if self.result.private else 'public'})")
        self.repo_data = data
        return data

    def create(self, account: dict[str, Any]) -> dict[str, Any]:
        from github import GithubException

        existing = self.client.get(self.repo_path())  # a retried create may have succeeded
        if existing is not None:
            return dict(existing)
        is_self = str(account["login"]).lower() == self.identity.login.lower()
        if is_self:
            url = "/user/repos"
        elif account.get("type") == "Organization":
            url = path("orgs", str(account["login"]), "repos")
        else:
            raise UserError(
                f"'{account['login']}' is another user's account: a token can only create "
                f"repositories for its own user ({self.identity.login}) or an organisation",
                f"pass --owner {self.identity.login} or an organisation you belong to",
            )
        body = {
            "name": self.name,
            "description": self.description(),
            "private": not self.options.public,
            "auto_init": False,
            "has_wiki": False,
            "has_projects": False,
        }
        try:
            return dict(self.client.write("POST", url, body))
        except GithubException as exc:
            if exc.status == 422:
                raise TargetExistsError(
                    f"GitHub refused to create {self.owner}/{self.name}: the name is taken by "
                    "another repository this token cannot see (or one being deleted)",
                    "ask an owner for access and run again with --adopt, or choose another name",
                ) from exc
            raise

    def description(self) -> str:
        if self.options.description:
            return self.options.description
        stages = " → ".join(f"{s.name}{' (manual)' if s.manual else ''}" for s in self.spec.stages)
        return f"{self.spec.name}: a {self.spec.target.value.upper()} service deployed through {stages}"

    def topics(self) -> list[str]:
        if self.options.topics is not None:
            return list(self.options.topics)
        return ["bootstrap", "pulumi", "aws", self.spec.target.value, "github-actions"]

    def check_content(self) -> gitpush.RemoteState:
        if self.created:
            state = gitpush.RemoteState("empty")
        else:
            full = self.result.repository
            state = self.client.run(f"read what {full} holds", self.transport.inspect)
            if state.kind not in gitpush.HOLDS_SCAFFOLD:
                if not self.options.adopt:
                    raise TargetExistsError(
                        f"{full} already exists with other content (its main does not hold this "
                        "scaffold's history)"
                        if state.kind == "foreign"
                        else f"{full} already exists with other branches and no main",
                        "pass --adopt to use it anyway (nothing on GitHub is overwritten), or "
                        "choose another name; nothing was changed",
                    )
                self.notice(f"adopting {full}, which holds other content (--adopt)")
        self.result.remote = state.kind
        return state

    def ensure_topics(self, data: dict[str, Any]) -> None:
        wanted = self.topics()
        description = self.description()

        def apply() -> None:
            current = data.get("topics")
            if current is None:
                current = (self.client.get(self.repo_path("topics")) or {}).get("names", [])
            missing = [t for t in wanted if t not in current]
            if missing:
                self.client.write("PUT", self.repo_path("topics"), {"names": [*current, *missing]})
                data["topics"] = [*current, *missing]
                self.change("topics", ",".join(missing), "updated")
            else:
                self.change("topics", ",".join(wanted), "unchanged")
            if not data.get("description"):
                self.client.write("PATCH", self.repo_path(), {"description": description})
                data["description"] = description
                self.change("description", description, "updated")

        self.client.run("set the repository topics", apply)

    # -- environments ---------------------------------------------------------------------------

    def ensure_environments(self) -> None:
        if self.spec.trust_subject != "environment":
            self.result.environments = False
            self.result.required_reviewers = False
            self.change("environment", "*", "skipped", "trust subject is branch")
            return
        private = self.result.private
        want_reviewers = any(s.manual for s in self.spec.stages)
        if want_reviewers and private and self.record.get("required_reviewers") is False:
            self.result.required_reviewers = False
            want_reviewers = False
            self.skip(
                "required reviewers: not available for this private repository on its plan "
                f"(recorded in {rerender.RECORD})"
            )
        reviewers = self.resolve_reviewers() if want_reviewers else []
        for stage in self.spec.stages:
            step = f"set up the environment {stage.name}"
            stage_reviewers = reviewers if stage.manual and self.result.required_reviewers else []
            outcome = self.client.run(step, partial(self.environment, stage.name, stage_reviewers))
            if outcome == "unavailable":
                self.result.environments = False
                self.result.required_reviewers = False
                return
        self.progress(f"Environments {', '.join(self.spec.stage_names)}")

    def resolve_reviewers(self) -> list[dict[str, Any]]:
        names = self.options.reviewers or (self.identity.login,)
        found = []
        for name in names:
            if name == self.identity.login:
                found.append({"type": "User", "id": self.identity.user_id})
                continue
            if "/" in name:
                org, _, slug = name.partition("/")
                url, kind = path("orgs", org, "teams", slug), "Team"
            else:
                url, kind = path("users", name), "User"
            data = self.client.run(f"look up the reviewer {name}", partial(self.client.get, url))
            if data is None:
                raise UserError(
                    f"the reviewer '{name}' does not exist on GitHub",
                    "pass --reviewers with GitHub logins or ORG/TEAM slugs",
                )
            found.append({"type": kind, "id": int(data["id"])})
        return found

    def environment(self, name: str, reviewers: list[dict[str, Any]]) -> str:
        from github import GithubException

        url = self.repo_path("environments", name)
        current = self.client.get(url)
        have = _reviewers_of(current) if current else []
        ok_policy = bool(current) and _policy_of(current) == BRANCH_POLICY
        missing = [
            r for r in reviewers if (r["type"], r["id"]) not in {(h["type"], h["id"]) for h in have}
        ]
        if current is not None and ok_policy and not missing:
            action = self.change("environment", name, "unchanged")
        else:
            body: dict[str, Any] = {
                "wait_timer": _wait_timer_of(current) if current else 0,
                "prevent_self_review": _prevent_self_review_of(current) if current else False,
                "reviewers": [*have, *missing] or None,
                "deployment_branch_policy": BRANCH_POLICY,
            }
            try:
                self.client.write("PUT", url, body)
            except GithubException as exc:
                if exc.status not in (404, 422) or not self.result.private:
                    raise
                if not body["reviewers"]:
                    self.plan_without_environments(exc)
                    return "unavailable"
                try:  # reviewers are what the plan refuses: try without them
                    self.client.write("PUT", url, {**body, "reviewers": None})
                except GithubException as again:
                    if again.status not in (404, 422):
                        raise
                    self.plan_without_environments(again)
                    return "unavailable"
                self.plan_without_reviewers(exc)
            action = self.change(
                "environment", name, "updated" if current is not None else "created",
                f"reviewers: {len(body['reviewers'] or []) if self.result.required_reviewers else 0}",
            )  # fmt: skip
        self.ensure_branch_policy(name)
        return action

    def ensure_branch_policy(self, environment: str) -> None:
        url = self.repo_path("environments", environment, "deployment-branch-policies")
        listing = self.client.get(url, params={"per_page": 100}) or {}
        policies = listing.get("branch_policies", [])
        if any(p.get("name") == BRANCH and p.get("type", "branch") == "branch" for p in policies):
            self.change("branch-policy", f"{environment}:{BRANCH}", "unchanged")
            return
        self.client.write("POST", url, {"name": BRANCH, "type": "branch"})
        self.change("branch-policy", f"{environment}:{BRANCH}", "created")

    def plan_without_reviewers(self, exc: Any) -> None:
        self.result.required_reviewers = False
        manual = ", ".join(s.name for s in self.spec.stages if s.manual)
        self.notice(
            f"required reviewers are not available for this private repository on its GitHub plan "
            f"(GitHub answered {exc.status}): the environments exist without them, so the manual "
            f"stage(s) {manual} deploy without approval. Make the repository public or use "
            "GitHub Enterprise to get approvals"
        )

    def plan_without_environments(self, exc: Any) -> None:
        self.notice(
            "GitHub environments are not available for this private repository on its plan "
            f"(GitHub answered {exc.status}): switching the OIDC trust subject to the branch "
            f"(repo:{self.result.repository}:ref:refs/heads/{BRANCH}); deploy roles are set as "
            "repository variables AWS_DEPLOY_ROLE_ARN_<STAGE>, and manual stages have no "
            "approval gate. Make the repository public or upgrade the plan to use environments"
        )

    # -- local changes and push -------------------------------------------------------------------

    def local_changes(self) -> None:
        answers: dict[str, str] = {}
        if self.spec.owner is None:
            answers["owner"] = self.owner
        trust = "environment" if self.result.environments else "branch"
        if self.spec.trust_subject == "environment" and trust == "branch":
            answers["trust_subject"] = "branch"
        if answers:
            changed = rerender.rerender(self.repo, answers)
            from bootstrap.repo import load_spec

            self.spec = load_spec(self.repo)
            self.result.trust_subject_changed = "trust_subject" in answers
            for key, value in answers.items():
                self.change("answer", key, "updated", f"{value} ({len(changed)} files re-rendered)")
        record = {
            "repository": self.result.repository,
            "api_url": self.client.api_url,
            "html_url": self.result.html_url,
            "environments": self.result.environments,
            "required_reviewers": self.result.required_reviewers,
            "trust_subject": self.spec.trust_subject,
        }
        record_changed = rerender.write_record(self.repo, record)
        if answers or record_changed:
            why = (
                "switch the OIDC trust subject to the branch (no GitHub environments)"
                if self.result.trust_subject_changed
                else f"record the GitHub settings of {self.result.repository}"
            )
            head = rerender.commit(
                self.repo,
                [str(rerender.RECORD)],
                f"bootstrap github sync: {why}",
                all_changes=bool(answers),
            )
            if head:
                self.change("commit", head[:12], "committed", why)

    def push(self, state: gitpush.RemoteState) -> None:
        origin = self.transport.ensure_origin()
        via_origin = origin in ("added", "unchanged")
        if origin == "added":
            self.change("remote", "origin", "created", self.result.clone_url)
        elif not via_origin:
            self.notice(
                f"the remote 'origin' points to {origin}, not {self.result.clone_url}: "
                "it was left as it is"
            )
        local = self.transport.local_head()
        kind = state.kind
        if kind == "same" and local != state.remote_sha:
            kind = "behind"  # a commit was made above, on top of what GitHub has
        if kind in gitpush.PUSHABLE:
            self.client.run(
                f"push {BRANCH} to {self.result.clone_url}",
                lambda: self.transport.push(via_origin=via_origin),
            )
            self.result.pushed = local
            self.change("branch", BRANCH, "pushed", local[:12])
            self.remote_has_main = True
            self.progress(f"Pushed {BRANCH} ({local[:8]})")
            return
        self.remote_has_main = state.has_main
        if kind == "same":
            self.change("branch", BRANCH, "unchanged", local[:12])
        elif kind == "ahead":
            self.notice(
                f"{BRANCH} on GitHub is ahead of the local {BRANCH}: nothing was pushed "
                f"(git pull to bring the local branch up to date)"
            )
            self.change("branch", BRANCH, "skipped", "GitHub is ahead")
        else:
            self.notice(
                f"{BRANCH} on GitHub holds history the local {BRANCH} does not: nothing was "
                f"pushed (merge it: git pull origin {BRANCH} --allow-unrelated-histories, then "
                "git push)"
            )
            self.change("branch", BRANCH, "skipped", kind)

    # -- variables and secrets ----------------------------------------------------------------------

    def ensure_variables(self) -> None:
        outputs = self.values.outputs
        shared = outputs.get("shared") or {}
        repo_vars: dict[str, str | None] = {
            "AWS_REGION": self.spec.region,
            "PULUMI_BACKEND_URL": self.backend_url(),
            "AWS_CI_ROLE_ARN": _text(shared.get("ciRoleArn")),
            "ECR_REPOSITORY_URL": _text(shared.get("repositoryUrl")),
            "AWS_PREVIEW_ROLE_ARN": _text(shared.get("previewRoleArn")),
        }
        sources = {
            "AWS_CI_ROLE_ARN": "ciRoleArn",
            "ECR_REPOSITORY_URL": "repositoryUrl",
            "AWS_PREVIEW_ROLE_ARN": "previewRoleArn",
        }
        for name, source in sources.items():
            if repo_vars[name] is None:
                self.skip(
                    f"{name}: the shared stack has no output {source} yet (deploy it, then run "
                    "bootstrap github sync again)"
                )
        branch_mode = self.spec.trust_subject == "branch"
        for stage in self.spec.stages:
            stage_out = outputs.get(stage.name) or {}
            role = _text(stage_out.get("deployRoleArn"))
            if role is None:
                self.skip(
                    f"AWS_DEPLOY_ROLE_ARN for {stage.name}: the {stage.name} stack has no output "
                    "deployRoleArn yet (deploy it, then run bootstrap github sync again)"
                )
            if branch_mode:
                repo_vars[f"AWS_DEPLOY_ROLE_ARN_{stage_variable(stage.name)}"] = role
        scope = self.repo_path("actions", "variables")
        for name, value in repo_vars.items():
            if value is not None:
                self.client.run(
                    f"set the repository variable {name}",
                    partial(self.variable, scope, name, value, "repository"),
                )
        if branch_mode or not self.result.environments:
            return
        for stage in self.spec.stages:
            stage_out = outputs.get(stage.name) or {}
            env_vars = {
                "AWS_DEPLOY_ROLE_ARN": _text(stage_out.get("deployRoleArn")),
                "AWS_REGION": _text(stage_out.get("region")) or self.spec.region,
                "PULUMI_STACK": stage.name,
            }
            env_scope = self.repo_path("environments", stage.name, "variables")
            for name, value in env_vars.items():
                if value is not None:
                    self.client.run(
                        f"set the variable {name} of the environment {stage.name}",
                        partial(self.variable, env_scope, name, value, stage.name),
                    )
        self.progress("Variables set")

    def backend_url(self) -> str | None:
        url = self.values.backend_url
        if not url:
            self.skip(
                "PULUMI_BACKEND_URL: the state backend is local (no --backend); CI needs a shared "
                "one (s3://BUCKET or https://api.pulumi.com)"
            )
            return None
        if url.startswith("file://"):
            self.skip(f"PULUMI_BACKEND_URL: {url} is a local path CI cannot reach")
            return None
        return url

    def variable(self, scope: str, name: str, value: str, where: str) -> None:
        from github import GithubException

        url = f"{scope}/{name}"
        current = self.client.get(url)
        label = f"{where}:{name}"
        if current is not None and current.get("value") == value:
            self.change("variable", label, "unchanged")
            return
        if current is None:
            try:
                self.client.write("POST", scope, {"name": name, "value": value})
                self.change("variable", label, "created")
                return
            except GithubException as exc:
                if exc.status != 409:  # 409: created meanwhile; update it below
                    raise
        self.client.write("PATCH", url, {"name": name, "value": value})
        self.change("variable", label, "updated")

    def ensure_secrets(self) -> None:
        if not self.values.secrets:
            self.skip(
                "secrets: none given (set PULUMI_CONFIG_PASSPHRASE, or PULUMI_ACCESS_TOKEN for "
                "Pulumi Cloud, in the environment and run bootstrap github sync again)"
            )
        for name, value in self.values.secrets.items():
            self.client.run(f"set the secret {name}", partial(self.secret, name, value))

    def secret(self, name: str, value: str) -> None:
        url = self.repo_path("actions", "secrets", name)
        exists = self.client.get(url) is not None
        if exists and not self.options.update_secrets:
            self.change("secret", name, "unchanged", "exists (--update-secrets replaces it)")
            return
        if self._public_key is None:
            self._public_key = self.client.get(self.repo_path("actions", "secrets", "public-key"))
            if not self._public_key:
                raise UserError(
                    f"GitHub gave no secrets public key for {self.result.repository}",
                    "check that GitHub Actions is enabled for the repository",
                )
        sealed = seal(str(self._public_key["key"]), value)
        self.client.write(
            "PUT", url, {"encrypted_value": sealed, "key_id": str(self._public_key["key_id"])}
        )
        self.change("secret", name, "updated" if exists else "created")

    # -- branch protection ----------------------------------------------------------------------

    def ensure_branch_protection(self) -> None:
        if not self.remote_has_main:
            self.skip(f"branch protection: GitHub has no {BRANCH} branch yet")
            self.result.branch_protection = False
            return
        self.client.run(f"protect the branch {BRANCH}", self.protection)

    def protection(self) -> None:
        from github import GithubException

        url = self.repo_path("branches", BRANCH, "protection")
        try:
            current = self.client.get(url)
        except GithubException as exc:
            if exc.status == 403 and _plan_limited(exc):
                self.result.branch_protection = False
                self.notice(
                    f"branch protection is not available for this private repository on its "
                    f"GitHub plan: {BRANCH} is not protected (make the repository public or "
                    "upgrade to GitHub Pro/Team to require pull requests and the build check)"
                )
                self.change("branch-protection", BRANCH, "unavailable")
                return
            raise
        contexts = _contexts_of(current) if current else []
        reviews = (current or {}).get("required_pull_request_reviews")
        if current is not None and reviews and REQUIRED_CHECK in contexts:
            self.change("branch-protection", BRANCH, "unchanged")
            return
        body = {
            "required_status_checks": {
                "strict": True,
                "contexts": sorted({*contexts, REQUIRED_CHECK}),
            },
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
            self.client.write("PUT", url, body)
        except GithubException as exc:
            if exc.status == 403 and _plan_limited(exc):
                self.result.branch_protection = False
                self.notice(
                    f"branch protection is not available for this private repository on its "
                    f"GitHub plan: {BRANCH} is not protected"
                )
                self.change("branch-protection", BRANCH, "unavailable")
                return
            raise
        self.change("branch-protection", BRANCH, "updated" if current else "created")

    # -- the end ------------------------------------------------------------------------------

    def finish(self) -> None:
        steps = self.result.next_steps
        if self.result.trust_subject_changed:
            steps.append(
                "the deploy roles trust the branch now: run `pulumi up` on each stage stack "
                "(or bootstrap provision) so their trust policies match"
            )
        if self.result.skipped:
            steps.append(
                "deploy the stacks, then run `bootstrap github sync` again to set the rest"
            )


def stage_variable(stage: str) -> str:
    """`dev` -> `DEV`, `pre-prod` -> `PRE_PROD` (docs/contracts.md)."""
    return stage.upper().replace("-", "_")


def seal(public_key_b64: str, value: str) -> str:
    """A GitHub secret value: a libsodium sealed box to the repository's public key, base64."""
    import base64

    from nacl import encoding, public

    key = public.PublicKey(public_key_b64.encode(), encoding.Base64Encoder)
    return base64.b64encode(public.SealedBox(key).encrypt(value.encode())).decode()


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


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


def _contexts_of(protection: Mapping[str, Any]) -> list[str]:
    checks = protection.get("required_status_checks") or {}
    contexts = list(checks.get("contexts") or [])
    contexts += [c["context"] for c in checks.get("checks") or [] if c.get("context")]
    return sorted(set(contexts))


def _plan_limited(exc: Any) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    text = str(data.get("message", "")).lower()
    return "upgrade to github pro" in text or "make this repository public" in text


__all__ = [
    "Change",
    "Options",
    "ProvisionResult",
    "Values",
    "connect",
    "provision",
    "seal",
    "stage_variable",
    "translate",
]
