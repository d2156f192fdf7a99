"""`bootstrap cost` end to end on real generated repos (plans served from the session's plans):
the JSON envelope and shape, the text view, bad input, and --refresh-prices with and without a
reachable price list (the network is never used: the fetch is replaced)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootstrap.cli import app
from bootstrap.cost import offers

from .test_offers import FakePriceList


def _run(repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["cost", *args, "--repo", str(repo)])


def _one_line_error(result: Any) -> str:
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


COMPONENT_KEYS = {
    "name",
    "unit",
    "quantity",
    "unit_price",
    "monthly",
    "price_key",
    "assumption",
    "note",
}


@pytest.mark.usefixtures("cached_plans")
def test_json_shape(generated_repos: dict[str, Path]) -> None:
    result = _run(generated_repos["eks"], "--all", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["currency"] == "USD"
    assert {"source", "published", "region"} <= set(data["prices"])
    assert data["prices"]["region"] == "eu-west-1"
    assert [s["stage"] for s in data["stages"]] == ["shared", "dev", "test", "prod"]
    for stage in data["stages"]:
        assert {"stage", "monthly", "resources"} <= set(stage)
        for resource in stage["resources"]:
            assert {"name", "type", "monthly", "components"} <= set(resource)
            for component in resource["components"]:
                assert set(component) == COMPONENT_KEYS
    assert data["total"] == pytest.approx(sum(s["monthly"] for s in data["stages"]), abs=0.02)
    # the same command gives the same document
    assert _run(generated_repos["eks"], "--all", "--json").stdout == result.stdout


@pytest.mark.usefixtures("cached_plans")
def test_text_view(generated_repos: dict[str, Path]) -> None:
    result = _run(generated_repos["ecs"], "--stage", "prod")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "prod (eu-west-1): $" in text
    assert "NAT gateway hours: 730 hours x $0.048 = $35.04" in text
    assert (
        "[assumed: 50 GB/month (nat_gb_processed, production default), split over 3 gateways]"
        in text
    )
    assert "Prices: AWS list prices for eu-west-1 dated AWSELB 2025-06-05" in text
    assert "days old" in text


@pytest.mark.usefixtures("cached_plans")
def test_usage_file_reaches_the_estimate(generated_repos: dict[str, Path], tmp_path: Path) -> None:
    usage = tmp_path / "usage.yml"
    usage.write_text("stages:\n  dev:\n    requests_per_month: 1000000\n")
    result = _run(generated_repos["lambda"], "--stage", "dev", "--json", "--usage", str(usage))
    assert result.exit_code == 0, result.output
    [dev] = json.loads(result.stdout)["stages"]
    requests = [
        c
        for r in dev["resources"]
        for c in r["components"]
        if c["name"].startswith("Lambda requests")
    ]
    assert requests[0]["quantity"] == 1_000_000 and "usage file" in requests[0]["assumption"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "does not exist"),
        ("all:\n  bogus: 1\n", "unknown usage key 'all.bogus'"),
        ("all:\n  log_gb: -3\n", "which is negative"),
        ("all:\n  log_gb: many\n", "not a number"),
    ],
)
def test_bad_usage_file_is_one_line_exit_2(
    generated_repos: dict[str, Path], tmp_path: Path, text: str | None, expected: str
) -> None:
    usage = tmp_path / "usage.yml"
    if text is not None:
        usage.write_text(text)
    result = _run(generated_repos["ecs"], "--usage", str(usage))
    assert result.exit_code == 2, result.output
    line = _one_line_error(result)
    assert expected in line and "usage.yml" in line
    assert result.stdout == ""  # nothing planned, nothing printed


def test_unknown_stage_is_exit_2(generated_repos: dict[str, Path]) -> None:
    result = _run(generated_repos["ecs"], "--stage", "qa")
    assert result.exit_code == 2, result.output
    assert "qa" in _one_line_error(result)


@pytest.mark.usefixtures("cached_plans")
def test_refresh_without_network_uses_the_snapshot(
    generated_repos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(url: str) -> bytes:
        raise OSError("Name or service not known")

    monkeypatch.setattr(offers, "http_fetch", unreachable)
    result = _run(generated_repos["ecs"], "--stage", "dev", "--refresh-prices")
    assert result.exit_code == 0, result.output
    assert "could not refresh prices" in result.stderr and "days old" in result.stdout


@pytest.mark.usefixtures("cached_plans")
def test_refresh_updates_the_cache(
    generated_repos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakePriceList()
    monkeypatch.setattr(offers, "http_fetch", fake)
    result = _run(generated_repos["ecs"], "--stage", "dev", "--json", "--refresh-prices")
    assert result.exit_code == 0, result.output
    assert all(url.startswith(offers.PRICE_LIST) for url in fake.asked)
    data = json.loads(result.stdout)
    nat = [
        c
        for r in data["stages"][0]["resources"]
        for c in r["components"]
        if c["name"] == "NAT gateway hours"
    ]
    assert nat[0]["unit_price"] == 0.048
    ids = {s["id"] for s in data["prices"]["sources"]}
    assert "offer-file/AmazonEC2/20260101000000/eu-west-1" in ids
    # offers the fake does not serve are reported, not guessed
    assert "no rate found for" in result.stderr
