from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture
def guarded_client(engine, settings):
    settings.api_token = "s3cret-token"
    settings.cors_origins = ["http://allowed.example"]
    with TestClient(create_app(settings)) as client:
        yield client


def test_mutations_need_the_bearer_token(guarded_client):
    body = {"name": "p"}
    assert guarded_client.post("/api/projects", json=body).status_code == 401
    wrong = guarded_client.post(
        "/api/projects", json=body, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "missing or invalid bearer token"
    basic = guarded_client.post(
        "/api/projects", json=body, headers={"Authorization": "Basic s3cret-token"}
    )
    assert basic.status_code == 401
    ok = guarded_client.post(
        "/api/projects", json=body, headers={"Authorization": "Bearer s3cret-token"}
    )
    assert ok.status_code == 201
    # Reads stay open.
    assert guarded_client.get("/api/projects").status_code == 200


def test_cors_allows_only_configured_origins(guarded_client):
    allowed = guarded_client.options(
        "/api/projects",
        headers={"Origin": "http://allowed.example", "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://allowed.example"
    other = guarded_client.get("/api/projects", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_closed_by_default(client):
    response = client.get("/api/projects", headers={"Origin": "http://anywhere.example"})
    assert "access-control-allow-origin" not in response.headers


def test_open_when_no_token(client):
    assert client.post("/api/projects", json={"name": "laptop"}).status_code == 201
