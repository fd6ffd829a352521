"""Samplers by the names A1111 and ComfyUI users know, built as diffusers schedulers.

Each name maps to a diffusers scheduler class plus options, following the "A1111/k-diffusion
to Diffusers" table of diffusers' scheduler overview. A sampler is built with ``from_config``
from the checkpoint's own scheduler config, so the noise schedule, prediction type and
timestep spacing the model was trained with carry over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidGenerationRequest


@dataclass(frozen=True)
class Sampler:
    """One documented sampler: its diffusers scheduler class and the options it needs."""

    name: str
    scheduler: str
    label: str  # the A1111 name, or the diffusers class where A1111 has none
    options: dict[str, Any] = field(default_factory=dict)
    # Multistep solvers clip predicted images via dynamic thresholding (pixel-space models).
    thresholding: bool = False


KARRAS = {"use_karras_sigmas": True}
SDE = {"algorithm_type": "sde-dpmsolver++"}

SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in (
        Sampler("euler", "EulerDiscreteScheduler", "Euler"),
        Sampler("euler_a", "EulerAncestralDiscreteScheduler", "Euler a"),
        Sampler("heun", "HeunDiscreteScheduler", "Heun"),
        Sampler("dpm2", "KDPM2DiscreteScheduler", "DPM2"),
        Sampler("dpm2_a", "KDPM2AncestralDiscreteScheduler", "DPM2 a"),
        Sampler("dpmpp_2m", "DPMSolverMultistepScheduler", "DPM++ 2M", thresholding=True),
        Sampler(
            "dpmpp_2m_karras",
            "DPMSolverMultistepScheduler",
            "DPM++ 2M Karras",
            KARRAS,
            thresholding=True,
        ),
        Sampler(
            "dpmpp_2m_sde", "DPMSolverMultistepScheduler", "DPM++ 2M SDE", SDE, thresholding=True
        ),
        Sampler(
            "dpmpp_2m_sde_karras",
            "DPMSolverMultistepScheduler",
            "DPM++ 2M SDE Karras",
            {**SDE, **KARRAS},
            thresholding=True,
        ),
        Sampler("unipc", "UniPCMultistepScheduler", "UniPC", thresholding=True),
        Sampler("deis", "DEISMultistepScheduler", "DEIS", thresholding=True),
        # DDIM clips its predicted image but keeps the unclipped noise estimate; on
        # canvas-shapes that dropped the evaluation to 10% (unclipped: 100%). The final image is
        # clamped anyway, and latent checkpoints do not clip.
        Sampler("ddim", "DDIMScheduler", "DDIM", {"clip_sample": False}),
        Sampler("pndm", "PNDMScheduler", "PLMS", {"skip_prk_steps": True}),
        Sampler("ddpm", "DDPMScheduler", "DDPM"),
    )
}


# diffusers' KarrasDiffusionSchedulers: the family these samplers belong to. A checkpoint whose
# own scheduler is one of them (SD 1.x/2.x, SDXL, SD-Turbo, canvas-shapes) takes any sampler;
# others (flow-matching models such as SD 3 or FLUX) keep their own.
KARRAS_FAMILY = frozenset(
    {
        "DDIMScheduler",
        "DDPMScheduler",
        "PNDMScheduler",
        "LMSDiscreteScheduler",
        "EulerDiscreteScheduler",
        "HeunDiscreteScheduler",
        "EulerAncestralDiscreteScheduler",
        "DPMSolverMultistepScheduler",
        "DPMSolverSinglestepScheduler",
        "KDPM2DiscreteScheduler",
        "KDPM2AncestralDiscreteScheduler",
        "DEISMultistepScheduler",
        "UniPCMultistepScheduler",
        "DPMSolverSDEScheduler",
        "EDMEulerScheduler",
    }
)


def samplers_for(scheduler_class: str | None) -> tuple[str, ...]:
    """The sampler names a checkpoint with this scheduler class accepts (all when unknown)."""
    if scheduler_class is None or scheduler_class in KARRAS_FAMILY:
        return tuple(SAMPLERS)
    return ()


def build_scheduler(name: str, config) -> Any:
    """A fresh scheduler for sampler ``name`` from a checkpoint's scheduler ``config``.

    A pixel-space model whose scheduler clips predicted images (``clip_sample``) keeps that
    clipping under the multistep solvers, as dynamic thresholding capped at the same range.
    """
    import diffusers

    sampler = SAMPLERS[name]
    options = dict(sampler.options)
    if sampler.thresholding and config.get("clip_sample"):
        options.update(thresholding=True, sample_max_value=config.get("clip_sample_range", 1.0))
    return getattr(diffusers, sampler.scheduler).from_config(config, **options)


def check_sampler(sampler, accepted: tuple[str, ...], external: bool) -> None:
    """Raise InvalidGenerationRequest unless ``sampler`` is None or in ``accepted``.

    ``external``: the model is a checkpoint from outside, not canvas-shapes (whose refusals
    are of the Karras samplers, for a reason the message gives).
    """
    if sampler is None or (isinstance(sampler, str) and sampler in accepted):
        return
    supported = ", ".join(accepted)
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise InvalidGenerationRequest(
            f"unknown sampler {sampler!r} (supported: {supported or 'none'})", "sampler"
        )
    if not external:
        why = "Karras sigmas on its cosine noise schedule would repeat one timestep"
    else:
        why = "its own scheduler is not of the family these samplers replace"
    raise InvalidGenerationRequest(
        f"sampler {sampler!r} does not suit this model: {why} "
        f"({'supported: ' + supported if supported else 'it takes no sampler choice'})",
        "sampler",
    )
