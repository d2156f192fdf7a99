"""A monthly cost budget per stage (AWS Budgets), made when the stage sets `monthlyBudget` (USD):
alerts at 80 % and 100 % of the month's actual cost go to the stage's alarm topic
(`alarmTopicArn`, which config_checks requires with a budget). And what the stage's deploy role
needs to manage it (`deploy_grants`).

The budget counts the costs tagged with the stage's project and stage tags
(`contract.TAG_PROJECT`, `contract.TAG_STAGE`): AWS Budgets sees a tag only once it is activated
as a cost allocation tag (Billing console, or `aws ce update-cost-allocation-tags-status`), once
per account. The topic is the user's: its access policy must let `budgets.amazonaws.com` publish
(`SNS:Publish`, conditioned on `aws:SourceAccount` and `aws:SourceArn`); the program never rewrites a policy it does
not own. `topic_policy_statement` is that statement; docs/cost.md shows it.

Shapes: pulumi-aws 7.51.1 `aws.budgets.Budget` (filter_expression with `ands` of `tags`,
notifications with subscriber_sns_topic_arns); botocore 1.44.8 budgets 2016-10-20 (`Budget`,
`Expression`, `Notification`; NumericValue pattern `([0-9]*\\.)?[0-9]+`; budget names without
`:` or `\\`, at most 100 characters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from . import contract
from .common import Naming, Statement, child
from .permissions import StageScope

THRESHOLDS = (80, 100)  # percent of the monthly limit, of the actual cost
# The IAM actions the provider calls for aws_budgets_budget: pike's mapping (ModifyBudget,
# ViewBudget) and the tag calls of a tagged budget (AWS's service authorization reference:
# creating a budget with tags also needs budgets:TagResource).
BUDGET_ACTIONS = (
    "budgets:ListTagsForResource",
    "budgets:ModifyBudget",
    "budgets:TagResource",
    "budgets:UntagResource",
    "budgets:ViewBudget",
)


def budget_name(naming: Naming) -> str:
    return f"{naming.prefix}-monthly"


def limit_amount(usd: float) -> str:
    """The API's NumericValue: digits with an optional fraction, never an exponent."""
    return f"{usd:.2f}"


def topic_policy_statement(account_id: str, topic_arn: str) -> Statement:
    """What the alarm topic's access policy needs so that AWS Budgets may publish to it (AWS Cost
    Management user guide, "Creating an Amazon SNS topic for budget notifications"; the topic
    must be in the budget's account)."""
    partition = topic_arn.split(":")[1]
    return {
        "Sid": "AwsBudgetsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "budgets.amazonaws.com"},
        "Action": "SNS:Publish",
        "Resource": topic_arn,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:budgets::{account_id}:*"},
        },
    }


@dataclass
class StageBudgetArgs:
    naming: Naming
    monthly_usd: float
    topic_arn: str
    tags: Mapping[str, str] = field(default_factory=dict)


class StageBudget(pulumi.ComponentResource):
    budget: Any

    def __init__(
        self, name: str, args: StageBudgetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:StageBudget", name, None, opts)
        naming = args.naming
        stage_tags = (
            (contract.TAG_PROJECT, naming.project),
            (contract.TAG_STAGE, naming.stage),
        )
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=budget_name(naming),
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=limit_amount(args.monthly_usd),
            limit_unit="USD",
            filter_expression=aws.budgets.BudgetFilterExpressionArgs(
                ands=[
                    aws.budgets.BudgetFilterExpressionAndArgs(
                        tags=aws.budgets.BudgetFilterExpressionAndTagsArgs(
                            key=key, values=[value]
                        )
                    )
                    for key, value in stage_tags
                ]
            ),
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type="ACTUAL",
                    threshold=float(percent),
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[args.topic_arn],
                )
                for percent in THRESHOLDS
            ],
            tags=dict(args.tags),
            opts=child(self),
        )
        self.register_outputs({"name": self.budget.name})


def deploy_grants(scope: StageScope) -> list[Statement]:
    """The stage's budget, whether or not the stage sets one yet: setting `monthlyBudget` later
    needs no administrator's update of the deploy role."""
    name = budget_name(scope.naming)
    return [
        {
            "Sid": "OwnBudget",
            "Effect": "Allow",
            "Action": list(BUDGET_ACTIONS),
            "Resource": scope.ctx.arn("budgets", f"budget/{name}", region=False),
        }
    ]
