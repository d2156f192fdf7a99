"""Every bad setting of a generated repo's Pulumi configuration, found before any cloud call.

Each stack's merged configuration (`files.stack_config`) is checked against the schema the
program itself uses (`stacks/config_schema.py`): types and ranges, AWS's value tables, ARNs and
their regions, the region itself (botocore's partition data), keys the program does not read
(with the key a typo most likely meant), keys in the wrong file, an emptied stack file, the
project name, the stage list, and the project's facts that `.copier-answers.yml` owns.

`validate` reports every problem at once, one line each naming the file, the key and the fix
(exit 2 through `ConfigError`), and returns the warnings. No Pulumi import, no network.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bootstrap.stackconfig.files import (
    PROJECT_FILE,
    STACK_FILE_KEYS,
    ProjectFile,
    StackFile,
    config_text,
    is_secure,
    merge,
    qualify,
    read_project,
    read_stack,
    stack_config,
)
from bootstrap.stackconfig.findings import ConfigError, Finding, Report, Unreadable
from stacks import config_checks as checks
from stacks import config_schema as schema
from stacks.contract import ACCOUNT_KEY, INFRA_DIR, SHARED, stack_file

if TYPE_CHECKING:
    from bootstrap.spec import Spec

# Namespaces whose keys bootstrap does not judge (providers' own settings, the user's keys).
_OTHER_PROVIDERS = ("aws", "kubernetes", "pulumi")
Kind = Literal["shared", "stage"]
# Keys older templates wrote into the stack files, whose facts the answers own now.
RETIRED_KEYS = {
    "manual": ".copier-answers.yml (stages[].manual)",
    "owner": ".copier-answers.yml (owner)",
}


def _misspelt(namespace: str, project: str) -> bool:
    """A namespace that is most likely the project's name mistyped (`shpo:cpu`)."""
    if namespace in _OTHER_PROVIDERS or namespace == schema.OFFLINE_PLAN_NAMESPACE:
        return False
    return bool(difflib.get_close_matches(namespace, [project], n=1, cutoff=0.6))


def validate(repo: Path, spec: Spec, *, today: dt.date | None = None) -> list[str]:
    """Raise ConfigError naming every bad setting; return the warnings, one line each."""
    report = check(repo, spec, today=today)
    if report.errors:
        raise ConfigError(report.errors)
    return [finding.line() for finding in report.warnings]


def check(repo: Path, spec: Spec, *, today: dt.date | None = None) -> Report:
    return _Checker(Path(repo), spec, today or dt.date.today()).run()


class _Checker:
    def __init__(self, repo: Path, spec: Spec, today: dt.date) -> None:
        self.repo = repo
        self.spec = spec
        self.project = spec.name
        self.infra = repo / INFRA_DIR
        self.today = today
        self.report = Report()
        self.project_file: ProjectFile | None = None
        self.regions: dict[str, str] = {}  # stack -> its aws:region, when known

    def add(
        self, file: str, key: str | None, problem: str, fix: str, *, warning: bool = False
    ) -> None:
        self.report.add(Finding(file, key, problem, fix, warning))

    def run(self) -> Report:
        try:
            self.project_file = read_project(self.infra, self.project)
        except Unreadable as unreadable:
            self.report.add(unreadable.finding)
        if self.project_file is not None:
            self.check_project_file(self.project_file)
        for stack in self.spec.stacks:
            try:
                file = read_stack(self.infra, self.project, stack)
            except Unreadable as unreadable:
                self.report.add(unreadable.finding)
                continue
            self.check_stack(stack, file)
        self.check_stage_list()
        self.check_regions()
        return self.report

    # -- infra/Pulumi.yaml ---------------------------------------------------------------------

    def check_project_file(self, project_file: ProjectFile) -> None:
        shown = f"{INFRA_DIR}/{PROJECT_FILE}"
        if project_file.name != self.project:
            self.add(
                shown, "name",
                f"is '{project_file.name}', but the project is '{self.project}' (.copier-answers.yml "
                "project_name; its stacks, state and resources are named after it)",
                f"set name back to {self.project} (another name is another project: `bootstrap new`)",
            )  # fmt: skip
        answers = self.spec.to_answers()
        from bootstrap.config_declarations import fact_from_answers

        for raw_key, declaration in project_file.declarations.items():
            namespace, _, key = qualify(self.project, raw_key).partition(":")
            if namespace != self.project:
                continue
            where = f"{self.project}:{key}"
            setting = schema.BY_KEY.get(key)
            if setting is None:
                self.unknown(shown, where, key)
                continue
            kind = declaration.get("type")
            if kind is not None and kind != setting.pulumi_type:
                self.add(
                    shown,
                    where,
                    f"is declared as {kind}, but the program reads a {setting.pulumi_type}",
                    f"declare it as type: {setting.pulumi_type}",
                )
            if setting.scope == "project" and setting.key != "stages":  # see check_stage_list
                expected = fact_from_answers(setting, answers)
                written = config_text(declaration.get("default"))
                if written != expected:
                    self.add(
                        shown, where,
                        f"is '{written}', but .copier-answers.yml ({setting.answer}) says "
                        f"'{expected}', and bootstrap acts on that",
                        f"set the default back to '{expected}' (bootstrap writes both; docs: "
                        "configuration.md)",
                    )  # fmt: skip
        for setting in schema.PROJECT_SETTINGS:
            if setting.key not in {
                qualify(self.project, k).partition(":")[2] for k in project_file.declarations
            }:
                self.add(
                    shown, f"{self.project}:{setting.key}",
                    "is not declared, so the program cannot read this project fact",
                    "restore the declaration (`bootstrap update`, or `git checkout -- infra/Pulumi.yaml`)",
                )  # fmt: skip

    # -- one stack -------------------------------------------------------------------------------

    def check_stack(self, stack: str, file: StackFile) -> None:
        kind: Kind = "shared" if stack == SHARED else "stage"
        for top in file.document:
            if top not in STACK_FILE_KEYS:
                guess = difflib.get_close_matches(str(top), STACK_FILE_KEYS, n=1)
                self.add(
                    file.shown, str(top), "is not a stack file setting"
                    + (f" (did you mean {guess[0]}?)" if guess else ""),
                    "settings go under config:",
                )  # fmt: skip
        if "environment" in file.document:
            self.add(
                file.shown, "environment", "imports Pulumi ESC environments, which bootstrap cannot "
                "read offline", "keep in mind that the offline plan leaves their values out",
                warning=True,
            )  # fmt: skip
        self.check_required(stack, kind, file)
        self.check_keys(stack, kind, file)
        declarations = self.project_file.declarations if self.project_file else {}
        merged, refusals = merge(self.project, stack, declarations, file.config)
        for key, refusal in refusals:
            if key.partition(":")[2] in schema.BY_KEY:
                continue  # the schema's own check below says the same, with the fix
            self.add(file.shown, key or None, refusal, "set a value of that type in this file")
        values, invalid = self.values(kind, file, merged)
        region = self.regions.get(stack)
        if kind == "stage":
            from bootstrap.spec import region_partition

            partition = region_partition(region) if region else None
            issues = checks.check_stage(
                values, region=region, today=self.today, partition=partition
            )
            self.check_unused(file, values)
        else:
            issues = checks.check_shared(values) + self.preview_target_issues(values)
        issues += checks.check_project(values) if kind == "shared" else []
        for issue in issues:
            if invalid.intersection(issue.keys):
                continue  # judged by a stand-in default: the bad value is reported already
            self.add(
                self.origin(file, issue.key), f"{self.project}:{issue.key}", issue.problem,
                issue.fix, warning=issue.warning,
            )  # fmt: skip

    def origin(self, file: StackFile, key: str) -> str:
        """The file a value comes from: the stack file, or infra/Pulumi.yaml's default."""
        return (
            file.shown if f"{self.project}:{key}" in file.config else f"{INFRA_DIR}/{PROJECT_FILE}"
        )

    def preview_target_issues(self, values: dict[str, Any]) -> list[checks.Issue]:
        """ECS previews need the first stage to be an ECS stage of the tooling account (its stack
        file says which account)."""
        first = self.spec.stages[0] if self.spec.stages else None
        account = None
        if first is not None and (self.repo / stack_file(first.name)).is_file():
            try:
                merged = stack_config(self.repo / INFRA_DIR, self.project, first.name)
            except ConfigError:
                merged = {}  # the stage's own check reports its file
            account = str(merged.get(f"{self.project}:{ACCOUNT_KEY}") or "") or None
        return checks.check_preview_target(
            str(values["previewTarget"]), int(values["previewMaxActive"]),
            first.name if first else None, first.target.value if first else None, account,
        )  # fmt: skip

    def check_required(self, stack: str, kind: Kind, file: StackFile) -> None:
        required = [schema.REGION_KEY] + [
            f"{self.project}:{s.key}"
            for s in schema.settings_of(kind)
            if s.required and s.scope == kind
        ]
        for key in required:
            if key in file.config and config_text(file.config[key]).strip():
                continue
            if key == schema.REGION_KEY:
                value, risk = self.spec.region, "it would run in whatever region the shell names"
            else:
                value = self.spec.stage(stack).target.value
                risk = "the stage would run the default target, whatever it ran before"
            self.add(
                file.shown, key, f"is not set (an emptied file?): {risk}",
                f"restore the file (`git checkout -- {file.shown}`) or set it: "
                f"`pulumi config set {key} {value} --stack {stack}`",
            )  # fmt: skip

    def check_keys(self, stack: str, kind: Kind, file: StackFile) -> None:
        for key, value in file.config.items():
            namespace, _, name = key.partition(":")
            if namespace == self.project:
                self.check_project_key(kind, file, key, name, value)
            elif namespace == schema.OFFLINE_PLAN_NAMESPACE:
                self.add(
                    file.shown, key, "is bootstrap's own switch for offline plans; in a stack file it "
                    "would make a real update skip its refusals", "remove it",
                )  # fmt: skip
            elif key == schema.REGION_KEY:
                self.check_region(stack, file, config_text(value).strip())
            elif name in schema.BY_KEY and _misspelt(namespace, self.project):
                self.add(
                    file.shown, key, f"is in the namespace '{namespace}', which nothing reads",
                    f"did you mean {self.project}:{name}?", warning=True,
                )  # fmt: skip

    def check_project_key(
        self, kind: Kind, file: StackFile, key: str, name: str, value: Any
    ) -> None:
        setting = schema.BY_KEY.get(name)
        if setting is None:
            self.unknown(file.shown, key, name)
        elif setting.scope == "project":
            self.add(
                file.shown, key,
                f"is a project fact: bootstrap writes it into infra/Pulumi.yaml from "
                f".copier-answers.yml ({setting.answer}), and a stack file must not override it",
                "remove it from this file (`bootstrap update` does so in repos of older templates; "
                "docs/configuration.md says how to change the fact)",
            )  # fmt: skip
        elif kind not in setting.scopes:
            home = stack_file(SHARED) if setting.scope == "shared" else "the stage files"
            self.add(
                file.shown, key, f"is a setting of {home}; this stack ignores it",
                f"move it to {home}",
            )  # fmt: skip
        elif isinstance(value, (dict, list)) and not is_secure(value):
            self.add(file.shown, key, "is a list or mapping, not a value", "set a single value")

    def unknown(self, shown: str, key: str, name: str) -> None:
        if name in RETIRED_KEYS:
            self.add(
                shown, key, f"is no longer read: {RETIRED_KEYS[name]} owns this fact",
                "run `bootstrap update` (the current template drops the key), or delete the line",
            )  # fmt: skip
            return
        guess = schema.closest_key(name)
        self.add(
            shown, key, "is not a setting of this project's infra program (it would be ignored)",
            f"did you mean {self.project}:{guess}?" if guess else
            "remove it; keys of your own belong in another namespace (e.g. team:KEY)",
        )  # fmt: skip

    def values(
        self, kind: Kind, file: StackFile, merged: Mapping[str, Any]
    ) -> tuple[dict[str, Any], set[str]]:
        """Every setting the stack reads, parsed; a value that cannot be is reported and its
        default stands in (the keys of those come back, so no check judges by the stand-in)."""
        values: dict[str, Any] = {}
        invalid: set[str] = set()
        for setting in schema.settings_of(kind):
            raw = merged.get(f"{self.project}:{setting.key}")
            if is_secure(raw) or isinstance(raw, (dict, list)):
                raw = None  # a ciphertext cannot be read offline; a list is reported as such
            try:
                values[setting.key] = schema.parse(
                    setting, None if raw is None else config_text(raw)
                )
            except schema.Invalid as bad:
                invalid.add(setting.key)
                values[setting.key] = schema.parse(setting, None)
                self.add(
                    self.origin(file, setting.key),
                    f"{self.project}:{bad.key}",
                    bad.problem,
                    bad.fix,
                )
        return values, invalid

    def check_unused(self, file: StackFile, values: Mapping[str, Any]) -> None:
        target = values["target"]
        network = checks.needs_network(values)
        for key in file.config:
            namespace, _, name = key.partition(":")
            setting = schema.BY_KEY.get(name)
            if namespace != self.project or setting is None or setting.scope != "stage":
                continue
            if name in ("vpcCidr", "azCount", "natPerAz"):
                used = network
            else:
                used = target in setting.targets
            if not used:
                self.add(
                    file.shown,
                    key,
                    f"is not used by {target} stages",
                    "remove it (or switch the target back)",
                    warning=True,
                )

    # -- regions -------------------------------------------------------------------------------

    def check_region(self, stack: str, file: StackFile, region: str) -> None:
        from bootstrap.spec import known_regions

        if not region:
            return
        if region not in known_regions():
            guess = difflib.get_close_matches(region, sorted(known_regions()), n=1)
            self.add(
                file.shown, schema.REGION_KEY, f"'{region}' is not an AWS region",
                f"did you mean {guess[0]}?" if guess else "use a region code such as eu-west-1",
            )  # fmt: skip
            return
        self.regions[stack] = region

    def check_regions(self) -> None:
        home = self.regions.get(SHARED)
        shared_file = stack_file(SHARED)
        if home and home != self.spec.region:
            self.add(
                shared_file, schema.REGION_KEY,
                f"is {home}, but the project's home region is {self.spec.region} (.copier-answers.yml "
                "region: the registry and state bucket live there)",
                f"set it back: `pulumi config set aws:region {self.spec.region} --stack {SHARED}`",
            )  # fmt: skip
        registry = home or self.spec.region
        for stage in self.spec.stages:
            region = self.regions.get(stage.name)
            if region and region != registry and stage.target.value == "lambda":
                self.add(
                    stack_file(stage.name), schema.REGION_KEY,
                    f"is {region}, but Lambda runs images only from a registry in its own region, "
                    f"and this project's registry is in {registry}",
                    f"deploy this stage in {registry}, or use ecs or eks for it",
                )  # fmt: skip

    # -- the stage list ------------------------------------------------------------------------

    def check_stage_list(self) -> None:
        stages = self.spec.stage_names
        declared = self.project_file.declarations if self.project_file else {}
        written = next(
            (
                d.get("default")
                for k, d in declared.items()
                if qualify(self.project, k) == f"{self.project}:stages"
            ),
            None,
        )
        listed = [s.strip() for s in config_text(written).split(",") if s.strip()]
        if written is not None and listed != stages:
            self.add(
                f"{INFRA_DIR}/{PROJECT_FILE}", f"{self.project}:stages",
                f"lists {', '.join(listed) or 'no stage'}, but the project's stages are "
                f"{', '.join(stages)} (.copier-answers.yml, and a stack file each)",
                f"set the default back to {','.join(stages)}",
            )  # fmt: skip
        if not self.infra.is_dir():
            return
        for path in sorted(self.infra.glob("Pulumi.*.yaml")):
            stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
            if stack not in self.spec.stacks:
                self.add(
                    f"{INFRA_DIR}/{path.name}", None,
                    f"is the file of stack '{stack}', which is not a stage of this project (stages: "
                    f"{', '.join(stages)}); bootstrap ignores it",
                    "delete it, or add the stage to the project (`copier update --data stages=...`)",
                    warning=True,
                )  # fmt: skip
