"""The evaluator's resource-based and cross-account logic against AWS's documented rules (IAM User
Guide: "Policy evaluation logic", "Cross-account policy evaluation logic", "AWS JSON policy
elements: Principal"; AWS KMS Developer Guide: "Key policies in AWS KMS"), on hand-written
policies: each case is one rule, and a case that would pass under a wrong rule is paired with one
that fails."""

from __future__ import annotations

from typing import Any

import pytest

from .evaluator import Principal, Request, Target, authorize, principal_match

TOOLING, PROD, TEST = "111111111111", "222222222222", "333333333333"
REPOSITORY = f"arn:aws:ecr:us-east-1:{TOOLING}:repository/shop"
DEPLOY = f"arn:aws:iam::{PROD}:role/bootstrap/shop/prod/shop-prod-deploy"
TASK = f"arn:aws:iam::{PROD}:role/bootstrap/shop/prod/shop-prod-task-execution"
SAME_ACCOUNT_ROLE = f"arn:aws:iam::{TOOLING}:role/bootstrap/shop/dev/shop-dev-deploy"
KEY = f"arn:aws:kms:us-east-1:{TOOLING}:key/0a1b2c3d-0000-4000-8000-000000000000"
PULL = Request("ecr:BatchGetImage", REPOSITORY)


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _grant(principal: Any, action: Any = "ecr:BatchGetImage", **extra: Any) -> dict[str, Any]:
    """A repository policy statement: no Resource (it is the repository)."""
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


PULLER = _doc(_allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], REPOSITORY))
NOTHING = _doc()


def _role(arn: str = DEPLOY, identity: dict[str, Any] = PULLER, **kw: Any) -> Principal:
    return Principal.role(arn, [identity], **kw)


def _repo(*statements: dict[str, Any]) -> Target:
    return Target(TOOLING, (_doc(*statements),) if statements else ())


ROOT = {"AWS": f"arn:aws:iam::{PROD}:root"}


@pytest.mark.parametrize(
    ("principal", "target", "allowed"),
    [
        # across accounts both sides must allow
        (_role(), _repo(_grant(ROOT)), True),
        (_role(), _repo(), False),
        (_role(identity=NOTHING), _repo(_grant(ROOT)), False),
        (_role(), _repo(_grant({"AWS": PROD})), True),  # the short form is the account too
        (_role(), _repo(_grant({"AWS": f"arn:aws:iam::{TEST}:root"})), False),
        (_role(), _repo(_grant({"AWS": DEPLOY})), True),
        (_role(TASK), _repo(_grant({"AWS": DEPLOY})), False),
        (_role(), _repo(_grant(ROOT, "ecr:PutImage")), False),  # another action
        # the account's principal narrowed to one role by aws:PrincipalArn
        (
            _role(),
            _repo(_grant(ROOT, Condition={"ArnEquals": {"aws:PrincipalArn": DEPLOY}})),
            True,
        ),
        (
            _role(TASK),
            _repo(_grant(ROOT, Condition={"ArnEquals": {"aws:PrincipalArn": DEPLOY}})),
            False,
        ),
        # everyone, narrowed by aws:PrincipalAccount
        (
            _role(),
            _repo(_grant("*", Condition={"StringEquals": {"aws:PrincipalAccount": [PROD]}})),
            True,
        ),
        (
            _role(f"arn:aws:iam::{TEST}:role/x"),
            _repo(_grant("*", Condition={"StringEquals": {"aws:PrincipalAccount": [PROD]}})),
            False,
        ),
        # an explicit Deny anywhere wins
        (
            _role(),
            _repo(_grant(ROOT), {**_grant("*"), "Effect": "Deny"}),
            False,
        ),
        (
            _role(
                identity=_doc(
                    _allow("ecr:*", REPOSITORY), {**_allow("ecr:Batch*"), "Effect": "Deny"}
                )
            ),
            _repo(_grant(ROOT)),
            False,
        ),
        # a Deny for insecure transport does not apply to the SDK's TLS requests
        (
            _role(),
            _repo(
                _grant(ROOT),
                {
                    **_grant("*", "*"),
                    "Effect": "Deny",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
            True,
        ),
        # one account: either side suffices, for a role
        (_role(SAME_ACCOUNT_ROLE), _repo(), True),
        (_role(SAME_ACCOUNT_ROLE, NOTHING), _repo(_grant({"AWS": SAME_ACCOUNT_ROLE})), True),
        (_role(SAME_ACCOUNT_ROLE, NOTHING), _repo(_grant("*")), True),
        # ...but an account grant delegates to the identity policies, which allow nothing here
        (
            _role(SAME_ACCOUNT_ROLE, NOTHING),
            _repo(_grant({"AWS": f"arn:aws:iam::{TOOLING}:root"})),
            False,
        ),
        # a permissions boundary limits the identity policies and role-ARN grants alike
        (_role(boundary=[NOTHING]), _repo(_grant(ROOT)), False),
        (_role(boundary=[PULLER]), _repo(_grant(ROOT)), True),
        (
            _role(SAME_ACCOUNT_ROLE, NOTHING, boundary=[NOTHING]),
            _repo(_grant({"AWS": SAME_ACCOUNT_ROLE})),
            False,
        ),
    ],
)
def test_identity_and_resource_policies_across_accounts(
    principal: Principal, target: Target, allowed: bool
) -> None:
    verdict = authorize(PULL, principal, target)
    assert verdict.allowed is allowed, verdict.reason
    assert not verdict.unknown


def _lambda_pull(source: str, operator: str = "ArnLike") -> Target:
    statement = _grant(
        {"Service": "lambda.amazonaws.com"},
        ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Condition={operator: {"aws:sourceARN": source}},
    )
    return _repo(statement)


FUNCTION = f"arn:aws:lambda:us-east-1:{TEST}:function:shop-test-service"


@pytest.mark.parametrize(
    ("target", "context", "allowed"),
    [
        (_lambda_pull(f"arn:aws:lambda:us-east-1:{TEST}:function:shop-*"), FUNCTION, True),
        (
            _lambda_pull(f"arn:aws:lambda:us-east-1:{TEST}:function:shop-*", "StringLike"),
            FUNCTION,
            True,
        ),
        (_lambda_pull(f"arn:aws:lambda:us-east-1:{PROD}:function:shop-*"), FUNCTION, False),
        (_lambda_pull(f"arn:aws:lambda:eu-west-1:{TEST}:function:shop-*"), FUNCTION, False),
        (_lambda_pull(f"arn:aws:lambda:us-east-1:{TEST}:function:shop-*"), None, False),
        (_repo(_grant(ROOT)), FUNCTION, False),  # an account grant is no service grant
    ],
)
def test_a_service_principal_is_judged_by_the_resource_policy_and_its_source(
    target: Target, context: str | None, allowed: bool
) -> None:
    request = Request(
        "ecr:GetDownloadUrlForLayer",
        REPOSITORY,
        {"aws:sourcearn": context, "aws:sourceaccount": TEST} if context else {},
    )
    verdict = authorize(request, Principal.aws_service("lambda.amazonaws.com"), target)
    assert verdict.allowed is allowed, verdict.reason


DECRYPT = Request("kms:Decrypt", KEY, {"kms:viaservice": "ecr.us-east-1.amazonaws.com"})
KMS_USER = _doc(_allow("kms:Decrypt", KEY))
THROUGH_ECR = {"StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com"}}


def _key(*statements: dict[str, Any]) -> Target:
    return Target(TOOLING, (_doc(*statements),), key_policy=True)


def _key_grant(principal: Any, **extra: Any) -> dict[str, Any]:
    return _allow("kms:Decrypt", "*", Principal=principal, **extra)


@pytest.mark.parametrize(
    ("principal", "target", "allowed"),
    [
        # in its own account a key needs its key policy: IAM alone is not enough
        (_role(SAME_ACCOUNT_ROLE, KMS_USER), _key(), False),
        (
            _role(SAME_ACCOUNT_ROLE, KMS_USER),
            _key(_key_grant({"AWS": f"arn:aws:iam::{TOOLING}:root"})),
            True,
        ),
        (
            _role(SAME_ACCOUNT_ROLE, NOTHING),
            _key(_key_grant({"AWS": f"arn:aws:iam::{TOOLING}:root"})),
            False,
        ),
        (_role(SAME_ACCOUNT_ROLE, NOTHING), _key(_key_grant({"AWS": SAME_ACCOUNT_ROLE})), True),
        # from another account: the key policy and the caller's IAM, through ECR only
        (_role(identity=KMS_USER), _key(_key_grant(ROOT, Condition=THROUGH_ECR)), True),
        (_role(identity=NOTHING), _key(_key_grant(ROOT, Condition=THROUGH_ECR)), False),
        (
            _role(identity=KMS_USER),
            _key(_key_grant(ROOT, Condition={"StringEquals": {"kms:ViaService": "s3.x"}})),
            False,
        ),
        (
            _role(identity=KMS_USER),
            _key(_key_grant("*", Condition={"StringEquals": {"kms:CallerAccount": [PROD]}})),
            True,
        ),
    ],
)
def test_a_kms_key_policy_must_allow_in_any_account(
    principal: Principal, target: Target, allowed: bool
) -> None:
    verdict = authorize(DECRYPT, principal, target)
    assert verdict.allowed is allowed, verdict.reason


def test_what_it_cannot_judge_is_reported_not_allowed() -> None:
    statement = {**_grant("*"), "NotPrincipal": {"AWS": DEPLOY}}
    del statement["Principal"]
    verdict = authorize(PULL, _role(), _repo(statement))
    assert not verdict.allowed
    assert verdict.unknown == ["policy element NotPrincipal"]
    odd = _grant(ROOT, Condition={"StringEquals": {"ecr:SomethingElse": "x"}})
    verdict = authorize(PULL, _role(), _repo(odd))
    assert not verdict.allowed and verdict.unknown == ["condition key ecr:SomethingElse"]


def test_the_reason_names_the_side_that_refuses() -> None:
    assert "does not allow" in authorize(PULL, _role(), _repo()).reason
    assert f"in {TOOLING}" in authorize(PULL, _role(), _repo()).reason
    denied = authorize(PULL, _role(), _repo({**_grant(ROOT), "Effect": "Deny", "Sid": "NoPull"}))
    assert denied.reason == "denied by NoPull in the resource policy"


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ("*", "direct"),
        ({"AWS": "*"}, "direct"),
        ({"AWS": [DEPLOY, TASK]}, "direct"),
        ({"AWS": PROD}, "account"),
        ({"AWS": f"arn:aws:iam::{PROD}:root"}, "account"),
        ({"AWS": f"arn:aws:iam::{TEST}:root"}, None),
        ({"Service": "lambda.amazonaws.com"}, None),
        ({"Federated": "arn:aws:iam::x:oidc-provider/y"}, None),
        (None, None),
    ],
)
def test_principal_elements(element: Any, expected: str | None) -> None:
    assert principal_match(element, _role()) == expected
