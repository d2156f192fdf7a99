"""The price book: the committed snapshot (`prices.json`, shipped in the wheel), overlaid by the
user's cache that `--refresh-prices` writes from AWS's Price List offer files.

A document (snapshot or cache) is `{"format": 1, "currency": "USD", "sources": {id: {service,
published, retrieved, origin}}, "unknown": {key: reason}, "prices": {region: {key: [usd, source]}}}`.
A rate absent from both is unknown: the estimate lists it as unpriced, never as zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bootstrap.errors import UserError

SNAPSHOT = Path(__file__).with_name("prices.json")
FORMAT = 1
CACHE_NAME = "prices.json"


@dataclass(frozen=True)
class Source:
    id: str
    service: str
    published: str | None  # the offer's publication date (ISO), when known
    retrieved: str | None  # when the figure was read, when known
    origin: str

    @property
    def dated(self) -> str | None:
        """The day the figure was true: its publication, else when it was read."""
        when = self.published or self.retrieved
        return when[:10] if when else None


@dataclass(frozen=True)
class Rate:
    usd: Decimal
    source: Source


class PriceBook:
    """Rates by region and key, with where each came from."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.sources: dict[str, Source] = {}
        self.unknown: dict[str, str] = {}
        self._rates: dict[str, dict[str, tuple[str, str]]] = {}
        for document in documents:  # later documents (the cache) win
            self._merge(document)

    def _merge(self, document: dict[str, Any]) -> None:
        for source_id, meta in (document.get("sources") or {}).items():
            self.sources[source_id] = Source(
                source_id,
                str(meta.get("service", "")),
                meta.get("published"),
                meta.get("retrieved"),
                str(meta.get("origin", "")),
            )
        self.unknown.update(document.get("unknown") or {})
        for region, rates in (document.get("prices") or {}).items():
            for key, (usd, source_id) in rates.items():
                self._rates.setdefault(region, {})[key] = (str(usd), str(source_id))

    def rate(self, region: str, key: str) -> Rate | None:
        found = self._rates.get(region, {}).get(key)
        if found is None:
            return None
        usd, source_id = found
        source = self.sources.get(source_id) or Source(source_id, "", None, None, "")
        return Rate(Decimal(usd), source)

    def regions(self) -> list[str]:
        return sorted(self._rates)

    def keys(self, region: str) -> list[str]:
        return sorted(self._rates.get(region, {}))

    def why_unknown(self, region: str, key: str) -> str:
        family = next(
            (k for k in self.unknown if key == k or key.startswith(k.rstrip("*") + ".")), None
        )
        if family:
            return self.unknown[family]
        if region not in self._rates:
            return f"the price snapshot has no rates for {region}"
        return f"no rate for {key} in {region} in the price snapshot"


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(
            f"the price file {path} cannot be read ({exc})",
            "delete it (the shipped snapshot is used) or run `bootstrap cost --refresh-prices`",
        ) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UserError(
            f"the price file {path} is not a format-{FORMAT} price snapshot",
            "delete it (the shipped snapshot is used) or run `bootstrap cost --refresh-prices`",
        )
    return document


def cache_path() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("bootstrap") / CACHE_NAME


def load(*, snapshot: Path = SNAPSHOT, cache: Path | None = None) -> PriceBook:
    """The snapshot, overlaid by the user's cache when there is one."""
    documents = [_read(snapshot)]
    cache = cache if cache is not None else cache_path()
    if cache.is_file():
        documents.append(_read(cache))
    return PriceBook(documents)


def age_days(dated: str, today: date | None = None) -> int:
    day = datetime.strptime(dated[:10], "%Y-%m-%d").date()
    return ((today or date.today()) - day).days
