"""JSON Schemas of what the API answers: ``components/schemas`` of the OpenAPI document.

Each mirrors the code that builds the answer (named below); tests/webapp/test_openapi.py
validates real answers against them, so a change to one shows up against the other.
"""

from __future__ import annotations

from typing import Any

from safety.verdict import CATEGORIES, STAGES
from webapp.job_filters import JOB_STATUSES
from webapp.models import OUTCOMES, REVIEW_STATUSES, USER_REPORT, VOTES

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
URL = {"type": "string", "format": "uri-reference"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_INTEGER = {"type": ["integer", "null"]}
CATEGORY = {"type": "string", "enum": list(CATEGORIES)}


def ref(name: str) -> dict[str, str]:
    """A reference to one of ``SCHEMAS``."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object whose properties are all required but the ``optional`` ones."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def array(items: dict[str, Any]) -> dict[str, Any]:
    """An array of ``items``."""
    return {"type": "array", "items": items}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null."""
    return {"oneOf": [{"type": "null"}, schema]}


SCHEMAS: dict[str, dict[str, Any]] = {
    # webapp.errors: every error answer
    "Error": obj(
        {
            "error": obj(
                {
                    "code": STRING,
                    "message": STRING,
                    "type": STRING,
                    "param": {"type": ["string", "null"]},
                    "moderation": {"$ref": "#/components/schemas/Moderation"},
                    "policy_url": URL | {"description": "The content policy it was refused under."},
                },
                optional=("type", "param", "moderation", "policy_url"),
            )
        }
    ),
    # webapp.refusal_log.refused_outcome: why a prompt or image was refused
    "Moderation": obj(
        {
            "action": {"const": "refuse"},
            "stage": {"type": "string", "enum": list(STAGES)},
            "categories": array(CATEGORY),
        }
    ),
    # webapp.safeguards.moderation_outcome: how an accepted prompt was judged
    "Outcome": obj(
        {
            "action": {
                "type": "string",
                "enum": ["allow", "guard"],
                "description": "guard: generated with safeguards and kept for review.",
            },
            "categories": array(CATEGORY),
            "policy_url": URL | {"description": "The content policy (guard only)."},
        },
        optional=("policy_url",),
    ),
    # webapp.api.routes.create_images
    "Images": obj(
        {
            "id": STRING,
            "created": INTEGER,
            "model": STRING,
            "images": array(
                obj(
                    {
                        "url": URL | {"description": "Needs the API key."},
                        "signed_url": URL | {"description": "Needs no key; expires."},
                        "seed": INTEGER,
                        "b64_png": STRING | {"description": "With response_format b64_png."},
                    },
                    optional=("b64_png",),
                )
            ),
            "moderation": ref("Outcome"),
        }
    ),
    # webapp.api.routes.create_job
    "Queued": obj(
        {
            "id": STRING,
            "status": {"const": "queued"},
            "status_url": URL,
            "events_url": URL,
            "moderation": ref("Outcome"),
        }
    ),
    # webapp.job_views.JobViews._view
    "Job": obj(
        {
            "id": STRING,
            "status": {"type": "string", "enum": list(JOB_STATUSES)},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "error": nullable(
                obj(
                    {
                        "code": STRING,
                        "message": STRING,
                        "moderation": ref("Moderation"),
                        "policy_url": URL,
                    },
                    optional=("moderation", "policy_url"),
                )
            ),
            "images": array(obj({"id": STRING, "url": URL, "seed": INTEGER})),
            "created": INTEGER,
            "model": STRING,
            "params": ref("JobParams"),
            "moderation": ref("Outcome"),
            "request_id": {
                "type": ["string", "null"],
                "description": "The X-Request-ID of the request that made it (null: older jobs).",
            },
        }
    ),
    # webapp.params.request_params: what the job asked for, the model's defaults filled in
    "JobParams": {
        "type": "object",
        "properties": {
            "prompt": STRING,
            "negative_prompt": STRING,
            "n": INTEGER,
            "width": NULLABLE_INTEGER,
            "height": NULLABLE_INTEGER,
            "steps": NULLABLE_INTEGER,
            "guidance_scale": {"type": ["number", "null"]},
            "seed": NULLABLE_INTEGER | {"description": "null: a random seed per job."},
            "model": {"type": ["string", "null"]},
            "sampler": {"type": ["string", "null"], "description": "null: the model's own."},
            "lora_scale": {"type": ["number", "null"]},
        },
        "required": ["prompt"],
    },
    # webapp.api.routes.list_jobs
    "Jobs": obj(
        {
            "items": array(ref("Job")),
            "total": INTEGER,
            "page": INTEGER,
            "per_page": INTEGER,
        }
    ),
    # webapp.api.openai.generations
    "OpenAIImages": obj(
        {
            "created": INTEGER,
            "data": array(
                {
                    "oneOf": [
                        obj({"url": URL | {"description": "Signed: needs no key; expires."}}),
                        obj({"b64_json": STRING}),
                    ]
                }
            ),
            "moderation": ref("Outcome") | {"description": "Our extension to OpenAI's answer."},
        }
    ),
    # webapp.api.openai.list_models
    "Models": obj(
        {
            "object": {"const": "list"},
            "data": array(
                obj(
                    {
                        "id": STRING,
                        "object": {"const": "model"},
                        "created": INTEGER,
                        "owned_by": STRING,
                    }
                )
            ),
        }
    ),
    # webapp.refusal_log.refusal_dict
    "Refusal": obj(
        {
            "id": INTEGER,
            "created": TIME,
            "outcome": {"type": "string", "enum": list(OUTCOMES)},
            "stage": {"type": "string", "enum": [*STAGES, USER_REPORT]},
            "categories": array(STRING),
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "matched_terms": array(STRING),
            "reason": {"type": ["string", "null"]},
            "prompt": STRING,
            "negative_prompt": {"type": ["string", "null"]},
            "requester": STRING,
            "source": STRING,
            "model_version": {"type": ["string", "null"]},
            "moderator_version": {"type": ["string", "null"]},
            "language": STRING,
            "job_id": {"type": ["string", "null"]},
            "image_id": {
                "type": ["string", "null"],
                "description": "The image a user_report entry is about.",
            },
            "review_status": {"type": "string", "enum": list(REVIEW_STATUSES)},
            "reviewer": {"type": ["string", "null"]},
            "review_note": {"type": ["string", "null"]},
            "reviewed_at": nullable(TIME),
        }
    ),
    # webapp.feedback.feedback_dict: a requester's feedback on one image
    "Feedback": obj(
        {
            "image_id": STRING,
            "vote": {"type": "string", "enum": list(VOTES)},
            "reported": {"type": "boolean"},
            "report_id": NULLABLE_INTEGER
            | {"description": "Its moderation log entry (stage user_report)."},
            "model": STRING | {"description": "The model version that made the image."},
        }
    ),
    # webapp.api.admin.list_refusals
    "Refusals": obj(
        {
            "items": array(ref("Refusal")),
            "total": INTEGER,
            "page": INTEGER,
            "per_page": INTEGER,
        }
    ),
    # webapp.api.admin.refusals_per_day
    "RefusalsPerDay": obj(
        {
            "items": array(
                obj(
                    {
                        "day": {"type": "string", "format": "date"},
                        "category": STRING,
                        "count": INTEGER,
                    }
                )
            )
        }
    ),
}
