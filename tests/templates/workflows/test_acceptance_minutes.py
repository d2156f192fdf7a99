"""The minutes the acceptance stage adds to a push, modelled from the configured bounds: for each
stage the deploy chain runs the suite on (the repo's own `python -m acceptance.settings`), its
longest run (`max_seconds`: the contract budget, the load run and 60 s); the chain's stages run
one after the other. Printed with `-s`; docs/workflows.md quotes the 3-stage figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config_schema import BY_KEY

OVERHEAD = 60  # acceptance/settings.py OVERHEAD_SECONDS
DEFAULT_RUN = int(BY_KEY["acceptanceContractSeconds"].default or 0) + int(
    BY_KEY["acceptanceLoadSeconds"].default or 0) + OVERHEAD  # fmt: skip


def settings(repo: Path, stage: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "acceptance.settings", "--stage", stage],
                          cwd=repo, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("case", "stages", "running"),
    [("ecs1e", ["live"], []),  # its one stage is manual: no automatic stage before it
     ("ecs3e", ["dev", "test", "prod"], ["dev", "test"]),
     ("ecs5e", ["dev", "qa-eu", "staging", "pre-prod", "prod"], ["dev"])],
)  # fmt: skip
def test_the_acceptance_stage_adds_at_most_its_bounds(
    rendered: dict[str, Path], case: str, stages: list[str], running: list[str]
) -> None:
    found = {stage: settings(rendered[case], stage) for stage in stages}
    runs = [s for s in stages if found[s]["runs_after_deploy"]]
    assert runs == running
    seconds = sum(int(found[s]["max_seconds"]) for s in runs)  # type: ignore[call-overload]
    assert seconds == DEFAULT_RUN * len(running)
    print(f"\n{case}: the suite runs after {', '.join(runs) or 'no stage'}: at most "
          f"{seconds} s = {seconds / 60:.1f} min added to a push (plus installing app[acceptance])")
