"""Does each role allow what it runs? Required calls per role, checked against its policies.

- a stage's deploy role: every call of its stage stack (create, read, update, delete), except the
  stage's foundation (stacks.contract.foundation_urns), which an administrator creates and deletes
  and the deploy role only reads; the program's invokes; the state of its stack (and the shared
  stack's, through the StackReference) on an S3 backend; the deploy workflow's own AWS calls;
- the preview role: every invoke and every stack's state; the reads of every resource only when
  the preview workflow refreshes (`pulumi preview --refresh`);
- the CI role: what build.yml and promote.yml call as the CI role (steps, `aws` CLI, Pulumi state).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from stacks import contract

from .calls import PHASES, Call, Gap, input_keys, invoke_calls, resource_calls, state_calls
from .evaluator import Decision, Request, describe, evaluate
from .model import StackModel, build
from .projects import PROJECT, Project
from .workflows import ALARM_READER, StepCall
from .workflows import calls as workflow_calls

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


@dataclass
class RoleReport:
    project: str
    role: str  # "deploy dev", "preview", "ci"
    required: list[Call] = field(default_factory=list)
    missing: list[tuple[Call, Decision]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def allowed(self) -> int:
        return len(self.required) - len(self.missing)

    def summary(self) -> str:
        return (
            f"{self.project:10} {self.role:12} required {len(self.required):4}  "
            f"allowed {self.allowed:4}  missing {len(self.missing):3}  gaps {len(self.gaps)}"
        )

    def failures(self) -> list[str]:
        lines = [
            f"{self.project} {self.role}: missing {describe(Request(c.action, c.resource, c.context_dict()))}"
            f" <- {c.origin}"
            + (f" (cannot judge: {', '.join(d.unknown)})" if d.unknown else "")
            + (f" (denied by {d.denied_by})" if d.denied_by else "")
            for c, d in self.missing
        ]
        lines += [
            f"{self.project} {self.role}: cannot check {g.origin}: {g.problem}" for g in self.gaps
        ]
        return lines


def region_of(project: Project, stack: str) -> str:
    import yaml

    text = project.files.get(f"infra/Pulumi.{stack}.yaml", "")
    config = (yaml.safe_load(text) or {}).get("config") or {}
    return str(config.get("aws:region") or "us-east-1")


_MODELS: dict[tuple[int, str], StackModel] = {}


def model(project: Project, stack: str) -> StackModel:
    key = (id(project.plans[stack]), stack)
    if key not in _MODELS:
        region = region_of(project, stack)
        _MODELS[key] = build(project.plans[stack], region, project.accounts.get(stack))
    return _MODELS[key]


def role_documents(stack_model: StackModel, role_name: str) -> list[dict[str, Any]]:
    """The identity policies of the role named `role_name` (its inline policies)."""
    roles = [
        r for r in stack_model.resources if r.type == ROLE and r.inputs.get("name") == role_name
    ]
    if not roles:
        return []
    role = roles[0]
    return [
        json.loads(r.inputs["policy"])
        for r in stack_model.resources
        if r.type == ROLE_POLICY and r.inputs.get("role") in (role.physical_id, role.name)
    ]


def _foundation(stage: str, network: bool) -> list[re.Pattern[str]]:
    return [contract.urn_glob(p) for p in contract.foundation_urns(PROJECT, stage, network=network)]


def _check(report: RoleReport, documents: list[dict[str, Any]]) -> RoleReport:
    unique: dict[tuple[str, str, tuple], Call] = {}
    for call in report.required:
        unique.setdefault((call.action, call.resource, call.context), call)
    report.required = list(unique.values())
    for call in report.required:
        request = Request(call.action, call.resource, call.context_dict())
        decision = evaluate(request, documents, input_keys())
        if not decision.allowed:
            report.missing.append((call, decision))
    return report


def deploy_role(
    project: Project, stage: str, documents: list[dict[str, Any]] | None = None
) -> RoleReport:
    stack = model(project, stage)
    report = RoleReport(project.label, f"deploy {stage}")
    network = any(r.type == "aws:ec2/vpc:Vpc" for r in stack.resources)
    foundation = _foundation(stage, network)
    for resource in stack.resources:
        phases = ("read",) if any(g.match(resource.planned.urn) for g in foundation) else PHASES
        calls, gaps = resource_calls(stack, resource, phases)
        report.required += calls
        report.gaps += gaps
    calls, gaps = invoke_calls(project.invokes.get(stage, []), stage)
    report.required += calls
    report.gaps += gaps
    backend = project.state_backend
    report.required += state_calls(
        backend, PROJECT, stage, write=True, origin=f"{stage}: pulumi up"
    )
    report.required += state_calls(
        backend, PROJECT, contract.SHARED, write=False, origin=f"{stage}: StackReference to shared"
    )
    _workflow(report, project, "deploy", stack)
    if documents is None:
        documents = role_documents(stack, contract.deploy_role_name(PROJECT, stage))
    return _check(report, documents)


_REFRESH = re.compile(r"pulumi\s+preview\b[^\n]*\s(--refresh|-r)\b")


def preview_refreshes(files: dict[str, str]) -> bool:
    """Whether the preview workflow refreshes: only then does `pulumi preview` read every
    resource from AWS; without it the engine diffs against the state and calls only the
    program's invokes."""
    return any(
        _REFRESH.search(text)
        for path, text in files.items()
        if path.startswith((".github/workflows/preview", ".github/scripts/"))
    )


def preview_calls(report: RoleReport, project: Project, stack_name: str) -> None:
    """What `pulumi preview` of one stack calls in AWS: the program's invokes, and every
    resource's read when the workflow refreshes."""
    stack = model(project, stack_name)
    for resource in stack.resources if preview_refreshes(project.files) else ():
        calls, gaps = resource_calls(stack, resource, ("read",))
        report.required += calls
        report.gaps += gaps
    calls, gaps = invoke_calls(project.invokes.get(stack_name, []), stack_name)
    report.required += calls
    report.gaps += gaps


def preview_role(project: Project, documents: list[dict[str, Any]] | None = None) -> RoleReport:
    report = RoleReport(project.label, "preview")
    for stack_name in project.plans:
        preview_calls(report, project, stack_name)
        report.required += state_calls(
            project.state_backend,
            PROJECT,
            stack_name,
            write=False,
            origin=f"{stack_name}: pulumi preview",
        )
    _workflow(report, project, "preview", model(project, contract.SHARED))
    if documents is None:
        shared = model(project, contract.SHARED)
        documents = role_documents(shared, contract.preview_role_name(PROJECT))
    return _check(report, documents)


def ci_role(project: Project, documents: list[dict[str, Any]] | None = None) -> RoleReport:
    shared = model(project, contract.SHARED)
    report = RoleReport(project.label, "ci")
    _workflow(report, project, "ci", shared)
    if documents is None:
        documents = role_documents(shared, contract.ci_role_name(PROJECT))
    return _check(report, documents)


def _workflow(report: RoleReport, project: Project, role: str, stack: StackModel) -> None:
    repository = _repository_arn(project)
    for step in workflow_calls(project.files):
        if step.role != role:
            continue
        if step.state is not None:
            for stack_name in project.plans:
                report.required += state_calls(
                    project.state_backend,
                    PROJECT,
                    stack_name,
                    write=step.state == "write" and role == "deploy" and stack_name == stack.stack,
                    origin=step.origin,
                )
            continue
        _step_call(report, step, repository, stack)


# What a carried module's calls act on (its ACTS_ON), as the resource types of the stack's plan.
_ACTS_ON_TYPES = {"alarms": "aws:cloudwatch/metricAlarm:MetricAlarm"}


def _step_call(
    report: RoleReport, step: StepCall, repository: str, stack: StackModel | None = None
) -> None:
    from . import iam_definition

    if step.action is None:
        report.gaps.append(Gap(step.origin, "not an AWS CLI command botocore knows"))
        return
    info = iam_definition.action(step.action)
    if info is None:
        report.gaps.append(Gap(step.origin, f"{step.action} is not in AWS's authorization data"))
        return
    if not info.resource_level:
        report.required.append(Call(info.name, "*", (), step.origin))
        return
    if step.on in _ACTS_ON_TYPES and stack is not None:
        # e.g. stacks.watch: DescribeAlarms on each of the stage's own alarms.
        kind = _ACTS_ON_TYPES[step.on]
        arns = [r.arns[0] for r in stack.resources if r.type == kind and r.arns]
        if not arns:
            report.gaps.append(Gap(step.origin, f"the stack has no {step.on} to act on"))
        report.required += [Call(info.name, arn, (), step.origin) for arn in arns]
        return
    matching = [t for t in info.resource_types if t.matches(repository)]
    if not matching:
        report.gaps.append(Gap(step.origin, f"{info.name} does not act on the repository"))
        return
    report.required.append(Call(info.name, repository, (), step.origin))


def _repository_arn(project: Project) -> str:
    return str(project.plans[contract.SHARED].outputs.get("repositoryArn", ""))


def alarm_reader_role(
    project: Project, stage: str, documents: list[dict[str, Any]] | None = None
) -> RoleReport:
    """The alarm reader of `stage` (stacks/alarm_reader.py): what the next stage's deploy job
    runs as it (the promotion gates), on this stage's alarms."""
    stack = model(project, stage)
    report = RoleReport(project.label, f"alarms {stage}")
    _workflow(report, project, ALARM_READER, stack)
    if documents is None:
        documents = role_documents(stack, contract.alarm_reader_role_name(PROJECT, stage))
    return _check(report, documents)


def has_alarm_reader(project: Project, stage: str) -> bool:
    name = contract.alarm_reader_role_name(PROJECT, stage)
    return any(r.type == ROLE and r.inputs.get("name") == name for r in model(project, stage).resources)


def all_reports(project: Project) -> list[RoleReport]:
    reports = [deploy_role(project, stage) for stage in project.stages]
    reports += [alarm_reader_role(project, s) for s in project.stages if has_alarm_reader(project, s)]
    if contract.SHARED in project.plans and project.label != "lambda-vpc":
        reports += [preview_role(project), ci_role(project)]
    return reports
