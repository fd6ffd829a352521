"""Every documented answer has a real schema, and real answers match it (on the fakes)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from tests.webapp.helpers import bearer, wait_final

JSON = "application/json"


@pytest.fixture
def doc(client):
    """The served OpenAPI document."""
    return client.get("/api/openapi.json").get_json()


def check(doc, path: str, method: str, status: int, body) -> None:
    """Validate ``body`` against the schema the document gives for that answer."""
    schema = doc["paths"][path][method]["responses"][str(status)]["content"][JSON]["schema"]
    # The schema's $refs point into the document's components; give it them at its root.
    jsonschema_rs.validate(dict(schema, components=doc["components"]), body)


def test_no_answer_is_a_bare_object(doc):
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                schema = answer.get("content", {}).get(JSON, {}).get("schema")
                if schema is not None:
                    assert "$ref" in schema, f"{method.upper()} {path} {status}: {schema}"
    for name, schema in doc["components"]["schemas"].items():
        assert schema.get("properties"), name
        jsonschema_rs.meta.validate(schema)  # each is a valid JSON Schema


def test_generation_answers_match_their_schemas(doc, client, api_key):
    auth = bearer(api_key)
    body = {"prompt": "a square", "n": 2, "response_format": "b64_png"}
    check(
        doc,
        "/api/v1/images",
        "post",
        200,
        client.post("/api/v1/images", json=body, headers=auth).get_json(),
    )
    queued = client.post("/api/v1/jobs", json={"prompt": "x"}, headers=auth)
    check(doc, "/api/v1/jobs", "post", 202, queued.get_json())
    done = wait_final(client, queued.get_json()["id"], api_key)
    check(doc, "/api/v1/jobs/{job_id}", "get", 200, done)
    refused = client.post("/api/v1/jobs", json={"prompt": "red-flag"}, headers=auth).get_json()
    refused = wait_final(client, refused["id"], api_key)
    assert refused["error"]["moderation"]
    check(doc, "/api/v1/jobs/{job_id}", "get", 200, refused)
    jobs = client.get("/api/v1/jobs?per_page=2", headers=auth).get_json()
    assert len(jobs["items"]) == 2 and jobs["total"] >= 3
    check(doc, "/api/v1/jobs", "get", 200, jobs)
    for fmt in ("url", "b64_json"):
        body = {"prompt": "x", "response_format": fmt}
        answer = client.post("/v1/images/generations", json=body, headers=auth).get_json()
        check(doc, "/v1/images/generations", "post", 200, answer)
    check(doc, "/v1/models", "get", 200, client.get("/v1/models", headers=auth).get_json())


def test_error_answers_match_their_schema(doc, client, api_key):
    auth = bearer(api_key)
    refused = client.post("/api/v1/images", json={"prompt": "forbidden act"}, headers=auth)
    assert refused.status_code == 400 and refused.get_json()["error"]["moderation"]
    check(doc, "/api/v1/images", "post", 400, refused.get_json())
    bad = client.post("/api/v1/images", json={"prompt": "x", "n": 0}, headers=auth)
    check(doc, "/api/v1/images", "post", 400, bad.get_json())
    check(doc, "/api/v1/jobs/{job_id}", "get", 401, client.get("/api/v1/jobs/x").get_json())
    bad = client.get("/api/v1/jobs?status=nope", headers=auth)
    assert bad.status_code == 400
    check(doc, "/api/v1/jobs", "get", 400, bad.get_json())


def test_admin_answers_match_their_schemas(doc, client, api_key, make_key):
    client.post("/api/v1/images", json={"prompt": "forbidden act"}, headers=bearer(api_key))
    admin = bearer(make_key("ops", admin=True))
    refusals = client.get("/admin/api/refusals", headers=admin).get_json()
    assert refusals["items"]
    check(doc, "/admin/api/refusals", "get", 200, refusals)
    daily = client.get("/admin/api/refusals/daily", headers=admin).get_json()
    check(doc, "/admin/api/refusals/daily", "get", 200, daily)
    path = f"/admin/api/refusals/{refusals['items'][0]['id']}/review"
    reviewed = client.post(path, json={"status": "confirmed", "note": "ok"}, headers=admin)
    check(doc, "/admin/api/refusals/{refusal_id}/review", "post", 200, reviewed.get_json())
