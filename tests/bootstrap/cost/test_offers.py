"""Reading AWS Price List offer files: excerpts written here in the files' real format (region
index, products with attributes, OnDemand terms with price dimensions), served by a fake fetch."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bootstrap.cost import offers
from bootstrap.cost.prices import PriceBook, _read, load

VERSION = "20260101000000"


def _product(
    sku: str, family: str, region: str, usagetype: str, **attributes: str
) -> dict[str, Any]:
    return {
        "sku": sku,
        "productFamily": family,
        "attributes": {
            "servicecode": "AmazonEC2",
            "regionCode": region,
            "usagetype": usagetype,
            "location": "somewhere",
            **attributes,
        },
    }


def _term(sku: str, *tiers: tuple[str, str, str]) -> dict[str, Any]:
    """OnDemand terms of a sku; each tier is (beginRange, unit, USD)."""
    code = f"{sku}.JRTCKXETXF"
    return {
        sku: {
            code: {
                "offerTermCode": "JRTCKXETXF",
                "sku": sku,
                "effectiveDate": "2026-01-01T00:00:00Z",
                "priceDimensions": {
                    f"{code}.{i}": {
                        "rateCode": f"{code}.{i}",
                        "description": "rate",
                        "beginRange": begin,
                        "endRange": "Inf",
                        "unit": unit,
                        "pricePerUnit": {"USD": usd},
                        "appliesTo": [],
                    }
                    for i, (begin, unit, usd) in enumerate(tiers)
                },
                "termAttributes": {},
            }
        }
    }


def _offer(
    code: str, region: str, products: list[dict[str, Any]], terms: dict[str, Any]
) -> dict[str, Any]:
    return {
        "formatVersion": "v1.0",
        "disclaimer": "This pricing list is for informational purposes only.",
        "offerCode": code,
        "version": VERSION,
        "publicationDate": "2026-01-01T00:00:00Z",
        "products": {p["sku"]: p for p in products},
        "terms": {"OnDemand": terms, "Reserved": {}},
    }


EC2_EU = _offer(
    "AmazonEC2",
    "eu-west-1",
    [
        _product("NATH", "NAT Gateway", "eu-west-1", "EU-NatGateway-Hours", operation="NatGateway"),
        _product("NATB", "NAT Gateway", "eu-west-1", "EU-NatGateway-Bytes", operation="NatGateway"),
        _product(
            "NATP", "NAT Gateway", "eu-west-1", "EU-NatGateway-Prvd-Hours", operation="NatGateway"
        ),
        _product(
            "BOX",
            "Compute Instance",
            "eu-west-1",
            "EU-BoxUsage:c6a.large",
            instanceType="c6a.large",
            operatingSystem="Linux",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
        ),
        _product(
            "WIN",
            "Compute Instance",
            "eu-west-1",
            "EU-BoxUsage:c6a.large",
            instanceType="c6a.large",
            operatingSystem="Windows",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
        ),
    ],
    {
        **_term("NATH", ("0", "Hrs", "0.0480000000")),
        **_term("NATB", ("0", "GB", "0.0480000000")),
        **_term("NATP", ("0", "Hrs", "9.9")),
        **_term("BOX", ("0", "Hrs", "0.0820800000")),
        **_term("WIN", ("0", "Hrs", "0.174")),
    },
)
CLOUDWATCH_EU = _offer(
    "AmazonCloudWatch",
    "eu-west-1",
    [
        _product("ING", "Data Payload", "eu-west-1", "EU-DataProcessing-Bytes"),
        _product("VEN", "Data Payload", "eu-west-1", "EU-VendedLog-Bytes"),
        _product("DSH", "Dashboard", "", "DashboardsUsageHour-Basic"),  # global: no region code
        _product("OTHER", "Data Payload", "us-east-1", "DataProcessing-Bytes"),
    ],
    {
        **_term("ING", ("0", "GB", "0.5700000000")),
        # tiered: the first tier is kept, whatever order the dimensions come in
        **_term("VEN", ("10240", "GB", "0.2850000000"), ("0", "GB", "0.5700000000")),
        **_term("DSH", ("0", "Dashboards", "3.0000000000")),
        **_term("OTHER", ("0", "GB", "0.5")),
    },
)


def test_rates_from_offer_file() -> None:
    keys = [
        "ec2.nat_gateway_hours",
        "ec2.nat_gateway_gb",
        "ec2.instance_hours.c6a.large",
        "logs.vended_gb",
    ]
    rates = offers.rates_from_offer(EC2_EU, "eu-west-1", keys)
    assert rates == {
        "ec2.nat_gateway_hours": D("0.048"),  # not the provisioned-bandwidth row
        "ec2.nat_gateway_gb": D("0.048"),
        "ec2.instance_hours.c6a.large": D("0.08208"),  # Linux, not Windows
    }
    cloudwatch = offers.rates_from_offer(
        CLOUDWATCH_EU,
        "eu-west-1",
        ["logs.ingestion_gb", "logs.vended_gb", "cloudwatch.dashboard_months"],
    )
    assert cloudwatch == {
        "logs.ingestion_gb": D("0.57"),
        "logs.vended_gb": D("0.57"),
        "cloudwatch.dashboard_months": D("3"),
    }


def test_other_regions_products_are_ignored() -> None:
    assert offers.rates_from_offer(CLOUDWATCH_EU, "us-west-2", ["logs.ingestion_gb"]) == {}


class FakePriceList:
    """Serves region indexes and offer files by URL; records what was asked."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []
        for offer in (EC2_EU, CLOUDWATCH_EU):
            code = offer["offerCode"]
            path = f"/offers/v1.0/aws/{code}/{VERSION}/eu-west-1/index.json"
            self.files[offers.region_index_url(code)] = {
                "formatVersion": "v1.0",
                "regions": {"eu-west-1": {"regionCode": "eu-west-1", "currentVersionUrl": path}},
            }
            self.files[offers.PRICE_LIST + path] = offer

    def __call__(self, url: str) -> bytes:
        self.asked.append(url)
        if url not in self.files:
            raise OSError(f"404 {url}")
        return json.dumps(self.files[url]).encode()


def test_build_document_and_cache(tmp_path: Path) -> None:
    fetch = FakePriceList()
    keys = ["ec2.nat_gateway_hours", "logs.ingestion_gb", "cloudwatch.alarm_metric_months"]
    refreshed = offers.build_document(["eu-west-1"], keys, fetch)
    assert refreshed.missing == {"eu-west-1": ["cloudwatch.alarm_metric_months"]}
    rates = refreshed.document["prices"]["eu-west-1"]
    assert rates["ec2.nat_gateway_hours"][0] == "0.0480000000"
    source = refreshed.document["sources"][rates["ec2.nat_gateway_hours"][1]]
    assert source["published"] == "2026-01-01T00:00:00Z" and source["service"] == "AmazonEC2"

    cache = tmp_path / "cache" / "prices.json"
    offers.merge_into(cache, refreshed.document)
    book = load(cache=cache)
    # the cache wins over the snapshot, with its own source and date; the rest stays
    nat = book.rate("eu-west-1", "ec2.nat_gateway_hours")
    assert nat is not None and nat.source.published == "2026-01-01T00:00:00Z"
    assert book.rate("us-east-1", "elb.alb_hours") is not None


def test_a_fetch_failure_raises_oserror() -> None:
    def offline(url: str) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(OSError):
        offers.build_document(["eu-west-1"], ["logs.ingestion_gb"], offline)


def test_only_the_price_list_is_fetched() -> None:
    with pytest.raises(ValueError, match="not a Price List URL"):
        offers.http_fetch("https://example.com/index.json")


def test_snapshot_is_consistent(book: PriceBook) -> None:
    """Every rate names a known source and a usage type the catalog knows, in a known region."""
    from bootstrap.cost import catalog
    from bootstrap.spec import known_regions

    document = _read(Path(offers.__file__).with_name("prices.json"))
    for region, rates in document["prices"].items():
        assert region in known_regions(), region
        for key, (usd, source) in rates.items():
            assert source in document["sources"], (region, key)
            catalog.usage_type(key)
            assert D(usd) >= 0
    for source in document["sources"].values():
        assert source["origin"] and source["service"]
    # the regions of the report are covered for every usage type, except those marked unknown
    for region in ("us-east-1", "eu-west-1"):
        missing = set(catalog.USAGE_TYPES) - set(book.keys(region)) - set(document["unknown"])
        assert missing == set(), missing
