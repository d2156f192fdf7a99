"""The Automation API runner: the real SDK without the Pulumi CLI, error mapping, progress."""

from __future__ import annotations

import shutil

import pytest
from pulumi.automation import errors as auto_errors
from pulumi.automation._cmd import CommandResult
from pulumi.automation.events import (
    EngineEvent,
    OpType,
    ResourcePreEvent,
    ResOutputsEvent,
    StepEventMetadata,
    StepEventStateMetadata,
)
from typer.testing import CliRunner

from bootstrap import automation
from bootstrap.automation import AutomationOps, EngineProgress, map_pulumi_error
from bootstrap.backend import resolve_backend
from bootstrap.cli import app
from bootstrap.errors import CredentialsError, RemoteError, ToolMissingError
from bootstrap.repo import load_spec

from .conftest import one_line_error


def test_machine_has_no_pulumi_cli() -> None:
    assert shutil.which("pulumi") is None  # the premise of the tests below


def test_real_sdk_without_cli_raises_tool_missing(repo_copy) -> None:  # type: ignore[no-untyped-def]
    repo = repo_copy()
    spec = load_spec(repo)
    ops = AutomationOps(repo, spec, resolve_backend(None, repo))
    with pytest.raises(ToolMissingError) as info:
        ops.check()  # PulumiCommand() runs `pulumi version`: FileNotFoundError from the SDK
    assert isinstance(info.value.__cause__, FileNotFoundError)
    message = str(info.value)
    assert "curl -fsSL https://get.pulumi.com | sh" in message
    assert "--offline" in message
    with pytest.raises(ToolMissingError):
        ops.exists("dev")  # every entry point goes through the same check
    with pytest.raises(ToolMissingError):
        ops.up("shared")


@pytest.mark.parametrize(
    "args",
    [
        ["up", "--stage", "shared"],
        ["up", "--stage", "dev", "--force"],
        ["destroy", "--stage", "dev"],
        ["destroy", "--all", "--yes", "--confirm", "prod"],
        ["preview", "--stage", "dev"],
    ],
)
def test_commands_without_cli_fail_in_one_line(repo_copy, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    repo = repo_copy()
    if args[0] == "preview":
        # preview falls back to the offline plan instead; forcing the real path shows the error
        with automation.use_ops(AutomationOps):
            result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    else:
        result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    assert result.exit_code == ToolMissingError.exit_code, result.output
    line = one_line_error(result)
    assert "Pulumi CLI is not installed" in line and "get.pulumi.com" in line
    assert not (repo / ".pulumi-state").exists()  # nothing was made before the check


def _command_error(cls: type, stderr: str, stdout: str = "") -> Exception:
    return cls(CommandResult(stdout=stdout, stderr=stderr, code=255))


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (
            _command_error(
                auto_errors.ConcurrentUpdateError,
                "error: the stack is currently locked by 1 lock(s)",
            ),
            RemoteError,
            ["locked by another update", "pulumi cancel --stack dev"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                'error: constructing secrets manager of type "passphrase": passphrase must be '
                "set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE",
            ),
            CredentialsError,
            ["passphrase", "PULUMI_CONFIG_PASSPHRASE"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                "error: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE",
            ),
            CredentialsError,
            ["passphrase"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                "",
                "aws:ecr:Repository registry error: No valid credential sources found",
            ),
            CredentialsError,
            ["no AWS credentials"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                "",
                "error: operation error STS: GetCallerIdentity, api error ExpiredToken: The "
                "security token included in the request is expired",
            ),
            CredentialsError,
            ["expired", "aws sso login"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                "",
                "error: AWS account ID not allowed: 999999999999",
            ),
            CredentialsError,
            ["account", "AWS_PROFILE"],
        ),
        (
            _command_error(
                auto_errors.CommandError,
                "error: update failed\nerror: resource 'registry' failed: boom",
            ),
            RemoteError,
            ["pulumi up of stack 'dev' failed: error: update failed", "run the command again"],
        ),
        (
            auto_errors.InvalidVersionError("Minimum version requirement failed"),
            ToolMissingError,
            ["too old", "get.pulumi.com"],
        ),
        (
            FileNotFoundError(2, "No such file or directory", "pulumi"),
            ToolMissingError,
            ["--offline"],
        ),
    ],
)
def test_error_mapping(error: Exception, kind: type, words: list[str]) -> None:
    mapped = map_pulumi_error(error, stack="dev", action="up")
    assert isinstance(mapped, kind)
    message = str(mapped)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unknown_exceptions_are_not_swallowed() -> None:
    assert map_pulumi_error(ValueError("x"), stack="dev", action="up") is None


def test_workspace_env_for_existing_stacks_needs_the_passphrase(repo_copy) -> None:  # type: ignore[no-untyped-def]
    repo = repo_copy()
    spec = load_spec(repo)
    backend = resolve_backend(None, repo)
    env = automation.workspace_env(repo, spec, backend)
    assert env["PULUMI_BACKEND_URL"].startswith("file://")
    assert env["PULUMI_CONFIG_PASSPHRASE"] and env["AWS_REGION"] == spec.region
    # a stack made with another machine's passphrase: never generate a new one
    (repo / "infra" / "Pulumi.dev.yaml").write_text(
        (repo / "infra" / "Pulumi.dev.yaml").read_text() + "encryptionsalt: v1:abc:def\n"
    )
    from bootstrap.passphrase import passphrase_path

    passphrase_path(spec.name).unlink()
    with pytest.raises(CredentialsError, match="no passphrase for project 'shop'"):
        automation.workspace_env(repo, spec, backend)


def test_reading_never_generates_a_passphrase(repo_copy) -> None:  # type: ignore[no-untyped-def]
    """`status` opens the stacks read-only: a project without a passphrase stays without one."""
    from bootstrap.passphrase import passphrase_path

    repo = repo_copy()
    spec = load_spec(repo)
    backend = resolve_backend(None, repo)
    with pytest.raises(CredentialsError, match="no passphrase for project 'shop'"):
        automation.workspace_env(repo, spec, backend, read_only=True)
    assert not passphrase_path(spec.name).exists()
    automation.workspace_env(repo, spec, backend)  # `up`: the first use makes one
    assert passphrase_path(spec.name).is_file()
    assert automation.AutomationOps(repo, spec, backend, read_only=True).read_only


def _event(op: OpType, urn: str, inputs: dict, parent: str = "") -> EngineEvent:
    state = StepEventStateMetadata(
        type=urn.split("::")[2], urn=urn, id="", parent=parent, provider="", inputs=inputs
    )
    meta = StepEventMetadata(op=op, urn=urn, type=state.type, provider="", new=state)
    return EngineEvent(sequence=1, timestamp=0, resource_pre_event=ResourcePreEvent(meta))


def test_engine_progress_collects_planned_resources(capsys) -> None:  # type: ignore[no-untyped-def]
    stack_urn = "urn:pulumi:dev::shop::pulumi:pulumi:Stack::shop-dev"
    repo_urn = "urn:pulumi:dev::shop::aws:ecr/repository:Repository::shop"
    progress = EngineProgress("dev", "preview")
    with progress:
        progress.on_event(_event(OpType.CREATE, stack_urn, {}))
        progress.on_event(_event(OpType.CREATE, repo_urn, {"name": "shop"}, parent=stack_urn))
        meta = StepEventMetadata(op=OpType.CREATE, urn=repo_urn, type="x", provider="")
        progress.on_event(
            EngineEvent(sequence=2, timestamp=0, res_outputs_event=ResOutputsEvent(meta))
        )
        progress.on_output("Previewing update (dev)")
    assert progress.counts == {"create": 2} and progress.done == 1
    assert progress.resources[repo_urn] == {
        "type": "aws:ecr/repository:Repository",
        "name": "shop",
        "urn": repo_urn,
        "parent": stack_urn,
        "inputs": {"name": "shop"},
    }
    assert "Previewing update (dev)" in capsys.readouterr().err  # streamed when not a terminal


def test_each_stack_runs_with_its_own_account_s_credentials(repo_copy) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.stack_ops import RecordingOps

    repo = repo_copy()
    spec = load_spec(repo)

    def env_for(stack: str) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "prod-key", "AWS_PROFILE": ""} if stack == "prod" else {}

    ops = automation.open_ops(repo, spec, resolve_backend(None, repo), env_for=env_for)
    assert isinstance(ops, AutomationOps)
    ops._command = object()  # what `PulumiCommand()` gives where the CLI is installed
    prod, shared = ops._options("prod").env_vars or {}, ops._options().env_vars or {}
    assert prod["AWS_ACCESS_KEY_ID"] == "prod-key" and prod["AWS_PROFILE"] == ""
    assert "AWS_ACCESS_KEY_ID" not in shared  # the tooling account's: the caller's own
    assert prod["PULUMI_BACKEND_URL"] == shared["PULUMI_BACKEND_URL"]  # one state backend
    # another implementation (the tests' seam) is given the same environments
    recording = RecordingOps(spec)
    with automation.use_ops(lambda *_: recording):
        automation.open_ops(repo, spec, resolve_backend(None, repo), env_for=env_for)
    recording.up("prod")
    recording.up("dev")
    assert recording.envs == [("up", "prod", env_for("prod")), ("up", "dev", {})]
