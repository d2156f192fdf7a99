"""Small editors for a generated repo's stack files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def edit_config(repo: Path, stack: str, **changes: Any) -> None:
    """Set (or, with None, remove) keys of a stack file; keys without a namespace are shop's."""
    path = repo / "infra" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    config = document.setdefault("config", {})
    for key, value in changes.items():
        qualified = key if ":" in key else f"shop:{key}"
        if value is None:
            config.pop(qualified, None)
        else:
            config[qualified] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False))
