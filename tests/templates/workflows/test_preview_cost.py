"""The preview job's monthly cost change, run as GitHub runs the steps: preview-run.sh previews
each stack and previews the changed ones again as JSON; its report step appends
stacks/cost_change.py's section to the comment.
The Pulumi CLI cannot be installed here: a stand-in answers `preview --diff`
with a summary and `preview --json` with a preview digest in Pulumi's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .test_scripts import Runner

NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"


def _state(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:dev::shop::{type_}::{name}", "custom": True, "type": type_,
            "inputs": inputs}  # fmt: skip


# A pull request that adds a second NAT gateway (and its address) to dev, in the shape of
# pkg/display/json.go PreviewDigest / PreviewStep (op, urn, oldState, newState, detailedDiff).
DIGEST = {
    "config": {"aws:region": "eu-west-1"},
    "steps": [
        {"op": "same", "urn": "urn:pulumi:dev::shop::aws:ec2/natGateway:NatGateway::shop-dev-network-nat-a",
         "oldState": _state(NAT, "shop-dev-network-nat-a", {"connectivityType": "public"}),
         "newState": _state(NAT, "shop-dev-network-nat-a", {"connectivityType": "public"}),
         "detailedDiff": None},
        {"op": "create", "urn": "urn:pulumi:dev::shop::aws:ec2/natGateway:NatGateway::shop-dev-network-nat-b",
         "newState": _state(NAT, "shop-dev-network-nat-b", {"connectivityType": "public"}),
         "detailedDiff": None},
        {"op": "create", "urn": "urn:pulumi:dev::shop::aws:ec2/eip:Eip::shop-dev-network-nat-b",
         "newState": _state(EIP, "shop-dev-network-nat-b", {"domain": "vpc"}),
         "detailedDiff": None},
    ],
    "changeSummary": {"create": 2, "same": 1},
}  # fmt: skip

STAND_IN = """#!/usr/bin/env bash
(IFS=$'\\x1f'; printf '%s\\n' "$*") >> "$PULUMI_CALLS"
case "$*" in
  *"--json"*) cat "$PULUMI_DIGEST" ;;
  *"preview"*"--stack dev"*) printf 'Resources:\\n    + 2 to create\\n    10 unchanged\\n' ;;
  *"preview"*) printf 'Resources:\\n    4 unchanged\\n' ;;
esac
"""


@pytest.fixture
def repo(rendered: dict[str, Path], tmp_path: Path) -> Runner:
    return Runner(rendered["ecs3e"], tmp_path)


def _run(repo: Runner, tmp_path: Path) -> tuple[int, str, dict[str, str], list[str]]:
    repo.pulumi()
    (repo.bin / "pulumi").write_text(STAND_IN)
    digest = tmp_path / "digest.json"
    digest.write_text(json.dumps(DIGEST))
    step = repo.step("preview.yml", "preview", "preview")
    code, log, _ = repo.run(step, STACKS="shared dev", PULUMI_DIGEST=str(digest))
    assert code == 0, log
    code, log, _ = repo.run(repo.step("preview.yml", "preview", "report"), STACKS="shared dev",
                            AWS_REGION="eu-west-1")  # fmt: skip
    calls = (tmp_path / "pulumi-calls").read_text().splitlines()
    return code, log, {"report": (tmp_path / "preview.md").read_text()}, calls


def test_the_comment_shows_the_monthly_change_of_the_changed_stacks(repo: Runner, tmp_path: Path) -> None:
    code, log, out, calls = _run(repo, tmp_path)
    assert code == 0, log
    report = out["report"]
    rates = json.loads((repo.repo / "infra/stacks/cost_rates.json").read_text())["rates"]["eu-west-1"]
    nat, address = float(rates["ec2.nat_gateway_hours"][0]), float(rates["vpc.public_ipv4_hours"][0])
    # before: one NAT gateway, 730 h; after: two, and one public IPv4 address (the NAT's EIP)
    before, after = 730 * nat, 2 * 730 * nat + 730 * address
    assert f"| dev | ${before:,.2f} | ${after:,.2f} | **+${after - before:,.2f}** |" in report
    assert report.index("### Monthly cost change") < report.index("<details>")
    # only the stack with changes is previewed a second time, as JSON with its unchanged resources
    json_runs = [c for c in calls if "--json" in c]
    assert len(json_runs) == 1 and "--show-sames" in json_runs[0] and "dev" in json_runs[0]


def test_no_changes_no_second_preview(repo: Runner, tmp_path: Path) -> None:
    repo.pulumi()
    (repo.bin / "pulumi").write_text(STAND_IN.replace("+ 2 to create", "12 unchanged"))
    step = repo.step("preview.yml", "preview", "preview")
    code, log, _ = repo.run(step, STACKS="shared dev", PULUMI_DIGEST="")
    assert code == 0, log
    code, log, _ = repo.run(repo.step("preview.yml", "preview", "report"), STACKS="shared dev",
                            AWS_REGION="eu-west-1")  # fmt: skip
    assert code == 0, log
    assert "No stack changes: the monthly cost stays as it is." in (tmp_path / "preview.md").read_text()
    assert not any("--json" in c for c in (tmp_path / "pulumi-calls").read_text().splitlines())
