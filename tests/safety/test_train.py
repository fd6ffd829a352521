"""`python -m safety train` end to end on small data files: a head that loads and behaves."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from safetensors import safe_open

from safety import Moderation
from safety.classifier import EXEMPLAR_TENSORS, PromptClassifier
from safety.cli import main as cli_main
from safety.train import main

SUBJECTS = ("a cat", "a red car", "a bowl of soup", "an old bridge", "two dogs", "a lighthouse")
PLACES = ("on a table", "in the snow", "at night", "by the sea", "in a city street", "in a field")


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CSV file with a header row."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A head trained on a few hundred rows in the shared datasets' formats."""
    tmp = tmp_path_factory.mktemp("train")
    header = ["prompt", "categories", "hard", "inappropriate_percentage", "nudity_percentage"]
    unsafe = [f"a naked woman {p}, artstation" for p in PLACES] + [
        f"a nude couple {p}, oil painting" for p in PLACES
    ]
    i2p = [[t, "sexual", 1, 90.0, 80.0] for t in unsafe]
    i2p += [[f"{s} {p}, concept art", "violence", 0, 0.0, 0.0] for s in SUBJECTS for p in PLACES]
    captions = [[f"{s} {p}."] for s in SUBJECTS for p in PLACES] * 6
    written = tmp / "written.tsv"
    written.write_text(
        "# label<TAB>text\n"
        "violence\ta man stabbed to death in an alley\n"
        "violence\ta corpse with its throat cut\n"
        "benign\ta chef cutting vegetables\n",
        encoding="utf-8",
    )
    out = tmp / "head.safetensors"
    code = main([
        "--i2p", str(write_csv(tmp / "i2p.csv", header, i2p)),
        "--coco", str(write_csv(tmp / "coco.csv", ["caption"], captions)),
        "--written", str(written),
        "--coco-limit", "150", "--coco-val-limit", "216",
        "--out", str(out), "--cache", str(tmp / "cache.npz"),
        "--epochs", "8", "--ensemble", "2",
    ])  # fmt: skip
    assert code == 0
    return out


def test_trained_head_loads_with_exemplars(trained: Path) -> None:
    with safe_open(str(trained), framework="np") as f:
        meta = f.metadata()
        assert set(EXEMPLAR_TENSORS) <= set(f.keys())
        unsafe = f.get_tensor("exemplars_unsafe")
    assert meta["encoder"] == "all-MiniLM-L6-v2" and float(meta["neighbour_margin"]) == 0.0
    assert 1 <= unsafe.shape[0] <= 12  # the I2P positives that fell on the train side
    classifier = PromptClassifier(head_path=trained)
    classifier.load()
    assert classifier.thresholds.shape == (7,)


def test_trained_head_separates_its_own_kind_of_data(trained: Path) -> None:
    classifier = PromptClassifier(head_path=trained)
    classifier.load()
    texts = ["a naked couple in the snow, watercolor", "two dogs by the sea, concept art"]
    scores = classifier.assess(texts)
    head = (scores.head >= classifier.thresholds).any(axis=1)
    near = scores.neighbour_margin > classifier.neighbour_margin
    assert (head | near).tolist() == [True, False]
    mod = Moderation(classifier_path=trained)
    mod.load(parts=("blocklist", "classifier"))
    assert mod.check_prompt(texts[1]).allowed


def test_training_with_a_missing_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "missing.csv"
    assert cli_main(["train", "--i2p", str(missing), "--out", str(tmp_path / "h.st")]) == 2
    assert "missing.csv" in capsys.readouterr().err
