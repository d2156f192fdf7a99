"""The verdict: one JSON document per run, what the pipeline records with the digest it tested.

```
{
  "verdict_version": 1,
  "suite": "acceptance",
  "project": "shop", "stage": "dev",          # whose settings (stage null: the defaults)
  "base_url": "https://...",
  "release": "sha256:...",                    # what the service reported at /health
  "service": {"stage", "release", "title", "operations"},
  "passed": true,                             # parts ran, and none failed
  "complete": true,                           # every part ran (no --part selection)
  "error": null,                              # why nothing was tested (URL not the service, ...)
  "started_at": "2026-...Z", "finished_at": "...", "seconds": 31.4,
  "parts": {
    "behaviour":   {"status": "passed", "tests": 5, "failed": 0, "skipped": 0, "seconds": 0.4,
                    "failures": [], "figures": {}, "thresholds": {}},
    "contract":    {..., "figures": {"operations": 4, "requests": 180, "not_sent": 0},
                    "thresholds": {"examples": 50, "seconds": 60}},
    "performance": {..., "figures": {"p95_ms": 14, "error_rate": 0.0, "rps": 212.5, ...},
                    "thresholds": {"p95_ms": 500, "error_rate": 1.0, "min_rps": 5.0}}
  },
  "settings": {...},                          # every setting and where it came from
  "tools": {"python": "3.12.8", "pytest": "...", "schemathesis": "...", "locust": "..."}
}
```
A part's status is `passed`, `failed` or `not run`; a failure is `{"test", "message"}`, the
message naming the cause. A release may be promoted on a verdict that is `passed` and `complete`.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERDICT_VERSION = 1
SUITE = "acceptance"


@dataclass
class Part:
    name: str
    tests: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        return "passed" if self.tests > self.skipped else "not run"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tests": self.tests,
            "failed": self.failed,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "failures": self.failures,
            "figures": self.figures,
            "thresholds": self.thresholds,
        }


class Verdict:
    """Collects a run's outcomes part by part; `as_dict` is the document above."""

    def __init__(self, *, parts: tuple[str, ...], base_url: str, project: str,
                 stage: str | None) -> None:  # fmt: skip
        self.parts = {name: Part(name) for name in parts}
        self.base_url = base_url
        self.project = project
        self.stage = stage
        self.service: dict[str, Any] = {}
        self.settings: dict[str, Any] = {}
        self.error: str | None = None
        self.started_at = _now()
        self._started = time.monotonic()
        self.finished_at: str | None = None
        self.seconds = 0.0

    def record(self, part: str, test: str, *, outcome: str, seconds: float,
               message: str | None = None) -> None:  # fmt: skip
        """One test's outcome: passed, failed or skipped."""
        result = self.parts[part]
        result.tests += 1
        result.seconds += seconds
        if outcome == "failed":
            result.failed += 1
            result.failures.append({"test": test, "message": message or "failed"})
        elif outcome == "skipped":
            result.skipped += 1

    def finish(self) -> None:
        self.finished_at = _now()
        self.seconds = time.monotonic() - self._started

    @property
    def passed(self) -> bool:
        statuses = [part.status for part in self.parts.values()]
        return self.error is None and "failed" not in statuses and "passed" in statuses

    @property
    def complete(self) -> bool:
        return self.error is None and all(p.status != "not run" for p in self.parts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict_version": VERDICT_VERSION,
            "suite": SUITE,
            "project": self.project,
            "stage": self.stage,
            "base_url": self.base_url,
            "release": self.service.get("release"),
            "service": self.service,
            "passed": self.passed,
            "complete": self.complete,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 2),
            "parts": {name: part.as_dict() for name, part in self.parts.items()},
            "settings": self.settings,
            "tools": tools(),
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


def tools() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("pytest", "schemathesis", "hypothesis", "locust"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
