"""The service template's `infra/Pulumi.yaml`, written from the config schema.

Every key the program reads is declared there with its type, description and default
(`stacks/config_schema.py`); the project's facts take their defaults from the Copier answers that
own them. The template holds the declarations as text, so each template version carries its own
and `bootstrap update` merges a schema change like any other template change (declarations
rendered by the running tool would look unchanged to Copier's three-way merge, which renders the
old version with the same tool).

After changing the schema, rewrite the template: `python -m bootstrap.config_declarations`
(tests/bootstrap/stackconfig fails until the template matches).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks import config_schema as schema

TEMPLATE = Path("infra") / "Pulumi.yaml.jinja"  # inside templates/service/template

# How each project fact's answer becomes its default (Jinja over the answers, and the same in
# Python for bootstrap's check that the two still agree).
_JINJA = {
    "github_subject_prefix": "github_subject_prefix",
    "github_oidc_issuer": "github_oidc_issuer",
    "trust_subject": "trust_subject",
    "stages": "stages | map(attribute='name') | join(',')",
    "backend": "backend if backend.startswith('s3://') else ''",
}

_HEADER = """\
name: [[ project_name ]]
description: Registry, identity, per-stage environments and the deploy target of [[ project_name ]]
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
# Every setting the program reads, declared with its type, description and default. A stack file
# (Pulumi.<stack>.yaml) sets what differs for that stack:
#   pulumi config set [[ project_name ]]:cpu 512 --stack [[ (stages | first).name ]]
# The first block is the project's facts: bootstrap writes them here from .copier-answers.yml
# (their one owner). Change them with bootstrap (github sync, provision), not in a stack file.
config:
"""


def fact_from_answers(setting: schema.Setting, answers: Mapping[str, Any]) -> str:
    """A project fact's value, as the template renders it from the Copier answers."""
    raw = answers.get(setting.answer or "")
    if setting.answer == "stages":
        return ",".join(str(s.get("name")) for s in raw or [] if isinstance(s, Mapping))
    if setting.answer == "backend":
        text = str(raw or "")
        return text if text.startswith("s3://") else ""
    if raw is None:
        return str(setting.default or "")
    return str(raw)


def _default(setting: schema.Setting) -> str:
    if setting.scope == "project":
        assert setting.answer is not None
        return f"[[ ({_JINJA[setting.answer]}) | tojson ]]"
    if setting.default is None:
        return '""'
    if setting.kind == "boolean":
        return "true" if setting.default else "false"
    if setting.kind == "integer":
        return str(setting.default)
    return json.dumps(str(setting.default))


def template_text() -> str:
    """The text of templates/service/template/infra/Pulumi.yaml.jinja."""
    lines = [_HEADER.rstrip("\n")]
    for scope, title in (
        ("project", "the project's facts (bootstrap writes them)"),
        ("shared", "the shared stack (Pulumi.shared.yaml)"),
        ("stage", "every stage (Pulumi.<stage>.yaml)"),
    ):
        lines.append(f"  # --- {title}")
        for setting in (s for s in schema.SETTINGS if s.scope == scope):
            lines += [
                f"  {setting.key}:",
                f"    type: {setting.pulumi_type}",
                f"    description: {json.dumps(setting.description)}",
                f"    default: {_default(setting)}",
            ]
    return "\n".join(lines) + "\n"


def template_path() -> Path:
    from bootstrap.template import template_dir

    return template_dir() / "template" / TEMPLATE


def main() -> None:
    template_path().write_text(template_text())
    print(f"wrote {template_path()}")


if __name__ == "__main__":
    main()
