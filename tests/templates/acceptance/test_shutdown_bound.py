"""The sample app's shutdown bound is the contract's: what a stop timeout must exceed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from stacks import contract


def test_the_app_finishes_in_flight_requests_within_the_contracts_bound(
    generated_repos: dict[str, Path],
) -> None:
    path = generated_repos["ecs"] / "app" / "src" / "service" / "config.py"
    spec = importlib.util.spec_from_file_location("generated_service_config", path)
    assert spec is not None and spec.loader is not None
    config = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = config  # dataclasses look their module up
    try:
        spec.loader.exec_module(config)
    finally:
        del sys.modules[spec.name]
    assert config.SHUTDOWN_TIMEOUT_SECONDS == contract.APP_SHUTDOWN_SECONDS
    assert config.Settings.from_env({}).shutdown_timeout == contract.APP_SHUTDOWN_SECONDS
    assert config.Settings.from_env({"SHUTDOWN_TIMEOUT": "3"}).shutdown_timeout == 3
    # The server is the app's own entry point, which applies the bound (app/tests/test_shutdown.py).
    dockerfile = (generated_repos["ecs"] / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "service"]' in dockerfile
