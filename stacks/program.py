"""The infra program of a generated repo: the `shared` stack or one stage, chosen by stack name.

- `shared`: the ECR repository, the GitHub OIDC provider and the CI push role.
- any other stack is a stage: its boundary, network and deploy role (`Stage`), the deploy target
  its config names (`<project>:target`: ecs, eks or lambda), and alarms and a dashboard. It reads
  the shared stack's outputs through a StackReference.
"""

from __future__ import annotations

import pulumi

from .common import AwsContext, Naming, github_subject
from .ecs import EcsService, EcsServiceArgs
from .identity import CiRole, CiRoleArgs, GithubOidc, GithubOidcArgs, PreviewRole, PreviewRoleArgs
from .lambda_fn import LambdaService, LambdaServiceArgs
from .network import Network
from .observability import Observability, ObservabilityArgs
from .registry import Registry, RegistryArgs
from .sdk import aws, kubernetes
from .settings import (
    PLACEHOLDER_DIGEST,
    SHARED,
    SharedSettings,
    StageSettings,
    foundation_only,
    offline_plan,
    real_update,
)
from .stage import Stage, StageArgs, StageNetworkArgs

# Used in offline plans and previews while no owner is configured; never deployed.
PLACEHOLDER_OWNER = "OWNER-NOT-SET"


def main() -> None:
    project = pulumi.get_project()
    stack = pulumi.get_stack()
    if stack == SHARED:
        shared_stack(project)
    else:
        stage_stack(project, stack)


def aws_context() -> AwsContext:
    region = pulumi.Config("aws").get("region") or aws.get_region().region
    partition = aws.get_partition()
    identity = aws.get_caller_identity()
    return AwsContext(
        partition=partition.partition,
        region=region,
        account_id=identity.account_id,
        dns_suffix=partition.dns_suffix,
    )


def github_owner(project: str, owner: str, stack: str) -> str:
    """The GitHub owner the trust policies name; a real update refuses to run without one."""
    if owner:
        return owner
    if real_update():
        raise pulumi.RunError(
            f"no GitHub owner is configured, so no role can trust this repository's workflows; "
            f"set it: pulumi config set {project}:owner OWNER --stack {stack}"
        )
    pulumi.log.warn(f"{project}:owner is not set: trust policies show '{PLACEHOLDER_OWNER}'")
    return PLACEHOLDER_OWNER


def shared_stack(project: str) -> None:
    settings = SharedSettings.load(project)
    ctx = aws_context()
    tags = Naming(project, SHARED).tags()
    owner = github_owner(project, settings.owner, SHARED)

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
            tags=tags,
        ),
    )
    oidc = GithubOidc(
        f"{project}-github",
        GithubOidcArgs(existing_provider_arn=settings.oidc_provider_arn, tags=tags),
    )
    ci = CiRole(
        f"{project}-ci",
        CiRoleArgs(
            ctx=ctx,
            provider_arn=oidc.provider_arn,
            owner=owner,
            repository=project,
            ecr_repository_arn=registry.repository_arn,
            role_name=f"{project}-ci",
            tags=tags,
        ),
    )
    preview = PreviewRole(
        f"{project}-preview",
        PreviewRoleArgs(
            ctx=ctx,
            provider_arn=oidc.provider_arn,
            owner=owner,
            repository=project,
            role_name=f"{project}-preview",
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


def deployed_image(
    settings: StageSettings, repository_url: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The image reference to run, by digest; a marked placeholder before the first build."""
    if settings.image is None:
        if real_update() and not foundation_only():
            raise pulumi.RunError(
                f"stage '{settings.stage}' has no image yet, so there is nothing to deploy: "
                "push to main to run the build workflow (it sets the image), or set one: "
                f"pulumi config set {settings.project}:image REPOSITORY@sha256:DIGEST "
                f"--stack {settings.stage}"
            )
        if not offline_plan():
            pulumi.log.warn(
                f"{settings.project}:image is not set: the workload is shown with the placeholder "
                f"digest {PLACEHOLDER_DIGEST} (no image has been built yet)"
            )
        return repository_url.apply(lambda url: f"{url}@{PLACEHOLDER_DIGEST}")

    image = settings.image

    def same_repository(url: str) -> str:
        if not image.startswith(f"{url}@"):
            raise pulumi.RunError(
                f"{settings.project}:image '{image}' is not in this project's repository {url}; "
                "deploy images built by this project's build workflow"
            )
        return image

    return repository_url.apply(same_repository)


def stage_stack(project: str, stage: str) -> None:
    settings = StageSettings.load(project, stage)
    ctx = aws_context()
    naming = Naming(project, stage)
    name = naming.prefix
    tags = naming.tags()
    owner = github_owner(project, settings.owner, stage)

    shared = pulumi.StackReference(f"{pulumi.get_organization()}/{project}/{SHARED}")
    repository_url = shared.require_output("repositoryUrl")
    repository_arn = shared.require_output("repositoryArn")
    image = deployed_image(settings, repository_url)
    environment: dict[str, pulumi.Input[str]] = {
        "SERVICE_NAME": project,
        "STAGE": stage,
        "RELEASE": image.apply(lambda ref: ref.rsplit("@", 1)[1]),
        "LOG_LEVEL": "INFO",
    }

    network_args = None
    if settings.needs_network:
        zones = aws.get_availability_zones(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        )
        network_args = StageNetworkArgs(
            availability_zones=list(zones.names),
            cidr=settings.vpc_cidr,
            az_count=settings.az_count,
            nat_per_az=settings.nat_per_az,
        )
    base = Stage(
        name,
        StageArgs(
            ctx=ctx,
            naming=naming,
            target=settings.target,
            subject=github_subject(owner, project, settings.trust_subject, stage),
            oidc_provider_arn=shared.require_output("oidcProviderArn"),
            repository_arn=repository_arn,
            network=network_args,
            lambda_in_vpc=settings.target == "lambda" and settings.lambda_vpc,
            log_retention_days=settings.log_retention_days,
            state_backend=settings.state_backend,
            tags=tags,
        ),
    )
    network = base.network
    boundary = base.boundary.arn

    if settings.target == "ecs":
        assert network is not None
        service = EcsService(
            name,
            EcsServiceArgs(
                ctx=ctx,
                image=image,
                repository_arn=repository_arn,
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
                environment=environment,
                log_group_name=naming.log_group("ecs"),
                role_path=naming.role_path,
                permissions_boundary=boundary,
                tags=tags,
            ),
        )
        url = service.url
        observed = ObservabilityArgs(
            ctx=ctx, target="ecs", load_balancer_arn_suffix=service.load_balancer_arn_suffix
        )
    elif settings.target == "eks":
        assert network is not None
        url, load_balancer_suffix = _eks(
            name, ctx, settings, network, base, image, environment, tags
        )
        observed = ObservabilityArgs(
            ctx=ctx, target="eks", load_balancer_arn_suffix=load_balancer_suffix
        )
    else:
        function = LambdaService(
            name,
            LambdaServiceArgs(
                ctx=ctx,
                image=image,
                memory=settings.memory,
                timeout=settings.lambda_timeout,
                reserved_concurrency=settings.reserved_concurrency,
                log_retention_days=settings.log_retention_days,
                environment=environment,
                vpc_id=network.vpc_id if network is not None else None,
                subnet_ids=network.private_subnet_ids if network is not None else (),
                log_group_name=naming.log_group("lambda"),
                role_path=naming.role_path,
                permissions_boundary=boundary,
                tags=tags,
            ),
        )
        url = function.url
        observed = ObservabilityArgs(
            ctx=ctx,
            target="lambda",
            function_name=function.function_name,
            alias_name=function.alias_name,
        )

    observed.latency_threshold_ms = settings.latency_threshold_ms
    observed.error_rate_threshold = settings.error_rate_threshold
    observed.error_count_threshold = settings.error_count_threshold
    observed.alarm_topic_arn = settings.alarm_topic_arn
    observed.tags = tags
    Observability(name, observed)

    pulumi.export("url", url)
    pulumi.export("image", image)
    pulumi.export("target", settings.target)
    pulumi.export("region", ctx.region)
    pulumi.export("deployRoleArn", base.deploy_role.arn)
    pulumi.export("stage", stage)


def _eks(
    name: str,
    ctx: AwsContext,
    settings: StageSettings,
    network: Network,
    base: Stage,
    image: pulumi.Output[str],
    environment: dict[str, pulumi.Input[str]],
    tags: dict[str, str],
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    # pulumi-kubernetes is imported only by EKS stages (it is the slowest import of the program).

    from .eks import EksCluster, EksClusterArgs, EksWorkload, EksWorkloadArgs, load_balancer_name

    cluster = EksCluster(
        name,
        EksClusterArgs(
            ctx=ctx,
            subnet_ids=network.private_subnet_ids,
            version=settings.kubernetes_version,
            admin_principal_arns=[base.deploy_role.arn],
            public_endpoint=settings.eks_public_endpoint,
            public_access_cidrs=settings.eks_public_access_cidrs,
            log_retention_days=settings.log_retention_days,
            role_path=Naming(settings.project, settings.stage).role_path,
            tags=tags,
        ),
    )
    # The program (never a component) makes the provider, from the cluster's own kubeconfig.
    provider = kubernetes().Provider(
        f"{name}-k8s",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        delete_unreachable=True,
    )
    workload = EksWorkload(
        name,
        EksWorkloadArgs(
            provider=provider,
            image=image,
            namespace=settings.project,
            cpu=settings.cpu,
            memory=settings.memory,
            min_replicas=settings.min_capacity,
            max_replicas=settings.max_capacity,
            certificate_arn=settings.certificate_arn,
            environment=environment,
            labels={"app.kubernetes.io/part-of": settings.project, "stage": settings.stage},
        ),
        opts=pulumi.ResourceOptions(depends_on=[cluster]),
    )
    # Auto Mode makes the load balancer when the Ingress is admitted; look it up for the alarms.
    load_balancer = aws.lb.get_load_balancer_output(
        name=workload.hostname.apply(load_balancer_name),
        opts=pulumi.InvokeOutputOptions(depends_on=[workload]),
    )
    return workload.url, load_balancer.arn_suffix
