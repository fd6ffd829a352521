"""The shipped canvas-shapes model through the Generator boundary (few steps: behaviour only)."""

from __future__ import annotations

import numpy as np
import pytest

from generation import GenerationCancelled, GenerationRequest

FAST_STEPS = 4  # enough to exercise the sampler; quality is evaluate's job


def pixels(image):
    """An image as an int array, for exact comparisons."""
    return np.asarray(image, dtype=np.int16)


PROMPT = "two red circles on a white background"


def request(prompt=PROMPT, **kw):
    """A fast request."""
    return GenerationRequest(prompt, steps=FAST_STEPS, **kw)


def test_same_seed_gives_the_same_image(generator):
    first = generator.generate(request(seed=7))
    again = generator.generate(request(seed=7))
    other = generator.generate(request(seed=8))
    assert (pixels(first.images[0].image) == pixels(again.images[0].image)).all()
    assert (pixels(first.images[0].image) != pixels(other.images[0].image)).any()
    assert first.images[0].seed == 7 and first.images[0].image.size == (32, 32)
    assert first.version == "canvas-shapes"
    assert first.timings["generate_s"] > 0


def test_batch_equals_singles_with_the_same_seeds(generator):
    reqs = [request(seed=11), request("a blue square on a gray background", seed=12, n=2)]
    batched = generator.generate_batch(reqs)
    singles = [generator.generate(r) for r in reqs]
    assert [len(r.images) for r in batched] == [1, 2]
    assert [i.seed for i in batched[1].images] == [12, 13]
    for b, s in zip(batched, singles, strict=True):
        for bi, si in zip(b.images, s.images, strict=True):
            assert bi.seed == si.seed
            # Batched convolutions may round differently in the last bit; allow one level.
            assert abs(pixels(bi.image) - pixels(si.image)).max() <= 1


def test_no_seed_means_a_random_one_that_is_returned(generator):
    result = generator.generate(request(n=2))
    seeds = [i.seed for i in result.images]
    assert all(isinstance(s, int) and s >= 0 for s in seeds)
    for image in result.images:  # each returned seed reproduces its image on its own
        replay = generator.generate(request(seed=image.seed)).images[0]
        # Replayed alone, not in the batch of two: allow the batching rounding of one level.
        assert abs(pixels(replay.image) - pixels(image.image)).max() <= 1


def test_progress_is_reported_every_step(generator):
    calls = []
    generator.generate(request(seed=1), progress=lambda step, total: calls.append((step, total)))
    assert calls == [(i, FAST_STEPS) for i in range(1, FAST_STEPS + 1)]


def test_cancel_stops_the_request(generator):
    steps = []
    with pytest.raises(GenerationCancelled):
        generator.generate(
            request(seed=1),
            progress=lambda step, total: steps.append(step),
            should_cancel=lambda: len(steps) >= 2,
        )
    assert steps == [1, 2]


def test_incompatible_batch_is_refused(generator):
    from generation import InvalidGenerationRequest

    with pytest.raises(InvalidGenerationRequest, match="compatible"):
        generator.generate_batch([request(seed=1), GenerationRequest(PROMPT, steps=FAST_STEPS + 1)])


def test_the_pipeline_follows_diffusers_step_end_protocol(generator):
    """What Generator relies on for progress and cancel: diffusers' callback_on_step_end."""
    import torch

    from generation.loaders import load_canvas

    registry = generator.registry
    pipe = load_canvas(registry, registry.get("canvas-shapes"), "cpu", generator.text_encoder)
    steps = []

    def on_step_end(p, step, timestep, tensors):
        steps.append(step)
        if step == FAST_STEPS - 1:  # what it returns replaces the pipeline's tensors
            return {"latents": torch.zeros_like(tensors["latents"])}
        return tensors

    seed = [torch.Generator("cpu").manual_seed(1)]
    out = pipe(
        prompt=[PROMPT],
        generator=seed,
        num_inference_steps=FAST_STEPS,
        output_type="pt",
        callback_on_step_end=on_step_end,
    )
    assert steps == list(range(FAST_STEPS)) and not out.images.any()
    with pytest.raises(ValueError, match="callback_on_step_end_tensor_inputs"):
        pipe(prompt=[PROMPT], callback_on_step_end_tensor_inputs=["prompt_embeds"])


@pytest.mark.parametrize("sampler", ["dpmpp_2m", "euler_a", "ddim"])
def test_other_samplers_draw_the_prompt(generator, sampler):
    from generation.analysis import analyse

    seen = []
    req = GenerationRequest("two red circles on a blue background", seed=1, sampler=sampler)
    result = generator.generate(req, progress=lambda s, t: seen.append(generator._pipe.scheduler))
    found = analyse(result.images[0].image)
    assert (found.colour, found.background, found.count) == ("red", "blue", 2)
    scheduler = seen[-1]
    assert scheduler.config.prediction_type == "v_prediction"  # canvas-shapes' own, carried
    if sampler.startswith("dpmpp"):  # its clip_sample becomes the solver's thresholding
        assert scheduler.config.thresholding and scheduler.config.sample_max_value == 1.0


def test_the_ddpm_sampler_is_the_models_own(generator):
    own = generator.generate(request(seed=2)).images[0].image
    ddpm = generator.generate(request(seed=2, sampler="ddpm")).images[0].image
    assert (pixels(own) == pixels(ddpm)).all()


def test_karras_samplers_are_refused_with_the_reason(generator):
    from generation import InvalidGenerationRequest

    with pytest.raises(InvalidGenerationRequest, match="cosine noise schedule") as info:
        generator.validate(request(sampler="dpmpp_2m_karras"))
    assert info.value.field == "sampler" and "euler_a" in str(info.value)
