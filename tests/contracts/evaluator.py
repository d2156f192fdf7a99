"""A small, honest IAM policy evaluator: is one request allowed by a set of identity policies?

What it implements (AWS's documented evaluation logic for one account, identity policies only):
an explicit Deny wins; otherwise an Allow is needed. A statement applies when its Action (or
NotAction) matches the action (case-insensitive, `*` and `?` wildcards), its Resource (or
NotResource) matches the ARN (case-sensitive globbing) and every condition holds. Conditions:
the String*, Arn*, Bool, Null and Numeric* operators, `...IfExists`, and the `ForAllValues:` /
`ForAnyValue:` set qualifiers. A key missing from the request fails the condition, except for the
negated operators, `...IfExists` and Null, as AWS documents.

An operator or a condition key it does not know is never satisfied, and is reported: the result
must not depend on a guess.
"""

from __future__ import annotations

import fnmatch
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


def evaluate(
    request: Request, documents: Iterable[Mapping[str, Any]], known: Iterable[str] = ()
) -> Decision:
    decision = Decision(allowed=False)
    keys = (*KNOWN_KEYS, *(k.lower() for k in known))
    allowed = False
    for document in documents:
        for index, statement in enumerate(statements(document)):
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
    statement: Mapping[str, Any], request: Request, unknown: list[str], keys: tuple[str, ...]
) -> bool:
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
    else:
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
