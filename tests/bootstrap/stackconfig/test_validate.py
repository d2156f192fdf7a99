"""bootstrap's check of a generated repo's settings (bootstrap/stackconfig.py), on real renders:
every case of issue 12 item 8, each one line naming the file, the key and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bootstrap import stackconfig
from bootstrap.repo import load_spec

from .helpers import edit_config

TODAY = dt.date(2026, 12, 1)
CERT = "arn:aws:acm:{region}:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def lines(repo: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings), one line each."""
    report = stackconfig.check(repo, load_spec(repo), today=TODAY)
    return [f.line() for f in report.errors], [f.line() for f in report.warnings]


def one_error(repo: Path) -> str:
    errors, _ = lines(repo)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_a_fresh_repo_has_nothing_to_report(target: str, generated_repos) -> None:  # type: ignore[no-untyped-def]
    assert lines(generated_repos[target]) == ([], [])


def test_certificate_malformed_or_in_another_region(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", certificateArn="arn:aws:acm:eu-west-1:1:cert/x")
    assert one_error(repo).startswith(
        "infra/Pulumi.dev.yaml: shop:certificateArn: 'arn:aws:acm:eu-west-1:1:cert/x' is not an "
        "ACM certificate ARN"
    )
    edit_config(repo, "dev", certificateArn=CERT.format(region="us-east-1"))
    error = one_error(repo)
    assert "infra/Pulumi.dev.yaml: shop:certificateArn:" in error
    assert "is in us-east-1, but the stage runs in eu-west-1" in error
    assert "request or import the certificate in eu-west-1" in error


def test_alarm_topic_malformed_or_in_another_region(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("lambda")
    edit_config(repo, "prod", alarmTopicArn="alerts")
    assert (
        "infra/Pulumi.prod.yaml: shop:alarmTopicArn: 'alerts' is not an SNS topic ARN"
        in one_error(repo)
    )
    edit_config(repo, "prod", alarmTopicArn="arn:aws:sns:us-east-1:123456789012:alerts")
    assert (
        "is in us-east-1, but the stage runs in eu-west-1; use a topic in eu-west-1"
        in one_error(repo)
    )


@pytest.mark.parametrize(("cpu", "memory"), [(1024, 3000), (256, 1536)])
def test_fargate_pairs(repo_of, cpu: int, memory: int) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "test", cpu=cpu, memory=memory)
    error = one_error(repo)
    assert error.startswith(
        f"infra/Pulumi.test.yaml: shop:memory: cpu {cpu} with memory {memory} is not a Fargate task size"
    )
    assert f"with cpu {cpu} use memory" in error


def test_unknown_region_in_a_stack_file(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "prod", **{"aws:region": "eu-west-9"})
    assert one_error(repo) == (
        "infra/Pulumi.prod.yaml: aws:region: 'eu-west-9' is not an AWS region; did you mean eu-west-3?"
    )


def test_eks_version_aws_does_not_offer(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("eks")
    edit_config(repo, "dev", kubernetesVersion="1.29")
    error = one_error(repo)
    assert error.startswith(
        "infra/Pulumi.dev.yaml: shop:kubernetesVersion: Kubernetes 1.29 is no longer offered"
    )
    assert error.endswith("use one of 1.36, 1.35, 1.34, 1.33, 1.32")
    edit_config(repo, "dev", kubernetesVersion="1.33")
    errors, warnings = lines(repo)
    assert errors == [] and any("1.33 is in EKS extended support" in w for w in warnings)


@pytest.mark.parametrize(
    ("cidr", "needle"),
    [
        ("10.0.0.0.0/16", "is not a CIDR block"),
        ("10.0.0.0/12", "AWS allows /16 to /28"),
        ("10.1.0.0/26", "16 subnets"),
    ],
)
def test_malformed_or_unusable_vpc_cidr(repo_of, cidr: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("eks")
    edit_config(repo, "test", vpcCidr=cidr)
    error = one_error(repo)
    assert error.startswith("infra/Pulumi.test.yaml: shop:vpcCidr:") and needle in error


def test_an_emptied_stack_file(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    (repo / "infra" / "Pulumi.prod.yaml").write_text("")
    errors, _ = lines(repo)
    assert errors == [
        "infra/Pulumi.prod.yaml: aws:region: is not set (an emptied file?): it would run in whatever "
        "region the shell names; restore the file (`git checkout -- infra/Pulumi.prod.yaml`) or set "
        "it: `pulumi config set aws:region eu-west-1 --stack prod`",
        "infra/Pulumi.prod.yaml: shop:target: is not set (an emptied file?): the stage would run the "
        "default target, whatever it ran before; restore the file (`git checkout -- "
        "infra/Pulumi.prod.yaml`) or set it: `pulumi config set shop:target ecs --stack prod`",
    ]


def test_a_typo_names_the_key_it_meant(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", cpu=None, cpus=512)
    assert one_error(repo) == (
        "infra/Pulumi.dev.yaml: shop:cpus: is not a setting of this project's infra program (it would "
        "be ignored); did you mean shop:cpu?"
    )


def test_the_shared_stage_list_out_of_step(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    project = repo / "infra" / "Pulumi.yaml"
    project.write_text(
        project.read_text().replace('default: "dev,test,prod"', 'default: "dev,prod"')
    )
    assert one_error(repo).startswith(
        "infra/Pulumi.yaml: shop:stages: lists dev, prod, but the project's stages are dev, test, prod"
    )


def test_a_stage_without_a_file_and_a_file_without_a_stage(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    (repo / "infra" / "Pulumi.test.yaml").rename(repo / "infra" / "Pulumi.qa.yaml")
    errors, warnings = lines(repo)
    assert errors == [
        "infra/Pulumi.test.yaml: is missing (stack 'test' has no settings); restore it from git "
        "(`git checkout -- infra/Pulumi.test.yaml`), or run `bootstrap update`"
    ]
    assert warnings == [
        "infra/Pulumi.qa.yaml: is the file of stack 'qa', which is not a stage of this project (stages: "
        "dev, test, prod); bootstrap ignores it; delete it, or add the stage to the project "
        "(`copier update --data stages=...`)"
    ]


def test_a_renamed_project(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("lambda")
    project = repo / "infra" / "Pulumi.yaml"
    project.write_text(project.read_text().replace("name: shop\n", "name: store\n", 1))
    assert one_error(repo).startswith(
        "infra/Pulumi.yaml: name: is 'store', but the project is 'shop' (.copier-answers.yml"
    )


def test_project_facts_have_one_owner(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", githubSubjectPrefix="repo:acme/shop")
    assert one_error(repo).startswith(
        "infra/Pulumi.dev.yaml: shop:githubSubjectPrefix: is a project fact: bootstrap writes it into "
        "infra/Pulumi.yaml from .copier-answers.yml (github_subject_prefix)"
    )
    edit_config(repo, "dev", githubSubjectPrefix=None)
    project = repo / "infra" / "Pulumi.yaml"
    project.write_text(project.read_text().replace('default: "environment"', 'default: "branch"'))
    assert one_error(repo).startswith(
        "infra/Pulumi.yaml: shop:trustSubject: is 'branch', but .copier-answers.yml (trust_subject) "
        "says 'environment', and bootstrap acts on that"
    )


def test_settings_in_the_wrong_file(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "shared", cpu=512)
    edit_config(repo, "dev", keepReleases=5)
    errors, _ = lines(repo)
    assert errors == [
        "infra/Pulumi.shared.yaml: shop:cpu: is a setting of the stage files; this stack ignores it; "
        "move it to the stage files",
        "infra/Pulumi.dev.yaml: shop:keepReleases: is a setting of infra/Pulumi.shared.yaml; this stack "
        "ignores it; move it to infra/Pulumi.shared.yaml",
    ]


def test_settings_the_stages_target_ignores_are_a_warning(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", target="lambda")
    errors, warnings = lines(repo)
    assert errors == []
    for key in ("azCount", "natPerAz", "cpu", "minCapacity", "maxCapacity"):
        assert (
            f"infra/Pulumi.dev.yaml: shop:{key}: is not used by lambda stages; remove it (or switch the target back)"
            in warnings
        )


def test_regions_that_cannot_work(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("lambda")
    edit_config(repo, "test", **{"aws:region": "us-east-1"})
    assert "Lambda runs images only from a registry in its own region" in one_error(repo)
    edit_config(repo, "test", **{"aws:region": "eu-west-1"})
    edit_config(repo, "shared", **{"aws:region": "eu-central-1"})
    errors, _ = lines(repo)
    assert errors[0].startswith(
        "infra/Pulumi.shared.yaml: aws:region: is eu-central-1, but the project's home region is eu-west-1"
    )


def test_broken_yaml_names_the_line(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    path = repo / "infra" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  shop:cpu: [256\n")
    error = one_error(repo)
    assert error.startswith("infra/Pulumi.dev.yaml:") and "is not valid YAML" in error
    assert error.split(":")[1].isdigit()  # the line


def test_the_offline_switch_and_other_namespaces(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", **{"bootstrap:offlinePlan": True, "shpo:cpu": 512, "team:owner": "x"})
    errors, warnings = lines(repo)
    assert errors == [
        "infra/Pulumi.dev.yaml: bootstrap:offlinePlan: is bootstrap's own switch for offline plans; in "
        "a stack file it would make a real update skip its refusals; remove it"
    ]
    assert (
        "infra/Pulumi.dev.yaml: shpo:cpu: is in the namespace 'shpo', which nothing reads; did you mean shop:cpu?"
        in warnings
    )
    assert not any("team:owner" in w for w in warnings)  # the user's own namespace


def test_every_problem_of_every_stack_at_once(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", cpus=512)
    edit_config(repo, "test", memory=3000)
    edit_config(repo, "prod", natPerAz="yes")
    with pytest.raises(stackconfig.ConfigError) as caught:
        stackconfig.validate(repo, load_spec(repo), today=TODAY)
    error = caught.value
    assert error.exit_code == 2
    assert [f.file for f in error.findings] == [
        "infra/Pulumi.dev.yaml", "infra/Pulumi.test.yaml", "infra/Pulumi.prod.yaml",
    ]  # fmt: skip
    assert str(error).splitlines() == [f.line() for f in error.findings]


def test_the_spec_reads_the_target_from_the_stack_file(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", target="lambda")
    spec = load_spec(repo)
    assert [s.target.value for s in spec.stages] == ["lambda", "ecs", "ecs"]
    assert spec.target.value == "ecs"  # the answers' own record is unchanged


def test_a_repo_of_an_older_template_is_told_to_update(repo_of) -> None:  # type: ignore[no-untyped-def]
    repo = repo_of("ecs")
    edit_config(repo, "dev", manual=False, owner="acme", trustSubject="environment")
    errors, _ = lines(repo)
    assert errors == [
        "infra/Pulumi.dev.yaml: shop:manual: is no longer read: .copier-answers.yml (stages[].manual) "
        "owns this fact; run `bootstrap update` (the current template drops the key), or delete the line",
        "infra/Pulumi.dev.yaml: shop:owner: is no longer read: .copier-answers.yml (owner) owns this "
        "fact; run `bootstrap update` (the current template drops the key), or delete the line",
        "infra/Pulumi.dev.yaml: shop:trustSubject: is a project fact: bootstrap writes it into "
        "infra/Pulumi.yaml from .copier-answers.yml (trust_subject), and a stack file must not "
        "override it; remove it from this file (`bootstrap update` does so in repos of older "
        "templates; docs/configuration.md says how to change the fact)",
    ]
