"""Is the base URL this service? It must answer `GET /health` with its status, stage and release,
and publish an OpenAPI document with the items API: anything else is another server (or none),
and the suite stops before it tests anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acceptance.settings import REQUEST_TIMEOUT

HEALTH_PATH = "/health"
OPENAPI_PATH = "/openapi.json"
ITEMS_PATH = "/items"


class Unreachable(Exception):
    """Nothing answers at the base URL (refused, unknown host, timed out, TLS failed)."""


class NotTheService(Exception):
    """Something answers at the base URL, but not as this service does."""


@dataclass(frozen=True)
class Service:
    base_url: str
    stage: str
    release: str
    title: str = ""
    operations: list[str] = field(default_factory=list)  # "GET /items", ... from its OpenAPI

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "release": self.release, "title": self.title,
                "operations": self.operations}  # fmt: skip


def normalize(base_url: str) -> str:
    """`base_url` without a trailing slash; it must be http(s)://HOST[...]."""
    from urllib.parse import urlsplit

    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"'{base_url}' is not an http(s) URL; pass e.g. https://HOST or http://127.0.0.1:8080"
        )
    return url


def probe(base_url: str, *, timeout: float = REQUEST_TIMEOUT) -> Service:
    """What answers at `base_url`, if it is the service."""
    import httpx

    url = normalize(base_url)
    with httpx.Client(base_url=url, timeout=timeout, follow_redirects=False) as client:
        health = _get(client, url, HEALTH_PATH)
        body = _json(health, url, HEALTH_PATH)
        if health.status_code != 200 or not isinstance(body, dict) or body.get("status") != "ok":
            raise NotTheService(
                f"{url}{HEALTH_PATH} answered {health.status_code} {_excerpt(health)}, not this "
                "service's health (200 with status ok, its stage and release)"
            )
        missing = [key for key in ("stage", "release") if not isinstance(body.get(key), str)]
        if missing:
            raise NotTheService(
                f"{url}{HEALTH_PATH} does not say the service's {' and '.join(missing)}"
            )
        document = _json(_get(client, url, OPENAPI_PATH), url, OPENAPI_PATH)
        paths = document.get("paths") if isinstance(document, dict) else None
        if not isinstance(paths, dict) or "openapi" not in document or ITEMS_PATH not in paths:
            raise NotTheService(
                f"{url}{OPENAPI_PATH} is not this service's OpenAPI document (no {ITEMS_PATH})"
            )
    operations = [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in (item if isinstance(item, dict) else {})
        if method in ("get", "put", "post", "delete", "patch")
    ]
    title = str((document.get("info") or {}).get("title") or "")
    return Service(url, body["stage"], body["release"], title, operations)


def _get(client: Any, url: str, path: str) -> Any:
    import httpx

    try:
        return client.get(path)
    except httpx.TimeoutException:
        raise Unreachable(f"{url}{path} did not answer within {client.timeout.read:g} s") from None
    except httpx.HTTPError as exc:
        raise Unreachable(f"{url}{path} cannot be reached ({_reason(exc)})") from None


def _json(response: Any, url: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise NotTheService(
            f"{url}{path} answered {response.status_code} {_excerpt(response)}, not JSON"
        ) from None


def _excerpt(response: Any) -> str:
    text = " ".join(response.text.split())
    return f"'{text[:60]}...'" if len(text) > 60 else f"'{text}'"


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
