"""Deployment freezes (stacks/freeze.py): windows parsed from a stage's config, checked with a
fixed clock; the deploy job's `python -m stacks.freeze check`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stacks import config_schema as schema
from stacks.freeze import active, main, parse_windows, problems, upcoming

BERLIN = ZoneInfo("Europe/Berlin")
WINDOWS = """\
holidays: 2026-12-20T00:00/2027-01-04T00:00 Europe/Berlin
weekend: Fri 16:00-Mon 08:00 Europe/Berlin
nights: daily 22:00-06:00 UTC
"""


def at(text: str, zone: ZoneInfo | None = None) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone or UTC)


def label(moment: datetime, value: str = WINDOWS) -> str | None:
    window = active(parse_windows(value), moment)
    return window.label if window else None


def test_dated_window_in_its_zone_end_excluded() -> None:
    windows = "2026-12-20T00:00/2027-01-04T00:00 Europe/Berlin"
    assert label(at("2026-12-19T22:59"), windows) is None  # 23:59 in Berlin
    assert label(at("2026-12-19T23:00"), windows) == "freeze 1"  # midnight in Berlin
    assert label(at("2027-01-03T22:59:59"), windows) == "freeze 1"
    assert label(at("2027-01-03T23:00"), windows) is None


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-04T15:59", None),  # Friday, before
        ("2026-12-04T16:00", "weekend"),
        ("2026-12-05T23:59", "weekend"),  # Saturday night: across midnight
        ("2026-12-06T12:00", "weekend"),  # Sunday: across the week's end
        ("2026-12-07T07:59", "weekend"),  # Monday morning
        ("2026-12-07T08:00", None),  # end excluded
        ("2026-12-09T12:00", None),  # Wednesday
    ],
)
def test_weekly_window_across_midnight_and_the_weeks_end(moment: str, expected: str | None) -> None:
    assert label(at(moment, BERLIN), "weekend: Fri 16:00-Mon 08:00 Europe/Berlin") == expected


def test_weekly_window_keeps_wall_time_across_daylight_saving_changes() -> None:
    weekend = "weekend: Fri 16:00-Mon 08:00 Europe/Berlin"
    # Autumn: CEST (UTC+2) on Friday 2026-10-23, CET (UTC+1) from Sunday 2026-10-25.
    assert label(at("2026-10-23T13:59"), weekend) is None
    assert label(at("2026-10-23T14:00"), weekend) == "weekend"  # 16:00 CEST
    assert label(at("2026-10-26T06:59"), weekend) == "weekend"  # 07:59 CET
    assert label(at("2026-10-26T07:00"), weekend) is None  # 08:00 CET
    # Spring: CET on Friday 2026-03-27, CEST from Sunday 2026-03-29.
    assert label(at("2026-03-27T14:59"), weekend) is None
    assert label(at("2026-03-27T15:00"), weekend) == "weekend"  # 16:00 CET
    assert label(at("2026-03-30T05:59"), weekend) == "weekend"  # 07:59 CEST
    assert label(at("2026-03-30T06:00"), weekend) is None  # 08:00 CEST
    window = active(parse_windows(weekend), at("2026-10-24T12:00"))
    assert window is not None
    assert window.end - window.start == timedelta(days=2, hours=16)  # same tzinfo: wall clock
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(
        hours=65
    )  # the hour gained


def test_daily_window_across_midnight() -> None:
    nights = "daily 22:00-06:00 UTC"
    assert label(at("2026-06-01T21:59"), nights) is None
    assert label(at("2026-06-01T22:00"), nights) == "freeze 1"
    assert label(at("2026-06-02T05:59"), nights) == "freeze 1"
    assert label(at("2026-06-02T06:00"), nights) is None


def test_overlapping_windows_the_one_ending_last_wins() -> None:
    # Saturday 2026-12-26 in Berlin: the weekend and the holidays both hold; holidays end later.
    assert label(at("2026-12-26T12:00", BERLIN)) == "holidays"
    assert label(at("2026-12-11T23:30")) == "weekend"  # Friday night: nights end earlier


def test_upcoming_lists_the_windows_starting_within_the_horizon() -> None:
    now = at("2026-12-16T12:00", BERLIN)  # a Wednesday
    found = upcoming(parse_windows(WINDOWS), now, timedelta(days=5))
    assert [(w.label, w.start.astimezone(UTC)) for w in found] == [
        ("nights", at("2026-12-16T22:00")),
        ("nights", at("2026-12-17T22:00")),
        ("weekend", at("2026-12-18T15:00")),
        ("nights", at("2026-12-18T22:00")),
        ("nights", at("2026-12-19T22:00")),
        ("holidays", at("2026-12-19T23:00")),
        ("nights", at("2026-12-20T22:00")),
    ]
    assert all(w.start.tzinfo is not None and w.end.tzinfo is not None for w in found)
    assert found[2].repeat == "weekly" and found[5].repeat is None
    assert upcoming(parse_windows(WINDOWS), now, timedelta(0)) == []


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        active(parse_windows(WINDOWS), datetime(2026, 12, 24, 12, 0))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("Fri 16:00-Mon", "names no time zone"),
        ("Fri 16:00-Mon 08:00", "names no time zone"),
        ("Fri 16:00-Mon 08:00 Mars/Base", "'Mars/Base' is not a time zone"),
        ("Fry 16:00-Mon 08:00 UTC", "'Fry' is not a day"),
        ("Fri 25:00-Mon 08:00 UTC", "'25:00' is not a time of day"),
        ("Sat 10:00-Sat 10:00 UTC", "starts and ends at the same time"),
        ("2027-01-04T00:00/2026-12-20T00:00 UTC", "ends before it starts"),
        ("2026-02-30T00:00/2026-03-02T00:00 UTC", "'2026-02-30T00:00' is not a date and time"),
        ("weekends UTC", "is not a freeze window"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_the_key_entry_and_fix(
    entry: str, problem: str
) -> None:
    value = f"ok: daily 22:00-06:00 UTC\n{entry}"
    [invalid] = problems(value, "shop:freezeWindows")
    text = str(invalid)
    assert text.startswith(f"shop:freezeWindows: entry 2 '{entry}': {problem}; ")
    assert "\n" not in text
    with pytest.raises(schema.Invalid, match="entry 2"):
        parse_windows(value)


def test_every_bad_entry_is_reported_and_the_schema_refuses_the_value() -> None:
    value = "Fri 16:00-Mon; daily 22:00-06:00 UTC; Fry 16:00-Mon 08:00 UTC"
    assert [str(i).split(":")[1].strip() for i in problems(value)] == [
        "entry 1 'Fri 16",
        "entry 3 'Fry 16",
    ]
    with pytest.raises(schema.Invalid, match="freezeWindows: entry 1"):
        schema.parse(schema.BY_KEY["freezeWindows"], value)
    assert schema.parse(schema.BY_KEY["freezeWindows"], None) == ""
    assert parse_windows("") == [] and parse_windows(None) == []
    assert [w.label for w in parse_windows(["a: daily 01:00-02:00 UTC"])] == ["a"]


# --- the deploy job's check ---------------------------------------------------------------------

STACK_FILE = """\
config:
  aws:region: eu-west-1
  shop:target: ecs
  shop:freezeWindows: |
    holidays: 2026-12-20T00:00/2027-01-04T00:00 Europe/Berlin
    weekend: Fri 16:00-Mon 08:00 Europe/Berlin
"""


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.prod.yaml").write_text(STACK_FILE)
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  shop:target: ecs\n")
    return tmp_path


def check(
    infra: Path, monkeypatch: pytest.MonkeyPatch, now: datetime, *args: str
) -> tuple[int, str]:
    output = infra / "github_output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code = main(["check", "--infra", str(infra), *args], now=now)
    return code, output.read_text()


def test_check_refuses_a_frozen_stage_without_a_reason(
    infra: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = check(infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "prod")
    assert code == 1
    error = capsys.readouterr().out.strip()
    assert error.startswith("::error title=freeze::prod is frozen: holidays (")
    assert "2027-01-04 00:00 CET" in error and "reason" in error
    assert output == ""


def test_check_lets_a_reason_override_and_outputs_it_for_the_record(
    infra: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = check(
        infra, monkeypatch, at("2026-12-24T10:00"),
        "--stage", "prod", "--override-reason", "hotfix\nfor INC-42",
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.startswith("::warning title=freeze::prod is frozen (holidays")
    assert output == "frozen=holidays\noverride=hotfix for INC-42\n"
    blank = check(
        infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "prod", "--override-reason", "  "
    )
    assert blank[0] == 1  # a blank reason is no reason


def test_check_passes_outside_windows_and_without_any(
    infra: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check(infra, monkeypatch, at("2026-12-16T10:00"), "--stage", "prod") == (
        0,
        "frozen=\noverride=\n",
    )
    assert check(infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "dev")[0] == 0
    # The stage's stack may have another name (PULUMI_STACK).
    assert (
        check(infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "x", "--stack", "prod")[0] == 1
    )


def test_check_reports_every_bad_entry_and_a_missing_stack_file(
    infra: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (infra / "Pulumi.test.yaml").write_text(
        "config:\n  shop:freezeWindows: 'Fri 16:00-Mon; daily 22:00-06:00 UTC; Fry 16:00-Mon 08:00 UTC'\n"
    )
    assert check(infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "test")[0] == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("::error title=freeze,file=") for line in lines)
    assert "shop:freezeWindows: entry 1" in lines[0] and "shop:freezeWindows: entry 3" in lines[1]
    assert check(infra, monkeypatch, at("2026-12-24T10:00"), "--stage", "qa")[0] == 2
    assert "Pulumi.qa.yaml does not exist" in capsys.readouterr().out
