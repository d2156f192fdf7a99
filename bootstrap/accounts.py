"""Which AWS credentials act in which account.

A stage's stack file may name its AWS account (`<project>:account`) and region (`aws:region`);
a stage without an account lives in the tooling account, the shared stack's, which also holds the
registry and the Pulumi state. `--profile KEY=PROFILE` (repeatable; or `BOOTSTRAP_AWS_PROFILES`,
the same pairs comma-separated) names the AWS profile that acts for a stage, for `shared` (the
tooling account) or for an account ID; everything else uses the ambient credentials (AWS_PROFILE,
environment keys, SSO). Every session is checked with STS before anything is written: a profile
that signs in to another account than the stage's is refused, naming both.

boto3 is imported inside the functions: the CLI does not pay for it at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.errors import CredentialsError, SpecError
from stacks import contract

if TYPE_CHECKING:
    import boto3

    from bootstrap.aws import Identity
    from bootstrap.spec import Spec

PROFILE_FIX = "write KEY=PROFILE, KEY a stage name, 'shared' or a 12-digit account ID"
# The environment variables that carry credentials to a child process (the Pulumi CLI): a stage's
# run gets its own account's, resolved from its profile, and none of the caller's.
CREDENTIAL_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


@dataclass(frozen=True)
class Profiles:
    """KEY -> AWS profile name, KEY a stage, `shared` or an account ID (from --profile and
    BOOTSTRAP_AWS_PROFILES; the command line wins)."""

    by_key: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: Iterable[str] = (), env: str | None = None) -> Profiles:
        pairs: dict[str, str] = {}
        from_env = env if env is not None else os.environ.get(contract.PROFILES_ENV, "")
        for source, items in (
            (contract.PROFILES_ENV, [v for v in from_env.split(",") if v.strip()]),
            ("--profile", list(values)),
        ):
            for item in items:
                key, sep, profile = item.strip().partition("=")
                key, profile = key.strip(), profile.strip()
                if not sep or not key or not profile:
                    raise SpecError(f"{source} '{item.strip()}' is not KEY=PROFILE", PROFILE_FIX)
                pairs[key] = profile
        return cls(pairs)

    def for_stack(self, stack: str, account: str | None) -> str | None:
        """The profile of a stack: by its name, else by its account, else None (ambient)."""
        if stack in self.by_key:
            return self.by_key[stack]
        if account and account in self.by_key:
            return self.by_key[account]
        return None

    def unknown_keys(self, stacks: Iterable[str], accounts: Iterable[str]) -> list[str]:
        """Keys that name no stack and no account of the project (most likely a typo)."""
        known = {*stacks, *accounts, contract.SHARED}
        return sorted(k for k in self.by_key if k not in known)


@dataclass(frozen=True)
class Placement:
    """Where a stack lives: its account (None: the tooling account) and region."""

    stack: str
    account: str | None
    region: str


def placements(
    repo: Path, project: str, stacks: Iterable[str], region: str
) -> dict[str, Placement]:
    """Each stack's account and region, from its stack file as the Pulumi CLI merges it."""
    from bootstrap.stackconfig.files import stack_config

    infra = repo / contract.INFRA_DIR
    found: dict[str, Placement] = {}
    for stack in stacks:
        exists = (infra / f"Pulumi.{stack}.yaml").exists()
        config = stack_config(infra, project, stack) if exists else {}
        account = str(config.get(f"{project}:{contract.ACCOUNT_KEY}") or "") or None
        found[stack] = Placement(stack, account, str(config.get("aws:region") or region))
    return found


def stack_regions(repo: Path, spec: Spec, stacks: Iterable[str]) -> dict[str, str]:
    """Each stack's region (its stack file's `aws:region`, else the project's): what it is priced
    in."""
    return {s: p.region for s, p in placements(repo, spec.name, stacks, spec.region).items()}


def spec_placements(spec: Spec) -> dict[str, Placement]:
    """Each stack's account and region as `new` was asked (`--account`, `--stage-region`), for
    before its stack files exist; they say the same once rendered."""
    found = {contract.SHARED: Placement(contract.SHARED, None, spec.region)}
    for stage in spec.stages:
        found[stage.name] = Placement(stage.name, stage.account, stage.region or spec.region)
    return found


# Called with (profile, session) for each session made: the provisioning run counts its writes.
SessionHook = Callable[[str | None, "boto3.Session"], None]


class Accounts:
    """The sessions of a run, one per profile, each checked with STS once (`verify`) before any
    write. `stack` is a stage name or `shared`."""

    def __init__(
        self,
        profiles: Profiles,
        where: Mapping[str, Placement],
        *,
        region: str,
        on_session: SessionHook | None = None,
    ) -> None:
        self.profiles = profiles
        self.where = dict(where)
        self.region = region
        self.on_session = on_session
        self._sessions: dict[str | None, boto3.Session] = {}
        self._identities: dict[str | None, Identity] = {}

    def check_profiles(self) -> None:
        """Refuse a --profile key that names no stack and no account of the project (a typo
        would otherwise act with the ambient credentials)."""
        named = {p.account for p in self.where.values() if p.account}
        unknown = self.profiles.unknown_keys(self.where, named)
        if unknown:
            stacks = ", ".join(self.where)
            raise SpecError(
                f"--profile names {', '.join(repr(k) for k in unknown)}, which is no stack "
                f"({stacks}) and no account of this project",
                PROFILE_FIX,
            )

    def named_accounts(self) -> dict[str, str]:
        """stack -> account for the stacks whose file names one (the others: the tooling's)."""
        return {s: p.account for s, p in self.where.items() if p.account}

    def foreign(self) -> dict[str, str]:
        """stage -> account for the stages outside the tooling account (needs its identity)."""
        tooling = self.tooling_account()
        return {s: a for s, a in self.named_accounts().items() if a != tooling}

    def layout(self) -> dict[str, list[str]]:
        """account -> the stacks that live there, in the project's order (needs the identities)."""
        found: dict[str, list[str]] = {}
        for stack in self.where:
            found.setdefault(self.expected_account(stack), []).append(stack)
        return found

    def account_of_profile(self, profile: str | None) -> str | None:
        """The account a profile signed in to, once checked (None before)."""
        identity = self._identities.get(profile)
        return identity.account if identity else None

    def profile(self, stack: str) -> str | None:
        placement = self.where.get(stack)
        return self.profiles.for_stack(stack, placement.account if placement else None)

    def region_of(self, stack: str) -> str:
        placement = self.where.get(stack)
        return placement.region if placement else self.region

    def session(self, stack: str) -> boto3.Session:
        from bootstrap import aws  # the module's function: the tests watch it

        profile = self.profile(stack)
        if profile not in self._sessions:
            session = aws.aws_session(self.region_of(stack), profile)
            self._sessions[profile] = session
            if self.on_session is not None:
                self.on_session(profile, session)
        return self._sessions[profile]

    def identity(self, stack: str) -> Identity:
        from bootstrap.aws import caller_identity

        profile = self.profile(stack)
        if profile not in self._identities:
            self._identities[profile] = caller_identity(self.session(stack), self.region_of(stack))
        return self._identities[profile]

    def tooling_account(self) -> str:
        return self.identity(contract.SHARED).account

    def expected_account(self, stack: str) -> str:
        placement = self.where.get(stack)
        if placement and placement.account:
            return placement.account
        return self.tooling_account()

    def verify(self, stacks: Iterable[str]) -> dict[str, str]:
        """stack -> account, every session checked against the account its stack names."""
        checked: dict[str, str] = {}
        for stack in stacks:
            expected, got = self.expected_account(stack), self.identity(stack).account
            if got != expected:
                raise self._mismatch(stack, expected, got)
            checked[stack] = got
        return checked

    def _mismatch(self, stack: str, expected: str, got: str) -> CredentialsError:
        profile = self.profile(stack)
        using = f"profile '{profile}'" if profile else "your default AWS credentials"
        return CredentialsError(
            f"stack '{stack}' lives in AWS account {expected}, but {using} signs in to {got}",
            f"pass --profile {stack}=PROFILE with a profile of account {expected} "
            f"(or set {contract.PROFILES_ENV})",
        )

    def pulumi_env(self, stack: str) -> dict[str, str]:
        """The credential variables of a Pulumi run for `stack`: its profile's resolved
        credentials (which also reach the state bucket through its policy), or nothing for the
        ambient ones. Never printed, never written to a file."""
        if self.profile(stack) is None:
            return {}
        from bootstrap.aws import aws_errors

        with aws_errors(f"reading the credentials of profile '{self.profile(stack)}'"):
            creds: Any = self.session(stack).get_credentials()
            frozen = creds.get_frozen_credentials() if creds is not None else None
        if frozen is None:
            raise CredentialsError(
                f"AWS profile '{self.profile(stack)}' has no credentials",
                "sign in with it (`aws sso login --profile ...`) and run again",
            )
        # Every credential variable is set: the caller's (AWS_PROFILE...) must not win over these.
        env = dict.fromkeys(CREDENTIAL_ENV, "")
        env |= {
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_REGION": self.region_of(stack),
        }
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env
