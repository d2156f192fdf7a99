"""The load run: Locust, headless, as a library, in a process of its own (Locust's gevent patches
the interpreter, which must not happen inside pytest).

`python -m acceptance.load --host URL --users N --seconds S --out FILE` runs N users that each
send their next request as soon as the last is answered (a mix of reads, creates, lists and
health checks, like the items flow), stops after S seconds, and writes the figures as JSON:
requests, failures, error rate (%), p95 latency (ms, Locust's rounding), requests per second,
and the same per endpoint, with the most frequent errors.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from acceptance.settings import REQUEST_TIMEOUT

KEEP_IDS = 100  # the ids each user reads from: the last items it created


def run(host: str, *, users: int, seconds: float) -> dict[str, Any]:
    import gevent  # Locust's import has already patched the interpreter for gevent
    from locust import HttpUser, constant, task
    from locust.env import Environment

    class ServiceUser(HttpUser):
        wait_time = constant(0)
        connection_timeout = REQUEST_TIMEOUT
        network_timeout = REQUEST_TIMEOUT

        def on_start(self) -> None:
            self.ids: list[int] = []
            self.create()

        @task(1)
        def create(self) -> None:
            body = {"name": f"load-{random.randrange(10**9)}", "price": 9.5}
            with self.client.post("/items", json=body, name="POST /items",
                                  catch_response=True) as response:  # fmt: skip
                if response.status_code == 201:
                    self.ids = [*self.ids[-KEEP_IDS + 1 :], response.json()["id"]]
                else:
                    response.failure(f"answered {response.status_code}, expected 201")

        @task(5)
        def read(self) -> None:
            if self.ids:
                item = random.choice(self.ids)
                self.client.get(f"/items/{item}", name="GET /items/{item_id}")

        @task(2)
        def health(self) -> None:
            self.client.get("/health", name="GET /health")

        @task(1)
        def listing(self) -> None:
            self.client.get("/items", name="GET /items")

    env = Environment(user_classes=[ServiceUser], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    return figures(env.stats, users=users, seconds=seconds)


def figures(stats: Any, *, users: int, seconds: float) -> dict[str, Any]:
    total = stats.total
    endpoints = {
        f"{entry.method} {entry.name}" if not entry.name.startswith(entry.method) else entry.name: {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p95_ms": entry.get_response_time_percentile(0.95) or 0,
        }
        for entry in stats.entries.values()
    }
    errors = sorted(stats.errors.values(), key=lambda e: -e.occurrences)[:5]
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "error_rate": round(total.fail_ratio * 100, 2),
        "p95_ms": total.get_response_time_percentile(0.95) or 0,
        "rps": round(total.total_rps, 1),
        "users": users,
        "seconds": seconds,
        "endpoints": endpoints,
        "errors": [
            {"request": e.name, "error": str(e.error), "count": e.occurrences} for e in errors
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.load", description=__doc__)
    parser.add_argument("--host", required=True, help="the service's base URL")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True, help="where to write the figures")
    args = parser.parse_args(argv)
    import locust  # noqa: F401 - patches the interpreter for gevent before anything else runs

    result = run(args.host, users=args.users, seconds=args.seconds)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
