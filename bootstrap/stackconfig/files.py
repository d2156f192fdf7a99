"""A generated repo's stack files as the Pulumi CLI reads and merges them.

`infra/Pulumi.yaml` declares every config key (type, default); `infra/Pulumi.<stack>.yaml` sets
what differs per stack. They are read as Go's yaml.v3 reads them and merged exactly as the CLI
merges them (`stack_config`: the offline runner plans with it); where the CLI would refuse,
`ConfigError` says so.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.stackconfig.findings import ConfigError, Finding, Unreadable
from stacks import config_schema as schema
from stacks.contract import INFRA_DIR, stack_file

if TYPE_CHECKING:
    from bootstrap.spec import Spec

PROJECT_FILE = "Pulumi.yaml"
# What a stack file may hold besides `config` (the Pulumi CLI's ProjectStack).
STACK_FILE_KEYS = ("config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment")


# --- reading YAML as the Pulumi CLI does ---------------------------------------------------------


@cache
def _loader() -> type:
    """PyYAML's safe loader with YAML 1.2's scalars, as Go's yaml.v3 (the Pulumi CLI) reads them:
    only true/false are booleans (`yes`, `on` stay strings) and `1:30` is not a number."""
    import yaml

    # libyaml's parser when PyYAML has it (several times faster); the resolvers stay Python's.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    dropped = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in entries if tag not in dropped]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    return Loader


def read_yaml(path: Path, shown: str) -> Any:
    """A YAML file's content; a syntax error is one finding naming the file and line."""
    import yaml

    try:
        # A copy: one command reads the same file many times, and callers may change what they get.
        return copy.deepcopy(_parsed(path.read_text()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise Unreadable(
            Finding(f"{shown}{line}", None, f"is not valid YAML ({exc.problem})", "fix the syntax")
        ) from exc
    except yaml.YAMLError as exc:
        raise Unreadable(
            Finding(shown, None, f"is not valid YAML ({exc})", "fix the syntax")
        ) from exc


@lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader


def config_text(value: Any) -> str:
    """A config value as the program receives it (Pulumi hands programs strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""  # an empty key: the CLI passes "" (and warns)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


# --- the project file and the merge ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFile:
    name: str | None
    declarations: dict[str, dict[str, Any]]  # as written (shorthand expanded), in file order


def read_project(infra: Path, project: str) -> ProjectFile:
    shown = f"{INFRA_DIR}/{PROJECT_FILE}"
    path = infra / PROJECT_FILE
    if not path.is_file():
        raise Unreadable(
            Finding(
                shown, None, "is missing", "restore it from git (`git checkout -- infra/Pulumi.yaml`)"
            )
        )
    document = read_yaml(path, shown)
    if not isinstance(document, dict):
        raise Unreadable(Finding(shown, None, "is not a mapping", "restore it from git"))
    name = document.get("name")
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise Unreadable(Finding(shown, "config", "is not a mapping", "restore it from git"))
    declarations: dict[str, dict[str, Any]] = {}
    for raw_key, spec in raw.items():
        key = str(raw_key)
        if isinstance(spec, dict):
            declarations[key] = dict(spec)
        elif ":" not in key or key.startswith(f"{project}:"):
            declarations[key] = {"default": spec}  # shorthand: the default of a project key
        else:
            declarations[key] = {"value": spec}  # shorthand: a provider's value
    return ProjectFile(str(name) if name is not None else None, declarations)


def qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def merge(
    project: str,
    stack: str,
    declarations: Mapping[str, Mapping[str, Any]],
    stack_config: Mapping[str, Any],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The configuration the Pulumi CLI hands the program, and the CLI's own refusals.

    As `pulumi` does (pkg/workspace/config.go, mergeConfig): a declared key the stack does not
    set takes the declaration's default (or value); a project key declared without either is
    required; a stack value of an explicitly typed key must match the type. Refusals are
    (key, the CLI's message)."""
    merged = dict(stack_config)
    refusals: list[tuple[str, str]] = []
    missing = []
    for raw_key in sorted(declarations):
        declaration = declarations[raw_key]
        key = qualify(project, raw_key)
        if key in merged:
            continue
        if declaration.get("default") is not None:
            merged[key] = declaration["default"]
        elif declaration.get("value") is not None:
            merged[key] = declaration["value"]
        elif key.startswith(f"{project}:"):
            missing.append(raw_key)
    if missing:
        names = ", ".join(f"'{k}'" for k in missing)
        refusals.append(("", f"Stack '{stack}' is missing configuration value(s) {names}"))
    for raw_key in sorted(declarations):
        declaration = declarations[raw_key]
        key = qualify(project, raw_key)
        if key not in merged or not key.startswith(f"{project}:"):
            continue
        value = merged[key]
        if declaration.get("secret") and not is_secure(value):
            refusals.append(
                (
                    key,
                    f"Stack '{stack}' with configuration key '{raw_key}' must be encrypted as it's secret",
                )
            )
        kind = declaration.get("type")
        if kind is not None and not is_secure(value) and not _typed(str(kind), declaration, value):
            refusals.append(
                (
                    key,
                    f"Stack '{stack}' with configuration key '{raw_key}' must be of type '{_type_name(declaration)}'",
                )
            )
    return merged, refusals


def _typed(kind: str, declaration: Mapping[str, Any], value: Any) -> bool:
    """Go's workspace.ValidateConfigValue on the value as the CLI stores it (strings for
    scalars, JSON for objects)."""
    if kind == "array":
        items = declaration.get("items") or {}
        return isinstance(value, list) and all(
            _typed(str(items.get("type")), items, item) for item in value
        )
    if isinstance(value, (dict, list)):
        return kind == "object" and isinstance(value, dict)
    text = config_text(value)
    if kind == "string":
        return True
    if kind == "integer":
        return re.fullmatch(r"[-+]?[0-9]+", text) is not None
    if kind == "boolean":
        return text in ("true", "false")
    return False


def _type_name(declaration: Mapping[str, Any]) -> str:
    items = declaration.get("items")
    if isinstance(items, Mapping):
        return f"array<{_type_name(items)}>"
    return str(declaration.get("type"))


@dataclass(frozen=True)
class StackFile:
    shown: str  # infra/Pulumi.<stack>.yaml
    document: dict[str, Any]
    config: dict[str, Any]  # keys qualified, as written otherwise
    written: dict[str, str]  # qualified key -> the key as written


def read_stack(infra: Path, project: str, stack: str) -> StackFile:
    shown = stack_file(stack)
    path = infra / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise Unreadable(
            Finding(
                shown, None, f"is missing (stack '{stack}' has no settings)",
                f"restore it from git (`git checkout -- {shown}`), or run `bootstrap update`",
            )
        )  # fmt: skip
    document = read_yaml(path, shown) or {}
    if not isinstance(document, dict):
        raise Unreadable(
            Finding(
                shown, None, "is not a mapping", f"restore it from git (`git checkout -- {shown}`)"
            )
        )
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise Unreadable(
            Finding(shown, "config", "is not a mapping", "write KEY: VALUE lines under config:")
        )
    config: dict[str, Any] = {}
    written: dict[str, str] = {}
    for key, value in raw.items():
        qualified = qualify(project, str(key))
        if qualified in config:
            raise Unreadable(
                Finding(shown, str(key), f"sets {qualified} a second time", "keep one of the two")
            )
        config[qualified] = value
        written[qualified] = str(key)
    return StackFile(shown, document, config, written)


def stack_config(infra: Path, project: str, stack: str) -> dict[str, Any]:
    """A stack's configuration as the Pulumi CLI hands it to the program (keys qualified,
    `infra/Pulumi.yaml`'s defaults merged); raises ConfigError where the CLI would refuse."""
    try:
        file = read_stack(Path(infra), project, stack)
        project_file = (
            read_project(Path(infra), project) if (Path(infra) / PROJECT_FILE).is_file() else None
        )
    except Unreadable as unreadable:
        raise ConfigError([unreadable.finding]) from None
    declarations = project_file.declarations if project_file else {}
    merged, refusals = merge(project, stack, declarations, file.config)
    if refusals:
        raise ConfigError(
            [
                Finding(
                    file.shown, key or None, r, "set it in the stack file or fix infra/Pulumi.yaml"
                )
                for key, r in refusals
            ]
        )
    return merged


def stage_targets(repo: Path, spec: Spec) -> dict[str, str]:
    """Each stage's target as its stack file (the copy users edit) sets it; stages whose file
    cannot be read keep the answers' target (validation reports why)."""
    infra = Path(repo) / INFRA_DIR
    targets: dict[str, str] = {}
    for stage in spec.stage_names:
        try:
            config = stack_config(infra, spec.name, stage)
        except (ConfigError, OSError):
            continue
        target = config_text(config.get(f"{spec.name}:target")).strip()
        if target in schema.TARGETS:
            targets[stage] = target
    return targets
