"""Regenerate bootstrap/cost/defaults.json: the bill of quantities `bootstrap new` prices.

Renders the service template's default 3-stage project for every target, plans it offline (the
infra program under Pulumi's mocks, no account needed) and keeps each billed resource's components
and quantities. Run it after changing the template's stage defaults or a component:

    python scripts/update_cost_defaults.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bootstrap import offline
from bootstrap import spec as spec_mod
from bootstrap.cost import estimate
from bootstrap.cost import prices as prices_mod
from bootstrap.cost.defaults import STAGES, TABLE, document
from bootstrap.scaffold import Scaffolder

TARGETS = ("ecs", "eks", "lambda")


def main() -> int:
    book = prices_mod.PriceBook([prices_mod._read(prices_mod.SNAPSHOT)])
    reports = {}
    with tempfile.TemporaryDirectory(prefix="cost-defaults-") as work:
        for target in TARGETS:
            spec = spec_mod.from_options(
                name="shop", owner="acme", target=target, stages=",".join(STAGES), manual=None,
                region="us-east-1", backend=None,
            )  # fmt: skip
            (Path(work) / target).mkdir()
            repo = Scaffolder(spec, Path(work) / target / spec.name).run().path
            plans = offline.plan_project(repo, spec.name, spec.stacks)
            reports[target] = estimate(
                plans, region=spec.region, prices=book, lifecycle=spec.stage_names,
                project=spec.name,
            )  # fmt: skip
    TABLE.write_text(json.dumps(document(reports), indent=1, sort_keys=False) + "\n")
    print(f"wrote {TABLE.name} for {', '.join(TARGETS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
