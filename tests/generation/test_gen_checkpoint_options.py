"""Diffusers' own knobs on a real (tiny, random) Stable Diffusion checkpoint: samplers, memory
options and LoRA adapter versions with a per-request weight."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from generation import (
    GenerationError,
    GenerationRequest,
    Generator,
    InvalidGenerationRequest,
    MemoryOptions,
    ModelLoadError,
    Registry,
)
from generation.samplers import SAMPLERS
from tests.generation.conftest import build_tiny_lora

STEPS = 3


@pytest.fixture(scope="module")
def adapters(tiny_sd_dir, tmp_path_factory):
    """A registry holding one random LoRA for the tiny checkpoint and one for another model."""
    folder = tmp_path_factory.mktemp("adapters")
    registry = Registry(folder / "models")
    weights = build_tiny_lora(tiny_sd_dir, folder / "style.safetensors")
    registry.add_adapter(weights, "tiny-style", str(tiny_sd_dir))
    registry.add_adapter(weights, "other-style", "some/other-model")
    return registry


@pytest.fixture(scope="module")
def sd(tiny_sd_dir, adapters):
    """The Generator on the tiny checkpoint, as SAFECANVAS_MODEL would set it."""
    return Generator(model=str(tiny_sd_dir), registry=adapters).load()


def run(gen, **fields):
    """One image's pixels, and (step, total, scheduler) as seen during each step."""
    seen = []

    def progress(step, total):
        seen.append((step, total, gen._pipe.scheduler))

    req = GenerationRequest("a red circle", steps=STEPS, seed=3, **fields)
    image = gen.generate(req, progress=progress).images[0].image
    return np.asarray(image, dtype=np.int16), seen


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_documented_sampler_runs_on_the_checkpoint(sd, name):
    image, seen = run(sd, sampler=name)
    classes = {type(scheduler).__name__ for _, _, scheduler in seen}
    assert classes == {SAMPLERS[name].scheduler}
    config = seen[-1][2].config
    assert config.beta_schedule == "scaled_linear"  # the checkpoint's schedule carried over
    for key, value in SAMPLERS[name].options.items():
        assert config[key] == value
    assert config.get("thresholding", False) is False  # latent model: no pixel clipping
    assert seen[-1][0] == seen[-1][1]  # progress ends complete, even for 2nd-order samplers
    assert image.shape == (32, 32, 3)


def test_requests_without_a_sampler_get_the_checkpoints_scheduler(sd):
    base, seen = run(sd)
    own = seen[0][2]
    assert type(own).__name__ == "DDIMScheduler"
    run(sd, sampler="euler_a")
    again, seen = run(sd)
    assert seen[0][2] is own and (again == base).all()


def test_a_stochastic_sampler_changes_the_image_reproducibly(sd):
    base, _ = run(sd)
    ancestral, _ = run(sd, sampler="euler_a")
    assert (ancestral != base).any()
    assert (run(sd, sampler="euler_a")[0] == ancestral).all()


def test_unknown_sampler_is_refused_naming_the_field(sd):
    with pytest.raises(InvalidGenerationRequest, match="unknown sampler 'k_euler'") as info:
        sd.validate(GenerationRequest("x", sampler="k_euler"))
    assert info.value.field == "sampler"
    assert "dpmpp_2m_karras" in str(info.value)


def test_sampler_and_lora_scale_split_batches(sd):
    def key(**fields):
        return sd.batch_key(sd.validate(GenerationRequest("x", **fields)))

    assert key() != key(sampler="euler")
    assert key(version="tiny-style", lora_scale=0.5) != key(version="tiny-style")


# -- memory options ----------------------------------------------------------------------------
def test_memory_options_reach_the_pipeline(tiny_sd_dir, sd, tmp_path):
    options = MemoryOptions(
        cpu_offload=True, vae_tiling=True, vae_slicing=True, attention_slicing="max"
    )
    low = Generator(model=str(tiny_sd_dir), model_dir=tmp_path, memory=options).load()
    pipe, plain = low._pipe, sd._pipe
    assert pipe.vae.use_tiling and pipe.vae.use_slicing
    assert not plain.vae.use_tiling and not plain.vae.use_slicing
    processors = {type(p).__name__ for p in pipe.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}
    # enable_model_cpu_offload: an accelerate hook per component, chained in offload order
    for component in (pipe.text_encoder, pipe.unet, pipe.vae):
        assert type(component._hf_hook).__name__ == "CpuOffload"
    assert not hasattr(plain.unet, "_hf_hook")
    assert (run(low)[0] == run(sd)[0]).all()  # same image, less memory


def test_variant_loads_the_variant_weight_files(tiny_sd_dir, tmp_path):
    import torch
    from diffusers import StableDiffusionPipeline

    model = tmp_path / "model"
    shutil.copytree(tiny_sd_dir, model)
    pipe = StableDiffusionPipeline.from_pretrained(str(model))
    with torch.no_grad():
        pipe.unet.conv_in.weight.add_(0.5)  # tell the variant's weights from the default ones
    pipe.to(torch.float16).save_pretrained(str(model), variant="fp16", safe_serialization=True)
    assert (model / "unet" / "diffusion_pytorch_model.fp16.safetensors").is_file()

    default = Generator(model=str(model), model_dir=tmp_path).load()
    fp16 = Generator(model=str(model), model_dir=tmp_path, memory=MemoryOptions(variant="fp16"))
    got = fp16.load()._pipe.unet.conv_in.weight
    assert got.dtype == torch.float32  # fp16 files, computed in fp32 on the CPU
    expected = pipe.unet.conv_in.weight.float()
    assert torch.equal(got, expected)
    assert not torch.equal(default._pipe.unet.conv_in.weight, got)


# -- LoRA adapter versions on the checkpoint ---------------------------------------------------
def test_adapters_of_the_checkpoint_are_its_versions(sd, tiny_sd_dir):
    assert sd.versions() == [str(tiny_sd_dir), "tiny-style"]  # not other-style
    assert sd.active_version == str(tiny_sd_dir)
    with pytest.raises(InvalidGenerationRequest) as info:
        sd.validate(GenerationRequest("x", version="other-style"))
    assert info.value.field == "version"
    assert sd.validate(GenerationRequest("x", version="tiny-style")).lora_scale == 1.0


def test_lora_changes_the_output_at_its_weight_and_unloads(sd):
    base, _ = run(sd)
    adapted, _ = run(sd, version="tiny-style")
    half, _ = run(sd, version="tiny-style", lora_scale=0.5)
    assert (adapted != base).any()
    assert (half != base).any() and (half != adapted).any()
    assert (run(sd, version="tiny-style", lora_scale=0.0)[0] == base).all()
    assert (run(sd)[0] == base).all()  # a base request runs with the adapter disabled
    assert (run(sd, version="tiny-style")[0] == adapted).all()

    sd.unload_adapters()
    assert not [name for name, _ in sd._pipe.unet.named_modules() if "lora" in name]
    assert (run(sd)[0] == base).all()  # the base weights are back exactly
    assert (run(sd, version="tiny-style")[0] == adapted).all()  # and it reloads on demand


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"lora_scale": 0.5}, "applies to LoRA adapter versions"),
        ({"version": "tiny-style", "lora_scale": 2.5}, "between 0 and 2"),
        ({"version": "tiny-style", "lora_scale": True}, "between 0 and 2"),
        ({"version": "tiny-style", "lora_scale": float("nan")}, "between 0 and 2"),
    ],
)
def test_lora_scale_is_validated(sd, fields, message):
    with pytest.raises(InvalidGenerationRequest, match=message) as info:
        sd.validate(GenerationRequest("x", **fields))
    assert info.value.field == "lora_scale"


def test_an_activated_adapter_is_what_requests_get(tiny_sd_dir, adapters, tmp_path):
    registry = Registry(tmp_path / "models")
    shutil.copytree(adapters.get("tiny-style").path, registry.model_dir / "tiny-style")
    registry.activate("tiny-style")
    gen = Generator(model=str(tiny_sd_dir), registry=registry)
    assert gen.active_version == "tiny-style"
    assert gen.validate(GenerationRequest("x")).version == "tiny-style"


def test_add_lora_takes_safetensors_only(tmp_path):
    import torch

    pickled = tmp_path / "lora.safetensors"
    torch.save({"w": torch.zeros(2)}, pickled)  # a pickle under a safetensors name
    registry = Registry(tmp_path / "models")
    with pytest.raises(GenerationError, match="not a readable safetensors file"):
        registry.add_adapter(pickled, "sneaky", "canvas-shapes")
    assert "sneaky" not in registry.names() and not (registry.model_dir / "sneaky").exists()


def test_an_adapter_that_does_not_fit_is_a_load_error(tiny_sd_dir, tmp_path):
    from generation.versions import SHIPPED_DIR

    registry = Registry(tmp_path / "models")
    purple = SHIPPED_DIR / "canvas-shapes-purple" / "pytorch_lora_weights.safetensors"
    registry.add_adapter(purple, "wrong-model", str(tiny_sd_dir))  # made for canvas-shapes
    gen = Generator(model=str(tiny_sd_dir), registry=registry)
    with pytest.raises(ModelLoadError, match="cannot load adapter weights"):
        gen.generate(GenerationRequest("x", steps=1, version="wrong-model"))


def test_a_flow_matching_checkpoint_takes_no_sampler(tiny_sd_dir, tmp_path):
    import json

    model = tmp_path / "flow"
    shutil.copytree(tiny_sd_dir, model)
    config = model / "scheduler" / "scheduler_config.json"
    config.write_text(json.dumps({"_class_name": "FlowMatchEulerDiscreteScheduler"}))
    gen = Generator(model=str(model), model_dir=tmp_path)  # limits come from the configs
    assert gen.limits.samplers == ()
    with pytest.raises(InvalidGenerationRequest, match="takes no sampler choice") as info:
        gen.validate(GenerationRequest("x", sampler="euler"))
    assert info.value.field == "sampler"
