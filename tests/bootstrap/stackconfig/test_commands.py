"""Every command that acts on the stacks checks the settings first: a bad setting is exit 2 with
its line, before credentials, the Pulumi CLI or GitHub are looked at (there are none here: any
other order would fail with another code)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bootstrap.cli import app

from .helpers import edit_config

COMMANDS = [
    ["preview", "--all"],
    ["preview", "--offline", "--stage", "shared"],
    ["up", "--stage", "dev"],
    ["provision"],
    ["promote", "--to", "test", "--local", "--yes"],
]
LINE = "infra/Pulumi.test.yaml: shop:memory: cpu 256 with memory 3000 is not a Fargate task size"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_bad_setting_stops_the_command_before_anything_else(repo_of, args) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "test", memory=3000)
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    assert result.exit_code == 2, result.output
    assert f"error: {LINE}" in result.stderr
    assert "Traceback" not in result.output


def test_the_failure_envelope(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "test", memory=3000)
    result = CliRunner().invoke(app, ["up", "--stage", "dev", "--json", "--repo", str(repo)])
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is False
    assert envelope["error"]["code"] == 2
    assert envelope["error"]["message"].startswith(LINE)
    assert envelope["error"]["fix"].startswith("with cpu 256 use memory 512, 1024, 2048 MiB")


def test_warnings_do_not_stop_a_command(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", reservedConcurrency=5)  # a Lambda setting on an ECS stage
    result = CliRunner().invoke(
        app, ["preview", "--offline", "--stage", "shared", "--json", "--repo", str(repo)]
    )
    assert result.exit_code == 0, result.output
    note = "infra/Pulumi.dev.yaml: shop:reservedConcurrency: is not used by ecs stages"
    assert note in result.stderr
    assert any(w.startswith(note) for w in json.loads(result.stdout)["warnings"])


@pytest.mark.parametrize(
    ("target", "account", "problem"),
    [
        ("lambda", None, "but stage dev runs on lambda"),
        ("ecs", "222222222222", "account"),
    ],
)
def test_ecs_previews_need_an_ecs_first_stage_in_the_tooling_account(
    repo_of, target: str, account: str | None, problem: str
) -> None:  # type: ignore[no-untyped-def]
    """bootstrap's own check of the files says what the shared stack's update would refuse."""
    repo = repo_of(target)
    edit_config(repo, "shared", previewTarget="ecs")
    if account:
        edit_config(repo, "dev", account=account)
    result = CliRunner().invoke(app, ["preview", "--offline", "--stage", "shared", "--repo", str(repo)])
    assert result.exit_code == 2, result.output
    assert "infra/Pulumi.shared.yaml: shop:previewTarget:" in result.stderr
    assert problem in result.stderr
    assert "Traceback" not in result.output
