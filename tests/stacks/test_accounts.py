"""Stages in their own AWS accounts: the registry's repository policy, the stage's own GitHub OIDC
provider and deploy role trust, the account guard, and the Lambda region rule.

A sample project: the shared stack (and dev) in the tooling account 111111111111 (eu-west-1),
prod (ECS) in 222222222222 (us-east-1), test (Lambda) in 333333333333 (eu-west-1, the registry's
region). The offline runner answers for one account (bootstrap/offline/fake_aws.py); each run here
sets that account to the one the run's credentials would be of.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bootstrap.offline import PlanError, StackPlan, run_program
from stacks import accounts, config_checks, config_schema, contract
from stacks.contract import urn_glob

from .helpers import (
    ISSUER,
    MANAGED_POLICY,
    PREFIX,
    PROJECT,
    REGION,
    ROLE,
    ROLE_POLICY,
    actions,
    one,
    parliament_findings,
    policy_documents,
    resources,
    shared_config,
    stage_config,
)

TOOLING = "111111111111"
PROD = "222222222222"  # ECS, another region
TEST = "333333333333"  # Lambda, the registry's region
PROD_REGION = "us-east-1"
PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{TOOLING}:repository/{PROJECT}"


def deploy_role(account: str, stage: str) -> str:
    return f"arn:aws:iam::{account}:role/bootstrap-deploy/{PROJECT}/{PROJECT}-{stage}-deploy"


def github_provider(account: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"


@pytest.fixture(scope="module")
def sample_infra(tmp_path_factory: pytest.TempPathFactory, infra: Path) -> Path:
    """The generated program with the sample project's stage files (the shared stack reads them)."""
    copy = tmp_path_factory.mktemp("accounts") / "infra"
    shutil.copytree(infra, copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    files = {
        "dev": {"aws:region": REGION, f"{PROJECT}:target": "ecs"},
        "test": {"aws:region": REGION, f"{PROJECT}:target": "lambda", f"{PROJECT}:account": TEST},
        "prod": {"aws:region": PROD_REGION, f"{PROJECT}:target": "ecs", f"{PROJECT}:account": PROD},
    }
    for stage, config in files.items():
        (copy / f"Pulumi.{stage}.yaml").write_text(yaml.safe_dump({"config": config}))
    return copy


def run_as(account: str, infra: Path, stack: str, config: dict, **kwargs: Any) -> StackPlan:
    """Run the program with credentials of `account` (what the offline mocks answer)."""
    import bootstrap.offline.fake_aws as fake_aws

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fake_aws, "ACCOUNT_ID", account)
        return run_program(infra, PROJECT, stack, config, **kwargs)


@pytest.fixture(scope="module")
def in_account() -> Any:
    return run_as


@pytest.fixture(scope="module")
def shared(in_account: Any, sample_infra: Path) -> StackPlan:
    return in_account(TOOLING, sample_infra, "shared", shared_config())


@pytest.fixture(scope="module")
def shared_outputs(shared: StackPlan) -> dict[str, dict]:
    return {"shared": shared.outputs}


def prod_config(**overrides: Any) -> dict[str, Any]:
    return stage_config("ecs", "prod", last=True, **{"aws:region": PROD_REGION, "account": PROD, **overrides})


@pytest.fixture(scope="module")
def prod(in_account: Any, sample_infra: Path, shared_outputs: dict) -> StackPlan:
    return in_account(PROD, sample_infra, "prod", prod_config(), stack_outputs=shared_outputs)


def named(plan: StackPlan, type_: str, name: str) -> Any:
    (found,) = [r for r in plan.of_type(type_) if r.name == name]
    return found


def statements(plan: StackPlan) -> dict[str, dict]:
    """The release repository's policy (the previews' repository has its own)."""
    document = json.loads(named(plan, REPOSITORY_POLICY, f"{PROJECT}-policy").inputs["policy"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


# --- the registry ---------------------------------------------------------------------------


def test_each_stage_account_may_pull(shared: StackPlan) -> None:
    pull = statements(shared)["StageAccountsPull"]
    assert pull["Principal"] == {"AWS": [f"arn:aws:iam::{PROD}:root", f"arn:aws:iam::{TEST}:root"]}
    assert actions(pull) == [
        "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"
    ]
    assert "Condition" not in pull and "Resource" not in pull  # the repository it is attached to


def test_lambda_pulls_for_each_lambda_stage_account(shared: StackPlan) -> None:
    """AWS's statement for a function in another account: Lambda's service principal, the two
    pull actions, `aws:SourceArn` naming that account's functions in the registry's region."""
    lambda_pull = statements(shared)["LambdaPull"]
    assert lambda_pull["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert actions(lambda_pull) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert lambda_pull["Condition"] == {
        "ArnLike": {
            "aws:SourceArn": [
                f"arn:aws:lambda:{REGION}:{TOOLING}:function:{PROJECT}-*",
                f"arn:aws:lambda:{REGION}:{TEST}:function:{PROJECT}-*",
            ]
        }
    }  # prod runs ECS: its account is not named


def test_only_the_stage_deploy_role_may_write_release_tags(shared: StackPlan, prod: StackPlan) -> None:
    found = statements(shared)
    assert set(found) == {"LambdaPull", "StageAccountsPull", "DeployRoleProd", "DeployRoleTest"}
    for sid, account, stage in (("DeployRoleProd", PROD, "prod"), ("DeployRoleTest", TEST, "test")):
        statement = found[sid]
        # An account root with the role in a condition: ECR refuses a policy naming a role that
        # does not exist yet, and the stages' roles come after the shared stack.
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
        assert statement["Condition"] == {
            "ArnEquals": {"aws:PrincipalArn": deploy_role(account, stage)}
        }
        assert {"ecr:PutImage", "ecr:BatchDeleteImage", "ecr:DescribeImageScanFindings"} <= set(
            actions(statement)
        )
    assert "ecr:GetRepositoryPolicy" in actions(found["DeployRoleTest"])  # Lambda reads it
    # Writes go to nobody else: no statement without the deploy role's condition grants one.
    for statement in found.values():
        if "Condition" not in statement or "ArnEquals" not in statement["Condition"]:
            assert not {"ecr:PutImage", "ecr:BatchDeleteImage"} & set(actions(statement))
    # The repository grants the prod deploy role exactly what its own policy grants there.
    granted = {
        action
        for policy in prod.of_type(ROLE_POLICY)
        if policy.name.startswith(f"{PROJECT}-prod-deploy-")
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        if REPOSITORY_ARN in resources(statement)
        for action in actions(statement)
    }
    assert granted == set(actions(found["DeployRoleProd"]))


def test_the_repository_policy_passes_parliament(shared: StackPlan) -> None:
    (document,) = [d for d in policy_documents(shared) if d.label == f"shared/{PROJECT}-policy"]
    assert document.kind == "resource" and parliament_findings(document) == []


def test_the_registry_keeps_its_encryption(shared: StackPlan, infra: Path) -> None:
    """ECR decrypts pulled images itself, through its grant on the AWS managed key (ECR User
    Guide, "Encryption at rest"): other accounts need no key, so the repository (whose encryption
    cannot change without replacing it) is the same with or without them."""
    single = run_program(infra, PROJECT, "shared", shared_config())
    repository = f"{PROJECT}-repository"
    encrypted = named(shared, REPOSITORY, repository).inputs["encryptionConfigurations"]
    assert encrypted == [{"encryptionType": "KMS"}]
    assert named(single, REPOSITORY, repository).inputs["encryptionConfigurations"] == encrypted
    assert not shared.of_type("aws:kms/key:Key")
    assert shared.outputs[contract.ACCOUNT_OUTPUT] == TOOLING


def test_one_account_projects_keep_the_lambda_statement_alone(infra: Path) -> None:
    plan = run_program(infra, PROJECT, "shared", shared_config())
    assert list(statements(plan)) == ["LambdaPull"]


# --- a stage in its own account ---------------------------------------------------------------


def test_a_stage_in_its_own_account_has_its_own_provider(prod: StackPlan) -> None:
    provider = one(prod, PROVIDER)
    assert provider.inputs["url"] == f"https://{ISSUER}"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # In the foundation: made by the administrator's targeted update, kept by the teardown.
    patterns = [urn_glob(p) for p in contract.foundation_urns(PROJECT, "prod", network=True)]
    component = one(prod, contract.GITHUB_OIDC_COMPONENT)
    for resource in (provider, component):
        assert any(p.match(resource.urn) for p in patterns), resource.urn
    (role,) = [r for r in prod.of_type(ROLE) if r.name == f"{PROJECT}-prod-deploy-role"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": github_provider(PROD)}
    assert trust["Condition"]["StringEquals"][f"{ISSUER}:sub"] == f"{PREFIX}:environment:prod"
    assert prod.outputs["deployRoleArn"] == deploy_role(PROD, "prod")
    assert prod.outputs[contract.ACCOUNT_OUTPUT] == PROD
    assert prod.outputs["region"] == PROD_REGION
    # The deploy role's refresh reads the provider; nothing may change it.
    iam = json.loads(named(prod, ROLE_POLICY, f"{PROJECT}-prod-deploy-iam").inputs["policy"])
    on_provider = [s for s in iam["Statement"] if github_provider(PROD) in resources(s)]
    assert [actions(s) for s in on_provider] == [["iam:GetOpenIDConnectProvider"]]
    failures = {d.label: parliament_findings(d) for d in policy_documents(prod)}
    assert not {label: found for label, found in failures.items() if found}


def preview_role_of(plan: StackPlan, stage: str) -> Any | None:
    name = contract.stage_preview_role_name(PROJECT, stage)
    found = [r for r in plan.of_type(ROLE) if r.inputs.get("name") == name]
    return found[0] if found else None


def test_a_stage_in_its_own_account_has_its_own_preview_role(
    prod: StackPlan, shared: StackPlan
) -> None:
    """preview.yml previews prod as this role: the shared preview role cannot act in prod's
    account. Trusted through prod's own provider for pull requests only; the shared preview
    role's policy (the program's lookups, the state read); in the foundation."""
    role = preview_role_of(prod, "prod")
    assert role is not None
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": github_provider(PROD)}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": f"{PREFIX}:pull_request",
        }
    }
    arn = f"arn:aws:iam::{PROD}:role/bootstrap-deploy/{PROJECT}/{PROJECT}-prod-preview"
    assert prod.outputs[contract.STAGE_PREVIEW_ROLE_OUTPUT] == arn
    patterns = [urn_glob(p) for p in contract.foundation_urns(PROJECT, "prod", network=True)]
    component = f"{PROJECT}-prod-deploy-preview"
    owned = [r for r in prod.resources if r.urn.split("::")[-1].startswith(component)]
    assert len(owned) == 3  # the component, its role and its policy
    assert all(any(p.match(r.urn) for p in patterns) for r in owned), [r.urn for r in owned]

    def policy_of(plan: StackPlan, role_name: str) -> list[dict]:
        (document,) = [
            json.loads(r.inputs["policy"])["Statement"] for r in plan.of_type(ROLE_POLICY)
            if r.name.startswith(role_name) and r.name != role_name
        ]  # fmt: skip
        return document

    # One definition: the same statements as the shared preview role's (its ARNs have no account).
    assert policy_of(prod, component) == policy_of(shared, f"{PROJECT}-preview")
    # The deploy role's refresh reads it; nothing of the stage may change it.
    iam = json.loads(named(prod, ROLE_POLICY, f"{PROJECT}-prod-deploy-iam").inputs["policy"])
    on_role = [s for s in iam["Statement"] if arn in resources(s)]
    assert [s["Sid"] for s in on_role] == ["ReadOwnPreviewRole"]
    assert all(a.startswith(("iam:Get", "iam:List")) for a in actions(on_role[0]))


def test_a_stage_in_the_tooling_account_has_no_preview_role(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    """Stages in the tooling account are previewed as the shared preview role."""
    plan = in_account(
        TOOLING, sample_infra, "dev", stage_config("ecs"), stack_outputs=shared_outputs
    )
    assert preview_role_of(plan, "dev") is None
    assert contract.STAGE_PREVIEW_ROLE_OUTPUT not in plan.outputs
    assert not [r for r in plan.resources if "PreviewRole" in r.type]


def test_the_stage_reuses_the_provider_its_account_has(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    existing = github_provider(PROD)
    plan = in_account(
        PROD, sample_infra, "prod", prod_config(oidcProviderArn=existing), stack_outputs=shared_outputs
    )
    assert not plan.of_type(PROVIDER)
    (role,) = [r for r in plan.of_type(ROLE) if r.name == f"{PROJECT}-prod-deploy-role"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Federated": existing
    }
    preview = preview_role_of(plan, "prod")
    assert preview is not None
    assert json.loads(preview.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Federated": existing
    }


def test_a_stage_in_the_tooling_account_trusts_the_shared_provider(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    plan = in_account(TOOLING, sample_infra, "dev", stage_config("ecs"), stack_outputs=shared_outputs)
    assert not plan.of_type(PROVIDER)
    (role,) = [r for r in plan.of_type(ROLE) if r.name == f"{PROJECT}-dev-deploy-role"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Federated": github_provider(TOOLING)
    }
    assert plan.outputs[contract.ACCOUNT_OUTPUT] == TOOLING


def test_the_wrong_account_is_refused(in_account: Any, sample_infra: Path, shared_outputs: dict) -> None:
    """A run (preview or update) with credentials of another account than the stage's stops
    before anything is planned, naming both accounts and the fix."""
    config = prod_config(**{"bootstrap:offlinePlan": False})
    with pytest.raises(PlanError) as refused:
        in_account(TOOLING, sample_infra, "prod", config, stack_outputs=shared_outputs)
    line = str(refused.value)
    assert f"{PROJECT}:account" in line and f"lives in account {PROD}" in line
    assert f"credentials are of account {TOOLING}" in line and "--profile prod=PROFILE" in line
    assert "\n" not in line.strip()


def test_the_offline_plan_stands_in_the_stages_account(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    """bootstrap's offline plan answers for one account of its own: the stage's account stands
    in, so the plan shows the stage's real ARNs instead of refusing."""
    plan = in_account(TOOLING, sample_infra, "prod", prod_config(), stack_outputs=shared_outputs)
    assert one(plan, PROVIDER) and plan.outputs[contract.ACCOUNT_OUTPUT] == PROD
    boundary = json.loads(named(plan, MANAGED_POLICY, f"{PROJECT}-prod-boundary").inputs["policy"])
    logs = {arn for s in boundary["Statement"] if s["Sid"] == "WriteOwnLogs" for arn in resources(s)}
    assert logs and all(f":{PROD_REGION}:{PROD}:log-group:" in arn for arn in logs), logs


def test_a_stage_naming_the_shared_account_is_refused(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    """The shared stack's account has its provider already; a second one would be refused."""
    config = stage_config("ecs", account=TOOLING)
    with pytest.raises(PlanError, match=f"{TOOLING}, which is the shared stack's account"):
        in_account(TOOLING, sample_infra, "dev", config, stack_outputs=shared_outputs)
    plan = in_account(
        TOOLING, sample_infra, "dev", stage_config("ecs", account=TOOLING,
        oidcProviderArn=github_provider(TOOLING)), stack_outputs=shared_outputs,
    )  # fmt: skip
    assert not plan.of_type(PROVIDER)


def test_a_lambda_stage_outside_the_registrys_region_is_refused(
    in_account: Any, sample_infra: Path, shared_outputs: dict
) -> None:
    config = stage_config("lambda", "test", **{"aws:region": PROD_REGION, "account": TEST})
    with pytest.raises(PlanError) as refused:
        in_account(TEST, sample_infra, "test", config, stack_outputs=shared_outputs)
    line = str(refused.value)
    assert "Lambda runs images only from a registry in its own region" in line
    assert f"deploy stage test in {REGION}" in line


def test_the_shared_stack_warns_of_a_lambda_stage_in_another_region(
    in_account: Any, sample_infra: Path, tmp_path: Path
) -> None:
    infra = tmp_path / "infra"
    shutil.copytree(sample_infra, infra)
    (infra / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": PROD_REGION, f"{PROJECT}:target": "lambda", f"{PROJECT}:account": TEST,
    }}))  # fmt: skip
    plan = in_account(TOOLING, infra, "shared", shared_config())
    assert any("Pulumi.test.yaml" in m and "its own region" in m for m in plan.messages), plan.messages


# --- the configuration -----------------------------------------------------------------------


def test_the_account_key_is_a_stage_setting_of_twelve_digits() -> None:
    setting = config_schema.BY_KEY[contract.ACCOUNT_KEY]
    assert setting.scope == "stage"
    assert config_schema.parse(setting, PROD) == PROD
    assert config_schema.parse(setting, None) is None
    for bad in ("2222", "22222222222a", "arn:aws:iam::222222222222:root"):
        with pytest.raises(config_schema.Invalid, match="is not an AWS account ID"):
            config_schema.parse(setting, bad)
    stage_keys = {s.key for s in config_schema.settings_of("stage")}
    assert {"account", "oidcProviderArn"} <= stage_keys


def test_a_stages_provider_must_be_in_its_account() -> None:
    values = {"githubOidcIssuer": ISSUER, "oidcProviderArn": github_provider(TOOLING)}
    (issue,) = config_checks._oidc_provider(values, account=PROD)
    assert issue.key == "oidcProviderArn" and f"account {PROD}" in issue.fix
    assert config_checks._oidc_provider(values, account=TOOLING) == []
    assert config_checks.check_lambda_region("test", "ecs", PROD_REGION, REGION) == []
    (lambda_issue,) = config_checks.check_lambda_region("test", "lambda", PROD_REGION, REGION)
    assert REGION in lambda_issue.fix


def test_placements_come_from_the_stage_files(sample_infra: Path, tmp_path: Path) -> None:
    placements = accounts.read_placements(sample_infra, PROJECT, ["dev", "test", "prod", "gone"])
    assert placements == [
        accounts.Placement("dev", None, REGION, "ecs"),
        accounts.Placement("test", TEST, REGION, "lambda"),
        accounts.Placement("prod", PROD, PROD_REGION, "ecs"),
        accounts.Placement("gone"),  # no file: the tooling account
    ]
    assert [p.stage for p in accounts.foreign(placements, TOOLING)] == ["test", "prod"]
    assert accounts.foreign_accounts(placements, TOOLING) == [PROD, TEST]
    assert accounts.foreign(placements, PROD) == [placements[1]]  # test's; dev and gone are PROD's
    # Unquoted digits are a YAML number (leading zeros lost): refused with the file and the fix.
    (tmp_path / "Pulumi.prod.yaml").write_text(f"config:\n  {PROJECT}:account: 0022222222\n")
    with pytest.raises(accounts.PlacementError, match=r"Pulumi.prod.yaml shop:account.*in quotes"):
        accounts.read_placements(tmp_path, PROJECT, ["prod"])


# --- a generated repo with stages in other accounts --------------------------------------------


@pytest.fixture(scope="module")
def accounts_repo(tmp_path_factory: pytest.TempPathFactory, template_cache: Path) -> Path:
    """`bootstrap new` of the sample project: its stage files name the accounts and regions."""
    import os

    from bootstrap import spec as spec_mod
    from bootstrap.scaffold import Scaffolder

    os.environ.setdefault("BOOTSTRAP_CACHE_DIR", str(template_cache))
    stages = (
        spec_mod.Stage(name="dev", manual=False, target=spec_mod.Target.ECS),
        spec_mod.Stage(name="test", manual=False, target=spec_mod.Target.LAMBDA, account=TEST),
        spec_mod.Stage(
            name="prod", manual=True, target=spec_mod.Target.ECS, account=PROD, region=PROD_REGION
        ),
    )
    spec = spec_mod.build(
        name=PROJECT, owner="acme", target="ecs", stages=stages, region=REGION, backend=None,
        trust_subject="environment", github_subject_prefix=PREFIX,
    )  # fmt: skip
    return Scaffolder(spec, tmp_path_factory.mktemp("accounts-repo") / PROJECT).run().path


def test_the_generated_repo_plans_and_tests_itself_across_accounts(accounts_repo: Path) -> None:
    """bootstrap's offline plan of every stack (its own account standing in for each stage's),
    and the repository's own infra tests (its mocks answer in each stage's account)."""
    import subprocess
    import sys

    from bootstrap.offline import plan_project

    plans = {p.stack: p for p in plan_project(accounts_repo, PROJECT, ["shared", "dev", "test", "prod"])}
    assert set(statements(plans["shared"])) == {
        "LambdaPull", "StageAccountsPull", "DeployRoleTest", "DeployRoleProd"
    }
    assert [p.stage for p in accounts.foreign(accounts.read_placements(
        accounts_repo / "infra", PROJECT, ["dev", "test", "prod"]), TOOLING)] == ["test", "prod"]  # fmt: skip
    assert plans["prod"].outputs[contract.ACCOUNT_OUTPUT] == PROD
    assert plans["prod"].of_type(PROVIDER) and not plans["dev"].of_type(PROVIDER)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "infra/tests", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=accounts_repo, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
