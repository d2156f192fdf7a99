"""The configuration the Pulumi CLI would hand the program, as the engine encodes it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bootstrap.offline.plan import MASKED, PlanError


def load_stack_config(infra_dir: Path, project: str, stack: str) -> dict[str, Any]:
    """The configuration the Pulumi CLI would hand the program for `stack`: `Pulumi.<stack>.yaml`
    (keys qualified: `shop:target`, `aws:region`) merged with `Pulumi.yaml`'s declarations
    exactly as the CLI merges them (bootstrap/stackconfig/; its ConfigError, exit 2, names
    what the CLI would refuse)."""
    from bootstrap.stackconfig import stack_config

    path = Path(infra_dir) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise PlanError(
            f"stack '{stack}' has no config file {path}",
            "create it (`bootstrap update` restores the generated ones) or choose another stack",
        )
    return stack_config(Path(infra_dir), project, stack)


def engine_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to programs: strings (JSON for objects; an empty key is
    ""), secret keys apart."""
    from bootstrap.stackconfig import config_text, is_secure

    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in config.items():
        if is_secure(value):
            values[key] = MASKED  # ciphertext the offline plan cannot (and need not) decrypt
            secrets.append(key)
        else:
            values[key] = config_text(value)
    return values, secrets
