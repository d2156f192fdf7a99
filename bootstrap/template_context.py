"""The Copier templates' view of the shared names: `[[ contract.VAR_CI_ROLE ]]` in a template.

Copier loads this Jinja extension (`_jinja_extensions` in copier.yml), which puts every public
name of `stacks/contract.py` into the templates' globals, so a template never spells a name that
the CLI or the stacks also use.
"""

from __future__ import annotations

from typing import Any

from jinja2.ext import Extension


class ContractContext(Extension):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        from stacks import contract

        environment.globals["contract"] = contract.template_context()
