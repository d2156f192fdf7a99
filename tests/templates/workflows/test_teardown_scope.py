"""What the teardown workflow keeps: its `--exclude` patterns (teardown-destroy.sh), matched the
way the Pulumi engine matches them, against the URNs the engine gives the resources of a stage
planned under Pulumi's mocks, for every target. They must keep the stage's foundation (the deploy
role may not delete itself or its permissions boundary) and nothing of the workload, which is the
point of tearing down.

Pulumi's rules, from its source (pulumi/pulumi at 1b5949891b3cefcb9974752b24a5ecef0acc86c8):
- a glob's `**` matches any text and `*` any text without a colon; anything else is literal
  (pkg/resource/deploy/deployment.go, UrnTargets.getMatcher);
- a URN's type is qualified by every ancestor's type except the root stack's
  (Deployment.generateURN), as the offline plan records it;
- `destroy --exclude` also keeps what an excluded resource depends on, never what depends on it
  (`--exclude-dependents` does not exist for destroy; step_generator.go,
  determineForbiddenResourcesToDeleteFromExcludes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.offline import PlannedResource, StackPlan, run_program
from stacks import contract
from tests.templates.workflows import rules

ROOT = "pulumi:pulumi:Stack"
CASES = {"ecs": "ecs3e", "eks": "eks3e", "lambda": "ghes3e"}
WORKLOAD = {
    "ecs": "aws:ecs/service:Service",
    "eks": "aws:eks/cluster:Cluster",
    "lambda": "aws:lambda/function:Function",
}


def foundation(plan: StackPlan, project: str) -> set[str]:
    """The stage's foundation, from the plan's structure."""
    prefix = contract.stage_prefix(project, plan.stack)
    by_urn = {r.urn: r for r in plan.resources}

    def under(resource: PlannedResource, component: str) -> bool:
        parent = by_urn.get(resource.parent or "")
        while parent is not None:
            if parent.type == component:
                return True
            parent = by_urn.get(parent.parent or "")
        return False

    kept = set()
    for r in plan.resources:
        parent_type = by_urn[r.parent].type if r.parent in by_urn else None
        if (
            r.type in (ROOT, "pulumi:pulumi:StackReference", contract.STAGE_COMPONENT)
            or r.type.startswith("pulumi:providers:aws")
            or (r.type == "aws:iam/policy:Policy" and r.name == f"{prefix}-boundary")
            or r.type == contract.DEPLOY_ROLE_COMPONENT
            or under(r, contract.DEPLOY_ROLE_COMPONENT)
            or (r.type == contract.NETWORK_COMPONENT and parent_type == contract.STAGE_COMPONENT)
            or (r.type == "aws:ec2/vpc:Vpc" and parent_type == contract.NETWORK_COMPONENT)
        ):
            kept.add(r.urn)
    return kept


@pytest.fixture(scope="session")
def stage_plans(rendered: dict[str, Path]) -> dict[str, StackPlan]:
    """The first stage of a 3-stage repo per target, planned once per session (one shared stack
    feeds all three: the foundation does not depend on what the shared stack exports)."""
    shared = run_program(rendered[CASES["ecs"]] / contract.INFRA_DIR, CASES["ecs"], contract.SHARED)
    outputs = {contract.SHARED: shared.outputs}
    return {
        target: run_program(rendered[case] / contract.INFRA_DIR, case, "dev", stack_outputs=outputs)
        for target, case in CASES.items()
    }


def test_teardown_keeps_the_foundation_and_nothing_else(
    rendered: dict[str, Path], stage_plans: dict[str, StackPlan]
) -> None:
    """One test for the three targets, so one xdist worker plans them."""
    found = {}
    for target, case in CASES.items():
        plan = stage_plans[target]
        flows = rules.Workflows.load(rendered[case])
        patterns = rules.foundation_patterns(flows.scripts["teardown-destroy.sh"], "dev")
        assert patterns, target  # the script names the stage's patterns
        globs = [contract.urn_glob(p) for p in patterns]
        excluded = {r.urn for r in plan.resources if any(g.match(r.urn) for g in globs)}
        expected = foundation(plan, case)
        workload = {r.urn for r in plan.of_type(WORKLOAD[target])}
        assert workload, target
        found[target] = {
            "workload kept": sorted(excluded - expected),
            "foundation destroyed": sorted(expected - excluded),
            "main workload kept": sorted(workload & excluded),
        }
    assert found == {target: dict.fromkeys(found[target], []) for target in CASES}


def test_status_knows_a_stage_the_teardown_left(stage_plans: dict[str, StackPlan]) -> None:
    """What the teardown leaves of each target's stage (its foundation, as planned) is told
    apart from a running stage (the whole plan): the stack keeps its outputs either way."""
    from bootstrap.lifecycle import workload_torn_down

    for target, case in CASES.items():
        plan = stage_plans[target]
        left = sorted(foundation(plan, case))
        assert workload_torn_down(case, "dev", left), target
        assert not workload_torn_down(case, "dev", [r.urn for r in plan.resources]), target
    assert not workload_torn_down("shop", "dev", [])  # nothing at all: never deployed


def test_pulumi_globs_are_pulumis() -> None:
    """`*` stops at a colon, `**` does not; `$` and `/` are literal."""
    base = "urn:pulumi:dev::shop::"
    stage = contract.urn_glob(f"{base}bootstrap:index:Stage$bootstrap:index:DeployRole$**")
    assert stage.match(
        f"{base}bootstrap:index:Stage$bootstrap:index:DeployRole$aws:iam/role:Role::x"
    )
    assert not stage.match(
        f"{base}bootstrap:index:Stage$bootstrap:index:Network$aws:ec2/vpc:Vpc::x"
    )
    one = contract.urn_glob(f"{base}*::shop-dev")
    assert one.match(f"{base}Stage::shop-dev")
    assert not one.match(f"{base}bootstrap:index:Stage::shop-dev")
