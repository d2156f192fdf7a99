"""Small editors for a generated repo's stack files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import set_config


def edit_config(repo: Path, stack: str, **changes: Any) -> None:
    """Set (or, with None, remove) keys of a stack file; keys without a namespace are shop's."""
    path = repo / "infra" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    set_config(document.setdefault("config", {}), changes)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
