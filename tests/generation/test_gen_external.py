"""A diffusers Stable Diffusion checkpoint goes through the same Generator code path."""

from __future__ import annotations

import numpy as np
import pytest

from generation import GenerationRequest, Generator, InvalidGenerationRequest


def pixels(image):
    """An image as an int array, for exact comparisons."""
    return np.asarray(image, dtype=np.int16)


@pytest.fixture(scope="module")
def sd_generator(tiny_sd_dir, tmp_path_factory):
    """The Generator on the tiny random checkpoint (as SAFECANVAS_MODEL would set it)."""
    return Generator(model=str(tiny_sd_dir), model_dir=tmp_path_factory.mktemp("m")).load()


def test_checkpoint_generates_deterministically_and_batches(sd_generator, tiny_sd_dir):
    assert sd_generator.versions() == [str(tiny_sd_dir)]
    assert sd_generator.limits.default_size == (32, 32)
    calls = []
    req = GenerationRequest("a red circle", steps=2, seed=3)
    one = sd_generator.generate(req, progress=lambda s, t: calls.append(s))
    two = sd_generator.generate_batch([req, GenerationRequest("blue", steps=2, seed=4)])
    assert calls == [1, 2]
    assert one.images[0].image.size == (32, 32)
    assert abs(pixels(one.images[0].image) - pixels(two[0].images[0].image)).max() <= 1
    assert one.version == str(tiny_sd_dir)


def test_checkpoint_size_is_validated(sd_generator):
    with pytest.raises(InvalidGenerationRequest) as info:
        sd_generator.validate(GenerationRequest("x", width=512, height=512))
    assert info.value.field == "width"


def test_unloadable_checkpoint_is_a_model_load_error(tmp_path):
    from generation import ModelLoadError

    with pytest.raises(ModelLoadError, match="cannot load model"):
        Generator(model=str(tmp_path / "nothing-here"), model_dir=tmp_path).load()
