"""The infra program of a generated repo: `shared` or a stage, chosen by the stack name."""

from __future__ import annotations

import pulumi


def main() -> None:
    config = pulumi.Config()
    stack = pulumi.get_stack()
    pulumi.export("stack", stack)
    if stack != "shared":
        pulumi.export("target", config.get("target") or "ecs")
