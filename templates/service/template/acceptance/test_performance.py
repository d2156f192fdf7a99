"""Performance: a short load run (Locust, `acceptance/load.py`) held to the stage's thresholds:
p95 latency, error rate and requests per second (`acceptanceP95Ms`, `acceptanceErrorRate`,
`acceptanceMinRps`), for `acceptanceLoadSeconds` with `acceptanceLoadUsers` users."""

from __future__ import annotations

import json
import subprocess
import sys

from acceptance.infra import REPO
from acceptance.run import Run
from acceptance.settings import REQUEST_TIMEOUT


def test_load_meets_the_thresholds(acceptance_run: Run) -> None:
    settings = acceptance_run.settings
    part = acceptance_run.verdict.parts["performance"]
    part.thresholds.update(
        p95_ms=settings.p95_ms, error_rate=settings.error_rate, min_rps=settings.min_rps
    )
    out = acceptance_run.results / "load.json"
    command = [
        sys.executable, "-m", "acceptance.load", "--host", acceptance_run.base_url,
        "--users", str(settings.load_users), "--seconds", str(settings.load_seconds),
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=settings.load_seconds + 6 * REQUEST_TIMEOUT)  # fmt: skip
    tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    assert done.returncode == 0, f"the load run failed (exit {done.returncode}): {tail}"
    figures = json.loads(out.read_text())
    part.figures.update(
        {k: figures[k] for k in ("p95_ms", "error_rate", "rps", "requests", "users", "seconds")}
    )
    sources = settings.sources
    missed = []
    if figures["p95_ms"] > settings.p95_ms:
        slowest = max(figures["endpoints"].items(), key=lambda kv: kv[1]["p95_ms"])
        missed.append(
            f"p95 latency {figures['p95_ms']} ms is above the threshold {settings.p95_ms} ms "
            f"({sources['p95_ms']}); slowest: {slowest[0]} at p95 {slowest[1]['p95_ms']} ms"
        )
    if figures["error_rate"] > settings.error_rate:
        top = figures["errors"][0] if figures["errors"] else None
        cause = (
            f"; most frequent: {top['request']}: {top['error']} ({top['count']}x)" if top else ""
        )
        missed.append(
            f"error rate {figures['error_rate']} % ({figures['failures']} of "
            f"{figures['requests']} requests) is above the threshold {settings.error_rate} % "
            f"({sources['error_rate']}){cause}"
        )
    if figures["rps"] < settings.min_rps:
        missed.append(
            f"{figures['rps']} requests per second is below the threshold {settings.min_rps} "
            f"({sources['min_rps']})"
        )
    assert not missed, "; ".join(missed)
