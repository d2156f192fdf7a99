"""The repository's own copy of the shared stack modules (`infra/stacks/`): the config schema
(every key with its default and range) and the contract (the names every part shares).

They are loaded by path under a private name, so that no installed package called `stacks`
can stand in for this repository's copy.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "infra"
_PACKAGE = "_acceptance_infra_stacks"


def _load(name: str) -> ModuleType:
    if _PACKAGE not in sys.modules:
        init = INFRA / "stacks" / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, init, submodule_search_locations=[str(init.parent)]
        )
        assert spec is not None and spec.loader is not None, init
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{_PACKAGE}.{name}")


def schema() -> ModuleType:
    """`infra/stacks/config_schema.py`: `BY_KEY`, `parse`, `Invalid`."""
    return _load("config_schema")


def contract() -> ModuleType:
    """`infra/stacks/contract.py`: the results folder and file names, the parts."""
    return _load("contract")
