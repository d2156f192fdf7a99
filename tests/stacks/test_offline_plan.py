"""The offline runner itself: config loading, recording, secrets, isolation between runs."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bootstrap.offline import PlanError, load_stack_config, plan_project, run_program

from .helpers import PROJECT


def write_program(root: Path, body: str) -> Path:
    infra = root / "infra"
    (infra / "stacks").mkdir(parents=True)
    (infra / "__main__.py").write_text("from stacks.program import main\n\nmain()\n")
    (infra / "stacks" / "__init__.py").write_text("")
    (infra / "stacks" / "program.py").write_text(textwrap.dedent(body))
    (infra / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    return infra


PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    def main():
        config = pulumi.Config()
        bucket = aws.s3.Bucket("data", tags={"owner": config.require("owner")})
        password = config.require_secret("password")
        aws.ssm.Parameter("password", type="SecureString", value=password)
        pulumi.export("bucket", bucket.bucket)
        pulumi.export("password", password)
        pulumi.export("stack", pulumi.get_stack())
"""


def test_load_stack_config_qualifies_keys(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  target: ecs\n  demo:manual: true\n"
    )
    assert load_stack_config(tmp_path, "demo", "dev") == {
        "aws:region": "eu-west-1",
        "demo:target": "ecs",
        "demo:manual": True,
    }
    with pytest.raises(PlanError, match="no config file"):
        load_stack_config(tmp_path, "demo", "prod")


def test_secrets_are_masked_in_inputs_and_outputs(tmp_path):
    infra = write_program(tmp_path, PROGRAM)
    (infra / "Pulumi.dev.yaml").write_text(
        "config:\n  demo:owner: team\n  demo:password:\n    secure: v1:abc==\n"
    )
    plan = run_program(infra, "demo", "dev")
    parameter = plan.named("password")
    assert parameter.inputs["value"] == "[secret]"
    assert plan.outputs["password"] == "[secret]"
    assert plan.outputs["stack"] == "dev"
    assert plan.outputs["bucket"].startswith("data-")  # the mocks auto-name like the provider
    assert plan.named("data").inputs["tags"] == {"owner": "team"}
    assert plan.named("data").custom is True
    (stack,) = plan.of_type("pulumi:pulumi:Stack")
    assert stack.parent is None and stack.urn == "urn:pulumi:dev::demo::pulumi:pulumi:Stack::demo-dev"
    assert plan.named("data").parent == stack.urn


def test_a_program_with_a_stacks_package_of_its_own_is_planned(tmp_path, monkeypatch):
    """The runner's own code never resolves to the program's `stacks` package (here one with
    nothing of the tool's): the empty program bench/bench_stacks.py measures against."""
    infra = tmp_path / "empty" / "infra"
    (infra / "stacks").mkdir(parents=True)
    (infra / "stacks" / "__init__.py").write_text("")
    (infra / "__main__.py").write_text(
        "import pulumi\nimport pulumi_aws\n\npulumi.export('region', pulumi_aws.config.region)\n"
    )
    for name in [n for n in sys.modules if n.startswith("bootstrap.stackconfig")]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh, as in a new process
    plan = run_program(infra, "empty", "dev", {"aws:region": "eu-west-1", "empty:owner": "team"})
    assert plan.outputs == {"region": "eu-west-1"}


def test_unknown_invokes_are_reported(tmp_path):
    infra = write_program(
        tmp_path,
        """
        import pulumi_aws as aws

        def main():
            aws.ec2.get_vpc(default=True)
        """,
    )
    with pytest.raises(PlanError, match="no answer for the invoke 'aws:ec2/getVpc:getVpc'"):
        run_program(infra, "demo", "dev", {"aws:region": "us-east-1"})


def test_program_errors_become_plan_errors(tmp_path):
    infra = write_program(tmp_path, "def main():\n    raise RuntimeError('boom')\n")
    with pytest.raises(PlanError, match="RuntimeError: boom"):
        run_program(infra, "demo", "dev", {})


def test_not_an_infra_program(tmp_path):
    with pytest.raises(PlanError, match="not a generated infra program"):
        run_program(tmp_path, "demo", "dev", {})


def test_stage_needs_the_shared_outputs(infra):
    with pytest.raises(PlanError, match="reads stack 'organization/shop/shared'"):
        run_program(infra, PROJECT, "dev", {"aws:region": "eu-west-1"})


def test_runs_are_isolated_and_deterministic(infra, generated_repos, unknown_subject_plans):
    before = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "stacks"}
    first = plan_project(generated_repos["ecs"], PROJECT, ["dev"])[0]
    assert first.resources == unknown_subject_plans["dev"].resources
    assert first.outputs == unknown_subject_plans["dev"].outputs
    after = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "stacks"}
    assert before == after  # the host's own `stacks` (if imported) is untouched
    assert str(infra) not in sys.path
    # Plans are plain data.
    json.dumps([r.__dict__ for r in first.resources])
    urns = [r.urn for r in first.resources]
    assert urns == sorted(urns)


def test_a_whole_project_plans_quickly(generated_repos):
    started = time.perf_counter()
    plans = plan_project(generated_repos["ecs"], PROJECT, ["shared", "dev", "test", "prod"])
    elapsed = time.perf_counter() - started
    assert [p.stack for p in plans] == ["shared", "dev", "test", "prod"]
    assert elapsed < 10  # about a second on an idle machine; generous for loaded CI
