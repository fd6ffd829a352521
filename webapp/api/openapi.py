"""``GET /api/openapi.json``: built from the validator's own field table, so they agree."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, render_template

from safety.verdict import CATEGORIES
from webapp.api import experiment_schemas
from webapp.api.openai import IGNORED, PASSED
from webapp.api.schemas import SCHEMAS, ref
from webapp.feedback import MAX_REASON_CHARS
from webapp.job_filters import JOB_STATUSES
from webapp.job_filters import MAX_PER_PAGE as MAX_JOBS_PER_PAGE
from webapp.loaded_models import get_loaded_models
from webapp.models import REVIEW_STATUSES, VOTES
from webapp.params import FIELDS, bound
from webapp.refusal_filters import NAMES as FILTERS

bp = Blueprint("openapi", __name__)

JSON = "application/json"


def field_schema(limits: Any) -> dict[str, Any]:
    """Properties of a generation request with the loaded model's bounds."""
    props: dict[str, Any] = {}
    for f in FIELDS:
        schema: dict[str, Any] = {"type": f.kind, "description": f.description}
        low, high = bound(f.minimum, limits), bound(f.maximum, limits)
        if f.kind == "string":
            if high is not None:
                schema["maxLength"] = int(high)
            if f.required:
                schema["minLength"] = 1
                schema["pattern"] = r"\S"
        else:
            if low is not None:
                schema["minimum"] = low
            if high is not None:
                schema["maximum"] = high
        if f.name == "size" and limits is not None:
            schema["enum"] = [f"{w}x{h}" for w, h in limits.sizes]
        if f.name == "sampler" and limits is not None and limits.samplers:
            schema["enum"] = list(limits.samplers)
        props[f.name] = schema
    return props


def _body(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A required JSON request body that allows no unknown fields."""
    schema = {"type": "object", "properties": props, "additionalProperties": False}
    return {"required": True, "content": {JSON: {"schema": schema | {"required": required}}}}


REQUEST_IDS = (
    "Every answer carries an `X-Request-ID` header: the request's own when it sent one of 1-128 "
    "characters `A-Z a-z 0-9 . _ : + = / -`, a new one otherwise. A job keeps the id of the "
    "request that made it as `request_id`; the server's log lines about both carry it."
)


def _errors(*codes: int) -> dict[str, Any]:
    """Documented error responses for the given status codes."""
    names = {
        400: "Bad input or refused by moderation",
        401: "Missing or invalid API key",
        403: "Not allowed",
        404: "Not found",
        409: "Job already finished, image already reported, or experiment running or ended",
        429: "Rate limited (Retry-After)",
        503: "Busy or unavailable (Retry-After)",
    }
    content = {JSON: {"schema": ref("Error")}}
    return {str(c): {"description": names[c], "content": content} for c in codes}


def _ok(schema: str, status: int = 200) -> dict:
    """A success response whose body is the named schema of ``schemas.SCHEMAS``."""
    content = {JSON: {"schema": ref(schema)}}
    return {str(status): {"description": schema, "content": content}}


def _op(summary: str, responses: dict, body: dict | None = None, params: list | None = None):
    """One operation."""
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    """A required path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema}


GENERATING = (400, 401, 409, 429, 503)


def _bodies(limits: Any) -> dict[str, dict[str, Any]]:
    """Request bodies of the generating endpoints and the review action."""
    gen = field_schema(limits)
    oai = {k: gen[k] for k in PASSED}
    oai |= {k: {"description": "Accepted for OpenAI compatibility; unused."} for k in IGNORED}
    oai["response_format"] = {"type": "string", "enum": ["url", "b64_json"]}
    oai["user"] = {"type": "string", "maxLength": 256}
    oai["model"] = {"type": "string"}
    sync = gen | {"response_format": {"type": "string", "enum": ["url", "b64_png"]}}
    review = {
        "status": {"type": "string", "enum": list(REVIEW_STATUSES)},
        "note": {"type": "string", "maxLength": 2000},
    }
    report = {
        "type": "object",
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_REASON_CHARS,
                "pattern": r"\S",
            },
            "category": {"type": "string", "enum": list(CATEGORIES)},
        },
        "required": ["reason"],
        "additionalProperties": False,
        "description": "Report the image: it lands in the moderation review queue.",
    }
    feedback = {
        "vote": {"type": "string", "enum": list(VOTES), "description": "none clears a vote."},
        "report": report,
    }
    feedback_body = _body(feedback, [])
    feedback_body["content"][JSON]["schema"]["minProperties"] = 1  # a vote, a report or both
    return {
        "feedback": feedback_body,
        "sync": _body(sync, ["prompt"]),
        "job": _body(gen, ["prompt"]),
        "openai": _body(oai, ["prompt"]),
        "review": _body(review, ["status"]),
    }


def build_document(limits: Any) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    bodies = _bodies(limits)
    job_id, image_id = [_path_param("job_id")], [_path_param("image_id")]
    refusal_id = [_path_param("refusal_id") | {"schema": {"type": "integer"}}]
    filters = [_query(n, {"type": "string"}) for n in FILTERS]
    filters += [
        _query("page", {"type": "integer", "minimum": 1}),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
    ]
    moment = {"type": "string", "description": "ISO date or datetime (UTC when naive)"}
    job_filters = [
        _query("status", {"type": "string", "enum": list(JOB_STATUSES)}),
        _query("since", moment),
        _query("until", moment | {"description": "exclusive; " + moment["description"]}),
        _query("model", {"type": "string", "description": "model version"}),
        _query("page", {"type": "integer", "minimum": 1}),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_JOBS_PER_PAGE}),
    ]
    png = {"200": {"description": "PNG", "content": {"image/png": {"schema": {}}}}}
    sse = {"200": {"description": "SSE", "content": {"text/event-stream": {"schema": {}}}}}
    ops = [
        (
            "/api/v1/images",
            "post",
            "Generate synchronously",
            _ok("Images"),
            GENERATING,
            bodies["sync"],
            None,
        ),
        (
            "/api/v1/jobs",
            "post",
            "Queue a job",
            _ok("Queued", status=202),
            GENERATING,
            bodies["job"],
            None,
        ),
        (
            "/api/v1/jobs",
            "get",
            "This key's own jobs, newest first",
            _ok("Jobs"),
            (400, 401),
            None,
            job_filters,
        ),
        ("/api/v1/jobs/{job_id}", "get", "Job status", _ok("Job"), (401, 404), None, job_id),
        (
            "/api/v1/jobs/{job_id}",
            "delete",
            "Cancel a job",
            _ok("Job"),
            (401, 404, 409),
            None,
            job_id,
        ),
        ("/api/v1/jobs/{job_id}/events", "get", "Job events", sse, (401, 404), None, job_id),
        ("/api/v1/images/{image_id}.png", "get", "An image", png, (401, 404), None, image_id),
        (
            "/api/v1/images/{image_id}/feedback",
            "post",
            "Vote on an image (thumbs up/down, changeable) and/or report it",
            _ok("Feedback"),
            (400, 401, 404, 409),
            bodies["feedback"],
            image_id,
        ),
        (
            "/api/v1/images/signed/{token}.png",
            "get",
            "An image by its signed URL (no key; expires)",
            png,
            (403, 404),
            None,
            [_path_param("token")],
        ),
        (
            "/v1/images/generations",
            "post",
            "OpenAI-compatible generation",
            _ok("OpenAIImages"),
            GENERATING,
            bodies["openai"],
            None,
        ),
        (
            "/v1/models",
            "get",
            "Servable models (OpenAI-compatible)",
            _ok("Models"),
            (401,),
            None,
            None,
        ),
        (
            "/admin/api/refusals",
            "get",
            "Moderation log (refused and guarded entries)",
            _ok("Refusals"),
            (400, 401, 403),
            None,
            filters,
        ),
        (
            "/admin/api/refusals/daily",
            "get",
            "Refusals per day and category",
            _ok("RefusalsPerDay"),
            (400, 401, 403),
            None,
            filters[: len(FILTERS)],
        ),
        (
            "/admin/api/refusals/{refusal_id}/review",
            "post",
            "Review a log entry",
            _ok("Refusal"),
            (400, 401, 403, 404),
            bodies["review"],
            refusal_id,
        ),
    ]
    exp_id = [_path_param("exp_id") | {"schema": {"type": "integer"}}]
    ops += experiment_schemas.operations(_ok, exp_id)
    paths: dict[str, Any] = {}
    for path, method, summary, ok, errors, body, params in ops:
        paths.setdefault(path, {})[method] = _op(summary, ok | _errors(*errors), body, params)
    _link_jobs(paths)
    paths["/api/v1/images/signed/{token}.png"]["get"]["security"] = []  # the URL is the key
    return {
        "openapi": "3.1.0",
        "info": {"title": "SafeCanvas API", "version": "1", "description": REQUEST_IDS},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS | experiment_schemas.SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _link_jobs(paths: dict[str, Any]) -> None:
    """Name every operation and link a queued job to the operations that take its id."""
    for path, methods in paths.items():
        for method, op in methods.items():
            op["operationId"] = re.sub(r"\W+", "_", f"{method}{path}").strip("_")
    queued = paths["/api/v1/jobs"]["post"]["responses"]["202"]
    targets = [
        op["operationId"]
        for path in ("/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/events")
        for op in paths[path].values()
    ]
    queued["links"] = {
        name: {"operationId": name, "parameters": {"job_id": "$response.body#/id"}}
        for name in targets
    }


@bp.get("/api/docs")
def api_docs():
    """Interactive documentation: Swagger UI (vendored in static/) on the document below."""
    return render_template("api_docs.html")


@bp.get("/api/openapi.json")
def openapi_json():
    """The OpenAPI document, with the model's sizes and bounds."""
    try:
        limits = get_loaded_models().generator.limits  # known before the weights are loaded
    except Exception:  # an external model that cannot say: document the static bounds
        limits = None
    return jsonify(build_document(limits))
