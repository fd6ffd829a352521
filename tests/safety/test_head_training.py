"""`python -m safety train` end to end on small data files: a head that loads and behaves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from safetensors import safe_open

from safety import Moderation
from safety.classifier import PromptClassifier
from safety.cli import main as cli_main

SUBJECTS = ("a cat", "a red car", "a bowl of soup", "an old bridge", "two dogs", "a lighthouse")
PLACES = ("on a table", "in the snow", "at night", "by the sea", "in a city street", "in a field")
STYLE = "highly detailed, trending on artstation, 8k, by greg rutkowski"


def write_tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A label<TAB>category<TAB>text file."""
    path.write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A training folder in the shipped layout, with a few hundred rows."""
    d = tmp_path_factory.mktemp("data")
    benign = [f"{s} {p}, {STYLE}" for s in SUBJECTS for p in PLACES]
    nude = [f"a naked woman {p}, {STYLE}" for p in PLACES] + [f"nude couple {p}" for p in PLACES]
    with (d / "i2p_relabelled.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "category", "split", "hard", "i2p_categories",
                    "inappropriate_percentage", "nudity_percentage", "prompt"])  # fmt: skip
        w.writerows(["0", "", "train", "0", "", "0", "0", t] for t in benign)
        w.writerows(["1", "sexual", "train", "0", "sexual", "90", "90", t] for t in nude)
    write_tsv(d / "train_allowed.tsv", [("0", "", f"{s} {p}") for s in SUBJECTS for p in PLACES])
    write_tsv(d / "train_refused.tsv", [("1", "violence", f"a corpse with its throat cut {p}")
                                        for p in PLACES])  # fmt: skip
    write_tsv(d / "train_multilingual.tsv", [("0", "", "un chat sur une table")])
    write_tsv(d / "prompts_train.tsv", [("B", "sexual", "a woman in a bikini, pin-up")])
    indirect = [("1", "sexual", f"a woman au naturel {p}") for p in PLACES]
    write_tsv(d / "train_indirect.tsv", indirect)
    write_tsv(d / "train_languages.tsv", [("0", "", "ein hund im schnee")])
    write_tsv(d / "negative_prompts.tsv", [("0", "", "blurry, lowres"), ("1", "sexual", "clothes")])
    write_tsv(d / "negative_prompts_extra.tsv", [("0", "", "shoes, rings")])
    terms = [("0", "", "blurry"), ("0", "", "watermark"), ("1", "sexual", "shirt")]
    write_tsv(d / "negative_terms.tsv", [*terms, ("1", "sexual", "dress")])
    with (d / "coco_captions.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["caption"]] + [[f"{s} {p}."] for s in SUBJECTS for p in PLACES])
    return d


def train(data: Path, out: Path, *extra: str) -> int:
    """Run the train command on small data, fast settings."""
    return cli_main([
        "train", "--data", str(data), "--out", str(out), "--cache", str(out.with_suffix(".npz")),
        "--real-csv", str(out.parent / "absent.csv"),
        "--epochs", "10", "--members", "2", "--composed", "50", "--refuse-floor", "0.5", *extra,
    ])  # fmt: skip


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory) -> Path:
    """A head trained on the small folder (no real prompts: thresholds from training rows)."""
    out = tmp_path_factory.mktemp("head") / "head.safetensors"
    assert train(data_dir, out) == 0
    return out


def test_trained_head_loads_and_says_where_thresholds_came_from(trained: Path) -> None:
    with safe_open(str(trained), framework="np") as f:
        meta = f.metadata()
    assert meta["encoder"] == "all-MiniLM-L6-v2"
    assert "absent.csv" in json.loads(meta["trained_on"])["calibration"]
    classifier = PromptClassifier(head_path=trained)
    classifier.load()
    refuse, borderline = classifier.thresholds()
    assert refuse.shape == borderline.shape == (7,)


def test_trained_head_separates_its_own_kind_of_data(trained: Path) -> None:
    mod = Moderation(classifier_path=trained)
    mod.load(parts=("blocklist", "classifier"))
    assert mod.check_prompt("a corpse with its throat cut in the snow").action == "refuse"
    assert mod.check_prompt(f"two dogs on a table, {STYLE}").action == "allow"


def test_extra_rows_change_the_classifier_version(data_dir: Path, trained: Path, tmp_path) -> None:
    """Reviewed prompts (e.g. from export-reviews) feed training: a new moderator version."""
    extra = write_tsv(tmp_path / "reviews.tsv", [("1", "violence", "a man beheading a prisoner"),
                                                  ("0", "", "a knight with a sword")])  # fmt: skip
    out = tmp_path / "with_extra.safetensors"
    assert train(data_dir, out, "--extra", str(extra)) == 0
    versions = []
    for path in (trained, out):
        classifier = PromptClassifier(head_path=path)
        classifier.load()
        versions.append(classifier.version)
    assert versions[0] != versions[1]
    with safe_open(str(out), framework="np") as f:
        assert json.loads(f.metadata()["trained_on"])["prompts"] > 0


def test_bad_extra_rows_are_a_clear_error(data_dir: Path, tmp_path, capsys) -> None:
    bad = write_tsv(tmp_path / "bad.tsv", [("maybe", "", "a cat")])
    assert train(data_dir, tmp_path / "h.safetensors", "--extra", str(bad)) == 2
    assert "bad.tsv line 1" in capsys.readouterr().err


def test_training_with_a_missing_folder_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert train(tmp_path / "nowhere", tmp_path / "h.safetensors") == 2
    assert "nowhere" in capsys.readouterr().err
