"""`RecordingOps`: the `StackOps` seam (bootstrap.automation) in memory, for the tests.

It records every call, returns outputs shaped like the real stacks' (docs/contracts.md), can be
told to fail a given operation once (ordering, confirmations, resumption), and can save/load its
state so that a later process (a resumed run) sees what an earlier one did. Install it for the
commands with `automation.use_ops(lambda *_: ops)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.automation import EnvFor, OpResult, tool_missing
from bootstrap.errors import RemoteError
from bootstrap.spec import Spec
from stacks import contract


def realistic_outputs(
    spec: Spec, stack: str, *, account: str, image: str | None = None
) -> dict[str, Any]:
    """Outputs shaped like the real stacks' (docs/contracts.md), deterministic per project."""
    name, region = spec.name, spec.region
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"
    if stack == "shared":
        return {
            "repositoryUrl": registry,
            "repositoryName": name,
            "repositoryArn": f"arn:aws:ecr:{region}:{account}:repository/{name}",
            "ciRoleArn": f"arn:aws:iam::{account}:role/{name}-ci",
            "previewRoleArn": f"arn:aws:iam::{account}:role/{name}-preview",
            "oidcProviderArn": (
                f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
            ),
        }
    target = spec.stage(stack).target.value
    token = hashlib.sha256(f"{name}/{stack}".encode()).hexdigest()
    if target == "lambda":
        url = f"https://{token[:32]}.lambda-url.{region}.on.aws/"
    else:
        url = f"http://{name}-{stack}-{int(token[:8], 16)}.{region}.elb.amazonaws.com"
    return {
        "url": url,
        "image": image or "",
        "target": target,
        "region": region,
        "deployRoleArn": f"arn:aws:iam::{account}:role/{name}-{stack}-deploy",
        "stage": stack,
        # every stage but the last: the next stage's deploy job reads its alarms through it
        **({contract.ALARM_READER_OUTPUT: f"arn:aws:iam::{account}:role"
            f"{contract.deploy_role_path(name)}{contract.alarm_reader_role_name(name, stack)}"}
           if stack != spec.stage_names[-1] else {}),
    }


_RESOURCES = {"shared": 9, "ecs": 24, "eks": 31, "lambda": 14}


@dataclass
class RecordedStack:
    resources: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    foundation_only: bool = False  # what the teardown workflow leaves: the foundation alone


def recorded_urns(project: str, stack: str, state: RecordedStack) -> list[str]:
    """URNs like the engine's for a recorded stack: the stack resource, then the stage's
    foundation (boundary, deploy role), then workload resources, `state.resources` in all."""
    base = f"urn:pulumi:{stack}::{project}::"
    stage = f"{base}{contract.STAGE_COMPONENT}"
    prefix = contract.stage_prefix(project, stack)
    foundation = [
        f"{base}pulumi:pulumi:Stack::{project}-{stack}",
        f"{base}pulumi:providers:aws::default",
        f"{stage}::{prefix}",
        f"{stage}$aws:iam/policy:Policy::{prefix}-boundary",
        f"{stage}${contract.DEPLOY_ROLE_COMPONENT}::{prefix}-deploy",
        f"{stage}${contract.DEPLOY_ROLE_COMPONENT}$aws:iam/role:Role::{prefix}-deploy",
        f"{stage}${contract.DEPLOY_ROLE_COMPONENT}$aws:iam/rolePolicy:RolePolicy::{prefix}-deploy-state",
    ]
    if state.foundation_only:
        return foundation[: state.resources]
    workload = [f"{stage}$bootstrap:index:Workload$aws:ecs/service:Service::{prefix}-{i}"
                for i in range(max(0, state.resources - len(foundation)))]  # fmt: skip
    return (foundation + workload)[: state.resources]


class RecordingOps:
    """`StackOps` in memory: records calls, returns realistic outputs, fails on request.

    `calls` lists every `(operation, stack)`; `writes` only those that change state (`up`,
    `destroy`). `fail(op, stack, error)` makes the next such call raise `error` (default: a
    RemoteError like a failed engine run). `save`/`load` keep the state in a JSON file so that a
    later process (a resumed run) sees what an earlier one did.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        account: str = "123456789012",
        stacks: dict[str, RecordedStack] | None = None,
        missing_cli: bool = False,
    ) -> None:
        self.spec = spec
        self.account = account
        self.stacks: dict[str, RecordedStack] = dict(stacks or {})
        self.calls: list[tuple[str, str]] = []
        self.missing_cli = missing_cli
        self._failures: dict[tuple[str, str], list[BaseException]] = {}
        self.env_for: EnvFor | None = None
        # (operation, stack, the environment it got) of each `up`/`destroy`/`preview` after
        # `use_env`: which account's credentials each run had
        self.envs: list[tuple[str, str, dict[str, str]]] = []

    # test controls

    def fail(self, operation: str, stack: str, error: BaseException | None = None) -> None:
        error = error or RemoteError(
            f"pulumi {operation} of stack '{stack}' failed: error: injected failure",
            "see the engine output above, fix the cause and run the command again",
        )
        self._failures.setdefault((operation, stack), []).append(error)

    def tear_down(self, stage: str) -> RecordingOps:
        """What the teardown workflow leaves of a stage (test setup): its foundation (stack,
        providers, boundary, deploy role and its policy), with the stack's last outputs."""
        state = self.stacks[stage]
        self.stacks[stage] = RecordedStack(7, dict(state.outputs), dict(state.config), True)
        return self

    def deploy(self, *stacks: str, image: str | None = None) -> RecordingOps:
        """Mark stacks as deployed (test setup), without recording calls."""
        for stack in stacks:
            self.stacks[stack] = self._deployed(stack, image)
        return self

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("up", "destroy")]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({k: asdict(v) for k, v in self.stacks.items()}, indent=2))

    def load(self, path: Path) -> RecordingOps:
        if path.is_file():
            data = json.loads(path.read_text())
            self.stacks = {k: RecordedStack(**v) for k, v in data.items()}
        return self

    # StackOps

    def _record(self, operation: str, stack: str) -> None:
        self.calls.append((operation, stack))
        if self.env_for is not None and operation in ("up", "destroy", "preview"):
            self.envs.append((operation, stack, dict(self.env_for(stack))))
        pending = self._failures.get((operation, stack))
        if pending:
            raise pending.pop(0)

    def _deployed(self, stack: str, image: str | None) -> RecordedStack:
        kind = "shared" if stack == "shared" else self.spec.stage(stack).target.value
        outputs = realistic_outputs(self.spec, stack, account=self.account, image=image)
        return RecordedStack(_RESOURCES[kind], outputs)

    def use_env(self, env_for: EnvFor) -> None:
        self.env_for = env_for

    def check(self) -> None:
        if self.missing_cli:
            raise tool_missing()

    def exists(self, stack: str) -> bool:
        self._record("exists", stack)
        return stack in self.stacks

    def resource_count(self, stack: str) -> int:
        self._record("resource_count", stack)
        return self.stacks[stack].resources if stack in self.stacks else 0

    def resource_urns(self, stack: str) -> list[str]:
        self._record("resource_urns", stack)
        state = self.stacks.get(stack)
        return recorded_urns(self.spec.name, stack, state) if state else []

    def outputs(self, stack: str) -> dict[str, Any]:
        self._record("outputs", stack)
        return dict(self.stacks[stack].outputs) if stack in self.stacks else {}

    def preview(self, stack: str) -> OpResult:
        self._record("preview", stack)
        planned = self._deployed(stack, None).resources
        current = self.stacks.get(stack)
        if current and current.resources:
            changes = {"same": current.resources}
        else:
            changes = {"create": planned}
        return OpResult(stack, "preview", changes)

    def up(
        self,
        stack: str,
        *,
        config: Mapping[str, str] | None = None,
        targets: Sequence[str] | None = None,  # accepted; the recording seam makes the whole stack
    ) -> OpResult:
        self._record("up", stack)
        previous = self.stacks.get(stack)
        config = {**(previous.config if previous else {}), **(config or {})}
        image = config.get(f"{self.spec.name}:image")
        state = self._deployed(stack, image)
        state.config = config
        changed = previous is None or previous.resources == 0
        changes = {"create": state.resources} if changed else {"same": state.resources}
        if (
            not changed
            and image
            and previous is not None
            and previous.outputs.get("image") != image
        ):
            changes = {"update": 1, "same": state.resources - 1}
        self.stacks[stack] = state
        return OpResult(stack, "up", changes, outputs=dict(state.outputs))

    def destroy(self, stack: str) -> OpResult:
        self._record("destroy", stack)
        current = self.stacks.get(stack)
        count = current.resources if current else 0
        if current is not None:
            self.stacks[stack] = RecordedStack(config=current.config)
        return OpResult(stack, "destroy", {"delete": count} if count else {})
