"""Deployment freezes: windows in which a stage takes no deploy unless someone overrides with a reason.

A stage lists its windows in its stack config, key `freezeWindows` (`Pulumi.<stage>.yaml`), one
entry a line (or `;` between entries), each optionally named (`LABEL: ` first):

    shop:freezeWindows: |
      holidays: 2026-12-20T00:00/2027-01-04T00:00 Europe/Berlin
      weekend: Fri 16:00-Mon 08:00 Europe/Berlin
      nights: daily 22:00-06:00 UTC

- dated: `START/END ZONE`, START and END as `YYYY-MM-DDTHH:MM` in that zone (END excluded);
- weekly: `DAY HH:MM-DAY HH:MM ZONE` (Mon ... Sun); it may run across the week's end;
- daily: `daily HH:MM-HH:MM ZONE`; an END before START runs across midnight.

ZONE is an IANA time zone name (`Europe/Berlin`, `UTC`). Recurring windows follow the zone's wall
clock, so `Fri 16:00` stays 16:00 local on both sides of a daylight-saving change.

API (the deploy workflow, `bootstrap up`/`promote` and `status` use it):

- `parse_windows(value) -> list[Window]`: the windows of a `freezeWindows` value; a bad entry
  raises `config_schema.Invalid` naming the key, the entry and the fix (`problems` lists them all);
- `active(windows, now) -> Window | None`: the window `now` is in (the one ending last);
- `upcoming(windows, now, horizon) -> list[Window]`: the windows starting within `horizon`.
  Both return concrete windows: `start` and `end` aware datetimes, `label`, and `repeat` the rule's.

Command line (the deploy job, from `infra/` with the infra venv, which has PyYAML through pulumi):

    python -m stacks.freeze check --stage STAGE [--stack STACK] [--override-reason TEXT]

Exit 0 when the stage is not frozen, or is frozen and a reason overrides it (a warning, and
`frozen=LABEL` and `override=REASON` in GITHUB_OUTPUT for the deployment's record); 1 when it is
frozen without a reason (an error naming the window and how to override); 2 for a bad config
(one `::error` line per bad entry). Pure Python: the stdlib alone (zoneinfo), no Pulumi.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_schema import Invalid
from .github_api import step_outputs

KEY = "freezeWindows"
COMMAND_ACTIONS: dict[str, tuple[str, ...]] = {"check": ()}  # no AWS call (the IAM check reads it)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FORMATS = (
    "START/END ZONE (2026-12-20T00:00/2027-01-04T00:00 Europe/Berlin), "
    "DAY HH:MM-DAY HH:MM ZONE (Fri 16:00-Mon 08:00 Europe/Berlin) or "
    "daily HH:MM-HH:MM ZONE (daily 22:00-06:00 UTC)"
)
_LABEL = re.compile(r"^(?P<label>[A-Za-z][\w .-]*?):\s+(?P<rest>.+)$")
_STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"
_DATED = re.compile(rf"^(?P<start>{_STAMP})\s*/\s*(?P<end>{_STAMP})$")
_CLOCK = r"\d{1,2}:\d{2}"
_WEEKLY = re.compile(
    rf"^(?P<sday>[A-Za-z]{{3}})\s+(?P<stime>{_CLOCK})\s*-\s*(?P<eday>[A-Za-z]{{3}})\s+(?P<etime>{_CLOCK})$"
)
_DAILY = re.compile(rf"^daily\s+(?P<stime>{_CLOCK})\s*-\s*(?P<etime>{_CLOCK})$", re.IGNORECASE)
# Recurring windows are kept as their occurrence in this reference week (a Monday), in wall time.
_REFERENCE_MONDAY = date(2024, 1, 1)
Bad = Callable[..., Invalid]  # (problem[, fix]) -> the error for the entry being read


@dataclass(frozen=True)
class Window:
    """A freeze window. As parsed, a recurring one (`repeat` "weekly" or "daily") holds its
    occurrence in a reference week; `active` and `upcoming` return real occurrences."""

    label: str
    start: datetime  # aware, in the window's zone
    end: datetime  # aware, excluded
    entry: str  # the entry as written
    repeat: str | None = None  # None (dated), "weekly" or "daily"

    def contains(self, now: datetime) -> bool:
        return _utc(self.start) <= _utc(now) < _utc(self.end)

    def describe(self) -> str:
        """`weekend (Fri 16:00-Mon 08:00 Europe/Berlin): 2026-12-04 16:00 CET to 2026-12-07 08:00 CET`."""
        fmt = "%Y-%m-%d %H:%M %Z"
        return f"{self.label} ({self.entry}): {self.start:{fmt}} to {self.end:{fmt}}"


def parse_windows(value: object, key: str = KEY) -> list[Window]:
    """The windows of a `freezeWindows` value (None or "" for none); raises `Invalid` for the
    first bad entry."""
    found = problems(value, key)
    if found:
        raise found[0]
    return [_entry(text, index, key) for index, text in enumerate(_entries(value), 1)]


def problems(value: object, key: str = KEY) -> list[Invalid]:
    """Every bad entry of a `freezeWindows` value, one `Invalid` each."""
    found = []
    for index, text in enumerate(_entries(value), 1):
        try:
            _entry(text, index, key)
        except Invalid as invalid:
            found.append(invalid)
    return found


def active(windows: Iterable[Window], now: datetime) -> Window | None:
    """The window `now` (aware) is in; of several, the one that ends last."""
    hits = [w for w in _occurrences(windows, now, timedelta(0)) if w.contains(now)]
    return max(hits, key=lambda w: _utc(w.end), default=None)


def upcoming(windows: Iterable[Window], now: datetime, horizon: timedelta) -> list[Window]:
    """The windows that start after `now` and no later than `now + horizon`, soonest first."""
    later = _utc(now) + horizon
    found = [w for w in _occurrences(windows, now, horizon) if _utc(now) < _utc(w.start) <= later]
    return sorted(found, key=lambda w: (_utc(w.start), w.label))


# --- parsing ------------------------------------------------------------------------------------


def _entries(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items: list[str] = [str(v) for v in value]
    else:
        items = re.split(r"[;\n]", str(value))
    return [item.strip() for item in items if item.strip() and not item.strip().startswith("#")]


def _entry(text: str, index: int, key: str) -> Window:
    def bad(problem: str, fix: str = f"write {FORMATS}") -> Invalid:
        return Invalid(key, f"entry {index} '{text}': {problem}", fix)

    label, rest = "", text
    named = _LABEL.match(text)
    if named:
        label, rest = named["label"].strip(), named["rest"].strip()
    when, _, zone_name = rest.rpartition(" ")
    if not when or re.search(r"[\d:]", zone_name):
        raise bad(
            "names no time zone", "end it with an IANA time zone such as Europe/Berlin or UTC"
        )
    zone = _zone(zone_name, bad)
    when = when.strip()
    if dated := _DATED.match(when):
        start = _stamp(dated["start"], zone, bad)
        end = _stamp(dated["end"], zone, bad)
        if end <= start:
            raise bad("ends before it starts", "put the earlier time first")
        return Window(label or f"freeze {index}", start, end, rest)
    if weekly := _WEEKLY.match(when):
        start_day, end_day = _day(weekly["sday"], bad), _day(weekly["eday"], bad)
        start_time, end_time = _clock(weekly["stime"], bad), _clock(weekly["etime"], bad)
        span = timedelta(days=(end_day - start_day) % 7)
        span += _as_delta(end_time) - _as_delta(start_time)
        if span == timedelta(0):
            raise bad("starts and ends at the same time", "give the window a length")
        if span < timedelta(0):
            span += timedelta(days=7)
        first = datetime.combine(_REFERENCE_MONDAY + timedelta(days=start_day), start_time, zone)
        return Window(label or f"freeze {index}", first, _wall(first, span), rest, "weekly")
    if daily := _DAILY.match(when):
        start_time, end_time = _clock(daily["stime"], bad), _clock(daily["etime"], bad)
        span = _as_delta(end_time) - _as_delta(start_time)
        if span == timedelta(0):
            raise bad("starts and ends at the same time", "give the window a length")
        if span < timedelta(0):
            span += timedelta(days=1)
        first = datetime.combine(_REFERENCE_MONDAY, start_time, zone)
        return Window(label or f"freeze {index}", first, _wall(first, span), rest, "daily")
    raise bad("is not a freeze window")


def _zone(name: str, bad: Bad) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad(
            f"'{name}' is not a time zone",
            "end it with an IANA time zone such as Europe/Berlin or UTC",
        ) from None


def _stamp(text: str, zone: ZoneInfo, bad: Bad) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise bad(f"'{text}' is not a date and time", "write YYYY-MM-DDTHH:MM") from None


def _day(text: str, bad: Bad) -> int:
    names = [d.lower() for d in DAYS]
    if text.lower() not in names:
        raise bad(f"'{text}' is not a day", f"use one of {', '.join(DAYS)}")
    return names.index(text.lower())


def _clock(text: str, bad: Bad) -> time:
    hours, _, minutes = text.partition(":")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise bad(f"'{text}' is not a time of day", "use HH:MM from 00:00 to 23:59")
    return time(int(hours), int(minutes))


def _as_delta(clock: time) -> timedelta:
    return timedelta(hours=clock.hour, minutes=clock.minute)


def _wall(start: datetime, span: timedelta) -> datetime:
    """`start` plus `span` on the wall clock of start's zone (Fri 16:00 + 3 days - 8 h is Mon
    08:00 local, whatever daylight saving did in between)."""
    return (start.replace(tzinfo=None) + span).replace(tzinfo=start.tzinfo)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("freeze windows compare aware datetimes only")
    # Aware datetimes of one tzinfo compare by wall time; in UTC they compare as instants.
    return moment.astimezone(UTC)


# --- occurrences --------------------------------------------------------------------------------


def _occurrences(windows: Iterable[Window], now: datetime, horizon: timedelta) -> list[Window]:
    """Every occurrence that may overlap [now - 8 days, now + horizon]."""
    found: list[Window] = []
    for window in windows:
        if window.repeat is None:
            found.append(window)
            continue
        zone = window.start.tzinfo
        step = 7 if window.repeat == "weekly" else 1
        local_now = _utc(now).astimezone(zone).replace(tzinfo=None)
        offset = (local_now.date() - window.start.date()).days
        day = window.start.date() + timedelta(days=offset - offset % step - 7)
        last = (local_now + horizon).date()
        span = window.end.replace(tzinfo=None) - window.start.replace(tzinfo=None)
        while day <= last:
            start = datetime.combine(day, window.start.timetz())
            found.append(replace(window, start=start, end=_wall(start, span)))
            day += timedelta(days=step)
    return found


# --- command line -------------------------------------------------------------------------------


def configured(stack_file: Path, key: str = KEY) -> tuple[str, object]:
    """The qualified key (`shop:freezeWindows`) and value of a setting of the project's namespace
    in a stack's settings file (`key` and None when the file does not set it)."""
    import yaml  # the infra venv has it (pulumi requires PyYAML)

    document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    for name, value in (document.get("config") or {}).items():
        namespace, _, own = str(name).rpartition(":")
        if own == key and namespace not in ("", "aws", "kubernetes"):
            return str(name), value
    return key, None


def _check(args: argparse.Namespace, now: datetime) -> int:
    stack = args.stack or args.stage
    path = Path(args.infra) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        print(f"::error title=freeze::{path} does not exist; name the stage's stack with --stack")
        return 2
    key, value = configured(path)
    bad = problems(value, key)
    for invalid in bad:
        print(f"::error title=freeze,file={path}::{invalid}")
    if bad:
        return 2
    window = active(parse_windows(value, key), now)
    if window is None:
        print(f"{args.stage} is not frozen")
        step_outputs(frozen="", override="")
        return 0
    reason = (args.override_reason or "").strip()
    if not reason:
        print(
            f"::error title=freeze::{args.stage} is frozen: {window.describe()}; deploy after it "
            "ends, or run the promote workflow with a reason to override the freeze"
        )
        return 1
    print(
        f"::warning title=freeze::{args.stage} is frozen ({window.describe()}); overridden: {reason}"
    )
    step_outputs(frozen=window.label, override=reason)
    return 0


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.freeze")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="refuse a deploy of a frozen stage without a reason")
    check.add_argument("--stage", required=True)
    check.add_argument("--stack", default="", help="the stage's stack (default: the stage)")
    check.add_argument("--override-reason", default="", help="deploy inside a window: why")
    check.add_argument("--infra", default=".", help="the Pulumi project folder (default: .)")
    args = parser.parse_args(argv)
    return _check(args, now or datetime.now(UTC))


if __name__ == "__main__":
    sys.exit(main())
