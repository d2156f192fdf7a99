"""The rates the generated repository carries (`stacks/cost_rates.json`, copied into `infra/stacks/`
like the components) so that its pull-request previews price their own changes
(`stacks/cost_change.py`): the snapshot's rates of the keys that module prices, every region, with
their sources' dates. `scripts/update_prices.py` rewrites it with the snapshot;
tests/stacks/test_cost_change.py checks that it matches the snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bootstrap.cost.prices import PriceBook

FORMAT = 1


def path() -> Path:
    import stacks.cost_change

    return stacks.cost_change.RATES


def document(book: PriceBook) -> dict[str, Any]:
    from stacks.cost_change import KEYS

    rates: dict[str, dict[str, list[str]]] = {}
    used: set[str] = set()
    for region in book.regions():
        for key in KEYS:
            rate = book.rate(region, key)
            if rate is not None:
                rates.setdefault(region, {})[key] = [str(rate.usd.normalize()), rate.source.id]
                used.add(rate.source.id)
    sources = {
        sid: {"service": book.sources[sid].service, "published": book.sources[sid].dated}
        for sid in sorted(used)
        if sid in book.sources
    }
    return {
        "format": FORMAT,
        "about": "On-demand list prices (USD) of the fixed monthly charges stacks/cost_change.py "
        "prices, per region; from bootstrap's price snapshot (bootstrap/cost/prices.json), "
        "whose docs name every source.",
        "sources": sources,
        "rates": rates,
    }


def write(book: PriceBook) -> Path:
    target = path()
    target.write_text(json.dumps(document(book), indent=1, sort_keys=True) + "\n")
    return target
