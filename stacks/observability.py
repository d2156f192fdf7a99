"""Alarms (5xx rate, latency, errors) and a dashboard for whichever target runs in a stage; and what
the stage's deploy role needs for them and for the stage's log groups (`deploy_grants`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import AwsContext, Statement, child
from .delivery import ALARM_DATAPOINTS, ALARM_EVALUATION_PERIODS, ALARM_PERIOD_SECONDS
from .permissions import StageScope

PERIOD = ALARM_PERIOD_SECONDS
EVALUATION_PERIODS = ALARM_EVALUATION_PERIODS
DATAPOINTS_TO_ALARM = ALARM_DATAPOINTS
# The alarms a deployment rolls back on (ECS by itself; every target through the deploy
# workflow's watch, which reads the stack output `alarmNames`: all of them).
ROLLBACK_ALARMS = ("5xx-rate", "latency")


@dataclass
class ObservabilityArgs:
    ctx: AwsContext
    target: str  # ecs | eks | lambda
    # ALB-based targets (ECS, EKS): the load balancer's ARN suffix (`app/<name>/<id>`).
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    # Lambda: the function and the alias behind the function URL.
    function_name: pulumi.Input[str] | None = None
    alias_name: pulumi.Input[str] | None = None
    latency_threshold_ms: int = 1000
    error_rate_threshold: float = 5.0  # percent of requests answered 5xx
    error_count_threshold: int = 5  # errors per minute (load balancer 5xx or function errors)
    alarm_topic_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Metrics:
    namespace: str
    requests: str
    server_errors: str
    latency: str
    latency_scale: float  # threshold in ms times this = the metric's unit
    errors: str
    errors_namespace: str


_ALB = _Metrics(
    namespace="AWS/ApplicationELB",
    requests="RequestCount",
    server_errors="HTTPCode_Target_5XX_Count",
    latency="TargetResponseTime",
    latency_scale=0.001,  # seconds
    errors="HTTPCode_ELB_5XX_Count",  # the load balancer found no healthy target
    errors_namespace="AWS/ApplicationELB",
)
_LAMBDA = _Metrics(
    namespace="AWS/Lambda",
    requests="UrlRequestCount",
    server_errors="Url5xxCount",
    latency="UrlRequestLatency",
    latency_scale=1.0,  # milliseconds
    errors="Errors",
    errors_namespace="AWS/Lambda",
)


class Observability(pulumi.ComponentResource):
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: Any

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("bootstrap:index:Observability", name, None, opts)
        tags = dict(args.tags)
        actions = [args.alarm_topic_arn] if args.alarm_topic_arn else []
        if args.target == "lambda":
            if args.function_name is None or args.alias_name is None:
                raise pulumi.RunError("observability for lambda needs function_name and alias_name")
            metrics = _LAMBDA
            dimensions: pulumi.Output[dict[str, str]] = pulumi.Output.all(
                args.function_name, args.alias_name
            ).apply(lambda v: {"FunctionName": v[0], "Resource": f"{v[0]}:{v[1]}"})
        elif args.target in ("ecs", "eks"):
            if args.load_balancer_arn_suffix is None:
                raise pulumi.RunError(f"observability for {args.target} needs the load balancer")
            metrics = _ALB
            dimensions = pulumi.Output.from_input(args.load_balancer_arn_suffix).apply(
                lambda suffix: {"LoadBalancer": suffix}
            )
        else:
            raise pulumi.RunError(f"unknown target '{args.target}'")

        common: dict[str, Any] = {
            "alarm_actions": actions,
            "ok_actions": actions,
            "evaluation_periods": EVALUATION_PERIODS,
            "datapoints_to_alarm": DATAPOINTS_TO_ALARM,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
            "tags": tags,
        }

        def metric(metric_name: str, stat: str) -> dict[str, Any]:
            return {
                "metric": {
                    "namespace": metrics.namespace,
                    "metric_name": metric_name,
                    "dimensions": dimensions,
                    "period": PERIOD,
                    "stat": stat,
                }
            }

        self.alarms = {}
        self.alarms["5xx-rate"] = aws.cloudwatch.MetricAlarm(
            f"{name}-5xx-rate",
            name=f"{name}.5xx-rate",
            alarm_description=(
                f"More than {args.error_rate_threshold}% of requests to {name} answered 5xx"
            ),
            threshold=args.error_rate_threshold,
            metric_queries=[
                {"id": "errors", "return_data": False, **metric(metrics.server_errors, "Sum")},
                {"id": "requests", "return_data": False, **metric(metrics.requests, "Sum")},
                {
                    "id": "rate",
                    "expression": "IF(requests > 0, 100 * errors / requests, 0)",
                    "label": "5xx rate (%)",
                    "return_data": True,
                },
            ],
            **common,
            opts=child(self),
        )
        self.alarms["latency"] = aws.cloudwatch.MetricAlarm(
            f"{name}-latency",
            name=f"{name}.latency",
            alarm_description=f"p95 latency of {name} above {args.latency_threshold_ms} ms",
            namespace=metrics.namespace,
            metric_name=metrics.latency,
            dimensions=dimensions,
            period=PERIOD,
            extended_statistic="p95",
            threshold=args.latency_threshold_ms * metrics.latency_scale,
            **common,
            opts=child(self),
        )
        self.alarms["errors"] = aws.cloudwatch.MetricAlarm(
            f"{name}-errors",
            name=f"{name}.errors",
            alarm_description=(
                f"{name}: more than {args.error_count_threshold} "
                + ("function errors" if args.target == "lambda" else "load balancer 5xx")
                + " per minute"
            ),
            namespace=metrics.errors_namespace,
            metric_name=metrics.errors,
            dimensions=dimensions,
            period=PERIOD,
            statistic="Sum",
            threshold=args.error_count_threshold,
            **common,
            opts=child(self),
        )

        # The names, from the alarms: whoever reads them waits until the alarms exist.
        self.alarm_names: list[pulumi.Output[str]] = [a.name for a in self.alarms.values()]
        self.rollback_alarm_names = [self.alarms[key].name for key in ROLLBACK_ALARMS]
        alarm_arns = [alarm.arn for alarm in self.alarms.values()]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=name,
            dashboard_body=pulumi.Output.all(dimensions, *alarm_arns).apply(
                lambda values: dashboard_body(
                    name, args.ctx.region, metrics, values[0], list(values[1:])
                )
            ),
            opts=child(self),
        )
        self.register_outputs({"dashboardName": self.dashboard.dashboard_name})


def dashboard_body(
    name: str, region: str, metrics: _Metrics, dimensions: dict[str, str], alarm_arns: list[str]
) -> str:
    dims: list[str] = [item for pair in sorted(dimensions.items()) for item in pair]

    def widget(title: str, series: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": PERIOD,
                "view": "timeSeries",
                "metrics": series,
            },
        }

    latency = [metrics.namespace, metrics.latency, *dims]
    widgets = [
        {
            "type": "alarm",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 3,
            "properties": {"title": f"{name} alarms", "alarms": alarm_arns},
        },
        widget("Requests", [[metrics.namespace, metrics.requests, *dims]], 0, 3),
        widget(
            "Errors",
            [
                [metrics.namespace, metrics.server_errors, *dims],
                [metrics.errors_namespace, metrics.errors, *dims],
            ],
            12,
            3,
        ),
        widget(
            "Latency",
            [
                [*latency, {"stat": "p50"}],
                [*latency, {"stat": "p95"}],
                [*latency, {"stat": "p99"}],
            ],
            0,
            9,
            stat="p95",
        ),
    ]
    return json.dumps({"widgets": widgets})


def deploy_grants(scope: StageScope) -> list[Statement]:
    """The stage's log groups (every component makes its own, named `/aws/<kind>/<prefix>`), its
    alarms (`<prefix>.*`) and its dashboard."""
    ctx, naming = scope.ctx, scope.naming
    return [
        {
            "Sid": "OwnLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:ListTagsLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            "Resource": scope.log_group_arns(streams=False),
        },
        {
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
        {
            "Sid": "OwnAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            "Resource": ctx.arn("cloudwatch", f"alarm:{naming.alarm('*')}"),
        },
        {
            "Sid": "OwnDashboard",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:PutDashboard",
            ],
            "Resource": ctx.arn("cloudwatch", f"dashboard/{naming.prefix}", region=False),
        },
    ]
