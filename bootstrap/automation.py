"""Driving Pulumi: the `StackOps` seam and its Automation API implementation.

`StackOps` is the whole surface that `preview`, `up`, `destroy`, `status` and `provision` need
from Pulumi. `AutomationOps` implements it with `pulumi.automation` (a LocalWorkspace on the
repository's `infra/`, the backend and passphrase passed as environment variables, the engine's
output streamed to a progress display). Another implementation is installed with `use_ops` (the
tests' in-memory one lives under tests/fakes/).

Pulumi is imported inside functions only: `bootstrap --help` must not pay for it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bootstrap.aws import LOGIN_FIX
from bootstrap.backend import Backend, backend_env
from bootstrap.errors import CredentialsError, RemoteError, ToolMissingError, UserError
from bootstrap.passphrase import get_passphrase
from stacks.contract import FOUNDATION_ONLY_ENV, SECRET_MASK, SECRET_PASSPHRASE, SHARED

if TYPE_CHECKING:
    from pulumi.automation import EngineEvent, LocalWorkspaceOptions, Stack

    from bootstrap.spec import Spec

INSTALL_COMMAND = "curl -fsSL https://get.pulumi.com | sh"
MASK = SECRET_MASK
Operation = Literal["preview", "up", "destroy"]
# stack -> the extra environment of that stack's Pulumi runs (its account's credentials,
# bootstrap.accounts.Accounts.pulumi_env); never logged.
EnvFor = Callable[[str], Mapping[str, str]]


@dataclass
class OpResult:
    """What one operation did to one stack."""

    stack: str
    operation: Operation
    changes: dict[str, int] = field(default_factory=dict)  # op -> count: create, update, same…
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)  # previews: planned resources
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)  # what the program warned about

    def summary(self) -> str:
        return summarize_changes(self.changes, done=self.operation != "preview")


def summarize_changes(changes: Mapping[str, int], *, done: bool = False) -> str:
    """`3 to create, 1 unchanged` for a preview; `3 created, 1 unchanged` once done."""
    planned = {"create": "to create", "update": "to update", "replace": "to replace"}
    planned |= {"delete": "to delete", "same": "unchanged"}
    past = {"create": "created", "update": "updated", "replace": "replaced"}
    past |= {"delete": "deleted", "same": "unchanged"}
    words = past if done else planned
    parts = [f"{n} {words.get(op, op)}" for op, n in changes.items() if n]
    return ", ".join(parts) or "no changes"


class StackOps(Protocol):
    """The Pulumi operations the commands use. Stack names are `shared` or a stage name."""

    def check(self) -> None:
        """Raise a UserError when the operations cannot run at all (e.g. no Pulumi CLI)."""

    def exists(self, stack: str) -> bool: ...

    def resource_count(self, stack: str) -> int:
        """Resources in the stack's state; 0 for a missing or destroyed stack."""

    def resource_urns(self, stack: str) -> list[str]:
        """The URNs of the resources in the stack's state; [] for a missing or destroyed stack."""

    def outputs(self, stack: str) -> dict[str, Any]:
        """The stack's outputs (secrets masked); empty when never deployed or destroyed."""

    def preview(self, stack: str) -> OpResult: ...

    def up(
        self,
        stack: str,
        *,
        config: Mapping[str, str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> OpResult:
        """Deploy; `config` (full keys, e.g. `shop:image`) is set on the stack first;
        `targets` (URNs or URN globs) limits the update to those resources."""

    def destroy(self, stack: str) -> OpResult: ...

    def use_env(self, env_for: EnvFor) -> None:
        """Run each stack's operations with `env_for(stack)` added to their environment (the
        credentials of the stack's account); the project-wide reads (`exists`) get `shared`'s."""


# --- choosing the implementation ---------------------------------------------------------------

OpsFactory = Callable[[Path, "Spec", Backend], StackOps]
_override: OpsFactory | None = None


@contextlib.contextmanager
def use_ops(factory: OpsFactory) -> Iterator[None]:
    """Make the commands of this process use `factory` instead of the Automation API (tests)."""
    global _override  # noqa: PLW0603
    previous, _override = _override, factory
    try:
        yield
    finally:
        _override = previous


def open_ops(
    repo: Path,
    spec: Spec,
    backend: Backend,
    *,
    verbose: bool = False,
    read_only: bool = False,
    env_for: EnvFor | None = None,
) -> StackOps:
    """The stacks of `repo`. `read_only`: for commands that only read (status), which must not
    generate a passphrase for a project that has none. `env_for`: each stack's credentials when
    stages live in other accounts (`StackOps.use_env`)."""
    ops: StackOps
    if _override is not None:
        ops = _override(repo, spec, backend)
    else:
        ops = AutomationOps(repo, spec, backend, verbose=verbose, read_only=read_only)
    if env_for is not None:
        ops.use_env(env_for)
    return ops


def cli_available() -> bool:
    """Is a real preview possible? (The Pulumi CLI is on PATH, or a test seam is installed.)"""
    return _override is not None or shutil.which("pulumi") is not None


# --- errors ----------------------------------------------------------------------------------


def tool_missing() -> ToolMissingError:
    return ToolMissingError(
        "the Pulumi CLI is not installed (real previews and deploys need it)",
        f"install it with `{INSTALL_COMMAND}`; `bootstrap preview --offline` works without it",
    )


_PASSPHRASE = re.compile(
    r"passphrase must be set|incorrect passphrase|PULUMI_CONFIG_PASSPHRASE", re.I
)
_AWS_NO_CREDS = re.compile(
    r"NoCredentialProviders|no valid credential sources|failed to refresh cached credentials|"
    r"could not load credentials|unable to (?:locate|load) credentials",
    re.I,
)
_AWS_EXPIRED = re.compile(r"ExpiredToken|security token included in the request is expired", re.I)
_AWS_INVALID = re.compile(r"InvalidClientTokenId|security token included in the request is invalid")
_WRONG_ACCOUNT = re.compile(
    r"account ID not allowed|forbidden account ID|not in allowed_account_ids|allowedAccountIds",
    re.I,
)
_CLOUD_TOKEN = re.compile(r"PULUMI_ACCESS_TOKEN|invalid access token|\[401\]", re.I)


def error_line(text: str) -> str:
    """The most telling line of the engine's output: the first `error:` line, else the last."""
    lines = [
        re.sub(r"^(?:stdout|stderr|code):\s*", "", line.strip())
        for line in text.splitlines()
        if line.strip()
    ]
    lines = [line for line in lines if line and not line.isdigit()]
    for line in lines:
        if line.lower().startswith("error:") or " error: " in line.lower():
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def map_pulumi_error(exc: BaseException, *, stack: str | None, action: str) -> UserError | None:
    """The one-line UserError for a failure of the Pulumi CLI or Automation API, if we know it."""
    from pulumi.automation import errors as auto_errors

    where = f" of stack '{stack}'" if stack else ""
    if isinstance(exc, FileNotFoundError):
        return tool_missing()
    if isinstance(exc, PermissionError):
        return ToolMissingError(
            f"the Pulumi CLI cannot be run ({exc})", f"reinstall it with `{INSTALL_COMMAND}`"
        )
    if isinstance(exc, subprocess.CalledProcessError):
        return ToolMissingError(
            "the Pulumi CLI is installed but `pulumi version` failed",
            f"reinstall it with `{INSTALL_COMMAND}`",
        )
    if isinstance(exc, auto_errors.InvalidVersionError):
        return ToolMissingError(
            f"the installed Pulumi CLI is too old ({exc})", f"upgrade it with `{INSTALL_COMMAND}`"
        )
    if isinstance(exc, auto_errors.ConcurrentUpdateError):
        return RemoteError(
            f"stack '{stack}' is locked by another update",
            "wait for it to finish; if none is running (a crashed run), clear the lock with "
            f"`pulumi cancel --stack {stack} --yes` in infra/, then run again",
        )
    if isinstance(exc, auto_errors.StackNotFoundError):
        return UserError(
            f"stack '{stack}' does not exist in the state backend",
            f"deploy it first with `bootstrap up --stage {stack}`",
        )
    if isinstance(exc, auto_errors.CommandError):
        text = str(exc)
        if _PASSPHRASE.search(text):
            return CredentialsError(
                f"the passphrase does not open the secrets{where}",
                f"`export {SECRET_PASSPHRASE}=...` with the project's passphrase (the GitHub "
                "secret of the same name holds it)",
            )
        if _AWS_EXPIRED.search(text):
            return CredentialsError(
                "your AWS credentials have expired",
                "refresh them (`aws sso login`, or new session credentials) and run again",
            )
        if _AWS_INVALID.search(text):
            return CredentialsError(
                "AWS rejected your credentials", "check your AWS profile or access keys"
            )
        if _AWS_NO_CREDS.search(text):
            return CredentialsError(
                "no AWS credentials found for the Pulumi AWS provider",
                LOGIN_FIX,
            )
        if _WRONG_ACCOUNT.search(text):
            return CredentialsError(
                f"your AWS credentials are for an account the stack{where} does not allow",
                "switch to the stack's account (`export AWS_PROFILE=...`) and run again",
            )
        if _CLOUD_TOKEN.search(text):
            return CredentialsError(
                "Pulumi Cloud rejected the access token",
                "create a token at https://app.pulumi.com/account/tokens and export "
                "PULUMI_ACCESS_TOKEN",
            )
        return RemoteError(
            f"pulumi {action}{where} failed: {error_line(text)}",
            "see the engine output above, fix the cause and run the command again "
            "(finished stacks are not redone)",
        )
    return None


@contextlib.contextmanager
def pulumi_errors(*, stack: str | None, action: str) -> Iterator[None]:
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        mapped = map_pulumi_error(exc, stack=stack, action=action)
        if mapped is None:
            raise
        raise mapped from exc


# --- progress --------------------------------------------------------------------------------


class EngineProgress:
    """Streams the engine's output: a live status line on a terminal, plain lines otherwise."""

    def __init__(self, stack: str, action: str, *, verbose: bool = False) -> None:
        from bootstrap import ui

        self.ui = ui
        self.stack = stack
        self.action = action
        self.verbose = verbose
        self.live = ui.err.is_terminal
        self.counts: dict[str, int] = {}
        self.done = 0
        self.current = ""
        self.resources: dict[str, dict[str, Any]] = {}
        self.messages: list[str] = []  # the program's warnings (diagnostics)
        self._status: Any = None

    def __enter__(self) -> EngineProgress:
        if self.live:
            self._status = self.ui.err.status(self._text())
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)

    def _text(self) -> str:
        counts = " ".join(f"{op} {n}" for op, n in self.counts.items() if op != "same")
        return (
            f"pulumi {self.action} {self.stack}: {self.done} done {counts} {self.current}".strip()
        )

    def on_output(self, line: str) -> None:
        if self.live and not self.verbose:
            return
        if line.strip():
            self.ui.err.print(line)

    def on_event(self, event: EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None:
            meta = pre.metadata
            op = getattr(meta.op, "value", str(meta.op))
            self.counts[op] = self.counts.get(op, 0) + 1
            self.current = f"{op} {meta.type} {urn_name(meta.urn)}"
            new = meta.new
            if new is not None and op not in ("delete", "delete-replaced", "discard"):
                self.resources[meta.urn] = {
                    "type": new.type or meta.type,
                    "name": urn_name(meta.urn),
                    "urn": meta.urn,
                    "parent": new.parent or None,
                    "inputs": dict(new.inputs or {}),
                }
        elif event.res_outputs_event is not None:
            self.done += 1
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "warning":
            text = re.sub(r"<\{%[^%]*%\}>", "", event.diagnostic_event.message).strip()
            if text and not event.diagnostic_event.ephemeral:
                self.messages.append(text)
        if self._status is not None:
            self._status.update(self._text())


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _changes(op_map: Mapping[Any, int] | None) -> dict[str, int]:
    return {getattr(op, "value", str(op)): int(n) for op, n in (op_map or {}).items()}


def _outputs(output_map: Mapping[str, Any]) -> dict[str, Any]:
    return {k: MASK if v.secret else v.value for k, v in output_map.items()}


# --- the real implementation -------------------------------------------------------------------


def needs_existing_passphrase(infra: Path) -> bool:
    """True when a stack of this project was made with a passphrase (its salt is in its file)."""
    return any("encryptionsalt:" in p.read_text() for p in infra.glob("Pulumi.*.yaml"))


def workspace_env(
    repo: Path, spec: Spec, backend: Backend, *, read_only: bool = False
) -> dict[str, str]:
    """The environment of every Pulumi command: backend URL, passphrase or token, region.
    A passphrase is generated only for a project that has none, and never when `read_only`."""
    passphrase = None
    if backend.uses_passphrase:
        create = not read_only and not needs_existing_passphrase(repo / "infra")
        passphrase = get_passphrase(spec.name, create=create)
    env = backend_env(backend, spec.name, passphrase=passphrase)
    env.setdefault("AWS_REGION", spec.region)
    return env


class AutomationOps:
    """`StackOps` on the Pulumi Automation API, with the program in `<repo>/infra`."""

    def __init__(
        self,
        repo: Path,
        spec: Spec,
        backend: Backend,
        *,
        verbose: bool = False,
        read_only: bool = False,
    ) -> None:
        self.repo = repo
        self.infra = repo / "infra"
        self.spec = spec
        self.backend = backend
        self.verbose = verbose
        self.read_only = read_only
        self._command: Any = None
        self._env: dict[str, str] | None = None
        self._env_for: EnvFor | None = None
        self._stacks: set[str] | None = None

    def check(self) -> None:
        self._pulumi()

    def use_env(self, env_for: EnvFor) -> None:
        self._env_for = env_for

    def _pulumi(self) -> Any:
        if self._command is None:
            from pulumi.automation import PulumiCommand

            with pulumi_errors(stack=None, action="version"):
                self._command = PulumiCommand()
        return self._command

    def _options(self, stack: str = SHARED) -> LocalWorkspaceOptions:
        """The workspace of `stack`'s commands: the project's environment, then the stack's own
        credentials (`use_env`) over it."""
        from pulumi.automation import LocalWorkspaceOptions

        command = self._pulumi()
        if self._env is None:
            self._env = workspace_env(self.repo, self.spec, self.backend, read_only=self.read_only)
        env = dict(self._env)
        if self._env_for is not None:
            env.update(self._env_for(stack))
        return LocalWorkspaceOptions(
            work_dir=str(self.infra),
            env_vars=env,
            pulumi_command=command,
            secrets_provider="passphrase" if self.backend.uses_passphrase else None,
        )

    def _stack(self, name: str, *, create: bool) -> Stack:
        from pulumi import automation as auto

        opts = self._options(name)
        if create:
            self._stacks = None
        with pulumi_errors(stack=name, action="stack select"):
            if create:
                return auto.create_or_select_stack(name, work_dir=str(self.infra), opts=opts)
            return auto.select_stack(name, work_dir=str(self.infra), opts=opts)

    def exists(self, stack: str) -> bool:
        from pulumi.automation import LocalWorkspace

        if self._stacks is None:  # one `pulumi stack ls` until an operation changes the list
            opts = self._options()
            with pulumi_errors(stack=stack, action="stack ls"):
                workspace = LocalWorkspace(**opts.__dict__)
                self._stacks = {s.name.rsplit("/", 1)[-1] for s in workspace.list_stacks()}
        return stack in self._stacks

    def list_stacks(self) -> list[dict[str, Any]]:
        """Every stack of the project as `pulumi stack ls --json` lists it (bootstrap/previews.py)."""
        from pulumi.automation import LocalWorkspace

        opts = self._options()
        with pulumi_errors(stack=None, action="stack ls"):
            summaries = LocalWorkspace(**opts.__dict__).list_stacks()
        return [
            {
                "name": s.name,
                "lastUpdate": s.last_update.isoformat() if s.last_update else None,
                "updateInProgress": bool(s.update_in_progress),
                "resourceCount": s.resource_count,
            }
            for s in summaries
        ]

    def resource_count(self, stack: str) -> int:
        return len(self.resource_urns(stack))

    def resource_urns(self, stack: str) -> list[str]:
        if not self.exists(stack):
            return []
        handle = self._stack(stack, create=False)
        with pulumi_errors(stack=stack, action="stack export"):
            deployment = handle.export_stack().deployment or {}
        return [str(r.get("urn", "")) for r in deployment.get("resources") or []]

    def outputs(self, stack: str) -> dict[str, Any]:
        if not self.exists(stack):
            return {}
        handle = self._stack(stack, create=False)
        with pulumi_errors(stack=stack, action="stack output"):
            return _outputs(handle.outputs())

    @contextlib.contextmanager
    def _engine(self, stack: str, operation: Operation) -> Iterator[EngineProgress]:
        """An engine run: its progress shown, its failure one UserError."""
        with (
            EngineProgress(stack, operation, verbose=self.verbose) as progress,
            pulumi_errors(stack=stack, action=operation),
        ):
            yield progress

    def preview(self, stack: str) -> OpResult:
        handle = self._stack(stack, create=True)
        started = time.monotonic()
        with self._engine(stack, "preview") as progress:
            result = handle.preview(on_output=progress.on_output, on_event=progress.on_event)
        resources = sorted(progress.resources.values(), key=lambda r: (r["type"], r["name"]))
        return OpResult(
            stack,
            "preview",
            _changes(result.change_summary),
            resources=resources,
            seconds=time.monotonic() - started,
            messages=progress.messages,
        )

    def up(
        self,
        stack: str,
        *,
        config: Mapping[str, str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> OpResult:
        from pulumi.automation import ConfigValue

        handle = self._stack(stack, create=True)
        started = time.monotonic()
        with pulumi_errors(stack=stack, action="config set"):
            for key, value in (config or {}).items():
                handle.set_config(key, ConfigValue(value=value))
        with self._engine(stack, "up") as progress:
            # A targeted update (a stage's deploy role before its first image) must not be
            # refused for the missing image: the program's foundation-only switch.
            workspace = handle.workspace
            saved = dict(workspace.env_vars or {})
            if targets:
                workspace.env_vars = {**saved, FOUNDATION_ONLY_ENV: "1"}
            try:
                result = handle.up(
                    on_output=progress.on_output,
                    on_event=progress.on_event,
                    target=list(targets) if targets else None,
                )
            finally:
                workspace.env_vars = saved
        return OpResult(
            stack,
            "up",
            _changes(result.summary.resource_changes),
            outputs=_outputs(result.outputs),
            seconds=time.monotonic() - started,
        )

    def destroy(self, stack: str) -> OpResult:
        handle = self._stack(stack, create=False)
        started = time.monotonic()
        with self._engine(stack, "destroy") as progress:
            result = handle.destroy(on_output=progress.on_output, on_event=progress.on_event)
        return OpResult(
            stack,
            "destroy",
            _changes(result.summary.resource_changes),
            seconds=time.monotonic() - started,
        )
