"""Where each stage lives: its AWS account and region, read from the stage stack files.

A stage's stack file (`Pulumi.<stage>.yaml`) is the one owner of its account (`<project>:account`,
12 digits) and region (`aws:region`); a stage without `account` lives in the tooling account, the
shared stack's. The shared stack reads its sibling stage files through this module to know which
accounts its registry must let pull (stacks/registry.py); the stage program checks that it runs
with credentials of its own account (`wrong_account`'s line, raised by `stage.stage_context`). No
Pulumi import: bootstrap may read it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import contract

REGION_KEY = "aws:region"
TARGET_KEY = "target"
DEFAULT_TARGET = "ecs"  # config_schema's default of `target`


class PlacementError(ValueError):
    """A stage file whose account cannot be read: the file, the key, the problem and the fix."""


@dataclass(frozen=True)
class Placement:
    """One stage's place: its AWS account (None: the tooling account) and region (None: the
    file names none), and its deploy target (Lambda pulls with its own service principal)."""

    stage: str
    account: str | None = None
    region: str | None = None
    target: str = DEFAULT_TARGET

    def account_in(self, tooling_account: str) -> str:
        """The account this stage lives in, given the tooling account."""
        return self.account or tooling_account

    def region_in(self, home_region: str) -> str:
        return self.region or home_region

    def is_foreign(self, tooling_account: str) -> bool:
        return self.account_in(tooling_account) != tooling_account


def read_placements(infra_dir: Path, project: str, stages: Sequence[str]) -> list[Placement]:
    """Each stage's placement from its stack file; a stage whose file is missing lives in the
    tooling account (the stage program itself refuses to run without its file's settings)."""
    return [_placement(infra_dir, project, stage) for stage in stages]


def stack_region(infra_dir: Path, stack: str) -> str | None:
    """The `aws:region` a stack file names (None without the file or the key)."""
    return _text(_stack_config(infra_dir, stack).get(REGION_KEY))


def _stack_config(infra_dir: Path, stack: str) -> Mapping[str, Any]:
    import yaml  # a dependency of the pulumi SDK, always in the infra venv

    path = Path(infra_dir) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise PlacementError(
            f"{contract.stack_file(stack)}: not readable YAML ({error.__class__.__name__}); "
            f"fix the file (`pulumi config --stack {stack}` shows what Pulumi reads)"
        ) from None
    config = document.get("config") if isinstance(document, Mapping) else None
    return config if isinstance(config, Mapping) else {}


def _placement(infra_dir: Path, project: str, stage: str) -> Placement:
    config = _stack_config(infra_dir, stage)
    account = _value(config, project, contract.ACCOUNT_KEY)
    if account is not None:
        check_account_id(account, f"{contract.stack_file(stage)} {project}:{contract.ACCOUNT_KEY}")
    return Placement(
        stage=stage,
        account=account,
        region=_text(config.get(REGION_KEY)),
        target=_value(config, project, TARGET_KEY) or DEFAULT_TARGET,
    )


def _value(config: Mapping[str, Any], project: str, key: str) -> str | None:
    """A key of the project's namespace, qualified or not (as Pulumi reads a stack file)."""
    return _text(config.get(f"{project}:{key}", config.get(key)))


def _text(raw: object) -> str | None:
    if raw is None or isinstance(raw, (Mapping, list)):
        return None
    return str(raw).strip() or None


def check_account_id(account: str, where: str) -> None:
    """An AWS account ID is 12 digits, written as text (YAML reads unquoted digits as a number,
    which loses leading zeros)."""
    if not contract.ACCOUNT_PATTERN.match(account):
        raise PlacementError(
            f"{where}: '{account}' is not an AWS account ID; write its 12 digits in quotes "
            '(e.g. "012345678901")'
        )


def foreign(placements: Iterable[Placement], tooling_account: str) -> list[Placement]:
    """The stages that live in another account than the tooling account."""
    return [p for p in placements if p.is_foreign(tooling_account)]


def foreign_accounts(placements: Iterable[Placement], tooling_account: str) -> list[str]:
    """The other accounts the stages live in, each once, sorted."""
    return sorted({p.account_in(tooling_account) for p in foreign(placements, tooling_account)})


def arn_account(arn: str) -> str | None:
    """The account field of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`)."""
    parts = arn.split(":", 5)
    return (parts[4] or None) if len(parts) == 6 and parts[0] == "arn" else None


def wrong_account(project: str, stage: str, expected: str, actual: str) -> str | None:
    """The one line refusing a run of stage `stage` with credentials of another account than
    its file names, or None when they agree."""
    if expected == actual:
        return None
    return (
        f"config {project}:{contract.ACCOUNT_KEY}: stage {stage} lives in account {expected}, but "
        f"these credentials are of account {actual}; use that account's credentials "
        f"(`bootstrap --profile {stage}=PROFILE`, or AWS_PROFILE for the Pulumi CLI)"
    )


__all__ = [
    "Placement",
    "PlacementError",
    "arn_account",
    "check_account_id",
    "foreign",
    "foreign_accounts",
    "read_placements",
    "stack_region",
    "wrong_account",
]
