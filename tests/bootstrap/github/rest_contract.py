"""GitHub's REST API description as a checker of the stand-in (tests/fakes/github_server.py).

Two independent sources (docs/sources.md):
- `rest_contract.json`: for every operation the tool calls, the success and redirect statuses the
  description documents (facts read from @octokit/openapi 23.0.2's api.github.com.json);
- the bodies: the pydantic models githubkit-schemas generated from the description
  (github/rest-api-description@755ee33b), found for each operation in githubkit-schemas' own REST
  client source (its docstring names `METHOD /path`, its call names `response_model=` and the
  request body's model), so no mapping here is written by hand.

`check(request)` returns the problems of one logged exchange: an operation the description does
not have, a success status it does not document, a body its model rejects (response, and the
tool's request), an error without GitHub's error body.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONTRACT = json.loads((Path(__file__).with_name("rest_contract.json")).read_text())
VERSION = "v2022_11_28"
_DOC = re.compile(r'"""\s*[\w-]+/[\w-]+\s*\n\s*\n\s*(GET|POST|PUT|PATCH|DELETE) (/\S+)\s*\n')
_RESPONSE = re.compile(r"response_model=([^\n]+?),\n")
_BODY = re.compile(r"type_validate_python\(\s*([^\n]+?),\s*json\s*\)", re.S)


@dataclass(frozen=True)
class Operation:
    key: str  # `METHOD /template`
    operation: str
    answers: tuple[int, ...]
    pattern: re.Pattern[str]
    response: str | None  # a model expression of githubkit-schemas, e.g. `FullRepository`
    body: str | None


@cache
def operations() -> dict[str, Operation]:
    index = _githubkit_index()
    found = {}
    for key, data in CONTRACT["operations"].items():
        method, template = key.split(" ", 1)
        response, body = index.get(key, (None, None))
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        found[key] = Operation(
            key, data["operation"], tuple(data["answers"]), re.compile(regex), response, body
        )
    for alias, target in CONTRACT["aliases"].items():
        method, template = alias.split(" ", 1)
        op = found[target["as"]]
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        found[alias] = Operation(alias, op.operation, op.answers, re.compile(regex), op.response, None)
    return found


def _githubkit_index() -> dict[str, tuple[str | None, str | None]]:
    """`METHOD /path` -> (response model, request body model), read from githubkit-schemas'
    generated REST client (the synchronous methods; the async ones are the same)."""
    import importlib

    package = importlib.import_module(f"githubkit_schemas.{VERSION}.rest")
    index: dict[str, tuple[str | None, str | None]] = {}
    for file in sorted(Path(package.__file__).parent.glob("*.py")):
        text = file.read_text()
        for block in re.split(r"\n    (?=def |async def |@overload)", text):
            if not block.startswith("def "):
                continue
            doc = _DOC.search(block)
            if not doc or "self._github.request(" not in block:
                continue
            response = _RESPONSE.search(block)
            body = _BODY.search(block)
            index[f"{doc.group(1)} {doc.group(2)}"] = (
                response.group(1).strip() if response else None,
                " ".join(body.group(1).split()) if body else None,
            )
    return index


@cache
def _adapter(expression: str) -> Any:
    import importlib

    from pydantic import TypeAdapter

    models = importlib.import_module(f"githubkit_schemas.{VERSION}.models")

    class Names(dict[str, Any]):  # the generated models load lazily: look each one up
        def __missing__(self, name: str) -> Any:
            try:
                return getattr(models, name)
            except AttributeError:
                raise KeyError(name) from None

    names = Names({**vars(typing), "list": list, "dict": dict})
    return TypeAdapter(eval(expression, {"__builtins__": {}}, names))  # noqa: S307 - the generated client's own type expression


def match(method: str, path: str) -> Operation | None:
    for op in operations().values():
        if op.key.startswith(method + " ") and op.pattern.fullmatch(path):
            return op
    return None


def check(method: str, path: str, status: int, body: str, request_body: str = "") -> list[str]:
    """The problems of one exchange (empty when GitHub could have answered so)."""
    op = match(method, path)
    where = f"{method} {path} -> {status}"
    if op is None:
        return [f"{where}: no operation of GitHub's REST API description"]
    problems = []
    if status < 400 and status not in op.answers:
        problems.append(f"{where}: {op.operation} documents {list(op.answers)}")
    if status >= 300:  # a redirect (moved_permanently, temporary_redirect) or an error
        problems += _validate(where, "BasicError", body, "error body")
    elif status not in (204, 304) and op.response and body.strip():
        problems += _validate(where, op.response, body, "response")
    if request_body.strip() and op.body:
        problems += _validate(where, op.body, request_body, "request body")
    return problems


def _validate(where: str, expression: str, text: str, what: str) -> list[str]:
    from pydantic import ValidationError

    try:
        _adapter(expression).validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        spot = ".".join(str(p) for p in first["loc"])
        return [f"{where}: the {what} is not a {expression}: {spot}: {first['msg']} "
                f"({exc.error_count()} problems)"]  # fmt: skip
    return []
