"""From nothing to a running first stage: `bootstrap new` end to end, and `bootstrap provision`.

One object, `Provisioner`, runs the phases in order (docs/provision.md):

1. `checks`   every credential and tool first (the doctor's checks: GitHub token and owner, AWS
              credentials, Pulumi CLI, the stacks' passphrase); one missing stops the run before
              anything is written, naming each fix. With no credentials at all, `new` stays local.
2. `scaffold` `new`: render and commit (`Scaffolder`). `provision`: the repository exists; a
              missing `owner` or `backend` answer is set by re-rendering (Copier), committed.
3. `backend`  the state backend: a hardened S3 bucket `<name>-pulumi-state-<account>` by default
              when AWS credentials are present, or the URL given (`ensure_backend`).
4. `shared`   `up` of the shared stack (registry, GitHub OIDC provider or the account's existing
              one, passed as `oidcProviderArn`, CI role).
5. `roles`    a targeted `up` of each stage's deploy role, so its ARN exists before CI runs.
6. `commit`   what Pulumi wrote into `infra/Pulumi.<stack>.yaml` (encryption salt, config),
              committed before the push: CI needs the salt to open the stacks' secrets.
7. `github`   repository, environments, variables (from the stack outputs), secrets, push of
              `main` (`bootstrap.github.provision`).
8. `wait`     (`--wait`) follows the first workflow run of the pushed commit until the first
              stage's deploy job (its smoke test) succeeds or fails; then its URL and the grid.

Every phase starts with a guard that re-detects what exists (the bucket and its settings, the
stacks' outputs, the roles in IAM, uncommitted stack files, GitHub's state, the run of the HEAD
commit), so a run interrupted anywhere continues with `bootstrap provision` without duplicates:
nothing is recorded as "progress" except what is committed anyway (answers, stack settings,
`.bootstrap/github.json`), and none of it holds a secret.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.errors import (
    Aborted,
    CredentialsError,
    RemoteError,
    SpecError,
    ToolMissingError,
    UserError,
)

if TYPE_CHECKING:
    import boto3

    from bootstrap.automation import StackOps
    from bootstrap.backend import Backend, Identity
    from bootstrap.doctor import Check
    from bootstrap.github.client import GitHubClient
    from bootstrap.github.token import Identity as GitHubIdentity
    from bootstrap.spec import Spec

STEPS = ("checks", "scaffold", "backend", "shared", "roles", "commit", "github", "wait")
SHARED = "shared"
SHARED_OUTPUTS = ("repositoryUrl", "ciRoleArn", "oidcProviderArn")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 10.0
_READS = ("Get", "List", "Head", "Describe")
_STACK_FILE = re.compile(r"^infra/Pulumi\.[^/]+\.ya?ml$")

StepStatus = Literal["done", "skipped", "failed"]

# The /health checker the status grid uses after `--wait` (None: bootstrap.status's own).
status_health: Callable[[dict[str, str]], dict[str, Any]] | None = None


def state_bucket_name(project: str, account: str) -> str:
    """The default state bucket: one per project and account (bucket names are global)."""
    return f"{project}-pulumi-state-{account}"


def default_backend_url(project: str, account: str) -> str:
    return f"s3://{state_bucket_name(project, account)}"


# --- the request and the summary --------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the user asked for (`bootstrap new` / `bootstrap provision` options)."""

    owner: str | None = None
    public: bool = False
    reviewers: tuple[str, ...] = ()
    github_api_url: str | None = None
    backend: str | None = None  # for a repository that has none yet
    harden_backend: bool = False
    wait: bool = False
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    verbose: bool = False


@dataclass
class StepReport:
    name: str
    status: StepStatus
    detail: str = ""
    writes: int = 0  # API writes of this step (GitHub, AWS, Pulumi updates)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """What a run did, step by step; `to_dict` is the `--json` output."""

    project: str
    path: str
    mode: Literal["full", "local"] = "full"
    steps: list[StepReport] = field(default_factory=list)
    writes: dict[str, int] = field(default_factory=lambda: {"github": 0, "aws": 0, "pulumi": 0})
    commits: list[str] = field(default_factory=list)
    pushed: str | None = None
    backend: str | None = None
    repository: str | None = None
    html_url: str | None = None
    url: str | None = None  # the first stage's URL (stack output)
    run: dict[str, Any] | None = None  # the first workflow run (`--wait`)
    status: dict[str, Any] | None = None  # the status grid (`--wait`)
    status_text: str | None = None
    next_command: str = ""
    next: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.status != "failed" for step in self.steps)

    @property
    def total_writes(self) -> int:
        return sum(self.writes.values())

    def step(self, name: str) -> StepReport | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("status_text")
        data["ok"] = self.ok
        data["writes"] = {**self.writes, "total": self.total_writes}
        return data


class ProvisionError(UserError):
    """A step failed (or was interrupted); carries the summary so far. Exit code: the cause's."""

    def __init__(self, problem: str, fix: str | None, summary: Summary, exit_code: int) -> None:
        super().__init__(problem, fix)
        self.summary = summary
        self.exit_code = exit_code


class PreflightError(CredentialsError):
    """A credential or tool is missing; nothing was written."""

    def __init__(self, problems: list[Check], *, scaffold_only: bool) -> None:
        names = ", ".join(c.name for c in problems)
        problem = (
            f"cannot provision, missing or broken: {names} (nothing was written) - "
            + "; ".join(f"{c.name}: {c.detail}" for c in problems)
        )
        fixes = "; ".join(f"{c.name}: {c.fix}" for c in problems if c.fix)
        if scaffold_only:
            fixes += "; or pass --no-provision to only scaffold the repository"
        super().__init__(problem, fixes)
        self.problems = problems
        if all(c.name == "pulumi" for c in problems):
            self.exit_code = ToolMissingError.exit_code


# --- the orchestrator ---------------------------------------------------------------------------


class Provisioner:
    """Runs the phases (module docstring) with guard clauses; `run` returns the `Summary`.

    `scaffold=True` is `bootstrap new` (`path` is the repository to create); otherwise `path` is
    an existing generated repository. `after_step(name)` is called after each phase (tests
    interrupt there); `sleep`/`clock` drive retries and `--wait` (tests pass fakes)."""

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
        self.summary = Summary(spec.name, str(path))
        self.local = not provision
        self.api_url: str | None = None
        self.token: str | None = None
        self.identity: Identity | None = None
        self.owner: str | None = self.request.owner or spec.owner
        self.outputs: dict[str, dict[str, Any]] = {}
        self.aws_calls: list[str] = []
        self._session: boto3.Session | None = None
        self._ops: StackOps | None = None
        self._backend: Backend | None = None
        self._client: GitHubClient | None = None
        self._github_identity: GitHubIdentity | None = None
        self._current = ""

    # -- reporting ------------------------------------------------------------------------------

    @property
    def resume_command(self) -> str:
        command = "bootstrap provision" + (" --wait" if self.request.wait else "")
        return f"cd {self.path.name} && {command}" if self.new else command

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
                break
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
        nothing_written = self.new and (name == "checks" or (name == "scaffold" and not finished))
        if step is None or (finished and exc is not None):
            self._current = name
            self._report("failed", "interrupted" if exc is None else str(exc))
        elif not finished and exc is not None and not step.detail:
            step.detail = str(exc)
        self._collect_writes()
        if nothing_written:  # `new` may simply be run again
            self.summary.next_command = ""
            if exc is None:
                return ProvisionError(
                    "interrupted: nothing was left half-done", None, self.summary, Aborted.exit_code
                )
            return ProvisionError(exc.problem, exc.fix, self.summary, exc.exit_code)
        self.summary.next_command = self.resume_command
        if exc is None:
            return ProvisionError(
                f"interrupted {'after' if finished else 'during'} step '{name}'",
                f"continue with `{self.resume_command}`: finished steps are detected and skipped",
                self.summary,
                Aborted.exit_code,
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

    def _finish(self) -> None:
        self._collect_writes()
        if self.local:
            self.summary.mode = "local"
            self.summary.next_command = self.resume_command
            self.summary.next.append(
                f"provision GitHub and AWS when you have the credentials: {self.resume_command} "
                "(needs GITHUB_TOKEN, AWS credentials and the Pulumi CLI; `bootstrap doctor` "
                "checks them)"
            )
            return
        self.summary.next_command = "bootstrap status"
        if not self.request.wait:
            self.summary.next.append(
                "follow the first deploy: bootstrap status (or bootstrap provision --wait)"
            )

    # -- shared resources -----------------------------------------------------------------------

    @property
    def session(self) -> boto3.Session:
        """One boto3 session for the run; every AWS write through it is counted."""
        if self._session is None:
            from bootstrap.backend import aws_session

            self._session = aws_session(self.spec.region)
            self._session.events.register("after-call", self._count_aws)
        return self._session

    def _count_aws(self, model: Any = None, http_response: Any = None, **_: Any) -> None:
        """Successful write calls (the read verbs of AWS APIs are not counted)."""
        name = str(getattr(model, "name", ""))
        status = int(getattr(http_response, "status_code", 0) or 0)
        if name and not name.startswith(_READS) and 200 <= status < 300:
            self.aws_calls.append(name)

    @property
    def ops(self) -> StackOps:
        if self._ops is None:
            from bootstrap.automation import open_ops

            self._ops = open_ops(
                self.path, self.spec, self.backend_of(), verbose=self.request.verbose
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
        return result

    # -- 1. checks ------------------------------------------------------------------------------

    def checks(self) -> None:
        from bootstrap.backend import Identity
        from bootstrap.doctor import aws_credentials_hinted, github_token, run_checks
        from bootstrap.github.client import resolve_api_url
        from bootstrap.github.rerender import read_record

        if not self.provision:
            self.skipped("--no-provision: local only")
            return
        record = {} if self.new else read_record(self.path)
        self.api_url = resolve_api_url(
            self.request.github_api_url or os.environ.get("GITHUB_API_URL") or record.get("api_url")
        )
        if self.new and github_token() is None and not aws_credentials_hinted():
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
        checks = [github, self._owner_check(github), aws, self._pulumi_check()]
        checks += self._passphrase_check()
        problems = [c for c in checks if not c.ok]
        if problems:
            self._report("failed", "missing: " + ", ".join(c.name for c in problems),
                         checks=[asdict(c) for c in checks])  # fmt: skip
            raise PreflightError(problems, scaffold_only=self.new)
        self.identity = Identity(account=str(aws.data["account"]), arn=str(aws.data["arn"]))
        self.token = github_token()
        if self.new and not self.spec.backend:
            self._set_spec(backend=self._default_backend())
        self.done(
            f"GitHub {github.data.get('user')} for {self.owner}, AWS account "
            f"{self.identity.account}, Pulumi",
            checks=[asdict(c) for c in checks],
        )

    def _owner_check(self, github: Check) -> Check:
        from bootstrap.doctor import Check, github_token
        from bootstrap.github.client import GitHubClient, RetryPolicy, is_loopback, path

        if self.spec.owner and self.owner and self.spec.owner.lower() != self.owner.lower():
            raise SpecError(
                f"this repository was generated for the owner '{self.spec.owner}', not "
                f"'{self.owner}'",
                "drop --owner (the owner is in the IAM trust policies), or regenerate",
            )
        if not self.owner:
            return Check(
                "owner", "missing", "no GitHub owner for the repository",
                "pass --owner USER_OR_ORGANISATION",
            )  # fmt: skip
        if not github.ok:
            return Check("owner", "warn", f"{self.owner} (not looked up: no usable token)")
        token, api = github_token(), self.api_url
        assert token is not None and api is not None
        from urllib.parse import urlparse

        client = GitHubClient(
            token, api, retry=RetryPolicy(attempts=2, sleep=self.sleep),
            throttle=not is_loopback(urlparse(api).hostname or ""), timeout=15,
        )  # fmt: skip
        owner = self.owner
        try:
            account = client.run(
                f"look up the owner {owner}", lambda: client.get(path("users", owner))
            )
        except UserError as exc:
            return Check("owner", "error", exc.problem, exc.fix)
        if account is None:
            return Check(
                "owner", "missing", f"GitHub has no user or organisation '{owner}' at {api}",
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

    # -- 2. scaffold ----------------------------------------------------------------------------

    def scaffold(self) -> None:
        if self.new:
            from bootstrap.scaffold import Scaffolder

            result = Scaffolder(self.spec, self.path).run()
            self.summary.commits.append(result.commit)
            self.done(
                f"rendered and committed {result.files} files ({result.commit[:8]})",
                commit=result.commit, files=result.files, template=result.template_ref,
            )  # fmt: skip
            return
        answers: dict[str, str] = {}
        if not self.spec.owner and self.owner:
            answers["owner"] = self.owner
        if self.request.backend and self.spec.backend and self.request.backend != self.spec.backend:
            raise SpecError(
                f"this repository keeps its state in {self.spec.backend}, not "
                f"{self.request.backend}",
                "drop --backend (moving state between backends: pulumi stack export/import)",
            )
        if not self.spec.backend:
            answers["backend"] = self._default_backend()
            self._refuse_local_state(answers["backend"])
        if not answers:
            self.skipped(f"the repository exists at {self.path}")
            return
        from bootstrap.github import rerender
        from bootstrap.repo import load_spec

        changed = rerender.rerender(self.path, answers)
        what = ", ".join(f"{k}: {v}" for k, v in answers.items())
        head = rerender.commit(self.path, [], f"bootstrap provision: set {what}", all_changes=True)
        self.spec = load_spec(self.path)
        self._backend = None
        if head:
            self.summary.commits.append(head)
        self.done(f"set {what} ({len(changed)} files re-rendered, committed)", commit=head)

    def _refuse_local_state(self, url: str) -> None:
        from bootstrap.backend import LOCAL_STATE_DIR

        stacks = self.path / LOCAL_STATE_DIR / ".pulumi" / "stacks"
        if stacks.is_dir() and any(p.is_file() for p in stacks.rglob("*")):
            raise UserError(
                f"this repository's stacks keep their state locally ({LOCAL_STATE_DIR}/), which "
                "CI cannot reach",
                f"move it to {url} (pulumi stack export, then pulumi login {url} and pulumi "
                "stack import, per stack) and set backend in .copier-answers.yml, or pass "
                "--backend with the URL it should use",
            )

    # -- 3. backend -----------------------------------------------------------------------------

    def backend(self) -> None:
        from bootstrap.backend import ensure_backend

        backend = self.backend_of()
        self.summary.backend = backend.url
        before = len(self.aws_calls)
        session = self.session if backend.kind == "s3" else None
        report = ensure_backend(
            backend, region=self.spec.region, harden=self.request.harden_backend, session=session
        )
        writes = len(self.aws_calls) - before
        if report.changed:
            self.done(report.message, writes=writes, url=backend.url)
        else:
            self.skipped(report.message, url=backend.url)

    # -- 4. shared ------------------------------------------------------------------------------

    def shared(self) -> None:
        from bootstrap.lifecycle import check_account

        ops = self.ops
        check_account(ops, SHARED, self.identity)
        outputs = dict(ops.outputs(SHARED))
        if all(outputs.get(k) for k in SHARED_OUTPUTS):
            self.outputs[SHARED] = outputs
            self.skipped(
                f"deployed: registry {outputs['repositoryUrl']}, CI role {outputs['ciRoleArn']}",
                outputs=outputs,
            )
            return
        config: dict[str, str] = {}
        reused = None
        if not self._configured_provider() and ops.resource_count(SHARED) == 0:
            reused = find_github_oidc_provider(self.session)
            if reused:
                config[f"{self.spec.name}:oidcProviderArn"] = reused
        result = self._up(SHARED, config=config or None)
        outputs = dict(result.outputs or ops.outputs(SHARED))
        missing = [k for k in SHARED_OUTPUTS if not outputs.get(k)]
        if missing:
            raise RemoteError(
                f"the shared stack was deployed but has no output {', '.join(missing)}",
                "check infra/ (the program must export them, docs/contracts.md)",
            )
        self.outputs[SHARED] = outputs
        provider = f"reused {reused}" if reused else f"OIDC provider {outputs['oidcProviderArn']}"
        self.done(
            f"deployed ({result.summary()}): registry {outputs['repositoryUrl']}, CI role "
            f"{outputs['ciRoleArn']}, {provider}",
            writes=1, outputs=outputs, oidc_provider_reused=reused,
        )  # fmt: skip

    def _configured_provider(self) -> bool:
        """The shared stack's settings already name a provider (the user's choice stands)."""
        import yaml

        file = self.path / "infra" / "Pulumi.shared.yaml"
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return False
        config = data.get("config") or {}
        return bool(config.get(f"{self.spec.name}:oidcProviderArn"))

    # -- 5. roles -------------------------------------------------------------------------------

    def roles(self) -> None:
        from bootstrap.lifecycle import check_account

        ops = self.ops
        made: dict[str, str] = {}
        kept: dict[str, str] = {}
        for stage in self.spec.stage_names:
            check_account(ops, stage, self.identity)
            outputs = dict(ops.outputs(stage))
            expected = self.subject(stage)
            role = read_deploy_role(self.session, self.spec.name, stage)
            arn = None
            if role.readable:
                if role.arn and expected in role.subjects:
                    arn = role.arn
            else:
                arn = outputs.get("deployRoleArn")
            if arn:
                kept[stage] = str(arn)
                self.outputs[stage] = {**outputs, "deployRoleArn": str(arn)}
                continue
            self.progress(f"Deploying the deploy role of {stage} (trusts {expected})")
            result = self._up(stage, targets=deploy_role_targets(self.spec, stage))
            outputs = {**outputs, **dict(result.outputs or {})}
            arn = outputs.get("deployRoleArn")
            if not arn:
                arn = read_deploy_role(self.session, self.spec.name, stage).arn
            if not arn:
                raise RemoteError(
                    f"no deploy role for stage '{stage}' after the targeted `pulumi up`",
                    f"see the engine output; deploy it with `bootstrap up --stage {stage}`",
                )
            made[stage] = str(arn)
            self.outputs[stage] = {**outputs, "deployRoleArn": str(arn)}
        roles = {**kept, **made}
        if not made:
            self.skipped(f"deploy roles in place: {', '.join(kept)}", roles=roles)
            return
        self.done(
            f"deploy roles made for {', '.join(made)}"
            + (f" (in place: {', '.join(kept)})" if kept else ""),
            writes=len(made), roles=roles,
        )  # fmt: skip

    def subject(self, stage: str) -> str:
        """The OIDC subject the stage's deploy role must trust (stacks/common.github_subject)."""
        owner = self.spec.owner or self.owner
        if self.spec.trust_subject == "environment":
            return f"repo:{owner}/{self.spec.name}:environment:{stage}"
        return f"repo:{owner}/{self.spec.name}:ref:refs/heads/main"

    # -- 6. commit ------------------------------------------------------------------------------

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

    # -- 7. github ------------------------------------------------------------------------------

    def client(self) -> tuple[GitHubClient, GitHubIdentity]:
        if self._client is None or self._github_identity is None:
            from urllib.parse import urlparse

            from bootstrap.github.client import RetryPolicy, is_loopback
            from bootstrap.github.provision import connect

            assert self.token is not None and self.api_url is not None

            def wait(seconds: float) -> None:
                self.notify(f"GitHub asked to slow down: retrying in {seconds:.0f} s")
                self.sleep(seconds)

            host = urlparse(self.api_url).hostname or ""
            self._client, self._github_identity = connect(
                self.token, self.api_url, public=self.request.public,
                retry=RetryPolicy(sleep=wait), throttle=not is_loopback(host),
            )  # fmt: skip
        return self._client, self._github_identity

    def github(self) -> None:
        from bootstrap.github.provision import Options, Values, provision
        from bootstrap.repo import load_spec

        client, identity = self.client()
        assert self.token is not None
        before = client.writes
        values = Values(
            outputs={k: dict(v) for k, v in self.outputs.items()},
            backend_url=self.spec.backend,
            secrets=backend_secrets(self.spec),
        )
        options = Options(
            owner=self.owner, public=self.request.public, reviewers=self.request.reviewers
        )
        result = provision(
            self.spec, self.path, client=client, identity=identity, token=self.token,
            options=options, values=values, notify=self.notify, progress=self.progress,
        )  # fmt: skip
        self.summary.repository = result.repository
        self.summary.html_url = result.html_url
        self.summary.pushed = result.pushed
        if result.of("committed"):
            from bootstrap.gitutil import head

            self.summary.commits.append(head(self.path))
        for line in result.skipped:
            self.notify(f"github: skipped {line}")
        self.spec = load_spec(self.path)
        self._backend = None
        trust = ""
        if result.trust_subject_changed:  # the roles must trust the branch now
            self.notify("the OIDC trust subject is now the branch: updating the deploy roles")
            current = self._current
            self._current = "roles"
            self.roles()
            self._current = current
            trust = "; deploy roles now trust the branch"
        writes = client.writes - before
        detail = (
            f"{result.repository}: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged, {writes} API writes"
            + (f"; pushed main ({result.pushed[:8]})" if result.pushed else "")
            + trust
        )
        data = {"result": result.to_dict()}
        if writes or result.pushed:
            self.done(detail, writes=writes, **data)
        else:
            self.skipped(detail, **data)

    # -- 8. wait --------------------------------------------------------------------------------

    def wait(self) -> None:
        from bootstrap.gitutil import head

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
            if status_health is not None:
                sources.health = status_health
            report = core.collect(self.spec, sources)
        except UserError as exc:
            self.notify(f"the status grid could not be read: {exc}")
            return
        self.summary.status = report.to_dict()
        self.summary.status_text = core.render_text(report)


# --- AWS helpers --------------------------------------------------------------------------------


def find_github_oidc_provider(session: boto3.Session) -> str | None:
    """The ARN of the account's GitHub Actions OIDC provider, if it has one (one per URL)."""
    from bootstrap.backend import aws_errors

    with aws_errors("listing the account's OIDC providers"):
        iam = session.client("iam")
        providers = iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])
    for provider in providers:
        arn = str(provider.get("Arn", ""))
        if arn.endswith(f":oidc-provider/{GITHUB_OIDC_HOST}"):
            return arn
    return None


@dataclass(frozen=True)
class RoleState:
    readable: bool  # False: IAM may not be read with these credentials
    arn: str | None = None
    subjects: tuple[str, ...] = ()  # the GitHub OIDC subjects its trust policy accepts


def deploy_role_name(project: str, stage: str) -> str:
    """The deploy role's name (stacks/permissions.StageScope.deploy_role_name)."""
    return f"{project}-{stage}-deploy"


def read_deploy_role(session: boto3.Session, project: str, stage: str) -> RoleState:
    """The stage's deploy role as IAM has it (read-only): its ARN and trusted subjects."""
    import botocore.exceptions as bx

    from bootstrap.backend import aws_errors

    try:
        with aws_errors(f"reading the deploy role of {stage}"):
            try:
                role = session.client("iam").get_role(RoleName=deploy_role_name(project, stage))
            except bx.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "NoSuchEntity":
                    return RoleState(True)
                if code in ("AccessDenied", "AccessDeniedException"):
                    return RoleState(False)
                raise
    except RemoteError:
        return RoleState(False)
    data = role.get("Role", {})
    return RoleState(
        True, str(data.get("Arn")), trusted_subjects(data.get("AssumeRolePolicyDocument"))
    )


def trusted_subjects(document: Any) -> tuple[str, ...]:
    """The `token.actions.githubusercontent.com:sub` values a trust policy accepts."""
    import json
    from urllib.parse import unquote

    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return ()
    found: list[str] = []
    statements = (document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for condition in (statement.get("Condition") or {}).values():
            for key, value in (condition or {}).items():
                if key == f"{GITHUB_OIDC_HOST}:sub":
                    found += [value] if isinstance(value, str) else [str(v) for v in value]
    return tuple(found)


def deploy_role_targets(spec: Spec, stage: str) -> list[str]:
    """URN patterns of a targeted `up` that makes a stage's deploy role and what it needs:
    the stack, the StackReference to shared, the providers, the `Stage` component with its
    permissions boundary, the `DeployRole` component and its children, and (for stages with a
    network) the VPC that the deploy policy names. Nothing of the workload."""
    base = f"urn:pulumi:{stage}::{spec.name}::"
    stage_type = "bootstrap:index:Stage"
    prefix = f"{spec.name}-{stage}"
    targets = [
        f"{base}pulumi:pulumi:Stack::**",
        f"{base}pulumi:pulumi:StackReference::**",
        f"{base}pulumi:providers:**",
        f"{base}{stage_type}::{prefix}",
        f"{base}{stage_type}$aws:iam/policy:Policy::{prefix}-boundary",
        f"{base}{stage_type}$bootstrap:index:DeployRole::{prefix}-deploy",
        f"{base}{stage_type}$bootstrap:index:DeployRole$**",
    ]
    target = spec.stage(stage).target.value
    if target != "lambda":
        network = f"{stage_type}$bootstrap:index:Network"
        targets += [
            f"{base}{network}::{prefix}-network",
            f"{base}{network}$aws:ec2/vpc:Vpc::**",
        ]
    return targets


def backend_secrets(spec: Spec) -> dict[str, str]:
    """The state backend's secret for CI: the Pulumi Cloud token, or the stacks' passphrase."""
    backend = spec.backend or ""
    if backend.startswith("https://"):
        token = os.environ.get("PULUMI_ACCESS_TOKEN")
        return {"PULUMI_ACCESS_TOKEN": token} if token else {}
    from bootstrap.passphrase import ENV_VAR, get_passphrase

    return {ENV_VAR: get_passphrase(spec.name).value}


# --- following the first workflow run -----------------------------------------------------------


@dataclass
class RunOutcome:
    run_id: int
    number: int
    attempt: int
    html_url: str
    job: str
    job_url: str
    conclusion: str
    reran: bool = False


_MARKS = {"success": "✓", "failure": "✗", "cancelled": "✗", "timed_out": "✗", "skipped": "-"}


def _mark(status: str, conclusion: str | None) -> str:
    if status == "completed":
        return _MARKS.get(conclusion or "", "?")
    if status == "waiting":
        return "(waiting for approval)"
    return "…" if status == "in_progress" else "·"


class RunWatcher:
    """Follows the `push` run of one commit (PyGithub: `Repository.get_workflow_runs(head_sha=)`,
    `WorkflowRun.jobs()`) until the deploy job of `stage` ends, printing each change."""

    def __init__(
        self,
        client: GitHubClient,
        repository: str,
        sha: str,
        stage: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.repository = repository
        self.sha = sha
        self.stage = stage
        self.timeout = timeout
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.progress = progress or (lambda _: None)
        self.notify = notify or (lambda _: None)
        self.deploy_name = re.compile(rf"^deploy {re.escape(stage)}(?=$|[\s/(])")
        self._repo: Any = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.client.run(
                f"read the repository {self.repository}",
                lambda: self.client.gh.get_repo(self.repository),
            )
        return self._repo

    def find_run(self) -> Any:
        def look() -> Any:
            runs = list(self.repo.get_workflow_runs(head_sha=self.sha, event="push"))
            for run in runs:
                if str(getattr(run, "path", "") or "").endswith("build.yml") or run.name == "build":
                    return run
            return runs[0] if runs else None

        return self.client.run(f"list the workflow runs of {self.sha[:8]}", look)

    def jobs(self, run: Any) -> list[Any]:
        return self.client.run(f"list the jobs of run {run.id}", lambda: list(run.jobs()))

    def deploy_job(self, jobs: Sequence[Any]) -> Any:
        return next((j for j in jobs if self.deploy_name.match(str(j.name))), None)

    def describe(self, run: Any, jobs: Sequence[Any]) -> str:
        parts = []
        for job in jobs:
            text = f"{job.name} {_mark(job.status, job.conclusion)}"
            if job.status == "in_progress":
                current = next((s.name for s in job.steps or [] if s.status == "in_progress"), None)
                if current:
                    text += f" ({current})"
            parts.append(text)
        head = f"run #{run.run_number} {run.status}"
        return f"{head}: {', '.join(parts) or 'no jobs yet'}"

    def wait(self) -> RunOutcome:
        deadline = self.clock() + self.timeout
        last = ""
        reran = False
        self.progress(f"Waiting for the workflow run of {self.sha[:8]} in {self.repository}")
        while True:
            run = self.find_run()
            if run is not None:
                jobs = self.jobs(run)
                line = self.describe(run, jobs)
                if line != last:
                    self.progress(line)
                    last = line
                deploy = self.deploy_job(jobs)
                if deploy is not None and deploy.status == "completed":
                    if deploy.conclusion == "success":
                        return RunOutcome(
                            run.id, run.run_number, run.run_attempt, run.html_url,
                            str(deploy.name), str(deploy.html_url), "success", reran,
                        )  # fmt: skip
                    if deploy.conclusion != "skipped":
                        raise self._failed(run, deploy)
                if run.status == "completed" and (deploy is None or deploy.status == "completed"):
                    if not reran and self._ran_before_variables(jobs):
                        self.notify(
                            f"run #{run.run_number} built before the repository variables were "
                            "set, so it deployed nothing: re-running it"
                        )
                        self.rerun(run.id)
                        reran = True
                        last = ""
                    else:
                        raise self._no_deploy(run, jobs)
            if self.clock() >= deadline:
                where = f" ({run.html_url})" if run is not None else ""
                raise RemoteError(
                    f"the first deploy of {self.stage} did not finish within "
                    f"{int(self.timeout)} s{where}",
                    "it goes on without us: follow it with `bootstrap status --watch`, or wait "
                    "longer with --wait-timeout",
                )
            self.sleep(self.interval)

    def rerun(self, run_id: int) -> None:
        url = _run_path(self.repository, run_id, "rerun")
        self.client.run(f"re-run run {run_id}", lambda: self.client.write("POST", url))

    def _ran_before_variables(self, jobs: Sequence[Any]) -> bool:
        """The build succeeded but pushed nothing (its variables were not set yet), so the
        deploy chain was skipped: a re-run reads the variables set since."""
        build = next((j for j in jobs if j.name == "build"), None)
        deploy = self.deploy_job(jobs)
        return (
            build is not None
            and build.conclusion == "success"
            and deploy is not None
            and deploy.conclusion == "skipped"
        )

    def _failed(self, run: Any, job: Any) -> RemoteError:
        step = next((s.name for s in job.steps or [] if s.conclusion == "failure"), None)
        where = f" at step '{step}'" if step else ""
        return RemoteError(
            f"the first deploy of {self.stage} failed{where} ({job.conclusion}; {job.html_url})",
            "read the job's log, fix the cause and push to main (or re-run the run on GitHub)",
        )

    def _no_deploy(self, run: Any, jobs: Sequence[Any]) -> RemoteError:
        failed = [j.name for j in jobs if j.conclusion in ("failure", "cancelled", "timed_out")]
        reason = f"{', '.join(failed)} failed" if failed else "its deploy job did not run"
        return RemoteError(
            f"run #{run.run_number} of {self.sha[:8]} ended ({run.conclusion}) without deploying "
            f"{self.stage}: {reason} ({run.html_url})",
            "read the run's log, fix the cause and push to main",
        )


def _run_path(repository: str, run_id: int, *rest: str) -> str:
    from bootstrap.github.client import path

    owner, name = repository.split("/", 1)
    return path("repos", owner, name, "actions", "runs", str(run_id), *rest)
