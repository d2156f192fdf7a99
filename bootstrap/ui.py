"""All terminal output goes through here: results on stdout, messages and progress on stderr.

With `--json` a command's result is held and printed once, as the envelope, when the command
ends (`finish` / `finish_error`, called by `commands/guard.py`): stdout carries exactly one JSON
document. Text is wrapped to the terminal between words; a URL, an ARN or a `quoted command`
is never cut (it may stick out rather than break).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

NBSP = "\u00a0"  # joins the words of a `quoted command` so that wrapping keeps it whole


def _consoles(width: int | None = None, terminal: bool | None = None) -> tuple[Console, Console]:
    # markup is off: user data (paths, "app[test]") must print as written; styles use Text.
    options: dict[str, Any] = {"soft_wrap": True, "highlight": False, "markup": False}
    if width is not None:
        options["width"] = width
    if terminal is not None:
        options["force_terminal"] = terminal
        options["force_interactive"] = terminal
    return Console(**options), Console(stderr=True, **options)


out, err = _consoles()


def configure(*, width: int | None = None, terminal: bool | None = None) -> None:
    """Rebuild the consoles (a forced width or terminal, e.g. for tests at 80 columns)."""
    global out, err
    out, err = _consoles(width, terminal)


# --- the result and the --json envelope --------------------------------------------------------


@dataclass
class _Session:
    json: bool
    result: dict[str, Any] = field(default_factory=dict)
    streamed: bool = False


class _Active:
    """The session of the command that runs now (None outside a command)."""

    session: _Session | None = None


def begin(*, json_mode: bool) -> None:
    """A command starts: with `json_mode` its result waits for `finish`/`finish_error`."""
    _Active.session = _Session(json_mode)


def print_json(data: dict[str, Any]) -> None:
    """A command's machine-readable result: with --json, printed in the envelope when the command
    ends (a failure's envelope carries what was kept so far); ignored in text mode."""
    session = _Active.session
    if session is None:  # outside a command: print it now
        _write({"ok": True, **data})
    elif session.json:
        session.result.update(data)


def stream_json(data: dict[str, Any]) -> None:
    """One line of a stream (`status --watch --json`): a compact envelope per line, now."""
    if _Active.session is not None:
        _Active.session.streamed = True
    _write({"ok": True, **data}, compact=True)


def finish() -> None:
    """The command succeeded: in JSON mode print `{"ok": true, ...result}`."""
    session, _Active.session = _Active.session, None
    if session is not None and session.json and not session.streamed:
        _write({"ok": True, **_without_envelope(session.result)})


def finish_error(error: dict[str, Any]) -> None:
    """The command failed: in JSON mode print `{"ok": false, "error": {...}, ...partial result}`."""
    session, _Active.session = _Active.session, None
    if session is not None and session.json:  # a stream ends with one more line
        result = {"ok": False, "error": error, **_without_envelope(session.result)}
        _write(result, compact=session.streamed)


def _without_envelope(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("ok", "error")}


def _write(data: dict[str, Any], *, compact: bool = False) -> None:
    if compact:
        text = json.dumps(data, separators=(",", ":"), default=str)
    else:
        text = json.dumps(data, indent=2, sort_keys=False, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --- messages (stderr) -------------------------------------------------------------------------


def info(message: str) -> None:
    say(message, console=err)


def success(message: str) -> None:
    say(message, first=Text("✓ ", "green"), console=err)


def warn(message: str) -> None:
    say(message, first=Text("! ", "yellow"), console=err)


def error(message: str) -> None:
    say(message, first=Text("error: ", "bold red"), console=err)


@contextmanager
def step(running: str, done: str | None = None, *, quiet: bool = False) -> Iterator[None]:
    """A long step: "`running`..." with a spinner while it runs (on a terminal), then a check
    mark and `done` (default: `running`) when it has finished."""
    if quiet:
        yield
        return
    if err.is_terminal:
        with err.status(f"{running}..."):
            yield
    else:
        yield
    success(done or running)


# --- text that fits the terminal ---------------------------------------------------------------


def wrap(text: str, width: int | None, *, first: str = "", rest: str | None = None) -> list[str]:
    """`text` in lines of at most `width` (None: as it is), broken only between words; a line
    break in `text` is kept (each of its lines is wrapped on its own, indented by `rest`).

    A word longer than the line (a URL, an ARN) stays whole on its own line; a `quoted command`
    counts as one word, so it is never split across lines."""
    if width is None:  # pipes and files: the text as it is
        return (first + text).split("\n")
    rest = " " * len(first) if rest is None else rest
    lines: list[str] = []
    for index, paragraph in enumerate(text.split("\n")):
        lead = first if index == 0 else rest
        glued = _glue_quoted(paragraph)
        if len(lead) + len(glued) <= width:
            lines.append(lead + glued)
            continue
        lines += textwrap.wrap(
            glued,
            width=max(width, len(lead) + 20),
            initial_indent=lead,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [lead]
    return [line.replace(NBSP, " ") for line in lines]


def _glue_quoted(text: str) -> str:
    parts = text.split("`")
    return "`".join(p.replace(" ", NBSP) if i % 2 else p for i, p in enumerate(parts))


def line_width(console: Console) -> int | None:
    """The width to wrap to: the terminal's, or None (one line per item) for pipes and files."""
    return console.width if console.is_terminal else None


def say(
    message: str,
    *,
    first: Text | str = "",
    rest: str | None = None,
    style: str | None = None,
    console: Console | None = None,
) -> None:
    """Print `message` wrapped to the terminal, `first` before its first line (a mark, a label)
    and `rest` (default: as wide as `first`) before the others."""
    console = console or out
    lead = first if isinstance(first, Text) else Text(first)
    lines = wrap(message, line_width(console), first=" " * len(lead.plain), rest=rest)
    for index, line in enumerate(lines):
        body = Text(line[len(lead.plain) :] if index == 0 else line, style or "")
        console.print(Text.assemble(lead if index == 0 else "", body), soft_wrap=True)


def show_wide(renderable: RenderableType, *, console: Console | None = None) -> None:
    """Print a tree or a panel as it is when it fits the terminal; when it is wider, at its
    natural width without cropping (the terminal folds the long lines; nothing is cut)."""
    import io

    console = console or out
    width = line_width(console)
    natural = natural_width(renderable, console)
    if width is None or natural <= width:
        console.print(renderable, soft_wrap=False)
        return
    buffer = io.StringIO()
    wide = Console(file=buffer, width=natural, force_terminal=True, highlight=False, markup=False)
    wide.print(renderable)
    for line in buffer.getvalue().splitlines():
        console.print(Text.from_ansi(line.rstrip()), soft_wrap=True)


def show_table(table: Table, *, console: Console | None = None) -> None:
    """Print `table` fitted to the terminal (`fit_table`)."""
    console = console or out
    console.print(fit_table(table, console), soft_wrap=False)


def fit_table(table: Table, console: Console | None = None) -> RenderableType:
    """A grid when it fits the terminal at its natural width, else one block per row (the first
    column as its title, then `header: value` lines), so no column is dropped or cut."""
    from rich.console import Group

    console = console or out
    width = line_width(console)
    if width is None or natural_width(table, console) <= width:
        return table
    headers = [str(column.header).lower() for column in table.columns]
    columns = [list(column.cells) for column in table.columns]
    lines: list[Text] = []
    for row in range(table.row_count):
        cells = [_plain(column[row]) for column in columns]
        lines.append(_whole(cells[0], "bold"))
        for header, cell in zip(headers[1:], cells[1:], strict=True):
            if cell and cell != "-":
                first = f"  {header}: "
                wrapped = wrap(cell, width, first=" " * len(first), rest="    ")
                lines.append(_whole(first + wrapped[0][len(first) :]))
                lines.extend(_whole(line) for line in wrapped[1:])
    return Group(*lines)


def natural_width(renderable: RenderableType, console: Console) -> int:
    """The width `renderable` takes when nothing limits it (Rich's measure is capped)."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(10_000)
    return Measurement.get(console, unbounded, renderable).maximum


def _whole(line: str, style: str = "") -> Text:
    """A line Rich must not wrap or crop: a long URL sticks out rather than break."""
    return Text(line, style, no_wrap=True, overflow="ignore")


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)

