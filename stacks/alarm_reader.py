"""The alarm reader: the role through which the next stage's deploy job reads this stage's alarms.

Promotion's `alarms` gate (stacks/gates.py) refuses a digest while the stage it comes from has an
alarm in ALARM. The deploy job that promotes it runs as the next stage's deploy role, which may
read only its own stage's alarms, and the stage before may live in another AWS account. So every
stage but the last gets, in its own account and with its foundation, this role:

- trusted through the same GitHub OIDC provider as the stage's deploy role, for exactly the
  subject of the next stage's deploy job (`environment:<next>`, or main with trustSubject=branch),
  one-hour sessions (`identity.github_role`);
- one inline policy: `cloudwatch:DescribeAlarms` (`gates.ALARM_ACTIONS`) on this stage's alarms
  only, `arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:<project>-<stage>.*`. DescribeAlarms takes
  resource-level permissions on `alarm` (AWS's service authorization reference for CloudWatch), so
  the gate asks for the alarms by name (`contract.stage_alarm_names`), never by prefix; a grant
  narrower than `*` returns no composite alarm (CloudWatch's permissions reference), and the
  stages have none.

The reader is a child of the deploy role's component, so it is part of the foundation
(`contract.foundation_urns`): an administrator makes and changes it; the deploy role only reads
it. Provisioning publishes its ARN to the next stage (`contract.VAR_PREVIOUS_ALARMS_ROLE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .common import AwsContext, Naming, Statement, child, policy
from .gates import ALARM_ACTIONS
from .identity import GithubIdentity, github_role

COMPONENT = "bootstrap:index:AlarmReader"


def next_stage(stages: Sequence[str], stage: str) -> str | None:
    """The stage after `stage` in the lifecycle (None for the last, or a stage not listed)."""
    order = list(stages)
    if stage not in order or order.index(stage) == len(order) - 1:
        return None
    return order[order.index(stage) + 1]


def configured_next_stage(project: str, stage: str) -> str | None:
    """The stage after `stage` in the project's `stages` (every stack reads the project facts)."""
    from .config_schema import BY_KEY, parse

    return next_stage(parse(BY_KEY["stages"], pulumi.Config(project).get("stages")), stage)


def alarms_arn(ctx: AwsContext, naming: Naming) -> str:
    """Every alarm of the stage (a dot ends the stage's prefix: no other stage's alarm matches)."""
    return ctx.arn("cloudwatch", f"alarm:{naming.alarm('*')}")


def reader_statements(ctx: AwsContext, naming: Naming) -> list[Statement]:
    return [
        {
            "Sid": "ReadStageAlarms",
            "Effect": "Allow",
            "Action": list(ALARM_ACTIONS),
            "Resource": alarms_arn(ctx, naming),
        }
    ]


@dataclass
class AlarmReaderArgs:
    ctx: AwsContext
    naming: Naming  # the stage whose alarms are read
    next_stage: str  # whose deploy job reads them
    github: GithubIdentity
    trust_subject: str  # environment | branch, as the stages' deploy roles
    provider_arn: pulumi.Input[str]  # the OIDC provider the stage's deploy role trusts
    tags: Mapping[str, str] = field(default_factory=dict)


class AlarmReader(pulumi.ComponentResource):
    role: Any
    policy: Any
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AlarmReaderArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT, name, None, opts)
        naming = args.naming
        subject = args.github.subject(args.trust_subject, args.next_stage)
        self.role = github_role(
            self,
            name,
            github=args.github,
            subject=subject,
            provider_arn=args.provider_arn,
            role_name=contract.alarm_reader_role_name(naming.project, naming.stage),
            path=naming.deploy_role_path,
            description=(
                f"Reads the alarms of {naming.prefix} for promotions to {args.next_stage} "
                f"({subject})"
            ),
            tags=args.tags,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=policy(reader_statements(args.ctx, naming)),
            opts=child(self),
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})
