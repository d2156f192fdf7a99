"""The image scan gate: the registry's scan-on-push findings stop a deploy above a severity.

No Pulumi (every generated repository carries it as `infra/stacks/scan.py`; the deploy job runs
`python -m stacks.scan check ...` from `infra/` with the infra venv, before `pulumi up`). The
registry scans every pushed image (`registry.py`: basic scanning, scan on push); this reads the
image's findings (`DescribeImageScanFindings`, waiting while the scan is in progress) and fails
when one is at or above the stage's `scanSeverity` (ECR's severities: CRITICAL, HIGH, MEDIUM,
LOW, INFORMATIONAL; UNDEFINED and Inspector's UNTRIAGED count as INFORMATIONAL; NONE: no
gate), unless the allow-list accepts it.

The allow-list, `security/scan-allowlist.yml` in the repository (`contract.SCAN_ALLOWLIST_FILE`):

    allow:
      - id: CVE-2024-12345          # the finding's name (basic scanning) or vulnerability id
        reason: the affected module is not installed in the image
        expires: 2027-03-31         # ISO date; from that day on the entry fails the gate

An expired entry fails the gate (renew it with a new date and reason, or remove it); an entry
without an id, reason or valid expiry is an error naming the file and the key.

Command line (exit 0: the image may be deployed; 1: findings or expired entries stop it, or
there is no finished scan; 2: bad arguments, settings or allow-list):

    python -m stacks.scan check --repository-url URL --digest sha256:... --stage STAGE \\
        [--stack STACK] [--allowlist PATH] [--wait-seconds 300]

It prints one line per blocking finding, writes a table to `$GITHUB_STEP_SUMMARY`, and
`git_sha=<the commit the image was built from>` to `$GITHUB_OUTPUT` (its git SHA tag).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .contract import GIT_SHA, SCAN_ALLOWLIST_FILE
from .github_api import append_to

# The ECR calls the check makes: the deploy role is granted them on the project's repository
# (permissions.py) and the IAM coverage check reads them here.
SCAN_ACTIONS = ("ecr:DescribeImageScanFindings", "ecr:DescribeImages")
COMMAND_ACTIONS = {"check": SCAN_ACTIONS}
SEVERITY_KEY = "scanSeverity"
# Most severe first: ECR's FindingSeverity enum (botocore's ecr model, 2015-09-21) less UNDEFINED.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
OFF = "NONE"
_UNRANKED = ("UNDEFINED", "UNTRIAGED")  # basic's unknown severity; Inspector's not yet rated
_WAITING = ("IN_PROGRESS", "PENDING")  # ScanStatus values that finish by themselves
POLL_SECONDS = 10


class AllowlistError(ValueError):
    """A malformed allow-list: one line naming the file, the key and the fix."""


class ScanUnavailable(Exception):
    """The image has no finished scan to judge."""


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    package: str = ""

    @property
    def rank(self) -> int:
        severity = "INFORMATIONAL" if self.severity in _UNRANKED else self.severity
        return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


@dataclass(frozen=True)
class Allowed:
    id: str
    reason: str
    expires: date


@dataclass
class Result:
    threshold: str
    blocking: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, Allowed]] = field(default_factory=list)
    expired: list[Allowed] = field(default_factory=list)
    below: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.expired

    def lines(self) -> list[str]:
        found = [f"{f.severity} {f.id}{f' in {f.package}' if f.package else ''} is at or above "
                 f"{self.threshold}: fix the image, or accept it in {SCAN_ALLOWLIST_FILE} with a "
                 "reason and an expiry date" for f in self.blocking]  # fmt: skip
        found += [f"{SCAN_ALLOWLIST_FILE}: the entry for {a.id} expired on {a.expires}: renew it "
                  "with a new date and reason, or remove it" for a in self.expired]  # fmt: skip
        return found

    def summary(self) -> str:
        counts = f"{len(self.blocking)} blocking, {len(self.allowed)} allowed, {len(self.below)} below"
        return f"scan gate ({self.threshold}): {counts}; {'passed' if self.passed else 'failed'}"

    def table(self) -> str:
        rows = [("blocking", f) for f in self.blocking] + [
            ("allowed: " + a.reason, f) for f, a in self.allowed]  # fmt: skip
        text = [f"### Image scan: {self.summary()}", ""]
        if rows:
            text += ["| finding | severity | package | verdict |", "|---|---|---|---|"]
            text += [f"| {f.id} | {f.severity} | {f.package} | {v} |" for v, f in rows]
        return "\n".join([*text, *(f"- {line}" for line in self.lines()[len(self.blocking):])])


def load_allowlist(path: Path, *, label: str = SCAN_ALLOWLIST_FILE) -> list[Allowed]:
    """The allow-list's entries ([] when the file does not exist)."""
    import yaml  # the infra venv has it (pulumi requires PyYAML)

    if not path.is_file():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise AllowlistError(f"{label}: not YAML{where} ({problem}); fix the syntax") from None
    if document is None:
        return []
    if not isinstance(document, dict) or set(document) - {"allow"}:
        raise AllowlistError(f"{label}: expected one key, allow (a list of id, reason, expires)")
    entries = document.get("allow") or []
    if not isinstance(entries, list):
        raise AllowlistError(f"{label}: allow: expected a list of entries (id, reason, expires)")
    return [_entry(label, index, entry) for index, entry in enumerate(entries)]


def _entry(label: str, index: int, entry: Any) -> Allowed:
    where = f"{label}: allow[{index}]"
    if not isinstance(entry, dict):
        raise AllowlistError(f"{where}: expected a mapping with id, reason and expires")
    unknown = sorted(set(entry) - {"id", "reason", "expires"})
    if unknown:
        raise AllowlistError(f"{where}.{unknown[0]}: not a key of an entry (id, reason, expires)")
    ident, reason, expires = (entry.get(k) for k in ("id", "reason", "expires"))
    if not isinstance(ident, str) or not ident.strip():
        raise AllowlistError(f"{where}.id: missing; name the finding (e.g. CVE-2024-12345)")
    if not isinstance(reason, str) or not reason.strip():
        raise AllowlistError(f"{where}.reason: missing for {ident}; say why it is acceptable")
    if expires is None:
        raise AllowlistError(f"{where}.expires: missing for {ident}; add a date (YYYY-MM-DD)")
    if isinstance(expires, datetime):
        expires = expires.date()
    elif not isinstance(expires, date):
        try:
            expires = date.fromisoformat(str(expires))
        except ValueError:
            raise AllowlistError(
                f"{where}.expires: '{expires}' is not a date; use YYYY-MM-DD") from None
    return Allowed(ident.strip(), reason.strip(), expires)


def evaluate(findings: Sequence[Finding], threshold: str, allowlist: Sequence[Allowed],
             today: date) -> Result:  # fmt: skip
    """Which findings stop the deploy at `threshold` (a severity, or NONE), less the allowed."""
    if threshold != OFF and threshold not in SEVERITIES:
        raise ValueError(f"{SEVERITY_KEY}: '{threshold}' is not one of {', '.join(SEVERITIES)}, {OFF}")
    result = Result(threshold)
    result.expired = [a for a in allowlist if a.expires <= today and threshold != OFF]
    valid = {a.id: a for a in allowlist if a.expires > today}
    limit = len(SEVERITIES) if threshold == OFF else SEVERITIES.index(threshold)
    for finding in findings:
        if finding.rank > limit or threshold == OFF:
            result.below.append(finding)
        elif finding.id in valid:
            result.allowed.append((finding, valid[finding.id]))
        else:
            result.blocking.append(finding)
    return result


def _finding(raw: dict[str, Any], enhanced: bool) -> Finding:
    if not enhanced:
        package = next((a.get("value", "") for a in raw.get("attributes") or []
                        if a.get("key") == "package_name"), "")  # fmt: skip
        return Finding(str(raw.get("name") or ""), str(raw.get("severity") or "UNDEFINED"), package)
    details = raw.get("packageVulnerabilityDetails") or {}
    packages = ", ".join(p.get("name", "") for p in details.get("vulnerablePackages") or [])
    ident = details.get("vulnerabilityId") or raw.get("title") or raw.get("findingArn") or ""
    return Finding(str(ident), str(raw.get("severity") or "UNTRIAGED"), packages)


def read_findings(
    client: Any, repository: str, digest: str, *, wait_seconds: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Finding]:  # fmt: skip
    """The image's findings once its scan is complete (waiting up to `wait_seconds`)."""
    import botocore.exceptions as bx

    waited = 0.0
    while True:
        try:
            pages = list(client.get_paginator("describe_image_scan_findings").paginate(
                repositoryName=repository, imageId={"imageDigest": digest}))  # fmt: skip
        except bx.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ScanNotFoundException":
                raise ScanUnavailable(
                    f"the registry has no scan of {digest[:19]}: turn scan on push on "
                    "(the shared stack's registry scanning configuration) and push again"
                ) from None
            raise
        status = (pages[0].get("imageScanStatus") or {}) if pages else {}
        state = status.get("status", "")
        if state == "COMPLETE":
            break
        if state not in _WAITING or waited >= wait_seconds:
            why = status.get("description") or state or "no status"
            raise ScanUnavailable(
                f"the scan of {digest[:19]} is {state or 'missing'} ({why})"
                + (f" after {int(waited)} s" if state in _WAITING else "")
                + ": wait for it and run the deploy again")  # fmt: skip
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS
    found = []
    for page in pages:
        results = page.get("imageScanFindings") or {}
        found += [_finding(f, False) for f in results.get("findings") or []]
        found += [_finding(f, True) for f in results.get("enhancedFindings") or []]
    return found


def image_git_sha(client: Any, repository: str, digest: str) -> str | None:
    """The commit the image was built from: its git SHA tag (the build tags each image so)."""
    details = client.describe_images(repositoryName=repository,
                                     imageIds=[{"imageDigest": digest}]).get("imageDetails") or []  # fmt: skip
    tags = details[0].get("imageTags") or [] if details else []
    return next((t for t in tags if GIT_SHA.match(t)), None)


# --- the command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.scan",
                                     description="The image scan gate (run from infra/).")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="may this image be deployed to this stage?")
    check.add_argument("--repository-url", required=True, help="the shared stack's repositoryUrl")
    check.add_argument("--digest", required=True)
    check.add_argument("--stage", required=True)
    check.add_argument("--stack", default="", help="the stage's stack (default: the stage)")
    check.add_argument("--infra", default=".", type=Path, help="the Pulumi project folder")
    check.add_argument("--allowlist", default=None, type=Path,
                       help=f"default: ../{SCAN_ALLOWLIST_FILE} (from infra/)")  # fmt: skip
    check.add_argument("--wait-seconds", default=300, type=float)
    return parser


def main(argv: Sequence[str] | None = None, *, client: Any = None, today: date | None = None,
         sleep: Callable[[float], None] = time.sleep) -> int:  # fmt: skip
    from .config_schema import BY_KEY, parse
    from .contract import DIGEST
    from .ecr import RegistryError, parse_repository_url, registry_errors
    from .gates import stack_setting

    args = _parser().parse_args(argv)
    try:
        if not DIGEST.match(args.digest):
            raise ValueError(f"'{args.digest}' is not an image digest (sha256:<64 hex digits>)")
        name, region = parse_repository_url(args.repository_url)
        raw = stack_setting(args.infra, args.stack or args.stage, SEVERITY_KEY)
        threshold = str(parse(BY_KEY[SEVERITY_KEY], raw) if raw is not None
                        else BY_KEY[SEVERITY_KEY].default)  # fmt: skip
        allowlist = load_allowlist(args.allowlist or args.infra.resolve().parent / SCAN_ALLOWLIST_FILE)
    except ValueError as exc:
        print(f"::error title=image scan::{exc}")
        return 2
    try:
        if client is None:
            import boto3

            client = boto3.client("ecr", region_name=region)
        with registry_errors(f"reading the image {args.digest[:19]} from {name}"):
            sha = image_git_sha(client, name, args.digest)
            findings = [] if threshold == OFF else read_findings(
                client, name, args.digest, wait_seconds=args.wait_seconds, sleep=sleep)  # fmt: skip
    except (RegistryError, ScanUnavailable) as exc:
        print(f"::error title=image scan::{exc}")
        return 1
    if sha:
        append_to("GITHUB_OUTPUT", f"git_sha={sha}")
    result = evaluate(findings, threshold, allowlist, today or datetime.now(UTC).date())
    for line in result.lines():
        print(f"::error title=image scan::{line}")
    print(result.summary())
    append_to("GITHUB_STEP_SUMMARY", result.table())
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
