"""Lambda traffic shifting's steps (stacks/shift.py), from the strategy and from a stage file."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks import contract
from stacks.shift import Step, main, plan, steps


def test_canary_is_one_step_linear_one_per_share_below_all() -> None:
    assert steps("canary", 10.0, 2, 25.0, 1) == [Step(0.1, 2)]
    assert steps("linear", 10.0, 2, 25.0, 1) == [Step(0.25, 1), Step(0.5, 1), Step(0.75, 1)]
    assert steps("linear", 10.0, 2, 30.0, 3) == [Step(0.3, 3), Step(0.6, 3), Step(0.9, 3)]
    assert steps("linear", 10.0, 2, 3.3, 1)[-1] == Step(0.99, 1)  # 30 steps of 3.3 %
    assert len(steps("linear", 10.0, 2, 3.3, 1)) == 30
    assert steps("all-at-once", 10.0, 2, 25.0, 1) == []
    assert steps("canary", 100.0, 2, 25.0, 1) == []  # everything at once
    assert steps("linear", 10.0, 2, 100.0, 1) == []


def test_a_stage_file_plans_lambda_only_with_the_profiles(tmp_path: Path) -> None:
    stage = tmp_path / "Pulumi.prod.yaml"
    stage.write_text("config:\n  shop:target: lambda\n  shop:deployStrategy: linear\n"
                     "  shop:linearPercent: 50\n  shop:linearMinutes: 4\n")  # fmt: skip
    assert plan(stage) == [Step(0.5, 4)]
    stage.write_text("config:\n  shop:target: lambda\n")  # the schema's (fast) profile
    fast = contract.ROLLOUT_FAST
    assert plan(stage) == steps(fast["deployStrategy"], fast["canaryPercent"],
                                fast["canaryMinutes"], fast["linearPercent"],
                                fast["linearMinutes"])  # fmt: skip
    stage.write_text("config:\n  shop:target: ecs\n  shop:deployStrategy: linear\n")
    assert plan(stage) == []  # ECS shifts by itself


def test_the_command_prints_one_line_a_step_and_refuses_a_bad_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  shop:target: lambda\n  shop:deployStrategy: canary\n"
        "  shop:canaryPercent: 12.5\n  shop:canaryMinutes: 3\n"
    )
    assert main(["plan", "--stack", "dev", "--infra", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "0.125 3\n"
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  shop:target: lambda\n  shop:canaryPercent: 0\n"
    )
    assert main(["plan", "--stack", "dev", "--infra", str(tmp_path)]) == 2
    assert "canaryPercent" in capsys.readouterr().err
