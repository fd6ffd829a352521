"""OpenAI-compatible ``POST /v1/images/generations`` (errors are OpenAI-shaped too)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify

from webapp.api import generate_sync, json_object, png_base64, response_format
from webapp.api.signed_images import signed_image_url
from webapp.auth import require_api_key
from webapp.errors import InvalidRequest
from webapp.limits import api_limit
from webapp.loaded_models import get_loaded_models

bp = Blueprint("openai", __name__, url_prefix="/v1")
bp.before_request(require_api_key)

OPENAI_FORMATS = ("url", "b64_json")
# Options OpenAI clients may send that have no meaning for our models; accepted, unused.
IGNORED = ("quality", "style", "background", "moderation", "output_format", "output_compression")
PASSED = (
    "prompt",
    "n",
    "size",
    "seed",
    "negative_prompt",
    "steps",
    "guidance_scale",
    "sampler",
    "lora_scale",
)


def openai_params(body: dict[str, Any]) -> dict[str, Any]:
    """Our generation params from an OpenAI request body."""
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 256):
        raise InvalidRequest("'user' must be a string of at most 256 characters.", "user")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("'model' must be a string.", param="model")
    unknown = sorted(set(body) - set(PASSED) - set(IGNORED) - {"user", "model"})
    if unknown:
        raise InvalidRequest(f"Unknown field '{unknown[0]}'.", param=unknown[0])
    params = {k: body[k] for k in PASSED if k in body}
    if model and not model.startswith(("dall-e", "gpt-image")):
        params["model"] = model  # OpenAI's own model names mean "the active model"
    return params


@bp.post("/images/generations")
@api_limit
def generations():
    """Generate images; answers ``{"created", "data": [{"url"} | {"b64_json"}], "moderation"}``.

    ``moderation`` (our extension, which OpenAI clients keep as an extra field) says whether
    the prompt was generated as asked or with safeguards.
    """
    body = json_object()
    fmt = response_format(body, OPENAI_FORMATS)
    view = generate_sync(openai_params(body), "openai")
    if fmt == "b64_json":
        data = [{"b64_json": png_base64(image["id"])} for image in view["images"]]
    else:  # signed: an <img> in a chat UI loads it without our key, for an hour
        data = [{"url": signed_image_url(image["id"])} for image in view["images"]]
    return jsonify(created=view["created"], data=data, moderation=view["moderation"])


@bp.get("/models")
def list_models():
    """The servable model versions, as OpenAI's model list (the active one first)."""
    gen = get_loaded_models().generator
    names = sorted(gen.versions(), key=lambda name: name != gen.active_version)
    data = [
        {"id": name, "object": "model", "created": _created(gen, name), "owned_by": "safecanvas"}
        for name in names
    ]
    return jsonify(object="list", data=data)


def _created(gen, name: str) -> int:
    """When a version was made (Unix time): its registry record, else its folder's date."""
    if name in gen.registry.names():
        created = gen.registry.get(name).created
        try:
            return int(datetime.fromisoformat(created).timestamp())
        except ValueError:
            return 0
    folder = Path(name)
    return int(folder.stat().st_mtime) if folder.exists() else 0
