"""Each stage's live AWS reads, with that stage's own credentials: its alarms (CloudWatch, in
the stage's account and region).

A stage may live in its own AWS account (its stack file's `<project>:account`); its session is
the one `--profile STAGE=...` (or the profile of its account ID) names, checked with STS first.
A stage whose credentials are missing, or sign in to another account, is one line in its row
(`no credentials for account 222222222222: --profile prod=PROFILE`); the other stages are read
as usual. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bootstrap.errors import CredentialsError, UserError
from stacks.contract import SHARED

if TYPE_CHECKING:
    from bootstrap.accounts import Accounts

AlarmRead = Callable[[], Sequence[tuple[str, str | None]]]  # (name, state; None: missing)


@dataclass
class StageAccess:
    """What a stage's credentials gave: the account they sign in to and its alarm reader, or
    why the stage cannot be read (one line, naming the profile it needs)."""

    account: str | None
    alarms: AlarmRead | None = None
    problem: str | None = None
    cause: str | None = None  # what AWS said, when the credentials did not work at all


class StageReads:
    """The stages' sessions (`bootstrap.accounts.Accounts`), checked with STS before a read."""

    def __init__(self, accounts: Accounts, project: str) -> None:
        self.accounts = accounts
        self.project = project

    @property
    def multi_account(self) -> bool:
        """Whether some stack names an account of its own (from the stack files alone)."""
        from bootstrap.lifecycle import multi_account

        return multi_account(self.accounts)

    def named_account(self, stage: str) -> str | None:
        """The account the stage's stack file names (None: the tooling account)."""
        placement = self.accounts.where.get(stage)
        return placement.account if placement else None

    def open(self, stage: str, tooling: str | None) -> StageAccess:
        """The stage's session, verified: the account its credentials sign in to must be the
        one its stack file names, else the tooling account (`tooling` when already known)."""
        accounts = self.accounts
        expected = self.named_account(stage) or tooling
        try:
            got = accounts.identity(stage).account
        except CredentialsError as exc:
            where = f"account {expected}" if expected else "the tooling account"
            return StageAccess(expected, problem=f"no credentials for {where}: "
                               f"--profile {stage}=PROFILE", cause=exc.problem)  # fmt: skip
        except UserError as exc:
            return StageAccess(expected, problem=f"AWS not read: {exc.problem}", cause=exc.problem)
        if expected is None:
            try:
                expected = accounts.tooling_account()
            except UserError:
                expected = got  # the tooling account is unknown: nothing to compare with
        if got != expected:
            profile = accounts.profile(stage)
            using = f"profile '{profile}'" if profile else "the default credentials"
            return StageAccess(expected, problem=f"{using} signs in to {got}, not {expected}: "
                               f"--profile {stage}=PROFILE")  # fmt: skip
        return StageAccess(expected, alarms=self._alarms(stage))

    def tooling(self) -> str | None:
        """The tooling account, when its credentials answer (None otherwise)."""
        try:
            return self.accounts.identity(SHARED).account
        except UserError:
            return None

    def _alarms(self, stage: str) -> AlarmRead:
        from bootstrap.aws import aws_errors
        from stacks.gates import cloudwatch_alarms

        region = self.accounts.region_of(stage)
        client = self.accounts.session(stage).client("cloudwatch", region_name=region)
        read = cloudwatch_alarms(client, self.project)

        def alarms() -> Sequence[tuple[str, str | None]]:
            with aws_errors(f"reading the alarms of {stage}"):
                return read(stage)

        return alarms
