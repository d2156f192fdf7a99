"""The service as a status source: `GET <url>/health` of every stage at once, with a short
timeout. 2xx is healthy; the digest the answer names (the service reports its release) is kept,
so `status` and `promote --local` can tell which release answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bootstrap.status.model import DIGEST_IN_TEXT, Health

HEALTH_TIMEOUT = 3.0


def check_health(url: str, *, timeout: float = HEALTH_TIMEOUT) -> Health:
    """One `GET <url>/health`: 2xx is healthy; the digest it names (`release`) is kept."""
    import socket
    import urllib.error
    import urllib.request

    target = url.rstrip("/") + "/health"
    if not target.startswith(("http://", "https://")):
        return Health(target, False, None, "not an http(s) URL")
    request = urllib.request.Request(target, headers={"User-Agent": "bootstrap-status"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(4096)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return Health(target, False, exc.code, f"HTTP {exc.code}")
    except TimeoutError:
        return Health(target, False, None, "timed out")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Health(target, False, None, "timed out")
        if isinstance(reason, ConnectionRefusedError):
            return Health(target, False, None, "connection refused")
        if isinstance(reason, socket.gaierror):
            return Health(target, False, None, "unknown host")
        return Health(target, False, None, str(reason)[:80])
    except (OSError, ValueError) as exc:
        return Health(target, False, None, str(exc)[:80] or type(exc).__name__)
    release = None
    match = DIGEST_IN_TEXT.search(body.decode("utf-8", errors="replace"))
    if match:
        release = match.group(0)
    ok = 200 <= status < 300
    return Health(target, ok, status, str(status) if ok else f"HTTP {status}", release)


def check_all(
    urls: dict[str, str], *, timeout: float = HEALTH_TIMEOUT,
    check: Callable[..., Health] = check_health,
) -> dict[str, Health]:  # fmt: skip
    """Health of every URL at once. Daemon threads and one deadline: a name that never resolves
    cannot hold the command (or the interpreter's exit) hostage."""
    results: dict[str, Health] = {}
    lock = threading.Lock()

    def one(key: str, url: str) -> None:
        health = check(url, timeout=timeout)
        with lock:
            results[key] = health

    threads = [
        threading.Thread(target=one, args=(k, u), daemon=True, name=f"health-{k}")
        for k, u in urls.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        for key, url in urls.items():
            results.setdefault(key, Health(url.rstrip("/") + "/health", False, None, "timed out"))
        return dict(results)
