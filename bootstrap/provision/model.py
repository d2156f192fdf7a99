"""What a provisioning run is asked (`Request`) and what it reports (`StepReport`, `Summary`,
and the errors that carry the summary so far)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.errors import CredentialsError, ToolMissingError, UserError

if TYPE_CHECKING:
    from bootstrap.accounts import Profiles
    from bootstrap.doctor import Check

STEPS = ("checks", "repository", "scaffold", "backend", "shared", "roles", "commit", "github", "wait")
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 10.0

StepStatus = Literal["done", "skipped", "failed"]


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
    profiles: Profiles | None = None  # --profile, BOOTSTRAP_AWS_PROFILES (parsed and checked)


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
    subject_prefix: str | None = None  # the OIDC subject prefix GitHub issues (and roles trust)
    # account -> {"stacks", "profile", "aws_writes", "pulumi_updates"}: what lives where, and what
    # this run wrote there (docs/accounts.md)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
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
