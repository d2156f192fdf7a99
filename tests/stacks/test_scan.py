"""The image scan gate (stacks/scan.py): thresholds, the allow-list, and the registry's answers
through botocore's Stubber (requests and answers checked against botocore's ecr model)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stacks import scan
from stacks.contract import SCAN_ALLOWLIST_FILE

URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"
D = "sha256:" + "ab" * 32
SHA = "c" * 40
TODAY = date(2027, 1, 15)
TEMPLATE_ALLOWLIST = Path(__file__).resolve().parents[2] / "templates/service/template" / (
    SCAN_ALLOWLIST_FILE)  # fmt: skip


def finding(name: str, severity: str) -> dict[str, Any]:
    return {"name": name, "severity": severity,
            "attributes": [{"key": "package_name", "value": "openssl"}]}  # fmt: skip


def findings_page(status: str, *found: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "repositoryName": "shop", "imageId": {"imageDigest": D},
        "imageScanStatus": {"status": status, "description": f"scan {status.lower()}"},
    }  # fmt: skip
    if status == "COMPLETE":
        page["imageScanFindings"] = {"findings": list(found)}
    if token:
        page["nextToken"] = token
    return page


def stubbed(*pages: dict[str, Any], scan_missing: bool = False) -> Any:
    client = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="y")  # fmt: skip
    stub = Stubber(client)
    stub.add_response("describe_images", {"imageDetails": [
        {"imageDigest": D, "imageTags": [SHA, "deployed.dev." + SHA]}]},
        {"repositoryName": "shop", "imageIds": [{"imageDigest": D}]})  # fmt: skip
    if scan_missing:
        stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan")
    for page in pages:
        stub.add_response("describe_image_scan_findings", page)
    stub.activate()
    return client


def allowlist(tmp_path: Path, text: str) -> Path:
    path = tmp_path / SCAN_ALLOWLIST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def infra(tmp_path: Path, severity: str | None = "HIGH") -> Path:
    folder = tmp_path / "infra"
    folder.mkdir(exist_ok=True)
    body = f"  shop:scanSeverity: {severity}\n" if severity else "  shop:region: eu-west-1\n"
    (folder / "Pulumi.dev.yaml").write_text(f"config:\n{body}")
    return folder


def run(tmp_path: Path, client: Any, capsys: pytest.CaptureFixture[str], *extra: str,
        sleeps: list[float] | None = None) -> tuple[int, str]:  # fmt: skip
    code = scan.main(["check", "--repository-url", URL, "--digest", D, "--stage", "dev",
                      "--infra", str(tmp_path / "infra"), *extra], client=client, today=TODAY,
                     sleep=(sleeps if sleeps is not None else []).append)  # fmt: skip
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("threshold", "blocking"),
    [("CRITICAL", ["CVE-1"]), ("HIGH", ["CVE-1", "CVE-2"]),
     ("LOW", ["CVE-1", "CVE-2", "CVE-3", "CVE-4"]), ("INFORMATIONAL", ["CVE-1", "CVE-2", "CVE-3",
      "CVE-4", "CVE-5"]), ("NONE", [])],
)  # fmt: skip
def test_the_threshold_is_the_lowest_severity_that_stops(threshold: str, blocking: list[str]) -> None:
    found = [scan.Finding("CVE-1", "CRITICAL"), scan.Finding("CVE-2", "HIGH"),
             scan.Finding("CVE-3", "MEDIUM"), scan.Finding("CVE-4", "LOW"),
             scan.Finding("CVE-5", "UNDEFINED")]  # fmt: skip
    result = scan.evaluate(found, threshold, [], TODAY)
    assert [f.id for f in result.blocking] == blocking
    assert result.passed is (not blocking)


def test_an_allowed_finding_passes_until_its_entry_expires(tmp_path: Path) -> None:
    path = allowlist(tmp_path, "allow:\n  - id: CVE-1\n    reason: not reachable\n"
                               "    expires: 2027-01-16\n")  # fmt: skip
    entries = scan.load_allowlist(path)
    found = [scan.Finding("CVE-1", "CRITICAL")]
    assert scan.evaluate(found, "HIGH", entries, TODAY).passed
    expired = scan.evaluate(found, "HIGH", entries, date(2027, 1, 16))
    assert not expired.passed and [f.id for f in expired.blocking] == ["CVE-1"]
    assert expired.lines()[1] == (f"{SCAN_ALLOWLIST_FILE}: the entry for CVE-1 expired on "
                                  "2027-01-16: renew it with a new date and reason, or remove it")  # fmt: skip
    # an expired entry fails even when its finding is gone
    assert not scan.evaluate([], "HIGH", entries, date(2027, 2, 1)).passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("allow:\n  - id: CVE-1\n    reason: r\n",
         "allow[0].expires: missing for CVE-1; add a date (YYYY-MM-DD)"),
        ("allow:\n  - id: CVE-1\n    reason: r\n    expires: next year\n",
         "allow[0].expires: 'next year' is not a date; use YYYY-MM-DD"),
        ("allow:\n  - id: CVE-1\n    expires: 2027-01-01\n",
         "allow[0].reason: missing for CVE-1; say why it is acceptable"),
        ("allow:\n  - reason: r\n    expires: 2027-01-01\n",
         "allow[0].id: missing; name the finding (e.g. CVE-2024-12345)"),
        ("allow:\n  - id: CVE-1\n    reason: r\n    expires: 2027-01-01\n    until: x\n",
         "allow[0].until: not a key of an entry (id, reason, expires)"),
        ("allow: CVE-1\n", "allow: expected a list of entries (id, reason, expires)"),
        ("allow: [\n", "not YAML"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(scan.AllowlistError) as caught:
        scan.load_allowlist(allowlist(tmp_path, text))
    assert str(caught.value).startswith(f"{SCAN_ALLOWLIST_FILE}: ")
    assert message in str(caught.value) and "\n" not in str(caught.value).strip()


def test_the_template_s_allowlist_is_valid_and_empty() -> None:
    assert scan.load_allowlist(TEMPLATE_ALLOWLIST) == []


def test_the_command_line_waits_for_the_scan_and_stops_on_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    infra(tmp_path)
    allowlist(tmp_path, "allow:\n  - id: CVE-9\n    reason: r\n    expires: 2027-06-01\n")
    output, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    client = stubbed(
        findings_page("IN_PROGRESS"),
        findings_page("COMPLETE", finding("CVE-1", "HIGH"), finding("CVE-9", "CRITICAL"),
                      token="t"),
        findings_page("COMPLETE", finding("CVE-3", "MEDIUM")),
    )  # fmt: skip
    sleeps: list[float] = []
    code, out = run(tmp_path, client, capsys, sleeps=sleeps)
    assert code == 1 and sleeps == [scan.POLL_SECONDS]
    assert out.splitlines() == [
        f"::error title=image scan::HIGH CVE-1 in openssl is at or above HIGH: fix the image, or "
        f"accept it in {SCAN_ALLOWLIST_FILE} with a reason and an expiry date",
        "scan gate (HIGH): 1 blocking, 1 allowed, 1 below; failed",
    ]
    assert output.read_text() == f"git_sha={SHA}\n"
    assert "| CVE-9 | CRITICAL | openssl | allowed: r |" in summary.read_text()


def test_the_command_line_passes_a_clean_image_and_uses_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra(tmp_path, severity=None)  # the default: CRITICAL
    client = stubbed(findings_page("COMPLETE", finding("CVE-1", "HIGH")))
    assert run(tmp_path, client, capsys) == (
        0, "scan gate (CRITICAL): 0 blocking, 0 allowed, 1 below; passed\n")  # fmt: skip


@pytest.mark.parametrize(
    ("pages", "missing", "message"),
    [
        ((), True, "the registry has no scan of sha256:abababababab: turn scan on push on"),
        ((findings_page("FAILED"),), False, "the scan of sha256:abababababab is FAILED (scan failed)"),
        ((findings_page("IN_PROGRESS"),) * 4, False,
         "the scan of sha256:abababababab is IN_PROGRESS (scan in_progress) after 30 s"),
    ],
)
def test_no_finished_scan_stops_the_deploy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pages: tuple[dict[str, Any], ...],
    missing: bool, message: str,
) -> None:  # fmt: skip
    infra(tmp_path)
    code, out = run(tmp_path, stubbed(*pages, scan_missing=missing), capsys, "--wait-seconds", "30")
    assert code == 1 and out.startswith(f"::error title=image scan::{message}")


def test_bad_settings_and_allowlists_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra(tmp_path, severity="SEVERE")
    code, out = run(tmp_path, None, capsys)
    assert code == 2 and out.startswith("::error title=image scan::scanSeverity: 'SEVERE'")
    infra(tmp_path)
    allowlist(tmp_path, "allow:\n  - id: CVE-1\n    reason: r\n")
    code, out = run(tmp_path, None, capsys)
    assert (code, out) == (2, f"::error title=image scan::{SCAN_ALLOWLIST_FILE}: allow[0].expires: "
                              "missing for CVE-1; add a date (YYYY-MM-DD)\n")  # fmt: skip
