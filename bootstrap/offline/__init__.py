"""Run a generated repo's Pulumi program in-process under Pulumi's mocks and record everything.

This is the offline plan (`bootstrap preview --offline`) and the test harness of the stacks: the
real program (the repo's own `infra/__main__.py` and `infra/stacks/`) runs against the real
pulumi-aws and pulumi-kubernetes SDKs, with `pulumi.runtime.set_mocks` standing in for the engine
and the providers. Every resource registration is recorded as plain data: type, name, URN, parent
URN and inputs (secrets masked). The mocks answer with realistic physical ids and ARNs in account
123456789012, and answer the invokes the program uses (caller identity, partition, region,
availability zones, load balancer lookup).

Runs use `preview=False` so every output resolves (a preview leaves unknowns whose `.apply`
callbacks never run). The program is told it is an offline plan through the config key
`bootstrap:offlinePlan`, so it plans a stage without an image instead of refusing the update.

Each run gets a fresh thread (hence a fresh contextvars context, which is where Pulumi keeps its
runtime settings, config and root stack), a fresh event loop, and a clean `stacks` package
imported from the repo itself; runs are serialised by a lock because `sys.modules` is global.

Modules: `plan` (what a plan records), `config` (the configuration the CLI would hand the
program), `fake_aws` (the mocks: ids, ARNs and invoke answers as AWS gives them), `runner`
(running the program in its own thread, loop and module set).
"""

from bootstrap.offline.config import load_stack_config
from bootstrap.offline.plan import PlanError, PlannedResource, StackPlan
from bootstrap.offline.runner import plan_project, run_program

__all__ = [
    "PlanError",
    "PlannedResource",
    "StackPlan",
    "load_stack_config",
    "plan_project",
    "run_program",
]
