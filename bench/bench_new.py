"""`bootstrap new` (offline) against a bare `copier copy --trust` of the same template (which
loads its own Jinja extension, as `bootstrap new` does) plus `git init && git add && git commit`:
the baseline is the least any scaffold has to do.

Run: python bench/bench_new.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_seconds, report, run_quiet

REPEAT = 7


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-new-"))
    os.environ["BOOTSTRAP_CACHE_DIR"] = str(work / "cache")
    from bootstrap.spec import from_options
    from bootstrap.template import materialize

    spec = from_options(name="shop", owner="acme", target="ecs", stages="dev,test,prod",
                        manual=None, region="eu-west-1", backend=None)
    template = materialize()  # both sides render the same tagged template repo
    bindir = Path(sys.executable).parent
    data = [f"--data={key}={value}" for key, value in spec.to_answers().items()
            if not isinstance(value, list)]
    stages_yaml = "[" + ",".join(
        f"{{name: {s.name}, manual: {str(s.manual).lower()}, target: {s.target.value}}}"
        for s in spec.stages) + "]"
    counter = iter(range(10_000))

    def baseline() -> None:
        dest = work / f"copier-{next(counter)}"
        run_quiet([str(bindir / "copier"), "copy", "--quiet", "--trust", "--defaults", "--vcs-ref",
                   template.ref, *data, f"--data=stages={stages_yaml}", str(template.path),
                   str(dest)])
        run_quiet(["git", "init", "--quiet", "-b", "main"], cwd=dest)
        run_quiet(["git", "add", "--all"], cwd=dest)
        run_quiet(["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "--quiet",
                   "-m", "scaffold"], cwd=dest)

    # Each bootstrap run needs its own empty parent folder.
    def bootstrap_run() -> None:
        parent = work / f"new-{next(counter)}"
        parent.mkdir()
        run_quiet([str(bindir / "bootstrap"), "new", "shop", "--owner", "acme", "--region",
                   "eu-west-1", "--yes", "--dir", str(parent)])

    try:
        base = median_seconds(baseline, REPEAT)
        ours = median_seconds(bootstrap_run, REPEAT)
        report("bootstrap new (offline)", ours, "copier copy + git init/commit", base,
               "ratio at most 1.3")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
