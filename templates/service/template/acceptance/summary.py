"""A verdict as a Markdown table, for a GitHub job summary (`$GITHUB_STEP_SUMMARY`) or a review.

`python -m acceptance.summary [VERDICT]` prints it (default: acceptance/results/verdict.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MARK = {"passed": "✅ passed", "failed": "❌ failed", "not run": "➖ not run"}
# Figure and threshold keys -> how a person reads them.
FIGURES = {
    "operations": "{} operations",
    "requests": "{} requests",
    "not_sent": "{} not sent (past the time budget)",
    "p95_ms": "p95 {} ms",
    "error_rate": "errors {} %",
    "rps": "{} req/s",
    "users": "{} users",
    "seconds": "{} s",
}
THRESHOLDS = {
    "examples": "≤ {} requests per operation",
    "seconds": "≤ {} s",
    "p95_ms": "p95 ≤ {} ms",
    "error_rate": "errors ≤ {} %",
    "min_rps": "≥ {} req/s",
}


def markdown(verdict: dict[str, Any]) -> str:
    outcome = "passed" if verdict.get("passed") else "failed"
    stage = verdict.get("stage") or "defaults"
    release = verdict.get("release") or "unknown"
    lines = [
        f"### Acceptance {MARK[outcome]}: {verdict.get('project')} ({stage})",
        "",
        f"Release `{release}` at {verdict.get('base_url')}, {verdict.get('seconds', 0)} s.",
        "",
    ]
    if verdict.get("error"):
        return "\n".join([*lines, f"Nothing was tested: {verdict['error']}", ""])
    lines += [
        "| part | result | tests | figures | thresholds | time |",
        "|---|---|---|---|---|---|",
    ]
    for name, part in (verdict.get("parts") or {}).items():
        tests = f"{part['tests']}" + (f", {part['failed']} failed" if part["failed"] else "")
        lines.append(
            f"| {name} | {MARK[part['status']]} | {tests} | {pairs(part['figures'], FIGURES)} "
            f"| {pairs(part['thresholds'], THRESHOLDS)} | {part['seconds']} s |"
        )
    failures = [(name, f) for name, part in verdict["parts"].items() for f in part["failures"]]
    if failures:
        lines += ["", "**Failures**", ""]
        lines += [f"- {name}, `{f['test']}`: {_cell(f['message'])}" for name, f in failures]
    return "\n".join(lines) + "\n"


def pairs(values: dict[str, Any], words: dict[str, str]) -> str:
    """`{"p95_ms": 120}` -> `p95 120 ms` (bootstrap verify's terminal table reads these too)."""
    shown = {k: v for k, v in values.items() if not (k == "not_sent" and not v)}
    return ", ".join(words.get(key, f"{key} {{}}").format(_number(v)) for key, v in shown.items())


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    from acceptance.infra import REPO, contract

    default = REPO / contract().ACCEPTANCE_RESULTS_DIR / contract().VERDICT_FILE
    parser = argparse.ArgumentParser(prog="python -m acceptance.summary", description=__doc__)
    parser.add_argument("verdict", nargs="?", type=Path, default=default)
    args = parser.parse_args(argv)
    try:
        verdict = json.loads(args.verdict.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {args.verdict}: cannot be read ({exc})", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main())
