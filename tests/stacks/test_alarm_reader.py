"""The alarm reader (stacks/alarm_reader.py): every stage but the last has one, in its foundation,
trusted for exactly the next stage's deploy job, allowed to describe this stage's alarms only."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from stacks import contract
from stacks.alarm_reader import next_stage
from stacks.gates import ALARM_ACTIONS

from .helpers import (
    ACCOUNT,
    GHES_ISSUER,
    GHES_PREFIX,
    ISSUER,
    PREFIX,
    PROJECT,
    REGION,
    ROLE,
    ROLE_POLICY,
    component_of,
    stage_config,
    trust_condition,
)
from .test_accounts import sample_infra  # noqa: F401 - the fixture
from .test_identity import STAGES, TARGETS, _glob, deploy_role, engine_urn, statements_by_sid

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
READER = "bootstrap:index:AlarmReader"


def readers(plan):
    return [r for r in plan.of_type(ROLE) if r.inputs.get("name", "").endswith("-alarms-read")]


def reader_policies(plan) -> list[dict]:
    (role,) = readers(plan)
    return [
        json.loads(p.inputs["policy"]) for p in plan.of_type(ROLE_POLICY)
        if component_of(plan, p) == component_of(plan, role)
    ]  # fmt: skip


def alarm_arns(plan) -> list[str]:
    return [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{a.inputs['name']}" for a in plan.of_type(ALARM)]


def test_next_stage_follows_the_lifecycle() -> None:
    assert next_stage(("dev", "test", "prod"), "dev") == "test"
    assert next_stage(("dev", "test", "prod"), "test") == "prod"
    assert next_stage(("dev", "test", "prod"), "prod") is None
    assert next_stage(("dev", "prod"), "qa") is None
    assert next_stage((), "dev") is None


@pytest.mark.parametrize("target", TARGETS)
def test_every_stage_but_the_last_has_a_reader_trusting_exactly_the_next_deploy_job(
    project_plans, target
) -> None:
    plans = project_plans[target]
    for stage, following in zip(STAGES, (*STAGES[1:], None), strict=True):
        plan = plans[stage]
        if following is None:
            assert readers(plan) == [] and contract.ALARM_READER_OUTPUT not in plan.outputs
            continue
        (role,) = readers(plan)
        name = contract.alarm_reader_role_name(PROJECT, stage)
        assert role.inputs["name"] == name and role.inputs["maxSessionDuration"] == 3600
        assert role.inputs["path"] == contract.deploy_role_path(PROJECT)
        assert trust_condition(role) == {
            "StringEquals": {
                f"{ISSUER}:aud": "sts.amazonaws.com",
                f"{ISSUER}:sub": f"{PREFIX}:environment:{following}",
            }
        }
        # the same OIDC provider as the stage's own deploy role
        principal = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]
        deploy = json.loads(deploy_role(plan).inputs["assumeRolePolicy"])["Statement"][0]
        assert principal == deploy["Principal"]
        assert plan.outputs[contract.ALARM_READER_OUTPUT] == (
            f"arn:aws:iam::{ACCOUNT}:role{contract.deploy_role_path(PROJECT)}{name}"
        )


@pytest.mark.parametrize("target", TARGETS)
def test_the_reader_may_describe_this_stages_alarms_and_nothing_else(project_plans, target) -> None:
    plans = project_plans[target]
    (document,) = reader_policies(plans["dev"])
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == list(ALARM_ACTIONS)
    assert statement["Resource"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{PROJECT}-dev.*"
    assert "Condition" not in statement
    own = alarm_arns(plans["dev"])
    assert len(own) == len(contract.STAGE_ALARMS)
    assert all(fnmatchcase(arn, statement["Resource"]) for arn in own)
    others = alarm_arns(plans["test"]) + alarm_arns(plans["prod"])
    assert others and not any(fnmatchcase(arn, statement["Resource"]) for arn in others)


def test_the_stage_alarms_are_the_names_the_gate_reads(project_plans) -> None:
    """The gate asks CloudWatch for `contract.stage_alarm_names` (by name): exactly the alarms the
    stage's observability makes, for every target."""
    for target in TARGETS:
        plan = project_plans[target]["dev"]
        assert sorted(a.inputs["name"] for a in plan.of_type(ALARM)) == sorted(
            contract.stage_alarm_names(PROJECT, "dev")
        )


def test_branch_mode_trusts_main_under_the_servers_issuer(mixed_plans) -> None:
    """No environments (the GitHub Enterprise Server repo): the next deploy job runs on main."""
    (role,) = readers(mixed_plans["dev"])
    assert trust_condition(role)["StringEquals"] == {
        f"{GHES_ISSUER}:aud": "sts.amazonaws.com",
        f"{GHES_ISSUER}:sub": f"{GHES_PREFIX}:ref:refs/heads/main",
    }


def test_the_reader_is_foundation_that_the_deploy_role_reads_but_never_changes(
    project_plans,
) -> None:
    plan = project_plans["lambda"]["dev"]  # no network: the foundation is the smallest
    patterns = contract.foundation_urns(PROJECT, "dev", network=False)
    (role,) = readers(plan)
    component = component_of(plan, role)
    assert component is not None and component.type == READER
    parts = [r for r in plan.resources if component_of(plan, r) == component] + [component]
    assert {r.type for r in parts} == {READER, ROLE, ROLE_POLICY}
    for resource in parts:
        assert any(_glob(p, engine_urn(plan, resource)) for p in patterns), resource.urn
    reader_arn = plan.outputs[contract.ALARM_READER_OUTPUT]
    from tests.stacks.test_identity import deploy_policies

    naming = [s for s in statements_by_sid(deploy_policies(plan)).values()
              if reader_arn in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]  # fmt: skip
    assert [s["Sid"] for s in naming] == ["ReadOwnIdentity"]
    assert all(a.startswith(("iam:Get", "iam:List")) for a in naming[0]["Action"])
    # The last stage has no reader, and its deploy role names none.
    last = project_plans["lambda"]["prod"]
    read = statements_by_sid(deploy_policies(last))["ReadOwnIdentity"]["Resource"]
    assert not any(arn.endswith("-alarms-read") for arn in read)


def test_a_stage_in_its_own_account_has_its_reader_there(sample_infra) -> None:  # noqa: F811
    """test (Lambda) in 333333333333: its reader lives there, trusts that account's own GitHub
    provider (as test's deploy role does) for prod's deploy job, and names test's alarms there."""
    from .test_accounts import TEST, github_provider, run_as, shared_config

    shared = run_as("111111111111", sample_infra, "shared", shared_config())
    config = stage_config("lambda", "test", account=TEST, stages="dev,test,prod")
    plan = run_as(TEST, sample_infra, "test", config, stack_outputs={"shared": shared.outputs})
    (role,) = readers(plan)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": github_provider(TEST)}
    assert trust["Condition"]["StringEquals"][f"{ISSUER}:sub"] == f"{PREFIX}:environment:prod"
    (document,) = reader_policies(plan)
    assert document["Statement"][0]["Resource"] == (
        f"arn:aws:cloudwatch:{REGION}:{TEST}:alarm:{PROJECT}-test.*"
    )
    assert plan.outputs[contract.ALARM_READER_OUTPUT].startswith(f"arn:aws:iam::{TEST}:role/")
