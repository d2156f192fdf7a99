"""Regenerate bootstrap/cost/prices.json from AWS's public Price List offer files (no credentials).

For a maintainer with network access: downloads each offer's region index and the current offer
file of every region, keeps the on-demand rate of every usage key the snapshot has (and every key
of bootstrap/cost/catalog.py), and writes the rates over the snapshot, each with its offer file
and publication date. Rates no product matched are printed and stay as they were (or unknown).

    python scripts/update_prices.py                  # every region the tool accepts
    python scripts/update_prices.py --region eu-west-1 --region us-east-1

The AmazonEC2 regional offer files are several hundred MB each: expect a long run.
"""

from __future__ import annotations

import argparse
import sys

from bootstrap.cost import carried, offers
from bootstrap.cost import prices as prices_mod
from bootstrap.spec import known_regions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", action="append", help="only these regions (repeatable)")
    args = parser.parse_args()
    regions = sorted(args.region or known_regions())
    book = prices_mod.PriceBook([prices_mod._read(prices_mod.SNAPSHOT)])
    keys = sorted({key for region in regions for key in offers.wanted_keys(book, region)})
    refreshed = offers.build_document(regions, keys, offers.http_fetch)
    offers.merge_into(prices_mod.SNAPSHOT, refreshed.document)
    # The generated repositories' pull-request pricer carries its slice of the snapshot.
    carried.write(prices_mod.PriceBook([prices_mod._read(prices_mod.SNAPSHOT)]))
    for region, missing in sorted(refreshed.missing.items()):
        print(f"{region}: no product for {', '.join(sorted(set(missing)))}", file=sys.stderr)
    count = sum(len(rates) for rates in refreshed.document["prices"].values())
    print(f"wrote {count} rates for {len(refreshed.document['prices'])} regions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
