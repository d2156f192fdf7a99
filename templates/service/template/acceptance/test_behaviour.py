"""Behaviour: the items flow a user goes through, against the deployed service."""

from __future__ import annotations

import uuid
from typing import Any

from acceptance.run import Run

MISSING_ID = 2**53 - 1  # the largest id every JSON client reads exactly; the service never made it


def expect(response: Any, status: int, what: str) -> Any:
    """The response's JSON body, once its status is the one expected."""
    assert response.status_code == status, (
        f"{what} answered {response.status_code}, expected {status}: {response.text[:200]}"
    )
    return response.json()


def create(http: Any, name: str, price: float = 12.5) -> dict[str, Any]:
    item = expect(http.post("/items", json={"name": name, "price": price}), 201, "POST /items")
    assert isinstance(item.get("id"), int), f"POST /items answered no id: {item}"
    assert (item.get("name"), item.get("price")) == (name, price), (
        f"POST /items answered {item}, not the item sent (name {name!r}, price {price})"
    )
    return item


def test_health_names_the_release(http: Any, acceptance_run: Run) -> None:
    body = expect(http.get("/health"), 200, "GET /health")
    assert body.get("status") == "ok", f"GET /health says status {body.get('status')!r}, not 'ok'"
    assert body.get("release") == acceptance_run.service.release, (
        f"GET /health now names release {body.get('release')!r}, the run started with "
        f"{acceptance_run.service.release!r}: another release was deployed meanwhile"
    )


def test_create_then_read(http: Any) -> None:
    item = create(http, f"acceptance-{uuid.uuid4().hex[:8]}")
    read = expect(http.get(f"/items/{item['id']}"), 200, f"GET /items/{item['id']}")
    assert read == item, f"GET /items/{item['id']} answered {read}, not the item created: {item}"


def test_list_holds_what_was_created(http: Any) -> None:
    item = create(http, f"acceptance-{uuid.uuid4().hex[:8]}", price=0.5)
    listed = expect(http.get("/items"), 200, "GET /items")
    assert isinstance(listed, list), f"GET /items answered {type(listed).__name__}, not a list"
    assert item in listed, f"GET /items does not list the item just created: {item}"


def test_an_unknown_item_is_not_found(http: Any) -> None:
    body = expect(http.get(f"/items/{MISSING_ID}"), 404, f"GET /items/{MISSING_ID}")
    assert str(MISSING_ID) in str(body.get("detail")), f"the 404 does not name the id: {body}"


def test_a_bad_body_is_refused(http: Any) -> None:
    expect(
        http.post("/items", json={"name": "", "price": -1}),
        422,
        "POST /items with an empty name and a negative price",
    )
    expect(http.post("/items", json={"price": 3}), 422, "POST /items without a name")
    before = expect(http.get("/items"), 200, "GET /items")
    assert not [i for i in before if i.get("name") == "" or i.get("price") == -1], (
        "an item refused with 422 was stored anyway"
    )
