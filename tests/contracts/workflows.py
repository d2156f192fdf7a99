"""What the generated workflows call in AWS, per role: the steps' actions, the workflows' own
`aws` CLI calls (mapped to IAM actions through botocore's CLI-name -> operation-name), and the
Pulumi CLI's state access.

A step's role is the one the last `configure-aws-credentials` step before it assumes: the CI role
(`vars.AWS_CI_ROLE_ARN`), the preview role (`vars.AWS_PREVIEW_ROLE_ARN`), the stage before's alarm
reader (the deploy job's gates step, `steps.check.outputs.alarms-reader`), otherwise a stage's
deploy role. Scripts under `.github/scripts/` that a step runs are read as part of the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from .calls import workflow_actions

_AWS_CALL = re.compile(r"(?<![\w/.-])aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)")
_PULUMI = re.compile(r"(?<![\w/.-])pulumi\s+(stack\s+output|up|preview|destroy|refresh|login)\b")
_SCRIPT = re.compile(r"\.github/scripts/[\w.-]+\.sh")
# The carried modules' command lines (`python -m stacks.ecr mark-release`, `stacks.scan check`):
# each module's COMMAND_ACTIONS names the AWS actions of each command.
_REGISTRY_COMMAND = re.compile(r"\bpython3?\s+-m\s+stacks\.(\w+)(?:\s+([a-z][a-z-]*))?")
# AWS CLI commands that are customizations, not API operations (awscli's own code).
_CUSTOM = {("ecr", "get-login-password"): "ecr:GetAuthorizationToken"}


@dataclass(frozen=True)
class StepCall:
    workflow: str
    job: str
    role: str  # ci | preview | pr | deploy | alarms-reader
    action: str | None  # IAM action, for AWS calls
    state: str | None  # "read" / "write" for Pulumi commands
    on: str | None  # "repository" when the action acts on the project's registry
    text: str  # the command or step, for the report

    @property
    def origin(self) -> str:
        return f"{self.workflow} job {self.job}: {self.text}"


ALARM_READER = "alarms-reader"  # the stage before's alarm reader (stacks/alarm_reader.py)


def role_of(expression: str) -> str:
    if ALARM_READER in expression or "AWS_PREVIOUS_ALARMS_ROLE_ARN" in expression:
        return ALARM_READER
    if "AWS_CI_ROLE_ARN" in expression:
        return "ci"
    if "AWS_PREVIEW_ROLE_ARN" in expression:
        return "preview"
    if "AWS_PR_ROLE_ARN" in expression:
        return "pr"  # the preview environments' deploy role (tests/contracts/test_pr_role.py)
    return "deploy"


def calls(files: dict[str, str]) -> Iterator[StepCall]:
    """Every AWS-facing call of every workflow, with the role its job runs as."""
    import yaml

    steps_data = workflow_actions()["steps"]
    for path, text in sorted(files.items()):
        if not path.startswith(".github/workflows/"):
            continue
        workflow = path.rsplit("/", 1)[-1]
        document = yaml.safe_load(text) or {}
        for job_id, job in (document.get("jobs") or {}).items():
            role: str | None = None
            for step in job.get("steps") or []:
                uses = str(step.get("uses", ""))
                action_name = uses.split("@", 1)[0]
                if action_name == "aws-actions/configure-aws-credentials":
                    role = role_of(str((step.get("with") or {}).get("role-to-assume", "")))
                    continue
                if role is None:
                    continue
                if action_name in steps_data:
                    yield from _step_actions(workflow, job_id, role, action_name, step)
                run = str(step.get("run", ""))
                for script in _SCRIPT.findall(run):
                    run += "\n" + files.get(script, "")
                yield from _commands(workflow, job_id, role, run)


def _step_actions(workflow: str, job: str, role: str, name: str, step: dict) -> Iterator[StepCall]:
    data = workflow_actions()["steps"][name]
    if data.get("when") == "push" and str((step.get("with") or {}).get("push", "")) in (
        "false",
        "False",
    ):
        return
    for action in data["actions"]:
        yield StepCall(workflow, job, role, action, None, data.get("on"), f"uses {name}")


def _commands(workflow: str, job: str, role: str, script: str) -> Iterator[StepCall]:
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or stripped.startswith("echo "):
            continue
        for service, command in _AWS_CALL.findall(stripped):
            action = cli_action(service, command)
            text = f"aws {service} {command}"
            yield StepCall(workflow, job, role, action, None, "repository", text)
        for module, command in _REGISTRY_COMMAND.findall(stripped):
            yield from _registry_command(workflow, job, role, module, command or module)
        for command in _PULUMI.findall(stripped):
            kind = "write" if command in ("up", "destroy", "refresh") else "read"
            yield StepCall(workflow, job, role, None, kind, None, f"pulumi {command}")


def _registry_command(
    workflow: str, job: str, role: str, module: str, command: str
) -> Iterator[StepCall]:
    import importlib

    text = f"python -m stacks.{module} {command}"
    try:
        loaded = importlib.import_module(f"stacks.{module}")
    except ImportError:
        loaded = None
    declared = getattr(loaded, "COMMAND_ACTIONS", {})
    on = getattr(loaded, "ACTS_ON", "repository")  # what its calls act on (stacks.watch: alarms)
    actions = declared.get(command)
    if actions is None:  # a module or command that declares nothing: reported as a gap
        yield StepCall(workflow, job, role, None, None, on, text)
        return
    for action in actions:
        yield StepCall(workflow, job, role, action, None, on, text)


def cli_action(service: str, command: str) -> str | None:
    """`aws ecr describe-images` -> `ecr:DescribeImages`, from botocore's service models."""
    if (service, command) in _CUSTOM:
        return _CUSTOM[(service, command)]
    operations = _operations(_BOTOCORE_NAMES.get(service, service))
    if operations is None:
        return None
    prefix, names = operations
    operation = names.get(command)
    return f"{prefix}:{operation}" if operation else None


_BOTOCORE_NAMES = {"s3api": "s3", "configservice": "config"}


@cache
def _operations(service: str) -> tuple[str, dict[str, str]] | None:
    import botocore.session
    from botocore import xform_name
    from botocore.exceptions import UnknownServiceError

    session = botocore.session.get_session()
    try:
        model = session.get_service_model(service)
    except UnknownServiceError:
        return None
    prefix = model.signing_name or model.endpoint_prefix
    return prefix, {xform_name(op, "-"): op for op in model.operation_names}
