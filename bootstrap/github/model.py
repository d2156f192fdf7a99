"""What GitHub provisioning is asked (`Options`, `Values`) and what it did (`ProvisionResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# The actions that count as an update of what GitHub holds.
UPDATED = ("updated", "deleted", "pushed", "committed")


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
    kind: str  # repository, topics, environment, branch-policy, variable, secret, answer, ...
    name: str
    action: str  # created, updated, deleted, unchanged, pushed, committed, skipped, unavailable
    detail: str = ""


@dataclass
class ProvisionResult:
    repository: str
    api_url: str
    login: str = ""
    html_url: str = ""
    clone_url: str = ""
    repository_id: int | None = None
    private: bool = True
    trust_subject: str = "environment"
    trust_subject_changed: bool = False
    # The OIDC subject GitHub issues (bootstrap.github.subject) and whether the repo had another.
    subject_prefix: str = ""
    oidc_issuer: str = ""
    subject_template: str = ""
    previous_subject_prefix: str | None = None
    subject_changed: bool = False
    renamed_from: str | None = None  # the repository was renamed or transferred from this name
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
        return self.of(*UPDATED)

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
