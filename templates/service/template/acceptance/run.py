"""The run in progress: the base URL, the stage's settings, the service that answered, the
verdict being collected, and where the results go. `conftest.py` makes it before collection;
the parts read it (the contract part needs the base URL while it is collected)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acceptance.service import Service
from acceptance.settings import Settings
from acceptance.verdict import Verdict


@dataclass
class Run:
    base_url: str
    settings: Settings
    service: Service
    verdict: Verdict
    results: Path
    events: Path | None = None

    def emit(self, event: str, **data: Any) -> None:
        """One progress event, a JSON line in the `--events` file (for tools that follow a run)."""
        if self.events is not None:
            with self.events.open("a") as stream:
                stream.write(json.dumps({"event": event, **data}) + "\n")


class _Current:
    run: Run | None = None


def start(run: Run) -> None:
    _Current.run = run


def current() -> Run:
    if _Current.run is None:
        raise RuntimeError("no acceptance run: run the suite with pytest acceptance --base-url URL")
    return _Current.run


def active() -> Run | None:
    return _Current.run
