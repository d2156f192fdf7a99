"""`bootstrap --help` start-up against `python -c pass` (the interpreter's own start-up).

Run: python bench/bench_startup.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_seconds, report, run_quiet

REPEAT = 15


def main() -> None:
    python = sys.executable
    baseline = median_seconds(lambda: run_quiet([python, "-c", "pass"]), REPEAT)
    help_time = median_seconds(lambda: run_quiet([python, "-m", "bootstrap", "--help"]), REPEAT)
    new_help = median_seconds(
        lambda: run_quiet([python, "-m", "bootstrap", "new", "--help"]), REPEAT
    )
    report("bootstrap --help", help_time, "python -c pass", baseline, "under 0.3 s absolute")
    report("bootstrap new --help", new_help, "python -c pass", baseline, "under 0.3 s absolute")
    import subprocess

    from bootstrap import HEAVY_IMPORTS

    heavy = f"import sys, bootstrap.cli; print(sorted(m for m in {HEAVY_IMPORTS!r} if m in sys.modules))"

    loaded = subprocess.run([python, "-c", heavy], capture_output=True, text=True, check=True)
    print(f"heavy modules imported by bootstrap.cli at start-up: {loaded.stdout.strip()}")


if __name__ == "__main__":
    main()
