"""Fuzzing usersvc's create, read and delete (Flask test client, real PostgreSQL, real QOTM in-process) with
hypothesis: whatever the body, content type and path, no answer is a 5xx, and a refused create writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mesh import apps
from tests.mesh.postgres import postgres_server
from tests.services.test_fuzz import CONTENT_TYPES, JSON_VALUES, PATH_TEXT

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FIELD_VALUES = st.one_of(JSON_VALUES, st.text(max_size=120), st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True))
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["username", "fullname", "email", "admin"]), FIELD_VALUES, max_size=4).map(
        lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda n: b'{"username": ' + b"[" * n + b"]" * n + b"}"),
)


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[Any, psycopg.Connection]]:
    """usersvc's test client, and a connection of the test's own to count the users."""
    with postgres_server() as pg, apps.qotm_server() as qotm_url:
        module = apps.usersvc()
        store = module.Store(pg.conninfo, pool_size=2)
        client = module.create_app(store, module.QuoteClient(qotm_url, 2)).test_client()
        assert client.get("/health").status_code == 200
        with psycopg.connect(pg.conninfo, autocommit=True) as conn:
            yield client, conn
        store.close()


def count(conn: psycopg.Connection) -> int:
    (row,) = conn.execute("SELECT count(*) FROM users").fetchall()
    return int(row[0])


@FUZZ
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_create_never_fails_with_5xx_and_a_refusal_writes_nothing(service, body: bytes, content_type: str) -> None:
    client, conn = service
    before = count(conn)
    response = client.post("/", data=body, content_type=content_type)
    assert response.status_code in (201, 400, 409, 413, 415), (response.status_code, response.data[:300])
    assert count(conn) == before + (1 if response.status_code == 201 else 0)


@FUZZ
@given(method=st.sampled_from(["GET", "DELETE", "PUT", "PATCH"]), path=PATH_TEXT)
def test_any_path_is_never_a_5xx(service, method: str, path: str) -> None:
    client, _ = service
    response = client.open(f"/{path}", method=method)
    assert response.status_code < 500, (method, path, response.status_code, response.data[:300])
