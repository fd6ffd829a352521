"""The generation parameters: one field table for the validator and the OpenAPI document."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from generation.generator import MAX_GUIDANCE, MAX_LORA_SCALE, MAX_SEED  # one bound each
from generation.types import GenerationRequest, ModelLimits
from safety.normalize import strip_invisibles
from webapp.errors import InvalidRequest

SIZE_PATTERN = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True)
class Field:
    """One request field: JSON type, bounds (some from the loaded model) and description."""

    name: str
    kind: str  # "string", "integer", "number"
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: str | float | None = None  # a ModelLimits attribute name, or a number
    enum: tuple[str, ...] | None = None


FIELDS: tuple[Field, ...] = (
    Field("prompt", "string", "What to draw.", required=True, maximum="max_prompt_chars"),
    Field("negative_prompt", "string", "What to avoid.", maximum="max_prompt_chars"),
    Field("n", "integer", "Number of images.", minimum=1, maximum="max_n"),
    Field("size", "string", "Image size as 'WxH', one of the model's sizes."),
    Field("width", "integer", "Image width (with height; instead of size).", minimum=1),
    Field("height", "integer", "Image height (with width; instead of size).", minimum=1),
    Field("steps", "integer", "Denoising steps.", minimum=1, maximum="max_steps"),
    Field("guidance_scale", "number", "Classifier-free guidance.", minimum=0, maximum=MAX_GUIDANCE),
    Field("seed", "integer", "Seed of the first image.", minimum=0, maximum=MAX_SEED),
    Field(
        "model",
        "string",
        "Model version; when omitted, the active one, or the requester's version in a running "
        "experiment.",
    ),
    Field(
        "sampler",
        "string",
        "Sampler (A1111-style name, e.g. euler_a, dpmpp_2m); the model's own when omitted.",
    ),
    Field(
        "lora_scale",
        "number",
        "Weight of a LoRA adapter version (1 when omitted).",
        minimum=0,
        maximum=MAX_LORA_SCALE,
    ),
)
BY_NAME = {f.name: f for f in FIELDS}


def bound(value: str | float | None, limits: ModelLimits | None) -> float | None:
    """A bound as a number: model-derived bounds are looked up on ``limits``."""
    if isinstance(value, str):
        return getattr(limits, value) if limits is not None else None
    return value


def clean_text(name: str, value: str) -> str:
    """Reject text no database can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise InvalidRequest(f"'{name}' must not contain NUL characters.", param=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"'{name}' must be valid Unicode text.", param=name) from None
    return value


def query_int(name: str, raw: str | None, default: int, high: int) -> int:
    """A query argument that must be an integer from 1 to ``high`` (``default`` when absent).

    Raises:
        InvalidRequest: anything else, huge numbers included (a 23-digit page overflowed the
            database's OFFSET; a 5000-digit one is past what ``int()`` parses).
    """
    raw = (raw or "").strip()
    if not raw:
        return default
    digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))
    if not digits or not 1 <= int(raw) <= high:
        raise InvalidRequest(f"'{name}' must be an integer from 1 to {high}.", param=name)
    return int(raw)


def _typed(field: Field, value: Any) -> Any:
    """Check the JSON type of one value (booleans are not numbers)."""
    if field.kind == "string" and isinstance(value, str):
        return clean_text(field.name, value)
    if field.kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if field.kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # Python's JSON parser accepts NaN and Infinity
            raise InvalidRequest(f"'{field.name}' must be a finite number.", param=field.name)
        return float(value)
    article = "an" if field.kind == "integer" else "a"
    raise InvalidRequest(f"'{field.name}' must be {article} {field.kind}.", param=field.name)


def _check_bounds(field: Field, value: Any, limits: ModelLimits | None) -> None:
    """Raise InvalidRequest when a number or a string length is out of bounds."""
    low, high = bound(field.minimum, limits), bound(field.maximum, limits)
    if field.kind == "string":
        if high is not None and len(value) > high:
            raise InvalidRequest(
                f"'{field.name}' is too long: at most {int(high)} characters.", param=field.name
            )
        return
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            rule = f"at least {low:g}"
        else:
            rule = f"between {low:g} and {high:g}"
        raise InvalidRequest(f"'{field.name}' must be {rule}.", param=field.name)


def parse_size(value: str, limits: ModelLimits | None) -> tuple[int, int]:
    """'WxH' to (width, height), one of the model's sizes."""
    match = SIZE_PATTERN.match(value.strip())
    if not match:
        raise InvalidRequest("'size' must look like '32x32' (width x height).", param="size")
    size = (int(match.group(1)), int(match.group(2)))
    if limits is not None and size not in tuple(tuple(s) for s in limits.sizes):
        supported = ", ".join(f"{w}x{h}" for w, h in limits.sizes)
        raise InvalidRequest(f"size {value} is not supported; use one of {supported}.", "size")
    return size


def parse_params(
    data: Any, limits: ModelLimits | None, extra: tuple[str, ...] = ()
) -> GenerationRequest:
    """Validate a JSON body (or form params) into a GenerationRequest.

    Args:
        data: the decoded JSON object.
        limits: the loaded model's bounds (None skips the model-derived checks).
        extra: other keys the caller handles itself (e.g. ``response_format``).

    Raises:
        InvalidRequest: naming the first offending field.
    """
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    unknown = sorted(set(data) - set(BY_NAME) - set(extra))
    if unknown:
        raise InvalidRequest(f"Unknown field '{unknown[0]}'.", param=unknown[0])
    values: dict[str, Any] = {}
    for field in FIELDS:
        if data.get(field.name) is None:
            if field.required:
                raise InvalidRequest(f"'{field.name}' is required.", param=field.name)
            continue
        value = _typed(field, data[field.name])
        _check_bounds(field, value, limits)
        values[field.name] = value
    # Spaces, zero-width and bidi marks alone are an empty prompt (moderation, which drops
    # them, once refused one as sexual).
    if not strip_invisibles(values["prompt"]).strip():
        raise InvalidRequest("'prompt' must not be empty.", param="prompt")
    return _to_request(values, limits)


def _to_request(values: dict[str, Any], limits: ModelLimits | None) -> GenerationRequest:
    """Resolve size vs width/height and build the frozen request."""
    width, height = values.get("width"), values.get("height")
    if "size" in values:
        if width is not None or height is not None:
            raise InvalidRequest("Give either 'size' or 'width' and 'height'.", param="size")
        width, height = parse_size(values["size"], limits)
    elif (width is None) != (height is None):
        missing = "height" if height is None else "width"
        raise InvalidRequest(f"'{missing}' is required with the other.", param=missing)
    elif width is not None and limits is not None:
        parse_size(f"{width}x{height}", limits)
    return GenerationRequest(
        prompt=values["prompt"],
        negative_prompt=values.get("negative_prompt", ""),
        n=values.get("n", 1),
        width=width,
        height=height,
        steps=values.get("steps"),
        guidance_scale=values.get("guidance_scale"),
        seed=values.get("seed"),
        version=values.get("model"),
        sampler=values.get("sampler"),
        lora_scale=values.get("lora_scale"),
    )


def request_params(req: GenerationRequest) -> dict[str, Any]:
    """A request as the JSON stored on its job row."""
    return {
        "prompt": req.prompt,
        "negative_prompt": req.negative_prompt,
        "n": req.n,
        "width": req.width,
        "height": req.height,
        "steps": req.steps,
        "guidance_scale": req.guidance_scale,
        "seed": req.seed,
        "model": req.version,
        "sampler": req.sampler,
        "lora_scale": req.lora_scale,
    }
