"""Reading AWS's public Price List offer files (no credentials) into price documents.

An offer's region index (`/offers/v1.0/aws/<offer>/current/region_index.json`) names each region's
current file; that file holds `products` (sku -> productFamily, attributes: regionCode, usagetype,
operation, ...) and `terms.OnDemand` (sku -> term -> priceDimensions -> unit, pricePerUnit.USD,
beginRange), with the offer's `publicationDate` and `version`. Tiered rates keep their first tier.

`rates_from_offer` is the parser (tested on excerpts in the real format); `refresh` downloads the
offers a set of regions needs and writes them over the user's cache; `scripts/update_prices.py`
uses the same to rewrite the committed snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bootstrap.cost import catalog
from bootstrap.cost.prices import FORMAT, PriceBook

PRICE_LIST = "https://pricing.us-east-1.amazonaws.com"
Fetch = Callable[[str], bytes]


def region_index_url(offer: str) -> str:
    return f"{PRICE_LIST}/offers/v1.0/aws/{offer}/current/region_index.json"


def _first_tier(term: dict[str, Any]) -> tuple[Decimal, str] | None:
    dimensions = list((term.get("priceDimensions") or {}).values())
    dimensions.sort(key=lambda d: Decimal(str(d.get("beginRange") or "0")))
    for dimension in dimensions:
        usd = (dimension.get("pricePerUnit") or {}).get("USD")
        if usd is not None:
            return Decimal(str(usd)), str(dimension.get("unit", ""))
    return None


def rates_from_offer(offer: dict[str, Any], region: str, keys: Iterable[str]) -> dict[str, Decimal]:
    """The on-demand rate of each key found in `offer` for `region` (global products count)."""
    wanted = [catalog.usage_type(k) for k in keys]
    wanted = [t for t in wanted if t.offer == offer.get("offerCode")]
    on_demand = (offer.get("terms") or {}).get("OnDemand") or {}
    found: dict[str, Decimal] = {}
    for sku, product in sorted((offer.get("products") or {}).items()):
        attributes = product.get("attributes") or {}
        product_region = attributes.get("regionCode") or ""
        if product_region not in (region, ""):
            continue
        for usage in wanted:
            if usage.key in found or not usage.matches(product):
                continue
            for term in (on_demand.get(sku) or {}).values():
                tier = _first_tier(term)
                if tier is not None:
                    found[usage.key] = tier[0]
                    break
    return found


@dataclass
class Refreshed:
    document: dict[str, Any]
    missing: dict[str, list[str]] = field(default_factory=dict)  # region -> keys not found


def _get_json(fetch: Fetch, url: str) -> dict[str, Any]:
    data = json.loads(fetch(url))
    if not isinstance(data, dict):
        raise ValueError(f"{url} is not a JSON object")
    return data


def _regional_offer(
    fetch: Fetch, offer_code: str, region: str
) -> tuple[dict[str, Any] | None, str]:
    """The current offer file of one region (None when the offer has none there)."""
    listed = _get_json(fetch, region_index_url(offer_code)).get("regions") or {}
    entry = listed.get(region)
    if not entry:
        return None, ""
    url = PRICE_LIST + str(entry["currentVersionUrl"])
    return _get_json(fetch, url), url


def build_document(regions: Iterable[str], keys: Iterable[str], fetch: Fetch) -> Refreshed:
    """Download the current offers of `keys` for `regions` and return them as a price document.
    An offer that cannot be read leaves its keys missing; when none can, the error is raised."""
    keys = sorted(set(keys))
    by_offer: dict[str, list[str]] = {}
    for key in keys:
        by_offer.setdefault(catalog.usage_type(key).offer, []).append(key)
    sources: dict[str, Any] = {}
    prices: dict[str, dict[str, list[str]]] = {}
    missing: dict[str, list[str]] = {}
    failures: list[Exception] = []
    for offer_code, offer_keys in sorted(by_offer.items()):
        for region in sorted(set(regions)):
            try:
                offer, url = _regional_offer(fetch, offer_code, region)
            except (OSError, ValueError, KeyError) as exc:  # this offer only: go on with the rest
                failures.append(exc)
                offer, url = None, ""
            if offer is None:
                missing.setdefault(region, []).extend(offer_keys)
                continue
            source_id = f"offer-file/{offer_code}/{offer.get('version', '')}/{region}"
            sources[source_id] = {
                "service": offer_code,
                "published": offer.get("publicationDate"),
                "retrieved": None,
                "origin": f"AWS Price List offer file {url}",
            }
            rates = rates_from_offer(offer, region, offer_keys)
            for key in offer_keys:
                if key in rates:
                    prices.setdefault(region, {})[key] = [str(rates[key]), source_id]
                else:
                    missing.setdefault(region, []).append(key)
    if failures and not prices:
        raise failures[0]  # nothing could be read: the price list is out of reach
    document = {
        "format": FORMAT,
        "currency": "USD",
        "sources": sources,
        "unknown": {},
        "prices": prices,
    }
    return Refreshed(document, missing)


def merge_into(path: Path, document: dict[str, Any]) -> None:
    """Write `document`'s rates over those already in the price file at `path` (atomically)."""
    current: dict[str, Any] = {"format": FORMAT, "currency": "USD", "sources": {}, "prices": {}}
    if path.is_file():
        current = json.loads(path.read_text())
    current.setdefault("sources", {}).update(document["sources"])
    for region, rates in document["prices"].items():
        current.setdefault("prices", {}).setdefault(region, {}).update(rates)
    used = {source for rates in current["prices"].values() for _, source in rates.values()}
    current["sources"] = {k: v for k, v in sorted(current["sources"].items()) if k in used}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    partial.replace(path)


def wanted_keys(book: PriceBook, region: str) -> list[str]:
    """Every fixed key, and the instance types the book prices (with their Auto Mode fee)."""
    keys = set(catalog.USAGE_TYPES) | set(book.keys(region))
    for key in list(keys):
        if key.startswith(catalog.INSTANCE_HOURS):
            keys.add(catalog.AUTOMODE_FEE + key.removeprefix(catalog.INSTANCE_HOURS))
    return sorted(keys)


def http_fetch(url: str, timeout: float = 60.0) -> bytes:
    """GET a Price List URL (public, anonymous)."""
    from urllib.request import Request, urlopen

    if not url.startswith(PRICE_LIST + "/"):
        raise ValueError(f"not a Price List URL: {url}")
    request = Request(url, headers={"User-Agent": "bootstrap-pipeline"})  # noqa: S310 - fixed host
    with urlopen(request, timeout=timeout) as response:  # noqa: S310 - https, fixed host
        return bytes(response.read())
