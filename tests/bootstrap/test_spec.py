"""The spec: every bad input is refused with one line that names the problem and the fix."""

from __future__ import annotations

import pytest

from bootstrap.errors import SpecError
from bootstrap.spec import LB_NAME_MAX, Spec, Target, from_options, region_partition
from tests.conftest import make_spec


def test_defaults_make_a_three_stage_lifecycle_with_manual_last() -> None:
    spec = make_spec()
    assert spec.stage_names == ["dev", "test", "prod"]
    assert [s.manual for s in spec.stages] == [False, False, True]
    assert spec.stacks == ["shared", "dev", "test", "prod"]
    assert spec.previous("test") is not None and spec.previous("test").name == "dev"
    assert spec.previous("dev") is None
    assert spec.repository == "acme/shop"


def test_answers_round_trip() -> None:
    spec = make_spec(target="lambda", stages="a,b", manual="a,b", backend="s3://my-state")
    assert Spec.from_answers(spec.to_answers()) == spec


def test_manual_can_be_empty() -> None:
    assert not any(s.manual for s in make_spec(manual="").stages)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("Shop", "not valid"),
        ("1shop", "not valid"),
        ("-shop", "not valid"),
        ("shop-", "not valid"),
        ("sh--op", "not valid"),
        ("sh.op", "not valid"),
        ("sh/op", "not valid"),
        ("sh op", "not valid"),
        ("shöp", "non-ASCII"),
        ("a" * 20, "too long"),
    ],
)
def test_bad_names(name: str, needle: str) -> None:
    with pytest.raises(SpecError) as caught:
        make_spec(name=name)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message
    assert caught.value.fix  # every refusal says how to fix it


def test_name_limit_follows_the_longest_stage_and_the_real_alb_limit() -> None:
    # "<name>-<stage>" plus Pulumi's 8-character suffix must fit the 32 characters AWS allows.
    longest_ok = "a" * (LB_NAME_MAX - 8 - 1 - len("prod"))
    assert make_spec(name=longest_ok, stages="dev,prod").name == longest_ok
    with pytest.raises(SpecError, match="at most 19 characters"):
        make_spec(name=longest_ok + "a", stages="dev,prod")
    with pytest.raises(SpecError, match="production"):
        make_spec(name="a" * 15, stages="dev,production")


@pytest.mark.parametrize(
    ("stages", "manual", "needle"),
    [
        ("", None, "--stages is empty"),
        (",,", None, "--stages is empty"),
        ("dev,dev", None, "listed twice"),
        ("dev,shared", None, "reserved"),
        ("dev,Prod", None, "not valid"),
        ("dev,pr_od", None, "not valid"),
        (",".join(f"s{i}" for i in range(11)), None, "at most 10"),
        ("dev,prod", "qa", "not in --stages"),
    ],
)
def test_bad_stages(stages: str, manual: str | None, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        make_spec(stages=stages, manual=manual)


def test_bad_target_region_owner_backend() -> None:
    with pytest.raises(SpecError, match="unknown target 'gke'.*ecs, eks, lambda"):
        make_spec(target="gke")
    with pytest.raises(SpecError, match="unknown AWS region 'eu-west-9'"):
        make_spec(region="eu-west-9")
    for owner in ("-acme", "ac--me", "acme-", "a" * 40, "ac me", "äcme"):
        with pytest.raises(SpecError, match="GitHub owner"):
            make_spec(owner=owner)
    with pytest.raises(SpecError, match="S3 bucket"):
        make_spec(backend="s3://UPPER")
    with pytest.raises(SpecError, match="unsupported state backend"):
        make_spec(backend="gs://bucket")


def test_regions_come_from_botocore_across_partitions() -> None:
    assert make_spec(region="cn-north-1").region == "cn-north-1"
    assert make_spec(region="us-gov-west-1").region == "us-gov-west-1"
    assert region_partition("eu-west-1") == "aws"
    assert region_partition("cn-north-1") == "aws-cn"
    assert region_partition("us-gov-west-1") == "aws-us-gov"
    assert region_partition("eu-west-9") is None


def test_the_spec_carries_githubs_subject_prefix_and_issuer() -> None:
    spec = make_spec().model_copy(
        update={"github_subject_prefix": "repo:acme@1/shop@2", "github_oidc_issuer": "ghe.example.com/_services/token"}
    )
    answers = spec.to_answers()
    assert answers["github_subject_prefix"] == "repo:acme@1/shop@2"
    assert answers["github_oidc_issuer"] == "ghe.example.com/_services/token"
    assert Spec.from_answers(answers) == spec
    assert make_spec().to_answers()["github_subject_prefix"] == ""  # not known until GitHub is


def test_from_options_keeps_stage_order_and_target() -> None:
    spec = from_options(
        name="api", owner=None, target="eks", stages="b,a,c", manual="a", region="us-east-1",
        backend=None,
    )
    assert spec.stage_names == ["b", "a", "c"]
    assert {s.target for s in spec.stages} == {Target.EKS}
    assert spec.owner is None and spec.repository is None


def test_a_stage_may_name_its_account_and_region() -> None:
    spec = make_spec(accounts=["prod=222222222222"], stage_regions=[" prod = eu-central-1 "])
    prod = spec.stage("prod")
    assert (prod.account, prod.region) == ("222222222222", "eu-central-1")
    assert (spec.stage("dev").account, spec.stage("dev").region) == (None, None)
    answers = spec.to_answers()["stages"]
    # only a placed stage's answer carries them: older answers read back unchanged
    assert answers[0] == {"name": "dev", "manual": False, "target": "ecs"}
    assert answers[2] == {"name": "prod", "manual": True, "target": "ecs",
                          "account": "222222222222", "region": "eu-central-1"}  # fmt: skip
    assert Spec.from_answers(spec.to_answers()) == spec


@pytest.mark.parametrize(
    ("accounts", "regions", "needle"),
    [
        (["prod=2222"], [], "the account of stage 'prod' ('2222') is not an AWS account ID"),
        (["prod=22222222222a"], [], "is not an AWS account ID"),
        (["qa=222222222222"], [], "--account names the stage 'qa', which is not in --stages"),
        (["prod"], [], "--account 'prod' is not STAGE=ACCOUNT_ID"),
        ([], ["prod=mars-1"], "unknown AWS region 'mars-1'"),
        ([], ["=eu-west-1"], "--stage-region '=eu-west-1' is not STAGE=REGION"),
    ],
)
def test_bad_accounts_and_stage_regions(
    accounts: list[str], regions: list[str], needle: str
) -> None:
    with pytest.raises(SpecError) as info:
        make_spec(accounts=accounts, stage_regions=regions)
    assert needle in str(info.value) and info.value.exit_code == 2
