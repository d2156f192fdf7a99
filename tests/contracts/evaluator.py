"""A small, honest IAM policy evaluator: is one request allowed?

What it implements, from AWS's documented evaluation logic (IAM User Guide, "Policy evaluation
logic" and "Cross-account policy evaluation logic"):

- `evaluate`: one set of policies (a role's identity policies, or a permissions boundary): an
  explicit Deny wins; otherwise an Allow is needed. A statement applies when its Action (or
  NotAction) matches the action (case-insensitive, `*` and `?` wildcards), its Resource (or
  NotResource) matches the ARN (case-sensitive globbing) and every condition holds. Conditions:
  the String*, Arn*, Bool, Null and Numeric* operators, `...IfExists`, and the `ForAllValues:` /
  `ForAnyValue:` set qualifiers. A key missing from the request fails the condition, except for
  the negated operators, `...IfExists` and Null, as AWS documents.
- `authorize`: a principal (a role, with its identity policies and boundary, or an AWS service
  principal) acting on a resource in some account that may carry resource-based policies (an ECR
  repository policy, a bucket policy, a KMS key policy). A resource statement applies to the
  principal its Principal names: `*`, an account (its ID or `arn:...:iam::ID:root`: that
  delegates to the account's identity policies), a role ARN (its sessions), or a service. An
  explicit Deny in any policy wins. In one account, an Allow in the identity policies (within the
  boundary) or a resource statement naming the role or `*` suffices; a KMS key policy (and a role
  trust policy) must allow in any case, an account grant there enabling the identity policies.
  Across accounts, both the principal's account (identity policies and boundary) and the
  resource's account (its resource-based policy) must allow. A service principal has no identity
  policies: the resource policy alone decides, with `aws:SourceArn` / `aws:SourceAccount` naming
  the resource the service acts for.

An operator, a condition key or a policy element it does not know is never satisfied, and is
reported: the result must not depend on a guess.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Condition keys the request-context builder (calls.py) knows how to fill in; callers add the keys
# it reads from resource inputs. A policy keyed on anything else cannot be evaluated here.
KNOWN_KEYS = (
    "aws:requesttag/",
    "aws:resourcetag/",
    "aws:tagkeys",
    "iam:permissionsboundary",
    "iam:passedtoservice",
    "iam:policyarn",
    "iam:awsservicename",
    "ec2:createaction",
    "ec2:vpc",
)

_STRING_OPS = {
    "stringequals": lambda value, pattern: value == pattern,
    "stringequalsignorecase": lambda value, pattern: value.lower() == pattern.lower(),
    "stringlike": fnmatch.fnmatchcase,
}
_ARN_OPS = ("arnequals", "arnlike")
_NUMERIC_OPS = {
    "numericequals": lambda a, b: a == b,
    "numericlessthan": lambda a, b: a < b,
    "numericlessthanequals": lambda a, b: a <= b,
    "numericgreaterthan": lambda a, b: a > b,
    "numericgreaterthanequals": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Request:
    action: str  # "ecs:CreateService"
    resource: str  # one ARN, or "*"
    context: Mapping[str, Any] = field(default_factory=dict)  # lower-case keys


@dataclass
class Decision:
    allowed: bool
    denied_by: str | None = None  # Sid (or index) of the explicit Deny that matched
    unknown: list[str] = field(default_factory=list)  # operators / keys this evaluator cannot judge


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = document.get("Statement", [])
    return [value] if isinstance(value, dict) else list(value)


def _malformed(statement: Any, unknown: list[str]) -> bool:
    """A statement that is not an object (IAM refuses the policy): reported, never applied."""
    if isinstance(statement, Mapping):
        return False
    unknown.append(f"malformed statement {json.dumps(statement)}")
    return True


def evaluate(
    request: Request, documents: Iterable[Mapping[str, Any]], known: Iterable[str] = ()
) -> Decision:
    decision = Decision(allowed=False)
    keys = (*KNOWN_KEYS, *(k.lower() for k in known))
    allowed = False
    for document in documents:
        for index, statement in enumerate(statements(document)):
            if _malformed(statement, decision.unknown):
                continue
            if not _applies(statement, request, decision.unknown, keys):
                continue
            if statement.get("Effect") == "Deny":
                decision.denied_by = str(statement.get("Sid", index))
                return decision
            if statement.get("Effect") == "Allow":
                allowed = True
    decision.allowed = allowed
    return decision


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, (str, bool, int, float)) else list(value)


def _glob(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _applies(
    statement: Mapping[str, Any],
    request: Request,
    unknown: list[str],
    keys: tuple[str, ...],
    *,
    implicit_resource: bool = False,
) -> bool:
    """Whether the statement's Action, Resource and Condition cover the request. A resource-based
    policy may leave Resource out (an ECR repository policy does): it then means the resource the
    policy is attached to (`implicit_resource`)."""
    if "Action" in statement:
        if not any(_glob(request.action.lower(), a.lower()) for a in _listify(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_glob(request.action.lower(), a.lower()) for a in _listify(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any(_resource_matches(request.resource, r) for r in _listify(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(_resource_matches(request.resource, r) for r in _listify(statement["NotResource"])):
            return False
    elif not implicit_resource:
        return False
    return all(
        _condition(operator, key, expected, request.context, unknown, keys)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, expected in block.items()
    )


def _resource_matches(arn: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if arn == "*":
        return False  # an action on "*" is granted only by Resource "*"
    return _glob(arn, pattern)


def _known_key(key: str, keys: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(lowered == k or (k.endswith("/") and lowered.startswith(k)) for k in keys)


def _condition(
    operator: str,
    key: str,
    expected: Any,
    context: Mapping[str, Any],
    unknown: list[str],
    keys: tuple[str, ...],
) -> bool:
    op = operator.lower()
    qualifier = ""
    if ":" in op:
        qualifier, _, op = op.partition(":")
        if qualifier not in ("forallvalues", "foranyvalue"):
            unknown.append(f"set operator {operator}")
            return False
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    if not _known_key(key, keys):
        unknown.append(f"condition key {key}")
        return False
    present = key.lower() in context
    actual = _listify(context.get(key.lower()))
    wanted = [str(v) for v in _listify(expected)]

    if op == "null":
        want_absent = str(expected).lower() == "true"
        return want_absent != present
    negated = "not" in op
    match = _matcher(op.replace("not", ""), unknown, operator)
    if match is None:
        return False
    if not present:
        return negated or if_exists or qualifier == "forallvalues"
    if qualifier == "forallvalues":
        result = all(any(match(str(a), w) for w in wanted) for a in actual)
    else:
        result = any(match(str(a), w) for a in actual for w in wanted)
    return not result if negated else result


def _matcher(op: str, unknown: list[str], operator: str) -> Any:
    if op in _STRING_OPS:
        return _STRING_OPS[op]
    if op in _ARN_OPS:
        return _arn_like
    if op == "bool":
        return lambda value, pattern: value.lower() == pattern.lower()
    if op in _NUMERIC_OPS:
        compare = _NUMERIC_OPS[op]
        return lambda value, pattern: _numeric(value, pattern, compare)
    unknown.append(f"operator {operator}")
    return None


def _arn_like(value: str, pattern: str) -> bool:
    """ARN operators compare each of the six colon-separated parts (the last keeps its colons)."""
    value_parts, pattern_parts = value.split(":", 5), pattern.split(":", 5)
    if len(value_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(_glob(v, p) for v, p in zip(value_parts, pattern_parts, strict=True))


def _numeric(value: str, pattern: str, compare: Any) -> bool:
    try:
        return bool(compare(float(value), float(pattern)))
    except ValueError:
        return False


def describe(request: Request) -> str:
    context = ", ".join(f"{k}={v}" for k, v in sorted(request.context.items()))
    return f"{request.action} on {request.resource}" + (f" [{context}]" if context else "")


# ----------------------------------------------------------------------------- across accounts

# The keys `authorize` fills from the principal and the transport (IAM User Guide, "AWS global
# condition context keys"; AWS KMS Developer Guide, "AWS KMS condition keys"): a role session
# carries its role's ARN and account; a service principal its name, and the resource it acts for
# when the request gives it; the SDKs and the CLI always use TLS.
PRINCIPAL_KEYS = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalservicename",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:securetransport",
    "kms:viaservice",
    "kms:calleraccount",
)


@dataclass(frozen=True)
class Principal:
    """Who sends a request: an IAM role's session (its account, its role ARN, its identity
    policies and permissions boundary), or an AWS service principal acting for a resource."""

    account: str | None = None
    arn: str | None = None  # the role's ARN: what `aws:PrincipalArn` holds for its sessions
    service: str | None = None  # "lambda.amazonaws.com"
    identity: tuple[Mapping[str, Any], ...] = ()
    boundary: tuple[Mapping[str, Any], ...] | None = None  # None: no permissions boundary

    @classmethod
    def role(
        cls,
        arn: str,
        identity: Iterable[Mapping[str, Any]],
        boundary: Iterable[Mapping[str, Any]] | None = None,
    ) -> Principal:
        return cls(
            account=arn.split(":")[4],
            arn=arn,
            identity=tuple(identity),
            boundary=None if boundary is None else tuple(boundary),
        )

    @classmethod
    def aws_service(cls, name: str) -> Principal:
        return cls(service=name)

    def label(self) -> str:
        return self.service or self.arn or f"account {self.account}"

    def context(self) -> dict[str, Any]:
        if self.service:
            return {"aws:principalservicename": self.service}
        return {"aws:principalarn": self.arn, "aws:principalaccount": self.account}


@dataclass(frozen=True)
class Target:
    """What a request acts on: the account it lives in and the resource-based policies on it.
    `key_policy`: a KMS key (or a role's trust policy), whose own policy must allow the request
    even in its own account."""

    account: str
    policies: tuple[Mapping[str, Any], ...] = ()
    key_policy: bool = False


@dataclass
class ResourceDecision:
    """A resource-based policy's answer for one principal."""

    direct: bool = False  # an Allow naming the principal itself (its role ARN, its service, `*`)
    account: bool = False  # an Allow naming the principal's account (delegates to its IAM)
    denied_by: str | None = None
    unknown: list[str] = field(default_factory=list)

    @property
    def allows(self) -> bool:
        return self.direct or self.account


@dataclass
class Verdict:
    allowed: bool
    reason: str  # why, in one phrase: what allowed it, or what is missing
    identity: Decision | None = None  # the principal's own account (None: a service principal)
    resource: ResourceDecision | None = None
    unknown: list[str] = field(default_factory=list)


def authorize(
    request: Request, principal: Principal, target: Target, known: Iterable[str] = ()
) -> Verdict:
    """AWS's decision on `request` by `principal` on a resource of `target` (see the module doc)."""
    context = {"aws:securetransport": "true", **principal.context(), **request.context}
    if principal.account and request.action.lower().startswith("kms:"):
        context.setdefault("kms:calleraccount", principal.account)
    full = Request(request.action, request.resource, context)
    # A key the caller put in the request is one it knows the value of.
    keys = (*PRINCIPAL_KEYS, *(k.lower() for k in (*known, *request.context)))
    resource = resource_decision(full, principal, target.policies, keys)
    unknown = list(resource.unknown)
    identity = boundary = None
    if principal.service is None:
        identity = evaluate(full, principal.identity, keys)
        unknown += identity.unknown
        if principal.boundary is not None:
            boundary = evaluate(full, principal.boundary, keys)
            unknown += boundary.unknown
    checked = (
        (identity, "identity policy"),
        (boundary, "permissions boundary"),
        (resource, "resource policy"),
    )
    denied = [
        f"denied by {d.denied_by} in the {where}" for d, where in checked if d and d.denied_by
    ]
    if denied:
        return Verdict(False, denied[0], identity, resource, unknown)
    allowed, reason = _decide(principal, target, identity, boundary, resource)
    return Verdict(allowed, reason, identity, resource, unknown)


def _decide(
    principal: Principal,
    target: Target,
    identity: Decision | None,
    boundary: Decision | None,
    resource: ResourceDecision,
) -> tuple[bool, str]:
    if identity is None:  # a service principal: only the resource policy speaks
        if resource.direct:
            return True, f"the resource policy allows {principal.service}"
        return False, f"no resource policy statement allows {principal.service}"
    if boundary is not None and not boundary.allowed:
        # It limits a role's identity policies and the resource policies naming its ARN alike.
        return False, "the permissions boundary does not allow it"
    if principal.account != target.account:
        if not identity.allowed:
            return False, f"the identity policy of {principal.arn} does not allow it"
        if not resource.allows:
            return False, (
                f"cross-account: the resource policy in {target.account} does not allow "
                f"{principal.arn} (account {principal.account})"
            )
        return True, "cross-account: the identity policy and the resource policy allow it"
    if target.key_policy:
        if resource.direct:
            return True, "the key policy allows the principal"
        if resource.account and identity.allowed:
            return True, "the key policy enables the account's IAM policies, which allow it"
        return False, "the key policy does not allow it (a KMS key policy must, in any account)"
    if identity.allowed:
        return True, "the identity policy allows it"
    if resource.direct:
        return True, "the resource policy allows the principal"
    return False, "neither the identity policy nor the resource policy allows it"


def resource_decision(
    request: Request,
    principal: Principal,
    documents: Iterable[Mapping[str, Any]],
    keys: tuple[str, ...] = PRINCIPAL_KEYS,
) -> ResourceDecision:
    decision = ResourceDecision()
    every_key = (*KNOWN_KEYS, *keys)
    for document in documents:
        for index, statement in enumerate(statements(document)):
            if _malformed(statement, decision.unknown):
                continue
            if "NotPrincipal" in statement:
                decision.unknown.append("policy element NotPrincipal")
                continue
            match = principal_match(statement.get("Principal"), principal)
            if match is None:
                continue
            if not _applies(
                statement, request, decision.unknown, every_key, implicit_resource=True
            ):
                continue
            if statement.get("Effect") == "Deny":
                decision.denied_by = str(statement.get("Sid", index))
                return decision
            if statement.get("Effect") == "Allow":
                if match == "direct":
                    decision.direct = True
                else:
                    decision.account = True
    return decision


def principal_match(element: Any, principal: Principal) -> str | None:
    """How a statement's Principal names `principal`: "direct" (itself, or everyone), "account"
    (its account: the account's identity policies decide), or None."""
    if element is None:
        return None
    if element == "*":
        return "direct"
    if not isinstance(element, Mapping):
        return None
    if principal.service:
        services = _listify(element.get("Service"))
        return "direct" if principal.service in services else None
    found = None
    for named in _listify(element.get("AWS")):
        value = str(named)
        if value == "*" or (principal.arn is not None and value == principal.arn):
            return "direct"
        if value == principal.account or value.endswith(f":iam::{principal.account}:root"):
            found = "account"
    return found


def describe_verdict(request: Request, principal: Principal, verdict: Verdict) -> str:
    text = f"{principal.label()}: {describe(request)}: {verdict.reason}"
    return text + (f" (cannot judge: {', '.join(verdict.unknown)})" if verdict.unknown else "")
