"""Versions: LoRA adapters change the output and unload cleanly; active version persists."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from generation import GenerationError, GenerationRequest, ModelLoadError, Registry, UnknownVersion
from generation.versions import SHIPPED_DIR

FAST_STEPS = 4  # enough to exercise the sampler; quality is evaluate's job


def pixels(image):
    """An image as an int array, for exact comparisons."""
    return np.asarray(image, dtype=np.int16)


ADAPTER = "canvas-shapes-purple"
PROMPT = "a purple circle on a white background"


def image(gen, version=None):
    """One fast image at a fixed seed."""
    req = GenerationRequest(PROMPT, steps=FAST_STEPS, seed=5, version=version)
    return pixels(gen.generate(req).images[0].image)


def test_shipped_versions_are_listed(generator):
    versions = {v.name: v for v in generator.registry.list()}
    assert versions["canvas-shapes"].kind == "base" and versions["canvas-shapes"].shipped
    adapter = versions[ADAPTER]
    assert (adapter.kind, adapter.parent) == ("adapter", "canvas-shapes")
    assert adapter.content_hash.startswith("sha256:")


def test_lora_load_changes_output_and_unload_restores_it(generator):
    base = image(generator)
    adapted = image(generator, ADAPTER)
    assert (adapted != base).any()
    assert (image(generator) == base).all()  # adapter disabled for base requests
    assert (image(generator, ADAPTER) == adapted).all()
    generator.unload_adapters()
    assert (image(generator) == base).all()  # weights restored exactly


def test_activate_and_rollback_persist_across_instances(tmp_path):
    first = Registry(tmp_path)
    assert first.active == "canvas-shapes"
    first.activate(ADAPTER)
    assert Registry(tmp_path).active == ADAPTER
    Registry(tmp_path).rollback()
    assert Registry(tmp_path).active == "canvas-shapes"
    with pytest.raises(GenerationError, match="no previous version"):
        Registry(tmp_path).rollback()
    with pytest.raises(UnknownVersion):
        first.activate("nope")


def test_active_version_is_what_requests_get(fresh_generator):
    fresh_generator.registry.activate(ADAPTER)
    assert fresh_generator.active_version == ADAPTER
    assert fresh_generator.validate(GenerationRequest(PROMPT)).version == ADAPTER


@pytest.fixture
def broken_copy(tmp_path):
    """A user copy of the shipped base, registered under another name."""
    import json

    target = tmp_path / "models" / "base-copy"
    shutil.copytree(SHIPPED_DIR / "canvas-shapes", target)
    meta = json.loads((target / "version.json").read_text())
    meta["name"] = "base-copy"
    (target / "version.json").write_text(json.dumps(meta))
    return target


def test_corrupt_weight_file_is_a_clear_error(fresh_generator, broken_copy):
    weights = broken_copy / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    fresh_generator.registry.activate("base-copy")
    with pytest.raises(ModelLoadError, match="diffusion_pytorch_model.safetensors"):
        fresh_generator.load()


def test_corrupt_weights_with_matching_hash_still_name_the_file(fresh_generator, broken_copy):
    from generation.versions import write_metadata

    weights = broken_copy / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    write_metadata(broken_copy, "base-copy", "base", None)  # hash now matches the bad bytes
    fresh_generator.registry.activate("base-copy")
    with pytest.raises(ModelLoadError, match="diffusion_pytorch_model.safetensors"):
        fresh_generator.load()


def test_missing_weight_file_is_a_clear_error(fresh_generator, broken_copy):
    (broken_copy / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    fresh_generator.registry.activate("base-copy")
    with pytest.raises(ModelLoadError, match="base-copy"):
        fresh_generator.load()
