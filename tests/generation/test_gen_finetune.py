"""Fine-tuning: clear dataset errors, and a tiny end-to-end run into the registry."""

from __future__ import annotations

import json

import pytest

from generation import GenerationRequest
from generation.datasets import InvalidDataset, load_imagefolder
from generation.example_data import make_dataset


@pytest.fixture
def dataset(tmp_path):
    """A small example dataset (purple shapes) in imagefolder layout."""
    return make_dataset(tmp_path / "data", size=12)


def test_example_dataset_reads_back(dataset):
    data = load_imagefolder(dataset, 32)
    assert data.images.shape == (12, 32, 32, 3)
    assert any("purple" in c for c in data.captions)
    assert data.content_hash.startswith("sha256:")


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(InvalidDataset, match="contains no images"):
        load_imagefolder(tmp_path, 32)


def test_unreadable_image_is_named(dataset):
    (dataset / "0003.png").write_bytes(b"this is not a png")
    with pytest.raises(InvalidDataset, match="unreadable image .*0003.png"):
        load_imagefolder(dataset, 32)


def test_missing_caption_is_named(dataset):
    lines = (dataset / "metadata.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    lines[2] = json.dumps({"file_name": row["file_name"], "text": " "})
    (dataset / "metadata.jsonl").write_text("\n".join(lines))
    with pytest.raises(InvalidDataset, match="line 3: missing caption"):
        load_imagefolder(dataset, 32)


def test_image_without_metadata_entry_is_named(dataset):
    lines = (dataset / "metadata.jsonl").read_text().splitlines()
    (dataset / "metadata.jsonl").write_text("\n".join(lines[1:]))
    with pytest.raises(InvalidDataset, match="missing caption for image .*0000.png"):
        load_imagefolder(dataset, 32)


def test_missing_metadata_file(dataset):
    (dataset / "metadata.jsonl").unlink()
    with pytest.raises(InvalidDataset, match="metadata.jsonl is missing"):
        load_imagefolder(dataset, 32)


def test_finetune_registers_a_loadable_adapter(dataset, tmp_path, fresh_generator):
    from generation.finetune import main

    models = fresh_generator.registry.model_dir
    args = ["--data", str(dataset), "--name", "tiny-purple", "--steps", "2", "--batch-size", "2"]
    args += ["--validation-every", "2", "--validation-steps", "2", "--model-dir", str(models)]
    assert main(args) == 0
    version = fresh_generator.registry.get("tiny-purple")
    assert (version.kind, version.parent) == ("adapter", "canvas-shapes")
    assert version.details["dataset_hash"].startswith("sha256:")
    assert (models / "tiny-purple" / "MODEL_CARD.md").is_file()
    assert list((models / "tiny-purple" / "validation").glob("*.png"))
    req = GenerationRequest("a purple square on a white background", steps=2, seed=1)
    result = fresh_generator.generate(
        GenerationRequest(**{**req.__dict__, "version": "tiny-purple"})
    )
    assert result.version == "tiny-purple"


def test_finetune_refuses_a_taken_name(dataset, tmp_path):
    from generation.errors import GenerationError
    from generation.finetune import main

    with pytest.raises(GenerationError, match="already exists"):
        main(["--data", str(dataset), "--name", "canvas-shapes", "--model-dir", str(tmp_path)])
