"""Resource inputs as the AWS API calls the provider makes, validated by botocore's own
ParamValidator against the service model (required members, unknown members, types, minimums).

Each translation follows the Terraform AWS provider's expanders for that resource (file named per
entry): input name -> API member, nested blocks -> API structures, tags -> the API's tag shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

Translation = Callable[[dict[str, Any]], dict[str, Any]]


def _tags_list(tags: Any, key: str = "key", value: str = "value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in (tags or {}).items()]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _pick(inputs: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {api: inputs[key] for key, api in names.items() if inputs.get(key) is not None}


def _task_definition(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ecs/task_definition.go resourceTaskDefinitionCreate
    params = _pick(
        i,
        {
            "family": "family",
            "cpu": "cpu",
            "memory": "memory",
            "networkMode": "networkMode",
            "requiresCompatibilities": "requiresCompatibilities",
            "executionRoleArn": "executionRoleArn",
            "taskRoleArn": "taskRoleArn",
            "runtimePlatform": "runtimePlatform",
        },
    )
    params["containerDefinitions"] = _json(i.get("containerDefinitions"))
    params["tags"] = _tags_list(i.get("tags"))
    return params


def _service(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ecs/service.go resourceServiceCreate, expandNetworkConfiguration
    params = _pick(
        i,
        {
            "name": "serviceName",
            "cluster": "cluster",
            "taskDefinition": "taskDefinition",
            "desiredCount": "desiredCount",
            "launchType": "launchType",
            "healthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
            "enableEcsManagedTags": "enableECSManagedTags",
            "propagateTags": "propagateTags",
        },
    )
    network = _json(i.get("networkConfiguration")) or {}
    if network:
        params["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": network.get("subnets", []),
                "securityGroups": network.get("securityGroups", []),
                "assignPublicIp": "ENABLED" if network.get("assignPublicIp") else "DISABLED",
            }
        }
    params["loadBalancers"] = [
        {
            "targetGroupArn": lb.get("targetGroupArn"),
            "containerName": lb.get("containerName"),
            "containerPort": lb.get("containerPort"),
            # expandServiceLoadBalancers: advanced_configuration -> AdvancedConfiguration
            **(
                {"advancedConfiguration": _pick(lb["advancedConfiguration"], {
                    "alternateTargetGroupArn": "alternateTargetGroupArn",
                    "productionListenerRule": "productionListenerRule",
                    "testListenerRule": "testListenerRule",
                    "roleArn": "roleArn",
                })}  # fmt: skip
                if lb.get("advancedConfiguration")
                else {}
            ),
        }
        for lb in _json(i.get("loadBalancers")) or []
    ]
    if i.get("deploymentController"):
        params["deploymentController"] = _pick(i["deploymentController"], {"type": "type"})
    breaker = i.get("deploymentCircuitBreaker")
    params["deploymentConfiguration"] = {
        "maximumPercent": i.get("deploymentMaximumPercent"),
        "minimumHealthyPercent": i.get("deploymentMinimumHealthyPercent"),
        **({"deploymentCircuitBreaker": breaker} if breaker else {}),
        **_deployment_strategy(i.get("deploymentConfiguration") or {}),
    }
    if i.get("alarms"):  # resourceServiceCreate: alarms -> DeploymentConfiguration.Alarms
        params["deploymentConfiguration"]["alarms"] = _pick(
            i["alarms"], {"alarmNames": "alarmNames", "enable": "enable", "rollback": "rollback"}
        )
    params["tags"] = _tags_list(i.get("tags"))
    return params


def _deployment_strategy(config: dict[str, Any]) -> dict[str, Any]:
    # resourceServiceCreate, expandBakeTimeInMinutes, expandCanaryConfiguration,
    # expandLinearConfiguration: the minutes are nullable integers, sent as numbers
    def minutes(value: Any) -> int | None:
        return None if value in (None, "") else int(value)

    out: dict[str, Any] = {}
    if config.get("strategy"):
        out["strategy"] = config["strategy"]
    if minutes(config.get("bakeTimeInMinutes")) is not None:
        out["bakeTimeInMinutes"] = minutes(config["bakeTimeInMinutes"])
    canary = config.get("canaryConfiguration") or {}
    if canary:
        out["canaryConfiguration"] = {
            "canaryPercent": canary.get("canaryPercent"),
            "canaryBakeTimeInMinutes": minutes(canary.get("canaryBakeTimeInMinutes")),
        }
    linear = config.get("linearConfiguration") or {}
    if linear:
        out["linearConfiguration"] = {
            "stepPercent": linear.get("stepPercent"),
            "stepBakeTimeInMinutes": minutes(linear.get("stepBakeTimeInMinutes")),
        }
    return _drop_none(out)


def _target_group(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/elbv2/target_group.go resourceTargetGroupCreate (health_check -> HealthCheck*)
    params = _pick(
        i,
        {
            "name": "Name",
            "port": "Port",
            "protocol": "Protocol",
            "vpcId": "VpcId",
            "targetType": "TargetType",
        },
    )
    params.setdefault("Name", "placeholder-name")
    check = _json(i.get("healthCheck")) or {}
    params.update(
        _pick(
            check,
            {
                "enabled": "HealthCheckEnabled",
                "path": "HealthCheckPath",
                "protocol": "HealthCheckProtocol",
                "interval": "HealthCheckIntervalSeconds",
                "timeout": "HealthCheckTimeoutSeconds",
                "healthyThreshold": "HealthyThresholdCount",
                "unhealthyThreshold": "UnhealthyThresholdCount",
            },
        )
    )
    if check.get("matcher"):
        params["Matcher"] = {"HttpCode": check["matcher"]}
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _listener(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/elbv2/listener.go resourceListenerCreate, expandLbListenerActions
    params = _pick(
        i,
        {
            "loadBalancerArn": "LoadBalancerArn",
            "port": "Port",
            "protocol": "Protocol",
            "sslPolicy": "SslPolicy",
        },
    )
    if i.get("certificateArn"):
        params["Certificates"] = [{"CertificateArn": i["certificateArn"]}]
    actions = []
    for action in _json(i.get("defaultActions")) or []:
        out: dict[str, Any] = {"Type": action.get("type")}
        if action.get("targetGroupArn"):
            out["TargetGroupArn"] = action["targetGroupArn"]
        if action.get("redirect"):
            r = action["redirect"]
            out["RedirectConfig"] = _pick(
                r, {"port": "Port", "protocol": "Protocol", "statusCode": "StatusCode"}
            )
        out.update(_action_configs(action))
        actions.append(out)
    params["DefaultActions"] = actions
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _action_configs(action: dict[str, Any]) -> dict[str, Any]:
    # internal/service/elbv2/listener.go expandLbListenerActions: fixed_response, forward
    out: dict[str, Any] = {}
    if action.get("fixedResponse"):
        out["FixedResponseConfig"] = _pick(
            action["fixedResponse"],
            {"contentType": "ContentType", "messageBody": "MessageBody", "statusCode": "StatusCode"},
        )
    if action.get("forward"):
        out["ForwardConfig"] = {
            "TargetGroups": [
                _pick(group, {"arn": "TargetGroupArn", "weight": "Weight"})
                for group in action["forward"].get("targetGroups") or []
            ]
        }
    return out


def _listener_rule(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/elbv2/listener_rule.go resourceListenerRuleCreate, expandRuleConditions
    params = _pick(i, {"listenerArn": "ListenerArn", "priority": "Priority"})
    params["Actions"] = [
        {"Type": action.get("type"), **_action_configs(action)}
        for action in _json(i.get("actions")) or []
    ]
    conditions = []
    for condition in _json(i.get("conditions")) or []:
        if condition.get("pathPattern"):
            conditions.append(
                {
                    "Field": "path-pattern",
                    "PathPatternConfig": {"Values": condition["pathPattern"].get("values") or []},
                }
            )
    params["Conditions"] = conditions
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _load_balancer(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/elbv2/load_balancer.go resourceLoadBalancerCreate
    params = _pick(
        i,
        {
            "name": "Name",
            "subnets": "Subnets",
            "securityGroups": "SecurityGroups",
            "loadBalancerType": "Type",
        },
    )
    params.setdefault("Name", "placeholder-name")
    params["Scheme"] = "internal" if i.get("internal") else "internet-facing"
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _function(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/lambda/function.go resourceFunctionCreate
    params = _pick(
        i,
        {
            "name": "FunctionName",
            "role": "Role",
            "packageType": "PackageType",
            "memorySize": "MemorySize",
            "timeout": "Timeout",
            "publish": "Publish",
            "architectures": "Architectures",
        },
    )
    params["Code"] = {"ImageUri": i.get("imageUri")}
    env = _json(i.get("environment")) or {}
    params["Environment"] = {"Variables": env.get("variables", {})}
    logging = _json(i.get("loggingConfig")) or {}
    params["LoggingConfig"] = _pick(logging, {"logFormat": "LogFormat", "logGroup": "LogGroup"})
    vpc = _json(i.get("vpcConfig")) or {}
    if vpc:
        params["VpcConfig"] = _pick(
            vpc, {"subnetIds": "SubnetIds", "securityGroupIds": "SecurityGroupIds"}
        )
    params["Tags"] = i.get("tags") or {}
    return params


def _alias(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/lambda/alias.go resourceAliasCreate, expandAliasRoutingConfiguration
    params = _pick(
        i,
        {
            "functionName": "FunctionName",
            "name": "Name",
            "functionVersion": "FunctionVersion",
            "description": "Description",
        },
    )
    routing = _json(i.get("routingConfig")) or {}
    if routing.get("additionalVersionWeights"):
        params["RoutingConfig"] = {
            "AdditionalVersionWeights": routing["additionalVersionWeights"]
        }
    return params


def _function_url(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/lambda/function_url.go resourceFunctionURLCreate
    return _pick(
        i,
        {
            "functionName": "FunctionName",
            "qualifier": "Qualifier",
            "authorizationType": "AuthType",
            "invokeMode": "InvokeMode",
        },
    )


def _metric_alarm(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/cloudwatch/metric_alarm.go expandPutMetricAlarmInput, expandMetricAlarmMetrics
    params = _pick(
        i,
        {
            "name": "AlarmName",
            "alarmDescription": "AlarmDescription",
            "threshold": "Threshold",
            "comparisonOperator": "ComparisonOperator",
            "evaluationPeriods": "EvaluationPeriods",
            "datapointsToAlarm": "DatapointsToAlarm",
            "treatMissingData": "TreatMissingData",
            "namespace": "Namespace",
            "metricName": "MetricName",
            "period": "Period",
            "statistic": "Statistic",
            "extendedStatistic": "ExtendedStatistic",
            "alarmActions": "AlarmActions",
            "okActions": "OKActions",
        },
    )
    if isinstance(i.get("dimensions"), dict):
        params["Dimensions"] = [{"Name": k, "Value": v} for k, v in i["dimensions"].items()]
    queries = []
    for query in _json(i.get("metricQueries")) or []:
        out = _pick(
            query,
            {"id": "Id", "expression": "Expression", "label": "Label", "returnData": "ReturnData"},
        )
        metric = query.get("metric")
        if metric:
            out["MetricStat"] = {
                "Metric": {
                    "Namespace": metric.get("namespace"),
                    "MetricName": metric.get("metricName"),
                    "Dimensions": [
                        {"Name": k, "Value": v} for k, v in (metric.get("dimensions") or {}).items()
                    ],
                },
                "Period": metric.get("period"),
                "Stat": metric.get("stat"),
            }
        queries.append(out)
    if queries:
        params["Metrics"] = queries
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _log_retention(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/logs/group.go resourceGroupCreate (PutRetentionPolicy after CreateLogGroup)
    return {"logGroupName": i.get("name"), "retentionInDays": i.get("retentionInDays")}


def _cluster(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/eks/cluster.go resourceClusterCreate and its expand* functions
    vpc = _json(i.get("vpcConfig")) or {}
    compute = _json(i.get("computeConfig")) or {}
    access = i.get("accessConfig") or {}
    params = {
        "name": i.get("name"),
        "version": i.get("version"),
        "roleArn": i.get("roleArn"),
        "resourcesVpcConfig": _pick(
            vpc,
            {
                "subnetIds": "subnetIds",
                "endpointPublicAccess": "endpointPublicAccess",
                "endpointPrivateAccess": "endpointPrivateAccess",
                "publicAccessCidrs": "publicAccessCidrs",
            },
        ),
        "accessConfig": _pick(
            access,
            {
                "authenticationMode": "authenticationMode",
                "bootstrapClusterCreatorAdminPermissions": "bootstrapClusterCreatorAdminPermissions",
            },
        ),
        "bootstrapSelfManagedAddons": i.get("bootstrapSelfManagedAddons"),
        "logging": {
            "clusterLogging": [{"types": i.get("enabledClusterLogTypes") or [], "enabled": True}]
        },
        "tags": i.get("tags") or {},
    }
    if compute:
        params["computeConfig"] = _pick(
            compute, {"enabled": "enabled", "nodePools": "nodePools", "nodeRoleArn": "nodeRoleArn"}
        )
    network = i.get("kubernetesNetworkConfig") or {}
    if network.get("elasticLoadBalancing"):
        params["kubernetesNetworkConfig"] = {
            "elasticLoadBalancing": network["elasticLoadBalancing"]
        }
    storage = i.get("storageConfig") or {}
    if storage.get("blockStorage"):
        params["storageConfig"] = {"blockStorage": storage["blockStorage"]}
    if i.get("upgradePolicy"):
        params["upgradePolicy"] = i["upgradePolicy"]
    return params


def _access_entry(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/eks/access_entry.go resourceAccessEntryCreate
    return {
        **_pick(i, {"clusterName": "clusterName", "principalArn": "principalArn", "type": "type"}),
        "tags": i.get("tags") or {},
    }


def _role(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/iam/role.go resourceRoleCreate
    params = _pick(
        i,
        {
            "name": "RoleName",
            "path": "Path",
            "description": "Description",
            "maxSessionDuration": "MaxSessionDuration",
            "permissionsBoundary": "PermissionsBoundary",
        },
    )
    params.setdefault("RoleName", "placeholder-name")
    params["AssumeRolePolicyDocument"] = i.get("assumeRolePolicy")
    params["Tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _lifecycle_policy(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ecr/lifecycle_policy.go resourceLifecyclePolicyPut
    return {"repositoryName": i.get("repository"), "lifecyclePolicyText": i.get("policy")}


def _repository(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ecr/repository.go resourceRepositoryCreate
    params = _pick(i, {"name": "repositoryName", "imageTagMutability": "imageTagMutability"})
    params["encryptionConfiguration"] = (i.get("encryptionConfigurations") or [{}])[0]
    params["tags"] = _tags_list(i.get("tags"), "Key", "Value")
    return params


def _vpc(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ec2/vpc_.go resourceVPCCreate (tags as TagSpecifications)
    return {"CidrBlock": i.get("cidrBlock"), **_tag_specs(i, "vpc")}


def _subnet(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/ec2/vpc_subnet.go resourceSubnetCreate
    return {
        **_pick(
            i, {"vpcId": "VpcId", "cidrBlock": "CidrBlock", "availabilityZone": "AvailabilityZone"}
        ),
        **_tag_specs(i, "subnet"),
    }


def _tag_specs(i: dict[str, Any], kind: str) -> dict[str, Any]:
    tags = _json(i.get("tags")) or {}
    return (
        {"TagSpecifications": [{"ResourceType": kind, "Tags": _tags_list(tags, "Key", "Value")}]}
        if tags
        else {}
    )


def _budget(i: dict[str, Any]) -> dict[str, Any]:
    # internal/service/budgets/budget.go resourceBudgetCreate, expandBudgetUnmarshal,
    # expandBudgetNotificationsUnmarshal (notifications go with CreateBudget's request here)
    budget: dict[str, Any] = _pick(
        i, {"name": "BudgetName", "budgetType": "BudgetType", "timeUnit": "TimeUnit"}
    )
    if i.get("limitAmount") is not None:
        budget["BudgetLimit"] = {"Amount": i["limitAmount"], "Unit": i.get("limitUnit")}
    if i.get("filterExpression"):
        budget["FilterExpression"] = _budget_expression(i["filterExpression"])
    notifications = [
        {
            "Notification": _pick(n, {
                "comparisonOperator": "ComparisonOperator", "notificationType": "NotificationType",
                "threshold": "Threshold", "thresholdType": "ThresholdType",
            }),  # fmt: skip
            "Subscribers": [
                *({"SubscriptionType": "SNS", "Address": a} for a in n.get("subscriberSnsTopicArns") or []),
                *({"SubscriptionType": "EMAIL", "Address": a} for a in n.get("subscriberEmailAddresses") or []),
            ],  # fmt: skip
        }
        for n in i.get("notifications") or []
    ]
    return {
        "AccountId": "123456789012",
        "Budget": budget,
        "NotificationsWithSubscribers": notifications,
        "ResourceTags": _tags_list(i.get("tags"), "Key", "Value"),
    }


def _budget_expression(e: dict[str, Any]) -> dict[str, Any]:
    expression: dict[str, Any] = {}
    if e.get("ands"):
        expression["And"] = [_budget_expression(x) for x in e["ands"]]
    if e.get("tags"):
        expression["Tags"] = _pick(e["tags"], {"key": "Key", "values": "Values", "matchOptions": "MatchOptions"})
    return expression


# Pulumi type token -> (botocore service, operation, translation).
OPERATIONS: dict[str, tuple[str, str, Translation]] = {
    "aws:ecs/taskDefinition:TaskDefinition": ("ecs", "RegisterTaskDefinition", _task_definition),
    "aws:ecs/service:Service": ("ecs", "CreateService", _service),
    "aws:lb/targetGroup:TargetGroup": ("elbv2", "CreateTargetGroup", _target_group),
    "aws:lb/listener:Listener": ("elbv2", "CreateListener", _listener),
    "aws:lb/listenerRule:ListenerRule": ("elbv2", "CreateRule", _listener_rule),
    "aws:lb/loadBalancer:LoadBalancer": ("elbv2", "CreateLoadBalancer", _load_balancer),
    "aws:lambda/function:Function": ("lambda", "CreateFunction", _function),
    "aws:lambda/alias:Alias": ("lambda", "CreateAlias", _alias),
    "aws:lambda/functionUrl:FunctionUrl": ("lambda", "CreateFunctionUrlConfig", _function_url),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "PutMetricAlarm", _metric_alarm),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "PutRetentionPolicy", _log_retention),
    "aws:eks/cluster:Cluster": ("eks", "CreateCluster", _cluster),
    "aws:eks/accessEntry:AccessEntry": ("eks", "CreateAccessEntry", _access_entry),
    "aws:iam/role:Role": ("iam", "CreateRole", _role),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr", "PutLifecyclePolicy", _lifecycle_policy),
    "aws:ecr/repository:Repository": ("ecr", "CreateRepository", _repository),
    "aws:ec2/vpc:Vpc": ("ec2", "CreateVpc", _vpc),
    "aws:ec2/subnet:Subnet": ("ec2", "CreateSubnet", _subnet),
    "aws:budgets/budget:Budget": ("budgets", "CreateBudget", _budget),
}


@cache
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def botocore_version() -> str:
    import botocore

    return f"botocore {botocore.__version__}"


def check(token: str, inputs: dict[str, Any]) -> list[str] | None:
    """botocore's findings for the API call the provider makes, or None if not translated."""
    from botocore.validate import ParamValidator

    if token not in OPERATIONS:
        return None
    service, operation, translate = OPERATIONS[token]
    params = _drop_none(translate(inputs))
    shape = _model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return []
    return [
        f"{service}.{operation}: {line.strip()}" for line in report.generate_report().splitlines()
    ]
