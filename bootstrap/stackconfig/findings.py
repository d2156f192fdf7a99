"""What the check of a repository's stack settings finds: one finding per bad setting, naming the
file, the key and the fix; `ConfigError` (exit 2) carries every error found."""

from __future__ import annotations

from dataclasses import dataclass, field

from bootstrap.errors import SpecError


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the repository, e.g. infra/Pulumi.dev.yaml
    key: str | None  # e.g. shop:cpu, aws:region, name
    problem: str
    fix: str
    warning: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}: {self.key}" if self.key else self.file

    def line(self) -> str:
        return f"{self.where}: {self.problem}; {self.fix}"


class ConfigError(SpecError):
    """Settings that AWS or the program would refuse: every one found, one line each."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        if len(findings) == 1:
            super().__init__(f"{findings[0].where}: {findings[0].problem}", findings[0].fix)
        else:  # each line carries its own fix
            super().__init__("\n".join(f.line() for f in findings))

    def __str__(self) -> str:
        return super().__str__() if len(self.findings) == 1 else self.problem


@dataclass
class Report:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        (self.warnings if finding.warning else self.errors).append(finding)


class Unreadable(Exception):
    """A file that cannot be read at all: its one finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.line())
        self.finding = finding
