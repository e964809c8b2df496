"""What the platform's API gives every route (app/api/wsgi.py, app/api/params.py), through
Flask's test client on a migrated SQLite file, with routes of the tests' own."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
import sqlalchemy as sa
from flask import Flask
from pydantic import BaseModel, ConfigDict, Field

from app.api import params
from app.api.wsgi import create_app
from app.core import migrate
from app.core.db import create_engine_for
from app.core.settings import load_settings
from tests.support.tools import free_port


class Probe(BaseModel):
    """Parameters of every kind params.py bounds."""

    model_config = ConfigDict(extra="forbid")
    count: Annotated[params.Integer, Field(ge=1, le=24)] = 1
    day: params.Day = None
    name: params.Text = ""
    tag: params.Texts = []


def with_probe_routes(app: Flask) -> Flask:
    """Add a route that parses Probe and one that queries the engine in PROBE_ENGINE."""

    @app.get("/probe")
    def probe():
        return params.parse(Probe).model_dump(mode="json")

    @app.get("/probe/database")
    def database():
        with app.config["PROBE_ENGINE"].connect() as conn:
            return {"answer": conn.scalar(sa.text("SELECT 1"))}

    return app


@pytest.fixture(scope="module")
def client(sqlite_env: dict):
    return with_probe_routes(create_app(load_settings(sqlite_env))).test_client()


def test_healthz_and_readyz_answer(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_bounded_parameters_reach_the_route_parsed(client):
    answer = client.get("/probe?count=3&day=2025-01-02&name=x&tag=a&tag=b")
    assert answer.status_code == 200
    assert answer.json == {"count": 3, "day": "2025-01-02", "name": "x", "tag": ["a", "b"]}
    assert Probe.model_validate({"day": dt.date(2025, 1, 2)}).day == dt.date(2025, 1, 2)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("count=0", "count"),
        ("count=25", "count"),
        ("count=six", "count"),
        ("count=6%00", "count"),
        ("count=1&count=2", "count"),
        ("day=yesterday", "day"),
        ("day=2025-13-01", "day"),
        ("day=1969-12-31", "day"),
        ("day=2101-01-01", "day"),
        ("colour=red", "colour"),
        # Bounded before any query sees them (PostgreSQL refuses a NUL: it would be a 500).
        ("name=a%00b", "name"),
        ("name=%0D%0AX-Injected:%201", "name"),
        ("name=" + "x" * (params.MAX_CHARS + 1), "name"),
        ("tag=" + "&tag=".join("x" * (params.MAX_VALUES + 1)), "tag"),
        ("x" * 300 + "=1", "x" * params.MAX_CHARS),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, query: str, parameter: str):
    response = client.get(f"/probe?{query}")
    assert response.status_code == 400
    assert response.json["parameter"] == parameter
    assert response.json["error"] == "invalid parameter"
    assert response.json["detail"]


def test_unknown_paths_and_methods_answer_json(client):
    assert client.get("/nowhere").status_code == 404
    assert client.get("/nowhere").json == {"error": "not found"}
    for method in ("post", "put", "delete", "patch", "options"):
        refused = getattr(client, method)("/healthz")
        assert refused.status_code == 405, method
        assert refused.json == {"error": "method not allowed"}


@pytest.mark.parametrize("path", ["/probe//database", "//probe", "/probe/", "//healthz/"])
def test_a_path_with_doubled_or_trailing_slashes_is_json_not_a_redirect(client, path: str):
    """Werkzeug used to answer "//" with its HTML 308 to the merged path, the query
    repeated in the Location: JSON only, and no answer that grows with the link."""
    response = client.get(f"{path}?q={'x' * 6000}")
    assert response.status_code == 404, response.headers
    assert response.json == {"error": "not found"}
    assert "Location" not in response.headers


@pytest.mark.parametrize("path", ["/healthz", "/probe?count=2", "/probe?count=x", "/nowhere"])
def test_no_answer_is_kept_by_a_cache(client, path: str):
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_a_database_that_refuses_connections_is_a_503_without_its_address(caplog):
    # A real refused connection: nothing listens on this loopback port.
    port = free_port()
    url = f"postgresql://nobody@127.0.0.1:{port}/none"
    settings = load_settings({"APP_DATABASE_URL": url, "APP_DB_CONNECT_TIMEOUT": "2"})
    app = create_app(settings)
    app.config["PROBE_ENGINE"] = create_engine_for(settings, "test")
    client = with_probe_routes(app).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "reason": "database"}
    query = client.get("/probe/database")
    assert query.status_code == 503
    assert query.json == {"error": "database unavailable, try again shortly"}
    for answer in (ready, query):
        assert "Traceback" not in answer.get_data(as_text=True)
        assert str(port) not in answer.get_data(as_text=True)
    assert f"127.0.0.1:{port}" in caplog.text  # the detail is in the server's log
    assert "Connection refused" in caplog.text
    assert client.get("/healthz").status_code == 200


def test_readiness_needs_the_schema_this_code_migrates_to(tmp_path):
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    client = create_app(load_settings({"APP_DATABASE_URL": url})).test_client()
    assert client.get("/readyz").json == {"status": "unavailable", "reason": "schema"}
    engine = create_engine_for(load_settings({"APP_DATABASE_URL": url}), "test-setup")
    migrate.upgrade(engine, "base")  # the version table exists, no revision in it
    assert client.get("/readyz").json == {"status": "unavailable", "reason": "schema"}
    migrate.upgrade(engine)
    engine.dispose()
    assert client.get("/readyz").json == {"status": "ready"}
