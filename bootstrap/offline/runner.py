"""Running the program in-process under Pulumi's mocks: a fresh thread, event loop and `stacks`
package per run, every registration recorded."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import runpy
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from bootstrap.errors import UserError
from bootstrap.offline.config import engine_config, load_stack_config
from bootstrap.offline.fake_aws import FakeAws
from bootstrap.offline.plan import (
    MASKED,
    ConfigRefused,
    PlanError,
    PlannedResource,
    StackPlan,
    masked,
    plain,
)
from stacks.contract import ACCOUNT_KEY, stack_file

ORGANIZATION = "organization"  # what the DIY (file and s3) backends call every organisation
OFFLINE_PLAN_CONFIG = "bootstrap:offlinePlan"
PACKAGE = "stacks"

_RUN_LOCK = threading.Lock()
_RPC_WORKERS = min(8, (os.cpu_count() or 1) + 4)
_NEVER_AWAITED = "coroutine .* was never awaited"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _monitor_class() -> type:
    """A MockMonitor that records every registration as plain data (built lazily: pulumi is a
    heavy import that the CLI must not pay for at start-up)."""
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks: Any) -> None:
            super().__init__(mocks)
            self.recorded: dict[str, PlannedResource] = {}
            self.lock = threading.Lock()

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """The URN the engine gives: the type qualified by every ancestor's type (the root
            stack's excepted), as foundation patterns and `--target`/`--exclude` see it. Pulumi's
            MockMonitor qualifies by the parent's last type segment only."""
            from pulumi.runtime.settings import get_project, get_stack

            if parent:
                qualified = parent.split("::")[2]
                if qualified != ROOT_STACK_TYPE:
                    type_ = f"{qualified}${type_}"
            return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

        def _record(self, request: Any, properties: Any, custom: bool) -> None:
            urn = self.make_urn(request.parent, request.type, request.name)
            inputs = plain(properties)
            planned = PlannedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent or None,
                inputs=inputs if isinstance(inputs, dict) else {},
                custom=custom,
                provider=getattr(request, "provider", "") or None,
                dependencies=tuple(sorted(getattr(request, "dependencies", ()) or ())),
            )
            with self.lock:
                self.recorded[urn] = planned

        def RegisterResource(self, request: Any) -> Any:
            self._record(request, request.object, bool(request.custom))
            return super().RegisterResource(request)

        def ReadResource(self, request: Any) -> Any:
            self._record(request, request.properties, True)
            return super().ReadResource(request)

    return RecordingMonitor


@contextmanager
def _program_modules(infra_dir: Path) -> Iterator[None]:
    """Import `stacks` from the repo itself, and leave `sys.modules` as it was afterwards."""

    def ours(name: str) -> bool:
        return name == PACKAGE or name.startswith(f"{PACKAGE}.")

    saved: dict[str, ModuleType] = {n: m for n, m in sys.modules.items() if ours(n)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(infra_dir))
    try:
        yield
    finally:
        sys.path.remove(str(infra_dir))
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _run_in_thread(
    infra_dir: Path,
    project: str,
    stack: str,
    config: tuple[dict[str, str], list[str]],
    stack_outputs: Mapping[str, Mapping[str, Any]],
) -> StackPlan:
    """One run, on a fresh thread: its own context variables, event loop and RPC workers.
    `config` is the engine's (values, secret keys)."""
    values, secret_keys = dict(config[0]), config[1]
    # A caller may pass "false" to run the program as a real update would (tests of refusals).
    values.setdefault(OFFLINE_PLAN_CONFIG, "true")
    # An offline plan answers in the stage's own account (`<project>:account`); a run as a real
    # update answers in the mocks' account, as credentials of one account would.
    account = None
    if str(values[OFFLINE_PLAN_CONFIG]).lower() == "true":
        account = next(
            (v for k, v in values.items() if k.endswith(f":{ACCOUNT_KEY}") and k[:4] != "aws:"),
            None,
        )
    mocks = FakeAws(stack, values.get("aws:region", "us-east-1"), stack_outputs, account or None)
    monitor = _monitor_class()(mocks)
    logger = logging.getLogger(f"bootstrap.offline.{stack}")
    logger.propagate = False
    capture = _Capture()
    logger.addHandler(capture)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    worker_loops = _WorkerLoops()
    loop.set_default_executor(
        ThreadPoolExecutor(
            max_workers=_RPC_WORKERS, thread_name_prefix="offline-plan-rpc", initializer=worker_loops.add
        )
    )
    # Outputs that fail after the first error are reported by that error, not again at exit.
    loop.set_exception_handler(_quiet_exceptions)
    try:
        _configure_runtime(mocks, monitor, logger, project, stack, values, secret_keys)
        with warnings.catch_warnings():
            # When a program fails, Pulumi drops coroutines of the outputs that can no longer
            # resolve; the failure is reported once, not again for each of them.
            warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
            outputs = _execute(loop, infra_dir)
    finally:
        _drop_runtime_state()
        _close(loop)
        worker_loops.close()
        logger.removeHandler(capture)
        asyncio.set_event_loop(None)

    stack_urn = monitor.make_urn("", "pulumi:pulumi:Stack", f"{project}-{stack}")
    recorded = dict(monitor.recorded)
    recorded[stack_urn] = PlannedResource(
        type="pulumi:pulumi:Stack",
        name=f"{project}-{stack}",
        urn=stack_urn,
        parent=None,
        inputs={},
        custom=False,
    )
    resources = sorted(recorded.values(), key=lambda r: r.urn)
    return StackPlan(stack=stack, resources=resources, outputs=outputs, messages=capture.messages)


def _configure_runtime(
    mocks: FakeAws,
    monitor: Any,
    logger: logging.Logger,
    project: str,
    stack: str,
    values: dict[str, str],
    secret_keys: list[str],
) -> None:
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import SETTINGS

    # Pulumi keeps its runtime settings in context variables, but a setting that a new context
    # has not set falls back to a process-wide default, which the first run's values become.
    # set_mocks sets most of them; these it leaves, so each run gets its own.
    SETTINGS.outputs = set()
    SETTINGS.lock = threading.Lock()
    SETTINGS.package_refs = {}
    SETTINGS.base_providers_by_ref = {}
    pulumi_mocks.set_mocks(
        mocks,  # type: ignore[arg-type]
        project=project,
        stack=stack,
        preview=False,  # every output resolves: no unknowns whose callbacks never run
        logger=logger,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    set_all_config(values, secret_keys)


def _execute(loop: asyncio.AbstractEventLoop, infra_dir: Path) -> dict[str, Any]:
    """Run the program's entry point, wait for every registration, resolve the exports."""
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    error: BaseException | None = None
    try:
        runpy.run_path(str(infra_dir / "__main__.py"), run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - reported after the RPCs settle
        error = exc
    try:
        loop.run_until_complete(pulumi_mocks.run_pulumi_func(lambda: None))
    except BaseException as exc:  # noqa: BLE001 - the program's own error comes first
        error = error or exc
    if error is not None:
        raise error
    return loop.run_until_complete(_resolve_outputs(getattr(root, "outputs", {})))


async def _resolve_outputs(exports: Mapping[str, Any]) -> dict[str, Any]:
    import pulumi

    outputs: dict[str, Any] = {}
    for name, value in exports.items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future(with_unknowns=True)
        secret = await output.is_secret()
        outputs[name] = MASKED if secret else masked(resolved)
    return outputs


def _drop_runtime_state() -> None:
    """Forget the run's pending work. Pulumi's setting defaults are process-wide and keep the
    last run's RPC manager; after a failure its list still holds coroutines that never ran."""
    from pulumi.runtime.settings import SETTINGS

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
        SETTINGS.rpc_manager.clear()
        SETTINGS.outputs.clear()


def _release_frames(error: BaseException) -> None:
    """A failed program leaves coroutines that will never run, held by the frames of the error's
    traceback. Clear those frames (the traceback keeps its lines) and finalise the coroutines now,
    quietly, instead of letting the garbage collector warn about each one later, anywhere."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _NEVER_AWAITED, RuntimeWarning)
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            traceback.clear_frames(current.__traceback__)
            current = current.__cause__ or current.__context__
        gc.collect()


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    message = str(context.get("message", ""))
    if message.endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)


class _WorkerLoops:
    """Event loops of the RPC worker threads.

    The mock monitor deserialises values on the worker threads and makes itself an event loop
    there when the thread has none; made here instead, they are closed with the run rather than
    left to the garbage collector (which reports errors closing them at random later times).
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.lock = threading.Lock()

    def add(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self.lock:
            self.loops.append(loop)

    def close(self) -> None:
        with self.lock:
            for loop in self.loops:
                loop.close()
            self.loops.clear()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def run_program(
    infra_dir: Path,
    project: str,
    stack: str,
    config: dict[str, Any] | None = None,
    *,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> StackPlan:
    """Run the program of `infra_dir` for `stack` under mocks and return what it registered."""
    infra_dir = Path(infra_dir).resolve()
    if not (infra_dir / "__main__.py").is_file() or not (infra_dir / PACKAGE).is_dir():
        raise PlanError(
            f"{infra_dir} is not a generated infra program (no __main__.py and {PACKAGE}/)",
            "run this in a repository made by `bootstrap new`",
        )
    if config is None:
        config = load_stack_config(infra_dir, project, stack)
    # Encoded here, with the tool's own modules: inside the run, `stacks` is the program's.
    encoded = engine_config(config)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["plan"] = _run_in_thread(infra_dir, project, stack, encoded, stack_outputs or {})
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            _release_frames(exc)
            outcome["error"] = exc

    with _RUN_LOCK, _program_modules(infra_dir):
        thread = threading.Thread(target=target, name=f"offline-plan-{project}-{stack}", daemon=True)
        thread.start()
        thread.join()
    if "error" in outcome:
        raise _as_plan_error(outcome["error"], stack) from outcome["error"]
    plan: StackPlan = outcome["plan"]
    return plan


def _as_plan_error(error: BaseException, stack: str) -> BaseException:
    if isinstance(error, UserError):
        return error
    import pulumi

    if isinstance(error, pulumi.RunError):  # what the program refuses is its configuration
        return ConfigRefused(
            f"stack '{stack}': {error}",
            f"fix {stack_file(stack)} (docs/configuration.md lists every key)",
        )
    if isinstance(error, Exception):
        return PlanError(
            f"the infra program failed for stack '{stack}' ({type(error).__name__}: {error})",
            "run `pulumi preview` in infra/ for the full trace",
        )
    return error


def plan_project(repo: Path, project: str, stacks: list[str]) -> list[StackPlan]:
    """Plan `stacks` of the repo's infra program, `shared` first (stage stacks read its outputs).

    `shared` always runs (its outputs feed the stages' StackReferences); it is returned only when
    asked for. Plans come back in the order asked.
    """
    infra_dir = Path(repo) / "infra"
    shared = run_program(infra_dir, project, "shared")
    references = {"shared": shared.outputs}
    plans = {"shared": shared}
    for stack in stacks:
        if stack not in plans:
            plans[stack] = run_program(infra_dir, project, stack, stack_outputs=references)
    return [plans[stack] for stack in stacks]
