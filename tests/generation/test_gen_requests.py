"""Every bad request fails up front with a clear error naming the field; nothing is clamped."""

from __future__ import annotations

import pytest

from generation import GenerationRequest, Generator, InvalidGenerationRequest


@pytest.fixture
def gen(tmp_path):
    """A Generator that is never loaded: validation needs no weights."""
    return Generator(model_dir=tmp_path)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"prompt": ""}, "prompt", "prompt must not be empty"),
        ({"prompt": "   \n"}, "prompt", "prompt must not be empty"),
        ({"prompt": "x" * 1001}, "prompt", "longer than 1000"),
        ({"negative_prompt": "x" * 1001}, "negative_prompt", "at most 1000"),
        ({"width": 64, "height": 64}, "width", "size 64x64 is not supported"),
        ({"width": 512}, "width", "supported: 32x32"),
        ({"height": 31}, "height", "size 32x31 is not supported"),
        ({"steps": 0}, "steps", "steps must be between 1 and 250"),
        ({"steps": 251}, "steps", "steps must be between 1 and 250"),
        ({"steps": 2.5}, "steps", "steps must be between"),
        ({"n": 0}, "n", "n must be between 1 and 16"),
        ({"n": 17}, "n", "n must be between 1 and 16"),
        ({"guidance_scale": -1.0}, "guidance_scale", "guidance_scale must be between 0 and 30"),
        ({"guidance_scale": float("nan")}, "guidance_scale", "guidance_scale"),
        ({"seed": -1}, "seed", "seed must be between 0 and"),
        ({"seed": 2**64}, "seed", "seed must be between 0 and"),
        ({"version": "no-such-version"}, "version", "unknown model version 'no-such-version'"),
    ],
)
def test_bad_request_is_rejected_with_its_field(gen, changes, field, message):
    base = {"prompt": "a red circle on a white background"}
    with pytest.raises(InvalidGenerationRequest) as info:
        gen.validate(GenerationRequest(**{**base, **changes}))
    assert info.value.field == field
    assert message in str(info.value)


def test_valid_request_gets_the_model_defaults(gen):
    checked = gen.validate(GenerationRequest("two blue squares on a gray background"))
    limits = gen.limits
    assert (checked.width, checked.height) == limits.default_size == (32, 32)
    assert checked.steps == limits.default_steps
    assert checked.guidance_scale == limits.default_guidance_scale
    assert checked.version == "canvas-shapes"


def test_batch_key_groups_compatible_requests(gen):
    a = gen.validate(GenerationRequest("a red circle on a white background", seed=1))
    b = gen.validate(GenerationRequest("three green squares on a black background", n=3))
    c = gen.validate(GenerationRequest("a red circle on a white background", steps=10))
    assert gen.batch_key(a) == gen.batch_key(b) != gen.batch_key(c)


def test_import_is_cheap():
    import subprocess
    import sys

    heavy = "('torch', 'diffusers', 'transformers', 'flask')"
    code = f"import sys, generation; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
