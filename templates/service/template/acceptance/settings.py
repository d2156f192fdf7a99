"""The suite's settings for a stage, from the stage's stack config: `infra/Pulumi.<stage>.yaml`,
else the default `infra/Pulumi.yaml` declares, as the Pulumi CLI merges them. Every value is
checked by the schema the infra program uses (`infra/stacks/config_schema.py`), so the suite
refuses what `pulumi up` refuses.

`python -m acceptance.settings [--stage STAGE]` prints them as JSON, with whether the deploy
workflow runs the suite after the stage's deploy and how long a run may take at most.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from acceptance.infra import INFRA, REPO, schema

# Field -> the stage setting it comes from (docs/configuration.md of bootstrap lists them).
KEYS = {
    "run": "acceptanceRun",
    "p95_ms": "acceptanceP95Ms",
    "error_rate": "acceptanceErrorRate",
    "min_rps": "acceptanceMinRps",
    "load_seconds": "acceptanceLoadSeconds",
    "load_users": "acceptanceLoadUsers",
    "examples": "acceptanceExamples",
    "contract_seconds": "acceptanceContractSeconds",
}
REQUEST_TIMEOUT = 10.0  # seconds: one request of the suite, before it counts as failed
# Besides the contract budget and the load run: starting, the behaviour part, stopping the load.
OVERHEAD_SECONDS = 60


class SettingsError(ValueError):
    """A setting the suite cannot use: `FILE: KEY: problem; fix`."""


@dataclass(frozen=True)
class Settings:
    project: str
    stage: str | None  # None: the defaults of infra/Pulumi.yaml
    run: str
    p95_ms: int
    error_rate: float
    min_rps: float
    load_seconds: int
    load_users: int
    examples: int
    contract_seconds: int
    # field -> where its value comes from, e.g. "shop:acceptanceP95Ms in infra/Pulumi.dev.yaml"
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def max_seconds(self) -> int:
        """The longest a run takes: the contract budget, the load run, and the rest."""
        return self.contract_seconds + self.load_seconds + OVERHEAD_SECONDS

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "max_seconds": self.max_seconds}


def load(stage: str | None) -> Settings:
    """The settings of `stage` (None: the project's defaults)."""
    project_file = _read(INFRA / "Pulumi.yaml")
    project = str(project_file.get("name") or "")
    if not project:
        raise SettingsError("infra/Pulumi.yaml: name: missing; it names the Pulumi project")
    declared = _declared_defaults(project_file.get("config") or {}, project)
    values: dict[str, Any] = {}
    stage_values: dict[str, Any] = {}
    where = "infra/Pulumi.yaml"
    if stage is not None:
        stack_file = INFRA / f"Pulumi.{stage}.yaml"
        if not stack_file.is_file():
            known = sorted(
                p.name[len("Pulumi.") : -len(".yaml")] for p in INFRA.glob("Pulumi.*.yaml")
            )
            raise SettingsError(
                f"infra/Pulumi.{stage}.yaml: no such stack file; stages with one: "
                f"{', '.join(s for s in known if s != 'shared')}"
            )
        stage_values = _read(stack_file).get("config") or {}
        where = f"infra/Pulumi.{stage}.yaml"
    sources: dict[str, str] = {}
    for name, key in KEYS.items():
        qualified = f"{project}:{key}"
        if qualified in stage_values:
            raw, source = stage_values[qualified], f"{qualified} in {where}"
        else:
            raw, source = declared.get(key), f"{qualified}, the default in infra/Pulumi.yaml"
        try:
            values[name] = schema().parse(schema().BY_KEY[key], raw)
        except schema().Invalid as invalid:
            file = where if qualified in stage_values else "infra/Pulumi.yaml"
            raise SettingsError(f"{file}: {qualified}: {invalid.problem}; {invalid.fix}") from None
        sources[name] = source
    return Settings(project=project, stage=stage, sources=sources, **values)


def runs_after_deploy(settings: Settings) -> bool | None:
    """Whether the deploy workflow runs the suite after the stage's smoke test: `always`,
    `never`, or `auto`: the stages before the first manual one (`.copier-answers.yml`)."""
    if settings.run != "auto":
        return settings.run == "always"
    if settings.stage is None:
        return None
    stages = _read(REPO / ".copier-answers.yml").get("stages") or []
    for entry in stages:
        if entry.get("manual"):
            return False
        if entry.get("name") == settings.stage:
            return True
    return None  # a stage the answers do not list


def _declared_defaults(config: dict[str, Any], project: str) -> dict[str, Any]:
    """Each declared key's default (`key: {type, default}`, or the short form `key: value`)."""
    defaults = {}
    for key, declaration in config.items():
        bare = key.removeprefix(f"{project}:")
        if isinstance(declaration, dict):
            defaults[bare] = declaration.get("default", declaration.get("value"))
        else:
            defaults[bare] = declaration
    return defaults


def _read(path: Path) -> dict[str, Any]:
    import yaml

    relative = path.relative_to(REPO)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SettingsError(f"{relative}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise SettingsError(f"{relative}{line}: cannot be read ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{relative}: is not a YAML mapping")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.settings", description=__doc__)
    parser.add_argument("--stage", help="the stage whose settings to show (default: the defaults)")
    args = parser.parse_args(argv)
    try:
        settings = load(args.stage)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({**settings.as_dict(), "runs_after_deploy": runs_after_deploy(settings)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
