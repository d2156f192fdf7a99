import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app


@pytest.fixture
def client() -> TestClient:
    settings = Settings.from_env({"STAGE": "test", "RELEASE": "abc123", "SERVICE_NAME": "svc"})
    return TestClient(create_app(settings))


def test_health_reports_stage_and_release(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stage": "test", "release": "abc123"}


def test_create_then_get_and_list(client: TestClient) -> None:
    created = client.post("/items", json={"name": "kettle", "price": 12.5})
    assert created.status_code == 201
    item = created.json()
    assert item["name"] == "kettle"
    assert client.get(f"/items/{item['id']}").json() == item
    assert client.get("/items").json() == [item]


def test_missing_item_is_404(client: TestClient) -> None:
    response = client.get("/items/999")
    assert response.status_code == 404
    assert "999" in response.json()["detail"]


def test_invalid_item_is_422(client: TestClient) -> None:
    assert client.post("/items", json={"name": "", "price": -1}).status_code == 422


def test_settings_from_env() -> None:
    settings = Settings.from_env({"PORT": "9000", "LOG_LEVEL": "debug"})
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.stage == "local"


def test_logs_are_json(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.get("/health")
    logging.getLogger().handlers[0].flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    request = next(line for line in lines if line["message"] == "request")
    assert request["path"] == "/health"
    assert request["status"] == 200
    assert request["stage"] == "test"


def test_the_api_document_lists_every_status(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/items/{item_id}"]["get"]["responses"]) == {"200", "404", "422"}
    assert set(paths["/items"]["post"]["responses"]) == {"201", "400", "422"}
    assert set(paths["/health"]["get"]["responses"]) == {"200"}
