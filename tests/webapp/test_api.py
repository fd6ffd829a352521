"""/api/v1 on a fake model: results, jobs, events, errors and the bad-input table."""

from __future__ import annotations

import base64
import json

import pytest

from tests.webapp.helpers import bearer, wait_final
from webapp.loaded_models import get_loaded_models


def test_sync_images_answer_urls_seeds_and_pngs(client, api_key):
    body = {"prompt": "a blue square", "n": 2, "seed": 7, "response_format": "b64_png"}
    response = client.post("/api/v1/images", json=body, headers=bearer(api_key))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert set(data) == {"id", "created", "model", "images", "moderation"}
    assert data["moderation"] == {"action": "allow", "categories": []}
    assert [i["seed"] for i in data["images"]] == [7, 8]
    assert base64.b64decode(data["images"][0]["b64_png"]).startswith(b"\x89PNG")
    png = client.get(data["images"][0]["url"], headers=bearer(api_key))
    assert png.status_code == 200 and png.mimetype == "image/png"


def test_job_lifecycle_and_ownership(client, api_key, make_key, admin_key):
    response = client.post("/api/v1/jobs", json={"prompt": "a circle"}, headers=bearer(api_key))
    assert response.status_code == 202
    job = response.get_json()
    assert job["status_url"] == f"/api/v1/jobs/{job['id']}" and job["events_url"]
    view = wait_final(client, job["id"], api_key)
    assert view["status"] == "succeeded" and view["progress"] == 1.0
    assert view["model"] == "fake-1" and len(view["images"]) == 1
    image_url = view["images"][0]["url"]
    other = make_key("other")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(other)).status_code == 404
    assert client.get(image_url, headers=bearer(other)).status_code == 404
    assert client.get(image_url, headers=bearer(admin_key)).status_code == 200


def test_events_stream_progress_then_done(client, api_key, fake_generator):
    fake_generator.step_s = 0.05
    job = client.post("/api/v1/jobs", json={"prompt": "x", "steps": 6}, headers=bearer(api_key))
    events = client.get(job.get_json()["events_url"], headers=bearer(api_key))
    assert events.mimetype == "text/event-stream"
    blocks = [b for b in events.get_data(as_text=True).split("\n\n") if b.startswith("event:")]
    names = [b.split("\n")[0].removeprefix("event: ") for b in blocks]
    assert names[-1] == "done" and set(names[:-1]) <= {"progress"}
    final = json.loads(blocks[-1].split("data: ", 1)[1])
    assert final["status"] == "succeeded" and final["images"]


def test_prompt_refusal_names_the_category_not_the_words(client, api_key):
    response = client.post(
        "/api/v1/jobs", json={"prompt": "forbidden act"}, headers=bearer(api_key)
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "content_policy_violation"
    assert error["type"] == "invalid_request_error" and error["param"] == "prompt"
    assert error["moderation"] == {
        "action": "refuse",
        "stage": "blocklist",
        "categories": ["violence"],
    }
    assert "violence" in error["message"] and "forbidden" not in error["message"]
    assert error["policy_url"] == "/policy"


def test_image_refusal_refuses_the_job_and_stores_nothing(client, api_key, tmp_path):
    job = client.post("/api/v1/jobs", json={"prompt": "red-flag"}, headers=bearer(api_key))
    view = wait_final(client, job.get_json()["id"], api_key)
    assert view["status"] == "refused" and view["images"] == []
    assert view["error"]["moderation"] == {
        "action": "refuse",
        "stage": "image",
        "categories": ["sexual"],
    }
    assert view["error"]["policy_url"] == "/policy"
    assert not list((tmp_path / "images").rglob("*.png"))
    sync = client.post("/api/v1/images", json={"prompt": "red-flag"}, headers=bearer(api_key))
    assert sync.status_code == 400
    assert sync.get_json()["error"]["moderation"]["stage"] == "image"
    assert sync.get_json()["error"]["policy_url"] == "/policy"


def test_moderation_down_is_503_with_retry_after(client, api_key, fake_moderation):
    fake_moderation.down = True
    response = client.post("/api/v1/images", json={"prompt": "a square"}, headers=bearer(api_key))
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "moderation_unavailable"


def test_model_loading_is_503_with_retry_after(client, api_key, fake_generator):
    fake_generator.ready = False
    response = client.post("/api/v1/jobs", json={"prompt": "a square"}, headers=bearer(api_key))
    assert response.status_code == 503 and response.headers["Retry-After"]


@pytest.mark.app_config(SAFECANVAS_QUEUE_MAX=1)
def test_full_queue_is_503_with_retry_after(client, api_key, fake_generator):
    gen = fake_generator
    gen.step_s = 0.2
    codes = []
    for _ in range(3):
        response = client.post("/api/v1/jobs", json={"prompt": "x"}, headers=bearer(api_key))
        codes.append(response.status_code)
        gen.started.wait(5)  # the first job is running, the second waits, the third is over
    assert codes == [202, 202, 503]
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_cancel_a_running_job(client, api_key, fake_generator):
    gen = fake_generator
    gen.step_s = 0.1
    job = client.post("/api/v1/jobs", json={"prompt": "x", "steps": 50}, headers=bearer(api_key))
    job_id = job.get_json()["id"]
    assert gen.started.wait(5)
    response = client.delete(f"/api/v1/jobs/{job_id}", headers=bearer(api_key))
    assert response.status_code == 200
    assert wait_final(client, job_id, api_key)["status"] == "cancelled"
    again = client.delete(f"/api/v1/jobs/{job_id}", headers=bearer(api_key))
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"


def test_sampler_and_lora_scale_reach_the_job(fake_app, client, api_key):
    from webapp.db import session_factory, session_scope
    from webapp.models import Job

    get_loaded_models(fake_app).generator.version_names.append("fake-style")  # an adapter
    body = {"prompt": "x", "model": "fake-style", "sampler": "euler_a", "lora_scale": 0.5}
    job = client.post("/api/v1/jobs", json=body, headers=bearer(api_key)).get_json()
    assert wait_final(client, job["id"], api_key)["status"] == "succeeded"
    with session_scope(session_factory(fake_app)) as session:
        params = session.get(Job, job["id"]).params
    assert (params["sampler"], params["lora_scale"]) == ("euler_a", 0.5)


def test_cancel_a_finished_job_is_409(client, api_key):
    job = client.post("/api/v1/jobs", json={"prompt": "x"}, headers=bearer(api_key)).get_json()
    wait_final(client, job["id"], api_key)
    response = client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(api_key))
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({}, "prompt", "'prompt' is required"),
        ({"prompt": ""}, "prompt", "must not be empty"),
        ({"prompt": "   "}, "prompt", "must not be empty"),
        ({"prompt": "x" * 201}, "prompt", "too long"),
        ({"prompt": "x", "n": 0}, "n", "between 1 and 4"),
        ({"prompt": "x", "n": 100}, "n", "between 1 and 4"),
        ({"prompt": "x", "size": "abc"}, "size", "must look like"),
        ({"prompt": "x", "size": "512x512"}, "size", "not supported"),
        ({"prompt": "x", "steps": -1}, "steps", "between 1 and 50"),
        ({"prompt": 42}, "prompt", "must be a string"),
        ({"prompt": "x", "n": "2"}, "n", "must be an integer"),
        ({"prompt": "x", "n": True}, "n", "must be an integer"),
        ({"prompt": "x", "n": 1.5}, "n", "must be an integer"),
        ({"prompt": "x", "guidance_scale": "high"}, "guidance_scale", "must be a number"),
        ({"prompt": "x", "seed": -5}, "seed", "between 0 and"),
        ({"prompt": "x", "width": 32}, "height", "required with the other"),
        ({"prompt": "x", "model": "nope"}, "model", "unknown model version"),
        ({"prompt": "x", "sampler": 3}, "sampler", "must be a string"),
        ({"prompt": "x", "sampler": "k_lms"}, "sampler", "unknown sampler"),
        ({"prompt": "x", "lora_scale": 1}, "lora_scale", "applies to LoRA adapter versions"),
        ({"prompt": "x", "lora_scale": 3}, "lora_scale", "between 0 and 2"),
        ({"prompt": "x", "colour": "red"}, "colour", "Unknown field"),
        ({"prompt": "x", "response_format": "gif"}, "response_format", "must be one of"),
        (["prompt"], None, "must be a JSON object"),
    ],
)
def test_bad_input_is_400_with_message_and_field(client, api_key, body, param, message):
    response = client.post("/api/v1/images", json=body, headers=bearer(api_key))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and error["param"] == param
    assert message in error["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("prompt=x", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        ("", "application/json"),
        (b"\xff\xfe", "text/plain"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
    ],
)
def test_non_json_body_is_400(client, api_key, data, content_type):
    response = client.post(
        "/api/v1/jobs", data=data, content_type=content_type, headers=bearer(api_key)
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("path", ["/api/v1/jobs/nope", "/api/v1/images/nope.png"])
def test_unknown_ids_are_404_json(client, api_key, path):
    response = client.get(path, headers=bearer(api_key))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_openapi_document_uses_the_validator_fields(client, api_key):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/images",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/v1/images/generations",
        "/admin/api/refusals",
    ):
        assert path in doc["paths"]
    schema = doc["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    props = schema["schema"]["properties"]
    assert props["n"]["maximum"] == 4 and props["steps"]["maximum"] == 50
    assert props["size"]["enum"] == ["32x32", "64x64"]
    assert props["sampler"]["enum"] == ["euler", "euler_a"]  # the loaded model's
    assert (props["lora_scale"]["minimum"], props["lora_scale"]["maximum"]) == (0, 2)
    assert props["prompt"]["maxLength"] == 200
    assert schema["schema"]["additionalProperties"] is False
    body = {"prompt": "x", "n": props["n"]["maximum"] + 1}
    assert client.post("/api/v1/jobs", json=body, headers=bearer(api_key)).status_code == 400


def test_openapi_document_describes_the_moderation_outcome(client):
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert schemas["Outcome"]["properties"]["action"]["enum"] == ["allow", "guard"]
    assert schemas["Moderation"]["properties"]["action"] == {"const": "refuse"}
    error = schemas["Error"]["properties"]["error"]["properties"]
    assert "policy_url" in error and error["moderation"] == {
        "$ref": "#/components/schemas/Moderation"
    }
    for name in ("Images", "Queued", "Job", "OpenAIImages"):
        assert schemas[name]["properties"]["moderation"]["$ref"].endswith("/Outcome"), name
    assert "outcome" in schemas["Refusal"]["properties"]
    log = doc["paths"]["/admin/api/refusals"]["get"]["parameters"]
    assert "outcome" in [p["name"] for p in log]
    review = doc["paths"]["/admin/api/refusals/{refusal_id}/review"]["post"]["requestBody"]
    status = review["content"]["application/json"]["schema"]["properties"]["status"]
    assert "should_refuse" in status["enum"]


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ('{"prompt": "x", "guidance_scale": NaN}', "guidance_scale"),
        ('{"prompt": "x", "guidance_scale": Infinity}', "guidance_scale"),
        ('{"prompt": "a\\u0000b"}', "prompt"),
        ('{"prompt": "\\ud800"}', "prompt"),
        ('{"prompt": "x", "seed": 1e400}', "seed"),
    ],
)
def test_text_and_numbers_no_database_can_store_are_400(client, api_key, raw, param):
    response = client.post(
        "/api/v1/jobs", data=raw, content_type="application/json", headers=bearer(api_key)
    )
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/%00",
        "/api/v1/images/%ff.png",
        "/admin/api/refusals?requester=%00",
        "/admin/api/refusals?page=%C2%B2",
        "/admin/api/refusals?since=0001-01-01T00:00%2B01:00",
    ],
)
def test_odd_paths_and_queries_are_4xx(client, admin_key, path):
    response = client.get(path, headers=bearer(admin_key))
    assert 400 <= response.status_code < 500 and response.is_json
