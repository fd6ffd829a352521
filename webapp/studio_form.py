"""The prompt form's choices (from the loaded model) and its fields turned into job params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generation.samplers import SAMPLERS
from webapp.errors import InvalidRequest
from webapp.loaded_models import get_loaded_models
from webapp.params import MAX_GUIDANCE, MAX_SEED

# Images at most this many pixels on a side are shown enlarged with crisp pixels (the
# embedded canvas-shapes model draws 32x32); larger ones are shown smoothly, at their aspect.
PIXEL_ART_MAX_SIDE = 128

# field -> (label for messages, parser); the names match the JSON API's parameters.
NUMBER_FIELDS = {
    "n": ("Number of images", int),
    "steps": ("Steps", int),
    "seed": ("Seed", int),
    "guidance_scale": ("Guidance", float),
}
TEXT_FIELDS = ("prompt", "negative_prompt", "size", "model", "sampler")


def params_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Job params from submitted form fields; blank optional fields take the model's defaults.

    Raises:
        InvalidRequest: a number field holds something that is not a number.
    """
    params: dict[str, Any] = {"prompt": form.get("prompt", "")}
    for name in TEXT_FIELDS[1:]:
        if form.get(name, "").strip():
            params[name] = form[name].strip()
    for name, (label, parse) in NUMBER_FIELDS.items():
        raw = form.get(name, "").strip()
        if not raw:
            continue
        try:
            params[name] = parse(raw)
        except ValueError:
            kind = "a whole number" if parse is int else "a number"
            raise InvalidRequest(f"{label} must be {kind}.", param=name) from None
    return params


def form_options() -> dict[str, Any]:
    """Sizes, bounds, defaults and model versions for the form's controls."""
    generator = get_loaded_models().generator
    limits = generator.limits
    return {
        "sizes": [f"{w}x{h}" for w, h in limits.sizes],
        "default_size": "{}x{}".format(*limits.default_size),
        "default_steps": limits.default_steps,
        "max_steps": limits.max_steps,
        "max_n": limits.max_n,
        "default_guidance": limits.default_guidance_scale,
        "max_guidance": MAX_GUIDANCE,
        "max_seed": MAX_SEED,
        "max_prompt_chars": limits.max_prompt_chars,
        "versions": model_versions(),
        "active_version": generator.active_version,
        "samplers": [{"name": n, "label": SAMPLERS[n].label} for n in limits.samplers],
        "model": generator.model,
        "external": generator.external,
        "pixel_max": PIXEL_ART_MAX_SIDE,
    }


def reuse_values(params: dict[str, Any], seed: int) -> dict[str, str]:
    """Form values that ask again for what made one image: its settings and its own seed."""
    values = {"prompt": params.get("prompt", ""), "n": "1", "seed": str(seed)}
    if params.get("width") and params.get("height"):
        values["size"] = f"{params['width']}x{params['height']}"
    for name in ("negative_prompt", "steps", "guidance_scale", "model", "sampler"):
        if params.get(name) not in (None, ""):
            values[name] = (
                f"{params[name]:g}" if isinstance(params[name], float) else str(params[name])
            )
    return values


def is_pixel_art(width: int | None, height: int | None) -> bool:
    """Whether an image is small enough to show enlarged with crisp pixels."""
    return bool(width and height) and max(width, height) <= PIXEL_ART_MAX_SIDE


def model_versions() -> list[dict[str, Any]]:
    """The versions a user may pick, each marked whether it is the active one."""
    generator = get_loaded_models().generator
    active = generator.active_version
    return [{"name": name, "active": name == active} for name in generator.versions()]
