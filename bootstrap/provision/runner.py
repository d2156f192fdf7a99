"""The phases of a provisioning run, in order, each behind a guard that re-detects its work.

1. `checks`     every credential and tool first (GitHub token and owner, AWS credentials, Pulumi
                CLI, the stacks' passphrase); one missing stops the run before anything is
                written, naming each fix. With no credentials at all, `new` stays local. Every
                account's credentials (`--profile`, bootstrap/accounts.py) are checked with STS
                against the account its stacks name.
2. `repository` GitHub: the repository (created or adopted, or followed after a rename), the
                OIDC subject GitHub issues for it, its environments (which tell what the plan
                allows). Nothing of the trust can be right before this.
3. `scaffold`   `new`: render with what GitHub said, commit, record. `provision`: the answers
                that changed (owner, backend, subject prefix, issuer, trust subject) re-rendered
                at the repository's own template version, with the record, in one commit.
4. `backend`    the state backend (a hardened S3 bucket `<name>-pulumi-state-<account>` by
                default, or the URL given).
5. `shared`     `up` of the shared stack (registry, the issuer's OIDC provider or the account's
                existing one, CI and preview roles) when an output is missing or a role trusts
                another subject than GitHub issues.
6. `roles`      a targeted `up` of each stage's foundation (`contract.foundation_urns`) when its
                deploy role is missing or trusts another subject, each with its own account's
                credentials; a stage that fails does not stop the others (docs/accounts.md).
7. `commit`     what Pulumi wrote into `infra/Pulumi.<stack>.yaml`, committed before the push.
8. `github`     variables (from the stack outputs), secrets, the push of `main`, branch protection.
9. `wait`       (`--wait`) the first workflow run of the pushed commit, to the first stage's
                smoke test; then its URL and the status grid.

The spec is settled by step 3, before anything of AWS; no phase runs another. Nothing is recorded
as progress except what is committed anyway (answers, stack settings, `.bootstrap/github.json`),
and none of it holds a secret, so `bootstrap provision` continues any interrupted run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.backend import default_backend_url
from bootstrap.errors import (
    CredentialsError,
    Interrupted,
    RemoteError,
    ToolMissingError,
    UserError,
)
from bootstrap.provision.model import (
    PreflightError,
    ProvisionError,
    Request,
    StepReport,
    StepStatus,
    Summary,
)
from bootstrap.trust import find_github_oidc_provider, read_role
from stacks import contract

if TYPE_CHECKING:
    import boto3

    from bootstrap.accounts import Accounts
    from bootstrap.automation import StackOps
    from bootstrap.aws import Identity
    from bootstrap.backend import Backend, StateAccess
    from bootstrap.doctor import Check
    from bootstrap.github.client import GitHubClient
    from bootstrap.github.context import Sync
    from bootstrap.github.token import Identity as GitHubIdentity
    from bootstrap.spec import Spec

_STACK_FILE = re.compile(r"^infra/Pulumi\.[^/]+\.ya?ml$")
_READS = ("Get", "List", "Head", "Describe")


def is_write(operation: str) -> bool:
    """An AWS API call that changes something (the read verbs are not counted as writes)."""
    return bool(operation) and not operation.startswith(_READS)

# The /health checker of the status grid after `--wait` (None: bootstrap.status's own).
HealthCheck = Callable[[dict[str, str]], dict[str, Any]]


class Provisioner:
    """Runs the phases (module docstring) with guard clauses; `run` returns the `Summary`.

    `scaffold=True` is `bootstrap new` (`path` is the repository to create); otherwise `path` is
    an existing generated repository. `after_step(name)` is called after each phase (tests
    interrupt there); `sleep`/`clock` drive retries and `--wait`; `health` checks the stages'
    URLs for the status grid."""

    def __init__(
        self,
        spec: Spec,
        path: Path,
        request: Request | None = None,
        *,
        scaffold: bool = False,
        provision: bool = True,
        emit: Callable[[StepReport], None] | None = None,
        progress: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
        after_step: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        health: HealthCheck | None = None,
    ) -> None:
        self.spec = spec
        self.path = path
        self.request = request or Request()
        self.new = scaffold
        self.provision = provision  # False: `new --no-provision`
        self.emit_fn = emit
        self.progress_fn = progress
        self.notify_fn = notify
        self.after_step = after_step
        self.sleep = sleep
        self.clock = clock
        self.health = health
        self.summary = Summary(spec.name, str(path))
        self.local = not provision
        self.api_url: str | None = None
        self.token: str | None = None
        self.identity: Identity | None = None
        self.owner = spec.github_owner(self.request.owner)
        self.outputs: dict[str, dict[str, Any]] = {}
        self.aws_calls: list[str] = []
        self.aws_by_profile: dict[str | None, int] = {}  # AWS writes per profile (None: ambient)
        self.pulumi_by_stack: dict[str, int] = {}
        self.sync: Sync | None = None
        self._accounts: Accounts | None = None
        self._ops: StackOps | None = None
        self._backend: Backend | None = None
        self._client: GitHubClient | None = None
        self._github_identity: GitHubIdentity | None = None
        self._current = ""

    # -- reporting ------------------------------------------------------------------------------

    def command(self, command: str) -> str:
        """`command` as the user types it next: in the new repository after `new`."""
        from bootstrap.repo import run_in

        return run_in(self.path, command) if self.new else command

    @property
    def resume_command(self) -> str:
        profiles = self.request.profiles.by_key if self.request.profiles else {}
        again = "".join(f" --profile {key}={name}" for key, name in profiles.items())
        return self.command(
            "bootstrap provision" + again + (" --wait" if self.request.wait else "")
        )

    def _report(
        self, status: StepStatus, detail: str, *, writes: int = 0, **data: Any
    ) -> StepReport:
        report = StepReport(self._current, status, detail, writes, dict(data))
        existing = self.summary.step(self._current)
        if existing is not None:
            self.summary.steps[self.summary.steps.index(existing)] = report
        else:
            self.summary.steps.append(report)
        if self.emit_fn:
            self.emit_fn(report)
        return report

    def done(self, detail: str, *, writes: int = 0, **data: Any) -> StepReport:
        return self._report("done", detail, writes=writes, **data)

    def skipped(self, detail: str, **data: Any) -> StepReport:
        return self._report("skipped", detail, **data)

    def progress(self, message: str) -> None:
        if self.progress_fn:
            self.progress_fn(message)

    def notify(self, message: str) -> None:
        if self.notify_fn:
            self.notify_fn(message)

    # -- running --------------------------------------------------------------------------------

    def run(self) -> Summary:
        phases: list[tuple[str, Callable[[], None]]] = [
            ("checks", self.checks),
            ("repository", self.repository),
            ("scaffold", self.scaffold),
            ("backend", self.backend),
            ("shared", self.shared),
            ("roles", self.roles),
            ("commit", self.commit),
            ("github", self.github),
            ("wait", self.wait),
        ]
        for name, phase in phases:
            if self.local and name not in ("checks", "scaffold"):
                continue
            self._current = name
            try:
                phase()
                if self.after_step is not None:
                    self.after_step(name)
            except KeyboardInterrupt:
                raise self._failure(name, None) from None
            except UserError as exc:
                raise self._failure(name, exc) from exc
        self._finish()
        return self.summary

    def _failure(self, name: str, exc: UserError | None) -> ProvisionError:
        """Mark the step failed (unless it had finished) and say how to continue."""
        step = self.summary.step(name)
        finished = step is not None and step.status != "failed"
        # `new` before its scaffold is made may simply be run again (an empty repository it
        # created on GitHub is adopted then)
        nothing_local = self.new and not (self.path / ".git").exists()
        if step is None or (finished and exc is not None):
            self._current = name
            self._report("failed", "interrupted" if exc is None else str(exc))
        elif not finished and exc is not None and not step.detail:
            step.detail = str(exc)
        self._collect_writes()
        if nothing_local:
            self.summary.next_command = ""
            if exc is None:
                return ProvisionError(
                    "interrupted: nothing was left half-done", None, self.summary, Interrupted.exit_code
                )
            return ProvisionError(exc.problem, exc.fix, self.summary, exc.exit_code)
        self.summary.next_command = self.resume_command
        if exc is None:
            return ProvisionError(
                f"interrupted {'after' if finished else 'during'} step '{name}'",
                f"continue with `{self.resume_command}`: finished steps are detected and skipped",
                self.summary,
                Interrupted.exit_code,
            )
        if isinstance(exc, PreflightError):
            return ProvisionError(exc.problem, exc.fix, self.summary, exc.exit_code)
        fix = (exc.fix.rstrip(".") + "; then " if exc.fix else "") + (
            f"continue with `{self.resume_command}` (finished steps are detected and skipped)"
        )
        return ProvisionError(
            f"step '{name}' failed: {exc.problem}", fix, self.summary, exc.exit_code
        )

    def _collect_writes(self) -> None:
        self.summary.writes["aws"] = len(self.aws_calls)
        if self._client is not None:
            self.summary.writes["github"] = self._client.writes
        self._collect_accounts()

    def _collect_accounts(self) -> None:
        """What lives in which account, and what this run wrote there (known once checked)."""
        accounts = self._accounts
        if accounts is None or not accounts.account_of_profile(accounts.profile(contract.SHARED)):
            return  # the tooling account was never checked: nothing to say per account
        found: dict[str, dict[str, Any]] = {}
        for stack in self.spec.stacks:
            profile = accounts.profile(stack)
            account = accounts.expected_account(stack)  # where it lives (its stack file)
            entry = found.setdefault(
                account, {"stacks": [], "profiles": [], "aws_writes": 0, "pulumi_updates": 0}
            )
            entry["stacks"].append(stack)
            if profile and profile not in entry["profiles"]:
                entry["profiles"].append(profile)
            entry["pulumi_updates"] += self.pulumi_by_stack.get(stack, 0)
        for profile, writes in self.aws_by_profile.items():
            signed_in = accounts.account_of_profile(profile)
            if signed_in in found:
                found[signed_in]["aws_writes"] += writes
        self.summary.accounts = found

    def _finish(self) -> None:
        self._collect_writes()
        if self.local:
            self.summary.mode = "local"
            self.summary.next_command = self.resume_command
            self.summary.next.append(
                f"provision GitHub and AWS when you have the credentials: `{self.resume_command}` "
                "(needs GITHUB_TOKEN, AWS credentials and the Pulumi CLI; "
                f"`{self.command('bootstrap doctor')}` checks them)"
            )
            return
        self.summary.next_command = self.command("bootstrap status")
        if not self.request.wait:
            self.summary.next.append(
                f"follow the first deploy: `{self.summary.next_command}` (or "
                f"`{self.command('bootstrap provision --wait')}`)"
            )

    # -- shared resources -----------------------------------------------------------------------

    @property
    def accounts(self) -> Accounts:
        """The run's AWS sessions, one per profile (bootstrap/accounts.py); every AWS write
        through them is counted, per profile."""
        if self._accounts is None:
            from bootstrap.accounts import Accounts, Profiles, placements, spec_placements

            if self.new:  # the spec is what `new` was asked; the stack files say the same
                where = spec_placements(self.spec)
            else:
                where = placements(self.path, self.spec.name, self.spec.stacks, self.spec.region)
            self._accounts = Accounts(
                self.request.profiles or Profiles(),
                where,
                region=self.spec.region,
                on_session=self._watch,
            )
        return self._accounts

    @property
    def session(self) -> boto3.Session:
        """The tooling account's session (shared stack, registry, state)."""
        return self.accounts.session(contract.SHARED)

    def _watch(self, profile: str | None, session: boto3.Session) -> None:
        def count(model: Any = None, http_response: Any = None, **_: Any) -> None:
            name = str(getattr(model, "name", ""))
            status = int(getattr(http_response, "status_code", 0) or 0)
            if is_write(name) and 200 <= status < 300:
                self.aws_calls.append(name)
                self.aws_by_profile[profile] = self.aws_by_profile.get(profile, 0) + 1

        session.events.register("after-call", count)

    @property
    def ops(self) -> StackOps:
        if self._ops is None:
            from bootstrap.automation import open_ops

            self._ops = open_ops(
                self.path,
                self.spec,
                self.backend_of(),
                verbose=self.request.verbose,
                env_for=self.accounts.pulumi_env,  # each stack with its account's credentials
            )
        return self._ops

    def backend_of(self) -> Backend:
        if self._backend is None:
            from bootstrap.backend import resolve_backend

            self._backend = resolve_backend(self.spec.backend, self.path)
        return self._backend

    def _up(self, stack: str, **kwargs: Any) -> Any:
        result = self.ops.up(stack, **kwargs)
        self.summary.writes["pulumi"] += 1
        self.pulumi_by_stack[stack] = self.pulumi_by_stack.get(stack, 0) + 1
        return result

    def client(self) -> tuple[GitHubClient, GitHubIdentity]:
        """The run's one GitHub client (`bootstrap.github.connect`), its token checked."""
        if self._client is None or self._github_identity is None:
            from bootstrap.github.client import RetryPolicy
            from bootstrap.github.connect import announcing, connect
            from bootstrap.github.token import check

            retry = RetryPolicy(sleep=announcing(self.notify, self.sleep))
            client = connect(self.api_url, token=self.token, retry=retry)
            self._github_identity = check(client, public=self.request.public)
            self._client = client
        return self._client, self._github_identity

    # -- 1. checks ------------------------------------------------------------------------------

    def checks(self) -> None:
        from bootstrap.aws import Identity
        from bootstrap.doctor import aws_credentials_hinted, run_checks
        from bootstrap.github.connect import api_url_of, token_from_env

        if not self.provision:
            self.skipped("--no-provision: local only")
            return
        self.api_url = api_url_of(self.request.github_api_url, None if self.new else self.path)
        if self.new and token_from_env() is None and not aws_credentials_hinted():
            self.local = True
            self.skipped(
                "no GitHub token and no AWS credentials: the repository is made locally only"
            )
            return
        report = run_checks(["aws", "github"], region=self.spec.region, github_api_url=self.api_url)
        aws, github = report.get("aws"), report.get("github")
        if self.new and aws.status == "missing" and github.status == "missing":
            self.local = True
            self.skipped(
                "no GitHub token and no AWS credentials: the repository is made locally only",
                checks=[asdict(aws), asdict(github)],
            )
            return
        self.accounts.check_profiles()  # a --profile key that names nothing: before any call
        aws = self._tooling_check(aws)
        checks = [github, self._owner_check(github), aws, self._pulumi_check()]
        checks += self._passphrase_check()
        problems = [c for c in checks if not c.ok]
        if problems:
            self._report("failed", "missing: " + ", ".join(c.name for c in problems),
                         checks=[asdict(c) for c in checks])  # fmt: skip
            raise PreflightError(problems, scaffold_only=self.new)
        self.identity = Identity(account=str(aws.data["account"]), arn=str(aws.data["arn"]))
        placed = self.accounts.verify(self.spec.stacks)  # every account, before any write
        self._refuse_the_tooling_account_named()
        self.token = token_from_env()
        if self.new and not self.spec.backend:
            self._set_spec(backend=self._default_backend())
        others = sorted(set(placed.values()) - {self.identity.account})
        where = f" (stages also in {', '.join(others)})" if others else ""
        self.done(
            f"GitHub {github.data.get('user')} for {self.owner}, AWS account "
            f"{self.identity.account}{where}, Pulumi",
            checks=[asdict(c) for c in checks], accounts=placed,
        )  # fmt: skip

    def _refuse_the_tooling_account_named(self) -> None:
        """A stage that names the tooling account as its own would make a second GitHub OIDC
        provider there, which AWS refuses (one per URL and account): the stage program refuses it
        too, but only after the shared stack was written. Unless the stage reuses the account's
        provider (`oidcProviderArn`), stop before anything is written."""
        from bootstrap.errors import SpecError
        from bootstrap.stackconfig.files import stack_config

        assert self.identity is not None
        for stage in self.spec.stage_names:
            placement = self.accounts.where.get(stage)
            if placement is None or placement.account != self.identity.account:
                continue
            infra = self.path / contract.INFRA_DIR
            reuses = (
                not self.new
                and (infra / f"Pulumi.{stage}.yaml").is_file()
                and stack_config(infra, self.spec.name, stage).get(f"{self.spec.name}:oidcProviderArn")
            )
            if reuses:
                continue
            where = "--account" if self.new else f"{contract.stack_file(stage)}: {self.spec.name}:account:"
            raise SpecError(
                f"{where} {stage}'s account {placement.account} is the tooling account (the shared "
                "stack's), whose GitHub OIDC provider the shared stack makes",
                "name no account for a stage of the tooling account (remove it)",
            )

    def _tooling_check(self, ambient: Check) -> Check:
        """The tooling account's check: the ambient credentials' (doctor), or those of the
        profile given for `shared`."""
        from bootstrap.doctor import Check

        profile = self.accounts.profile(contract.SHARED)
        if profile is None:
            return ambient
        try:
            identity = self.accounts.identity(contract.SHARED)
        except UserError as exc:
            return Check("aws", "error", exc.problem, exc.fix)
        return Check(
            "aws", "ok", f"account {identity.account} as {identity.arn} (profile {profile})",
            data={"account": identity.account, "arn": identity.arn},
        )  # fmt: skip

    def _owner_check(self, github: Check) -> Check:
        from bootstrap.doctor import Check
        from bootstrap.github.client import RetryPolicy, path
        from bootstrap.github.connect import connect
        from bootstrap.spec import NO_OWNER

        if not self.owner:
            return Check("owner", "missing", *NO_OWNER)
        if not github.ok:
            return Check("owner", "warn", f"{self.owner} (not looked up: no usable token)")
        client = connect(self.api_url, retry=RetryPolicy(attempts=2, sleep=self.sleep), timeout=15)
        owner = self.owner
        try:
            account = client.run(
                f"look up the owner {owner}", lambda: client.get(path("users", owner))
            )
        except UserError as exc:
            return Check("owner", "error", exc.problem, exc.fix)
        if account is None:
            return Check(
                "owner", "missing", f"GitHub has no user or organisation '{owner}' at {client.api_url}",
                "check --owner (and --github-api-url for GitHub Enterprise Server)",
            )  # fmt: skip
        kind = str(account.get("type", "User")).lower()
        return Check("owner", "ok", f"{account.get('login')} ({kind})", data={"type": kind})

    def _pulumi_check(self) -> Check:
        from bootstrap.automation import open_ops
        from bootstrap.backend import resolve_backend
        from bootstrap.doctor import Check

        try:
            open_ops(self.path, self.spec, resolve_backend(self.spec.backend, self.path)).check()
        except ToolMissingError as exc:
            return Check("pulumi", "missing", exc.problem, exc.fix)
        except UserError as exc:
            return Check("pulumi", "error", exc.problem, exc.fix)
        return Check("pulumi", "ok", "the Pulumi CLI runs")

    def _passphrase_check(self) -> list[Check]:
        """Stacks made with a passphrase cannot be opened with a new one: it must be here."""
        from bootstrap.automation import needs_existing_passphrase
        from bootstrap.doctor import Check
        from bootstrap.passphrase import get_passphrase

        backend = self.spec.backend or ""
        if self.new or backend.startswith("https://"):
            return []
        if not needs_existing_passphrase(self.path / "infra"):
            return []
        try:
            found = get_passphrase(self.spec.name, create=False)
        except CredentialsError as exc:
            return [Check("passphrase", "missing", exc.problem, exc.fix)]
        return [Check("passphrase", "ok", f"from {found.source}")]

    def _default_backend(self) -> str:
        from bootstrap.spec import check_backend

        assert self.identity is not None
        url = self.request.backend or default_backend_url(self.spec.name, self.identity.account)
        check_backend(url)
        return url

    def _set_spec(self, **changes: Any) -> None:
        self.spec = self.spec.model_copy(update=changes)
        self._backend = None

    # -- 2. repository --------------------------------------------------------------------------

    def repository(self) -> None:
        from bootstrap.github.model import Options
        from bootstrap.github.provision import open_sync, remote

        client, identity = self.client()
        assert self.token is not None
        before = client.writes
        options = Options(
            owner=self.owner, public=self.request.public, reviewers=self.request.reviewers
        )
        self.sync = sync = open_sync(
            self.spec, self.path, client=client, identity=identity, token=self.token,
            options=options, notify=self.notify, progress=self.progress,
        )  # fmt: skip
        remote(sync)
        result = sync.result
        self.summary.repository = result.repository
        self.summary.html_url = result.html_url
        self.summary.subject_prefix = result.subject_prefix
        writes = client.writes - before
        detail = (
            f"{result.repository}: OIDC subject {result.subject_prefix}:... "
            f"({result.subject_template} template, issuer {result.oidc_issuer}); environments "
            f"{'yes' if result.environments else 'no (the roles trust the branch)'}"
        )
        data = {"subject": sync.subject.to_dict() if sync.subject else None}
        if writes:
            self.done(f"{detail}; {writes} API writes", writes=writes, **data)
        else:
            self.skipped(detail, **data)

    # -- 3. scaffold ----------------------------------------------------------------------------

    def scaffold(self) -> None:
        if self.new:
            self._render()
            return
        extra: dict[str, str] = {}
        self.spec.check_backend_option(self.request.backend)
        if not self.spec.backend:
            extra["backend"] = self._default_backend()
            self._refuse_local_state(extra["backend"])
        from bootstrap.github import local, rerender
        from bootstrap.gitutil import head

        sync = self.sync
        assert sync is not None
        before = head(self.path)
        changes = {**local.answers(sync), **extra}
        local.apply(sync, extra, tool="provision")
        self.spec = sync.spec
        self._backend = None
        after = head(self.path)
        if after == before:
            self.skipped(f"the repository at {self.path} records what GitHub says")
            return
        self.summary.commits.append(after)
        what = ", ".join(f"{k}: {v}" for k, v in changes.items()) or f"the {rerender.RECORD} record"
        self.done(f"set {what} (committed {after[:8]})", commit=after)

    def _render(self) -> None:
        """`new`: render once, with what GitHub said (subject prefix, issuer, trust subject)."""
        from bootstrap.scaffold import Scaffolder

        if self.sync is not None:
            from bootstrap.github import local

            self._set_spec(**local.answers(self.sync))
            self.sync.spec = self.spec
        result = Scaffolder(self.spec, self.path).run()
        self.summary.commits.append(result.commit)
        if self.sync is not None:
            from bootstrap.github import local

            recorded = local.commit_record(self.sync, {}, tool="new")
            if recorded:
                self.summary.commits.append(recorded)
        self.done(
            f"rendered and committed {result.files} files ({result.commit[:8]})",
            commit=result.commit, files=result.files, template=result.template_ref,
        )  # fmt: skip

    def _refuse_local_state(self, url: str) -> None:
        from bootstrap.backend import LOCAL_STATE_DIR

        stacks = self.path / LOCAL_STATE_DIR / ".pulumi" / "stacks"
        if stacks.is_dir() and any(p.is_file() for p in stacks.rglob("*")):
            raise UserError(
                f"this repository's stacks keep their state locally ({LOCAL_STATE_DIR}/), which "
                "CI cannot reach",
                f"move it to {url} (`pulumi stack export`, then `pulumi login {url}` and "
                "`pulumi stack import`, per stack) and set backend in .copier-answers.yml, or pass "
                "--backend with the URL it should use",
            )

    # -- 4. backend -----------------------------------------------------------------------------

    def backend(self) -> None:
        from bootstrap.backend import ensure_backend

        backend = self.backend_of()
        self.summary.backend = backend.url
        before = len(self.aws_calls)
        session = self.session if backend.kind == "s3" else None
        report = ensure_backend(
            backend, region=self.spec.region, harden=self.request.harden_backend,
            session=session, access=self._state_access() if session else None,
        )  # fmt: skip
        writes = len(self.aws_calls) - before
        if report.changed:
            self.done(report.message, writes=writes, url=backend.url)
        else:
            self.skipped(report.message, url=backend.url)

    def _state_access(self) -> StateAccess:
        """The stages outside the tooling account, which reach their state through the
        bucket's policy (the state stays in the tooling account)."""
        from bootstrap.backend import StateAccess
        from bootstrap.spec import region_partition

        partition = region_partition(self.spec.region) or "aws"
        return StateAccess(self.spec.name, self.accounts.foreign(), partition)

    # -- 5. shared ------------------------------------------------------------------------------

    def subject(self, kind: str, stage: str | None = None) -> str:
        """The OIDC subject GitHub issues (the recorded prefix, learnt in step 2)."""
        prefix = self.spec.github_subject_prefix
        if not prefix:
            raise RemoteError(
                "GitHub's OIDC subject prefix is not recorded", "run `bootstrap provision` again"
            )
        return contract.subject(prefix, kind, stage)

    def _stale_trust(self, roles: dict[str, str]) -> list[str]:
        """The roles (name -> the subject it must trust) that exist and trust another one."""
        issuer = self.spec.github_oidc_issuer
        stale = []
        for name, wanted in roles.items():
            role = read_role(self.session, name, issuer)  # the shared stack's: tooling account
            if role.readable and role.exists and not role.trusts(wanted):
                stale.append(name)
        return stale

    def shared(self) -> None:
        from bootstrap.lifecycle import check_account

        ops = self.ops
        check_account(ops, contract.SHARED, self.identity)
        outputs = dict(ops.outputs(contract.SHARED))
        wanted = contract.SHARED_OUTPUTS
        roles = {
            contract.ci_role_name(self.spec.name): self.subject("branch"),
            contract.preview_role_name(self.spec.name): self.subject("pull_request"),
        }
        stale = self._stale_trust(roles) if all(outputs.get(k) for k in wanted) else None
        if stale == []:
            self.outputs[contract.SHARED] = outputs
            self.skipped(
                f"deployed: registry {outputs['repositoryUrl']}, CI role {outputs['ciRoleArn']}",
                outputs=outputs,
            )
            return
        config: dict[str, str] = {}
        reused = None
        if not self._configured_provider(contract.SHARED) and not ops.resource_count(
            contract.SHARED
        ):
            reused = find_github_oidc_provider(self.session, self.spec.github_oidc_issuer)
            if reused:
                config[f"{self.spec.name}:oidcProviderArn"] = reused
        if stale:
            self.progress(f"Updating the trust of {', '.join(stale)} ({self.subject('branch')})")
        result = self._up(contract.SHARED, config=config or None)
        outputs = dict(result.outputs or ops.outputs(contract.SHARED))
        missing = [k for k in wanted if not outputs.get(k)]
        if missing:
            raise RemoteError(
                f"the shared stack was deployed but has no output {', '.join(missing)}",
                "check infra/ (the program must export them, docs/contracts.md)",
            )
        self.outputs[contract.SHARED] = outputs
        provider = f"reused {reused}" if reused else f"OIDC provider {outputs['oidcProviderArn']}"
        why = f"trust of {', '.join(stale)} updated; " if stale else ""
        self.done(
            f"deployed ({result.summary()}): {why}registry {outputs['repositoryUrl']}, CI role "
            f"{outputs['ciRoleArn']}, {provider}",
            writes=1, outputs=outputs, oidc_provider_reused=reused,
        )  # fmt: skip

    def _configured_provider(self, stack: str) -> bool:
        """The stack's settings already name a provider (the user's choice stands)."""
        import yaml

        file = self.path / contract.stack_file(stack)
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return False
        config = data.get("config") or {}
        return bool(config.get(f"{self.spec.name}:oidcProviderArn"))

    # -- 6. roles -------------------------------------------------------------------------------

    def roles(self) -> None:
        made: dict[str, str] = {}
        kept: dict[str, str] = {}
        failed: list[tuple[str, UserError]] = []
        stopped: set[str] = set()  # accounts where a stage failed: their later stages wait
        for stage in self.spec.stage_names:
            account = self.accounts.expected_account(stage)
            if account in stopped:
                continue
            try:
                arn, deployed = self._stage_role(stage)
            except UserError as exc:  # this account's trouble: the other accounts go on
                failed.append((stage, exc))
                stopped.add(account)
                continue
            (made if deployed else kept)[stage] = arn
        roles = {**kept, **made}
        if failed:
            raise self._stages_failed(failed, roles)
        if not made:
            self.skipped(f"deploy roles in place: {', '.join(kept)}", roles=roles)
            return
        self.done(
            f"deploy roles made or updated for {', '.join(made)}"
            + (f" (in place: {', '.join(kept)})" if kept else ""),
            writes=len(made), roles=roles,
        )  # fmt: skip

    def _stage_role(self, stage: str) -> tuple[str, bool]:
        """The stage's deploy role ARN, and whether its foundation was deployed for it: read
        and deployed with the stage's own account's credentials."""
        from bootstrap.lifecycle import check_account

        ops = self.ops
        session = self.accounts.session(stage)
        check_account(ops, stage, self.accounts.identity(stage))
        outputs = dict(ops.outputs(stage))
        outputs.setdefault("region", self.accounts.region_of(stage))
        expected = self.stage_subject(stage)
        name = contract.deploy_role_name(self.spec.name, stage)
        issuer = self.spec.github_oidc_issuer
        role = read_role(session, name, issuer)
        arn = None
        if role.readable:
            if role.arn and role.trusts(expected):
                arn = role.arn
        else:
            arn = outputs.get("deployRoleArn")
        if arn:
            self.outputs[stage] = {**outputs, "deployRoleArn": str(arn)}
            return str(arn), False
        self.progress(f"Deploying the foundation of {stage} (its deploy role trusts {expected})")
        network = self.spec.stage(stage).target.value != "lambda"
        targets = contract.foundation_urns(self.spec.name, stage, network=network)
        config = self._stage_provider(stage, session)
        result = self._up(stage, targets=targets, **({"config": config} if config else {}))
        outputs = {**outputs, **dict(result.outputs or {})}
        arn = outputs.get("deployRoleArn") or read_role(session, name, issuer).arn
        if not arn:
            raise RemoteError(
                f"no deploy role for stage '{stage}' after the targeted `pulumi up`",
                f"see the engine output; deploy it with `bootstrap up --stage {stage}`",
            )
        self.outputs[stage] = {**outputs, "deployRoleArn": str(arn)}
        return str(arn), True

    def _stage_provider(self, stage: str, session: boto3.Session) -> dict[str, str]:
        """A stage in another account trusts its own account's GitHub OIDC provider: the one
        there already when there is one (an account has one per URL), else the stage makes it."""
        if stage not in self.accounts.foreign() or self._configured_provider(stage):
            return {}
        if self.ops.resource_count(stage):  # deployed before: the stack's choice stands
            return {}
        found = find_github_oidc_provider(session, self.spec.github_oidc_issuer)
        return {f"{self.spec.name}:oidcProviderArn": found} if found else {}

    def _stages_failed(
        self, failed: list[tuple[str, UserError]], roles: dict[str, str]
    ) -> UserError:
        """One error naming each stage that failed and its account, with the gravest exit code
        (the stages that succeeded are in the step's data)."""
        parts = []
        for stage, exc in failed:
            account = self.accounts.where[stage].account if stage in self.accounts.where else None
            label = f"{stage} (account {account})" if account else stage
            parts.append(f"{label}: {exc.problem}" if account or len(failed) > 1 else exc.problem)
        fixes = list(dict.fromkeys(exc.fix for _, exc in failed if exc.fix))
        problem = "; ".join(parts)
        if len(failed) > 1:
            problem = f"{len(failed)} stages failed - {problem}"
        error = UserError(problem, "; ".join(fixes) or None)
        error.exit_code = max(exc.exit_code for _, exc in failed)
        self._report("failed", error.problem, roles=roles, failed=[s for s, _ in failed])
        return error

    def stage_subject(self, stage: str) -> str:
        """The subject a stage's deploy role must trust: its environment, or `main`."""
        if self.spec.trust_subject == "environment":
            return self.subject("environment", stage)
        return self.subject("branch")

    # -- 7. commit ------------------------------------------------------------------------------

    def commit(self) -> None:
        from bootstrap.github import rerender

        changed = [p for p in rerender.uncommitted(self.path) if _STACK_FILE.match(p)]
        if not changed:
            self.skipped("the stacks' settings are committed")
            return
        head = rerender.commit(
            self.path,
            changed,
            "bootstrap provision: record the stacks' settings (encryption salt, config)",
            all_changes=False,
        )
        if head:
            self.summary.commits.append(head)
        self.done(f"committed {', '.join(changed)}", commit=head, files=changed)

    # -- 8. github ------------------------------------------------------------------------------

    def github(self) -> None:
        from bootstrap.github.model import Values
        from bootstrap.github.publish import backend_secrets, publish

        client, _ = self.client()
        sync = self.sync
        assert sync is not None
        before = client.writes
        values = Values(
            outputs={k: dict(v) for k, v in self.outputs.items()},
            backend_url=self.spec.backend,
            secrets=backend_secrets(self.spec),
        )
        sync.spec = self.spec
        publish(sync, values)
        result = sync.result
        self.summary.pushed = result.pushed
        for line in result.skipped:
            self.notify(f"github: skipped {line}")
        if result.skipped:
            self.summary.next.append(
                f"set what was skipped: `{self.resume_command}` (it deploys what is missing)"
            )
        writes = client.writes - before
        detail = (
            f"{result.repository}: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged, {writes} API writes"
            + (f"; pushed main ({result.pushed[:8]})" if result.pushed else "")
        )
        data = {"result": result.to_dict()}
        if writes or result.pushed:
            self.done(detail, writes=writes, **data)
        else:
            self.skipped(detail, **data)

    # -- 9. wait --------------------------------------------------------------------------------

    def wait(self) -> None:
        from bootstrap.gitutil import head
        from bootstrap.provision.watch import RunWatcher

        if not self.request.wait:
            self.skipped("not asked: --wait follows the first workflow run")
            return
        first = self.spec.stages[0]
        if first.manual and self.spec.trust_subject == "branch":
            self.skipped(
                f"the first stage, {first.name}, is manual and this repository has no GitHub "
                "environments: it is deployed by running promote.yml, not by the build"
            )
            return
        client, _ = self.client()
        repository = self.summary.repository or f"{self.owner}/{self.spec.name}"
        sha = head(self.path)
        before = client.writes
        watcher = RunWatcher(
            client, repository, sha, first.name,
            timeout=self.request.wait_timeout, interval=self.request.poll_interval,
            sleep=self.sleep, clock=self.clock, progress=self.progress, notify=self.notify,
        )  # fmt: skip
        outcome = watcher.wait()
        self.summary.run = asdict(outcome)
        url = self.ops.outputs(first.name).get("url")
        self.summary.url = str(url) if url else None
        self._status_grid(client, repository)
        detail = f"{outcome.job} succeeded in run #{outcome.number} ({outcome.html_url})"
        if url:
            detail += f"; {first.name} answers at {url}"
        self.done(detail, writes=client.writes - before, run=asdict(outcome))

    def _status_grid(self, client: GitHubClient, repository: str) -> None:
        try:
            from bootstrap import status as core
        except ImportError:  # the status module is optional here
            return
        from bootstrap.lifecycle import Project

        try:
            github = core.GitHubView(client, repository)
            project = Project(self.path, self.spec, self.backend_of())
            sources = core.project_sources(project, github=github, verbose=self.request.verbose)
            sources.ops = self.ops
            if self.health is not None:
                sources.health = self.health
            report = core.collect(self.spec, sources)
        except UserError as exc:
            self.notify(f"the status grid could not be read: {exc}")
            return
        self.summary.status = report.to_dict()
        self.summary.status_text = core.render_text(report)
