"""Push-to-serving of a generated repo's first stage, per target: a model read from the generated
configuration, before issue 14 and now (cache hit and cache miss).

From the image's push (the build job's end) to (a) the first stage serving every request with the
new release and (b) its smoke test passing. The model adds up the deploy job's steps as the
rendered `deploy-stage.yml` and `setup-pulumi` have them, and the rollout's waits as the first
stage's stack settings have them (`infra/Pulumi.yaml` defaults and `infra/Pulumi.dev.yaml`):
health checks (interval x healthy threshold), canary or linear shares and their minutes, bake,
deregistration. What a cache hit skips is measured here: the installed size of the infra
program's dependencies. Everything else is a named assumption (ASSUMED below, seconds), not a
measurement of AWS: change one and rerun.

"Before" is commit 2e93311 (the tree before issue 14): ECS rolling, health checks every 15 s x 2,
30 s deregistration; Lambda's alias moved at once; setup-pulumi with pip's download cache (every
package still installed), the Pulumi CLI and the provider plugins downloaded on every run.

Goal (issue 14): ECS serving within 6 minutes of the push, Lambda within 3.

Run: python bench/bench_critical_path.py
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _timing import render_project

from stacks import config_schema
from stacks.freeze import configured
from stacks.shift import plan as shift_plan

GOALS = {"ecs": 6 * 60, "lambda": 3 * 60}
# Seconds. Assumptions, each a round figure for a GitHub-hosted Linux runner in the same region.
ASSUMED = {
    "runner pickup": 10,  # a queued job starts on a hosted runner
    "checkout": 3,
    "assume the role (OIDC)": 3,
    "set up Python": 5,  # setup-python from the runner's tool cache
    "cache restore MB/s": 100,  # actions/cache from GitHub's cache service
    "download MB/s": 50,  # PyPI, get.pulumi.com
    # Unpacking and byte-compiling the installed packages; measured here (2 cores): copying
    # pulumi, pulumi-aws, pulumi-kubernetes, boto3 and botocore and compiling them took 36 s for
    # 372 MB (2026-12-01). pip's own cache saves the download only.
    "pip install MB/s": 10,
    "Pulumi CLI MB": 150,  # the CLI with its language hosts, unpacked (~/.pulumi/bin)
    "aws provider plugin MB": 350,  # pulumi-resource-aws, unpacked (~/.pulumi/plugins)
    "kubernetes provider plugin MB": 100,
    "a python -m stacks.* step": 1.5,
    "pulumi login": 2,
    "pulumi program and engine": 25,  # run the program, diff ~100 resources
    "Fargate task start": 45,  # provision, attach the ENI, pull the image
    "pod start": 20,  # EKS Auto Mode node already up; image pull
    "Lambda image update": 30,  # UpdateFunctionCode to Active, publish the version
    "alias update": 2,
    "smoke test": 2,  # first GET /health answers with the new digest
}
BEFORE = {  # commit 2e93311, stacks/ecs.py and eks_workload.py
    "healthCheckIntervalSeconds": 15,
    "healthyThreshold": 2,
    "deregistrationDelaySeconds": 30,
}
PACKAGES = ("pulumi", "pulumi-aws", "pulumi-kubernetes", "boto3")  # infra/requirements.txt


@dataclass
class Path_:
    label: str
    terms: list[tuple[str, float]] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.terms.append((name, seconds))

    @property
    def total(self) -> float:
        return sum(s for _, s in self.terms)


def installed_mb(names: tuple[str, ...]) -> float:
    """The size on disk (bytecode included) of these distributions' packages and of everything
    they require: what the venv cache holds and a hit does not install (measured)."""
    import os

    seen: set[str] = set()
    folders: set[Path] = set()
    todo = list(names)
    while todo:
        name = (
            re.split(r"[\s;\[<>=!~]", todo.pop().strip(), maxsplit=1)[0].lower().replace("_", "-")
        )
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            top = file.parts[0]
            if not top.endswith((".dist-info", ".pth")) and top != "..":
                folders.add(Path(str(dist.locate_file(top))))
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    total = 0
    for folder in folders:
        if folder.is_file():
            total += folder.stat().st_size
        for root, _, files in os.walk(folder):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 1e6


def stage_values(infra: Path, stage: str) -> dict[str, object]:
    keys = ("target", "deployStrategy", "canaryPercent", "canaryMinutes", "linearPercent",
            "linearMinutes", "bakeMinutes", "healthCheckIntervalSeconds", "healthyThreshold",
            "deregistrationDelaySeconds")  # fmt: skip
    stack_file = infra / f"Pulumi.{stage}.yaml"
    return {
        k: config_schema.parse(config_schema.BY_KEY[k], configured(stack_file, k)[1]) for k in keys
    }


def setup(path: Path_, action: dict, hit: bool | None, venv_mb: float, plugins_mb: float) -> None:
    """setup-pulumi as rendered: `hit` None models the action before the caches existed."""
    steps = action["runs"]["steps"]
    cached = {s.get("id") for s in steps if str(s.get("uses", "")).startswith("actions/cache@")}
    path.add("set up Python", ASSUMED["set up Python"])
    cli_mb = ASSUMED["Pulumi CLI MB"]
    if hit and {"program-cache", "cli-cache"} <= cached:
        path.add(f"restore venv + plugins ({venv_mb + plugins_mb:.0f} MB)",
                 (venv_mb + plugins_mb) / ASSUMED["cache restore MB/s"])  # fmt: skip
        path.add(f"restore the CLI ({cli_mb:.0f} MB)", cli_mb / ASSUMED["cache restore MB/s"])
        return
    # pip's cache (before) saves the wheels' download, about a third of the installed size.
    download = 0 if hit is None else venv_mb / 3 / ASSUMED["download MB/s"]
    path.add(f"pip install ({venv_mb:.0f} MB)", venv_mb / ASSUMED["pip install MB/s"] + download)
    path.add(f"download the CLI ({cli_mb:.0f} MB)", cli_mb / ASSUMED["download MB/s"])
    path.add(
        f"download provider plugins ({plugins_mb:.0f} MB)", plugins_mb / ASSUMED["download MB/s"]
    )


def model(target: str, repo: Path, when: str, hit: bool | None) -> tuple[Path_, float]:
    """The path, and the second at which the stage serves every request with the new release."""
    infra = repo / "infra"
    flows = repo / ".github"
    deploy = yaml.safe_load((flows / "workflows/deploy-stage.yml").read_text())
    action = yaml.safe_load((flows / "actions/setup-pulumi/action.yml").read_text())
    values = stage_values(infra, "dev")
    if hit is None:
        values.update(BEFORE, deployStrategy="all-at-once")
    venv_mb = installed_mb(PACKAGES)
    plugins_mb = ASSUMED["aws provider plugin MB"] + (
        ASSUMED["kubernetes provider plugin MB"] if target == "eks" else 0
    )
    path = Path_(f"{target} {when}")
    for name in ("runner pickup", "checkout", "assume the role (OIDC)"):
        path.add(name, ASSUMED[name])
    setup(path, action, hit, venv_mb, plugins_mb)
    path.add("pulumi login", ASSUMED["pulumi login"])
    steps = deploy["jobs"]["deploy"]["steps"]
    ids = [s.get("id") for s in steps]
    before_up = steps[ids.index("check") + 1 : ids.index("up")]
    python_steps = [s for s in before_up if "stacks." in str(s.get("run", ""))
                    or str(s.get("run", "")).endswith(("-check.sh", "-gates.sh", "-start.sh"))]  # fmt: skip
    if hit is None:
        python_steps = []  # none of these steps existed
    path.add(f"{len(python_steps)} checks before pulumi up", len(python_steps)
             * ASSUMED["a python -m stacks.* step"])  # fmt: skip
    path.add("pulumi program and engine", ASSUMED["pulumi program and engine"])
    health = int(values["healthCheckIntervalSeconds"]) * int(values["healthyThreshold"])  # type: ignore[call-overload]
    strategy = str(values["deployStrategy"])
    if target == "ecs":
        path.add("Fargate task start", ASSUMED["Fargate task start"])
        path.add(f"health checks ({health} s)", health)
        if strategy == "canary":
            path.add("canary share", int(values["canaryMinutes"]) * 60)  # type: ignore[call-overload]
        elif strategy == "linear":
            steps_ = int(-(-100 // float(values["linearPercent"])))  # type: ignore[arg-type]
            path.add("linear shares", steps_ * int(values["linearMinutes"]) * 60)  # type: ignore[call-overload]
        serving = path.total
        if strategy != "all-at-once":
            path.add("bake (pulumi up waits for steady state)", int(values["bakeMinutes"]) * 60)  # type: ignore[call-overload]
        path.add("deregistration of the old tasks", int(values["deregistrationDelaySeconds"]))  # type: ignore[call-overload]
    elif target == "eks":
        path.add("pod start", ASSUMED["pod start"])
        path.add(f"health checks ({health} s)", health)
        serving = path.total
        path.add("deregistration of the old pods", int(values["deregistrationDelaySeconds"]))  # type: ignore[call-overload]
    else:
        path.add("Lambda image update", ASSUMED["Lambda image update"])
        path.add("alias update", ASSUMED["alias update"])
        for step in shift_plan(infra / "Pulumi.dev.yaml") if hit is not None else []:
            path.add(f"{step.weight:.0%} of the requests", step.minutes * 60)
            path.add("pulumi up (the next share)", ASSUMED["pulumi program and engine"]
                     + ASSUMED["alias update"])  # fmt: skip
        serving = path.total
    path.add("smoke test", ASSUMED["smoke test"])
    return path, serving


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-critical-path-"))
    print(f"infra venv (measured, installed): {installed_mb(PACKAGES):.0f} MB; "
          f"assumptions: {ASSUMED}")  # fmt: skip
    for target in ("ecs", "lambda", "eks"):
        repo = render_project(work, target)
        for when, hit in (("before", None), ("now, cache hit", True), ("now, cache miss", False)):
            path, serving = model(target, repo, when, hit)
            goal = GOALS.get(target)
            verdict = "" if goal is None else (
                f"  goal {goal / 60:.0f} min: {'met' if serving <= goal else 'MISSED'}")  # fmt: skip
            print(f"\n{path.label}: serving at {serving / 60:.1f} min, smoke test passed at "
                  f"{path.total / 60:.1f} min{verdict}")  # fmt: skip
            for name, seconds in path.terms:
                print(f"  {seconds:6.0f} s  {name}")


if __name__ == "__main__":
    main()
