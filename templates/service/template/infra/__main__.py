"""The infrastructure of this service: one Pulumi project, a `shared` stack and a stack per stage.

- `shared` (account-level): the container registry, GitHub's OIDC provider, the CI role (pushes
  images, reads the stacks' outputs) and the preview role (read-only previews of pull requests).
- every other stack is a stage: its foundation (permissions boundary, network, deploy role), the
  deploy target its config names (`target`: ecs, eks or lambda) running the project's image by
  digest, and alarms with a dashboard. A stage reads the shared stack through a StackReference.
  A stage may live in its own AWS account (`account` in its stack file): it then has its own
  GitHub OIDC provider, and the shared stack's registry lets that account pull (it reads the
  sibling stage files to know them).
- `pr-<number>`: a pull request's preview environment (stacks/pr_env.py; pr-env.yml deploys it).

The components are in ./stacks, this repository's own copy: edit them freely. Pulumi.yaml declares
every config key with its default; Pulumi.<stack>.yaml holds what differs per stack. The tests in
./tests run this program under Pulumi's mocks (see README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from stacks import accounts, contract
from stacks.alarm_reader import configured_next_stage
from stacks.budget import StageBudget, StageBudgetArgs
from stacks.common import AwsContext, Naming
from stacks.config_checks import check_lambda_region
from stacks.ecs import EcsService, EcsServiceArgs
from stacks.identity import (
    CiRole,
    CiRoleArgs,
    GithubIdentity,
    GithubOidc,
    GithubOidcArgs,
    PreviewRole,
    PreviewRoleArgs,
)
from stacks.image import deployed_image
from stacks.lambda_fn import LambdaService, LambdaServiceArgs
from stacks.observability import Observability, ObservabilityArgs
from stacks.pr_ecs import export_platform, stage_preview_ports
from stacks.pr_env import (
    PreviewAccess,
    PreviewAccessArgs,
    PreviewSettings,
    check_first_stage,
    preview_stack,
)
from stacks.registry import Registry, RegistryArgs
from stacks.settings import SharedSettings, StageSettings, offline_plan, real_update
from stacks.stage import Stage, StageArgs, StageNetworkArgs, stage_context

# The stack files live beside this program (the shared stack reads the stages' placements).
INFRA_DIR = Path(__file__).resolve().parent


def shared_stack(settings: SharedSettings) -> None:
    project = settings.project
    ctx = AwsContext.current()
    tags = Naming(project, contract.SHARED).tags()
    github = github_identity(settings)
    foreign = foreign_stages(settings, ctx)

    registry = Registry(
        project,
        RegistryArgs(
            repository_name=project,
            ctx=ctx,
            stages=settings.stages,
            keep_releases=settings.keep_releases,
            untagged_expiry_days=settings.untagged_expiry_days,
            lambda_function_prefix=f"{project}-",
            manage_scanning=settings.registry_scanning,
            force_delete=settings.force_delete_repository,
            project=project,
            foreign_stages=foreign,
            tags=tags,
        ),
    )
    oidc = GithubOidc(
        f"{project}-github",
        GithubOidcArgs(
            github=github, existing_provider_arn=settings.oidc_provider_arn, tags=tags
        ),
    )
    ci = CiRole(
        contract.ci_role_name(project),
        CiRoleArgs(
            ctx=ctx,
            github=github,
            provider_arn=oidc.provider_arn,
            ecr_repository_arn=registry.repository_arn,
            role_name=contract.ci_role_name(project),
            state_backend=settings.state_backend,
            tags=tags,
        ),
    )
    preview = PreviewRole(
        contract.preview_role_name(project),
        PreviewRoleArgs(
            ctx=ctx,
            github=github,
            provider_arn=oidc.provider_arn,
            role_name=contract.preview_role_name(project),
            state_backend=settings.state_backend,
            tags=tags,
        ),
    )

    pulumi.export("repositoryUrl", registry.repository_url)
    pulumi.export("repositoryName", registry.repository_name)
    pulumi.export("repositoryArn", registry.repository_arn)
    pulumi.export("ciRoleArn", ci.arn)
    pulumi.export("previewRoleArn", preview.arn)
    pulumi.export("oidcProviderArn", oidc.provider_arn)
    pulumi.export(contract.ACCOUNT_OUTPUT, ctx.account_id)
    preview_settings = PreviewSettings.load(project)
    # The stages read where previews run (the first one opens its load balancer to ECS previews).
    pulumi.export(contract.PREVIEW_TARGET_OUTPUT, preview_settings.target)
    if preview_settings.target != "none":
        check_first_stage(project, preview_settings, settings.stages, INFRA_DIR)
        previews = PreviewAccess(
            f"{project}-pr",
            PreviewAccessArgs(
                ctx=ctx, project=project, github=github, provider_arn=oidc.provider_arn,
                ttl_hours=preview_settings.ttl_hours, state_backend=settings.state_backend,
                tags=tags, target=preview_settings.target,
                first_stage=settings.stages[0] if settings.stages else None,
            ),
        )  # fmt: skip
        pulumi.export(contract.PR_ROLE_OUTPUT, previews.arn)
        pulumi.export(contract.PREVIEW_REPOSITORY_OUTPUT, previews.repository_url)


def foreign_stages(settings: SharedSettings, ctx: AwsContext) -> list[accounts.Placement]:
    """The stages in other accounts than this one, from their stack files (each file owns its
    stage's account); a Lambda stage outside this region cannot pull from this registry."""
    try:
        placements = accounts.read_placements(INFRA_DIR, settings.project, settings.stages)
    except accounts.PlacementError as error:
        raise pulumi.RunError(str(error)) from None
    for placement in placements:
        region = placement.region_in(ctx.region)
        for issue in check_lambda_region(placement.stage, placement.target, region, ctx.region):
            pulumi.log.warn(f"{contract.stack_file(placement.stage)}: {issue.problem}; {issue.fix}")
    return accounts.foreign(placements, ctx.account_id)


def stage_stack(settings: StageSettings) -> None:
    naming = Naming(settings.project, settings.stage)
    ctx = stage_context(
        AwsContext.current(), naming, settings.account, offline=offline_plan()
    )
    try:
        registry_region = accounts.stack_region(INFRA_DIR, contract.SHARED)
    except accounts.PlacementError as error:
        raise pulumi.RunError(str(error)) from None
    for issue in check_lambda_region(settings.stage, settings.target, ctx.region, registry_region):
        problem = f"config {settings.project}:{issue.key}: {issue.problem}; {issue.fix}"
        raise pulumi.RunError(problem)

    shared = pulumi.StackReference(
        f"{pulumi.get_organization()}/{settings.project}/{contract.SHARED}"
    )
    repository_arn = shared.require_output("repositoryArn")
    image = deployed_image(settings, shared.require_output("repositoryUrl"))

    stage = Stage(
        naming.prefix,
        StageArgs(
            ctx=ctx,
            naming=naming,
            target=settings.target,
            github=github_identity(settings),
            trust_subject=settings.trust_subject,
            oidc_provider_arn=shared.require_output("oidcProviderArn"),
            own_oidc=settings.account is not None or settings.oidc_provider_arn is not None,
            existing_oidc_provider_arn=settings.oidc_provider_arn,
            repository_arn=repository_arn,
            network=stage_network(settings),
            lambda_in_vpc=settings.target == "lambda" and settings.lambda_vpc,
            log_retention_days=settings.log_retention_days,
            state_backend=settings.state_backend,
            tags=naming.tags(),
            next_stage=configured_next_stage(settings.project, settings.stage),
            # The shared preview role cannot act in the stage's own account.
            own_preview_role=settings.account is not None,
        ),
    )

    workload = Workload(
        settings, ctx, naming, stage, image, repository_arn,
        preview_target=shared.get_output(contract.PREVIEW_TARGET_OUTPUT),
    )  # fmt: skip
    deploy = {"ecs": ecs_service, "eks": eks_service, "lambda": lambda_service}[settings.target]
    url, observability = deploy(workload)
    if settings.monthly_budget is not None and settings.alarm_topic_arn:
        budget = StageBudgetArgs(
            naming, settings.monthly_budget, settings.alarm_topic_arn, naming.tags()
        )
        StageBudget(naming.prefix, budget)

    pulumi.export("url", url)
    pulumi.export("image", image)
    pulumi.export("target", settings.target)
    pulumi.export("region", ctx.region)
    pulumi.export("deployRoleArn", stage.deploy_role.arn)
    if stage.alarm_reader is not None:  # the next stage's deploy job reads this stage's alarms
        pulumi.export(contract.ALARM_READER_OUTPUT, stage.alarm_reader.arn)
    if stage.preview_role is not None:  # preview.yml previews this stage as it
        pulumi.export(contract.STAGE_PREVIEW_ROLE_OUTPUT, stage.preview_role.arn)
    pulumi.export("stage", settings.stage)
    pulumi.export(contract.ACCOUNT_OUTPUT, ctx.account_id)
    # The stage's alarms, which the deploy workflow watches after every deploy (ECS also rolls a
    # deployment back on the 5xx-rate and latency alarms by itself).
    pulumi.export(contract.ALARM_NAMES_OUTPUT, observability.alarm_names)


def github_identity(settings: SharedSettings | StageSettings) -> GithubIdentity:
    """What GitHub's OIDC tokens for this repository carry, as bootstrap recorded it."""
    return GithubIdentity.from_config(
        settings.project,
        settings.github_subject_prefix,
        settings.github_oidc_issuer,
        real_update=real_update(),
    )


def stage_network(settings: StageSettings) -> StageNetworkArgs | None:
    """The stage's VPC over the region's first zones (Lambda outside a VPC needs none)."""
    if not settings.needs_network:
        return None
    zones = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
    )
    return StageNetworkArgs(
        availability_zones=list(zones.names),
        cidr=settings.vpc_cidr,
        az_count=settings.az_count,
        nat_per_az=settings.nat_per_az,
    )


@dataclass(frozen=True)
class Workload:
    """What every deploy target runs: the stage's image by digest, with its settings, inside the
    stage's foundation (network, permissions boundary, deploy role)."""

    settings: StageSettings
    ctx: AwsContext
    naming: Naming
    stage: Stage
    image: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    # Where the shared stack runs pull-request previews (the first ECS stage hosts ECS ones).
    preview_target: pulumi.Output[Any] | None = None

    @property
    def environment(self) -> dict[str, pulumi.Input[str]]:
        """The service's environment (app/src/service/config.py reads it)."""
        return {
            "SERVICE_NAME": self.settings.project,
            "STAGE": self.settings.stage,
            "RELEASE": self.image.apply(lambda ref: ref.rsplit("@", 1)[1]),
            "LOG_LEVEL": "INFO",
        }


    def observe(self, **metrics: Any) -> Observability:
        """The stage's alarms and dashboard over what the target serves (`metrics`)."""
        settings, naming = self.settings, self.naming
        return Observability(
            naming.prefix,
            ObservabilityArgs(
                ctx=self.ctx,
                target=settings.target,
                latency_threshold_ms=settings.latency_threshold_ms,
                error_rate_threshold=settings.error_rate_threshold,
                error_count_threshold=settings.error_count_threshold,
                alarm_topic_arn=settings.alarm_topic_arn,
                tags=naming.tags(),
                **metrics,
            ),
        )


# Each deploy target runs the workload and answers (its URL, the stage's alarms over it).
Deployed = tuple[pulumi.Output[str], Observability]


def ecs_service(workload: Workload) -> Deployed:
    settings, naming, stage = workload.settings, workload.naming, workload.stage
    network, roles = stage.network, stage.ecs_roles
    assert network is not None and roles is not None
    made: list[Observability] = []

    def rollback_alarms(load_balancer_arn_suffix: pulumi.Output[str]) -> list[pulumi.Output[str]]:
        # The alarms exist before the service that rolls back on them.
        made.append(workload.observe(load_balancer_arn_suffix=load_balancer_arn_suffix))
        return made[0].rollback_alarm_names

    preview_ports = (
        stage_preview_ports(settings.project, settings.stage, workload.preview_target)
        if workload.preview_target is not None
        else None
    )
    service = EcsService(
        naming.prefix,
        EcsServiceArgs(
            ctx=workload.ctx,
            image=workload.image,
            repository_arn=workload.repository_arn,
            vpc_id=network.vpc_id,
            vpc_cidr=network.cidr,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            cpu=settings.cpu,
            memory=settings.memory,
            min_capacity=settings.min_capacity,
            max_capacity=settings.max_capacity,
            log_retention_days=settings.log_retention_days,
            certificate_arn=settings.certificate_arn,
            environment=workload.environment,
            log_group_name=naming.log_group("ecs"),
            role_path=naming.role_path,
            permissions_boundary=stage.boundary.arn,
            tags=naming.tags(),
            rollout=settings.rollout,
            infrastructure_role_arn=roles.infrastructure_role.arn,
            deployment_alarms=rollback_alarms,
            preview_ports=preview_ports,
        ),
    )
    export_platform(service.preview_platform, preview_ports)
    return service.url, made[0]


def eks_service(workload: Workload) -> Deployed:
    # pulumi-kubernetes is imported only by EKS stages (it is the slowest import of the program).
    import pulumi_kubernetes as k8s

    from stacks.eks import EksCluster, EksClusterArgs
    from stacks.eks_workload import EksWorkload, EksWorkloadArgs, load_balancer_name

    settings, naming, stage = workload.settings, workload.naming, workload.stage
    network, roles = stage.network, stage.eks_roles
    assert network is not None and roles is not None
    cluster = EksCluster(
        naming.prefix,
        EksClusterArgs(
            ctx=workload.ctx,
            subnet_ids=network.private_subnet_ids,
            cluster_role_arn=roles.cluster_role.arn,
            node_role_arn=roles.node_role.arn,
            deploy_role_arn=stage.deploy_role.arn,
            admin_arns=settings.eks_admins,
            version=settings.kubernetes_version,
            public_endpoint=settings.eks_public_endpoint,
            public_access_cidrs=settings.eks_public_access_cidrs,
            log_retention_days=settings.log_retention_days,
            tags=naming.tags(),
            depends_on=[roles],
        ),
    )
    # The program (never a component) makes the provider, from the cluster's own kubeconfig; the
    # workload waits for the cluster's access entries, through which the provider gets in.
    provider = k8s.Provider(
        f"{naming.prefix}-k8s",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        delete_unreachable=True,
    )
    pods = EksWorkload(
        naming.prefix,
        EksWorkloadArgs(
            provider=provider,
            image=workload.image,
            namespace=settings.project,
            cpu=settings.cpu,
            memory=settings.memory,
            min_replicas=settings.min_capacity,
            max_replicas=settings.max_capacity,
            certificate_arn=settings.certificate_arn,
            environment=workload.environment,
            labels={"app.kubernetes.io/part-of": settings.project, "stage": settings.stage},
            rollout=settings.rollout,
        ),
        opts=pulumi.ResourceOptions(depends_on=[cluster]),
    )
    # Auto Mode makes the load balancer when the Ingress is admitted; look it up for the alarms.
    load_balancer = aws.lb.get_load_balancer_output(
        name=pods.hostname.apply(load_balancer_name),
        opts=pulumi.InvokeOutputOptions(depends_on=[pods]),
    )
    return pods.url, workload.observe(load_balancer_arn_suffix=load_balancer.arn_suffix)


def lambda_service(workload: Workload) -> Deployed:
    settings, naming, stage = workload.settings, workload.naming, workload.stage
    network = stage.network
    function = LambdaService(
        naming.prefix,
        LambdaServiceArgs(
            ctx=workload.ctx,
            image=workload.image,
            memory=settings.memory,
            timeout=settings.lambda_timeout,
            reserved_concurrency=settings.reserved_concurrency,
            log_retention_days=settings.log_retention_days,
            environment=workload.environment,
            vpc_id=network.vpc_id if network is not None else None,
            subnet_ids=network.private_subnet_ids if network is not None else (),
            log_group_name=naming.log_group("lambda"),
            role_path=naming.role_path,
            permissions_boundary=stage.boundary.arn,
            tags=naming.tags(),
            stable_version=settings.rollout.lambda_stable_version,
            new_version_weight=settings.rollout.lambda_new_version_weight,
        ),
    )
    # What the deploy workflow's traffic shifting reads (docs/stacks.md, "Progressive delivery").
    pulumi.export(contract.LIVE_VERSION_OUTPUT, function.live_version)
    pulumi.export(contract.NEW_VERSION_OUTPUT, function.new_version)
    return function.url, workload.observe(
        function_name=function.function_name, alias_name=function.alias_name
    )


if pulumi.get_stack() == contract.SHARED:
    shared_stack(SharedSettings.load(pulumi.get_project()))
elif contract.preview_number(pulumi.get_stack()) is not None:
    preview_stack(pulumi.get_project(), pulumi.get_stack())
else:
    stage_stack(StageSettings.load(pulumi.get_project(), pulumi.get_stack()))
