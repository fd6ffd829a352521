"""`python -m safety train`: fit the classifier head on labelled prompts and calibrate it.

Steps: 1. read the labelled training rows (repo data, plus any ``--extra`` files such as
reviewed prompts from ``python -m safety export-reviews``); 2. embed them whole and by segment
(cached); 3. fit the prompt head (an ensemble of multiple-instance MLPs with refuse and
borderline outputs per category) and the negative-prompt head; 4. choose per-category
thresholds on the calibration half of the labelled real prompts (``--real-csv``; without it,
on the training rows, with a warning); 5. write the safetensors head.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from safety.classifier import DEFAULT_HEAD, THRESHOLDS, content_digest, head_probabilities
from safety.head_fit import SegmentCache, common_quantile_thresholds, fit_members, targets
from safety.labelled_sets import (
    REAL_CSV,
    REAL_LABELS,
    TRAINING_DIR,
    Labelled,
    read_captions,
    read_i2p,
    read_real,
    read_tsv,
)
from safety.verdict import CATEGORIES

WRITTEN = (
    "train_allowed",
    "train_refused",
    "train_multilingual",
    "train_indirect",
    "train_languages",
    "prompts_train",
)
# The indirect and other-language corpora weigh more: they teach what the rest barely shows
# (euphemisms, a request buried among tags, other languages); paraphrased recall rose with it.
WRITTEN_WEIGHT = {"prompts_train": 1.0, "train_indirect": 2.0, "train_languages": 2.0}
NEGATIVE_TEST_SHARE = 0.2  # of negative_prompts.tsv, held out for the report
DEFAULT_CACHE = Path("instance/segment_embeddings.npz")
# A prompt naming a minor is refused as sexual/minors once its sexual score reaches this share of
# the sexual threshold (0.5-1.0 all caught the same labelled rows; 0.5 also refused 7 allowed
# ones of 2,395, 0.8 one).
MINOR_FACTOR = 0.8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options for training."""
    p = argparse.ArgumentParser(prog="python -m safety train", description=__doc__)
    p.add_argument("--data", type=Path, default=TRAINING_DIR, help="folder of the training sets")
    p.add_argument(
        "--extra", type=Path, action="append", default=[],
        help="more label<TAB>category<TAB>text rows, e.g. exported reviews (repeatable)",
    )  # fmt: skip
    p.add_argument("--extra-weight", type=float, default=2.0, help="weight of --extra rows")
    p.add_argument("--real-csv", type=Path, default=REAL_CSV, help="real prompts (calibration)")
    p.add_argument("--real-labels", type=Path, default=REAL_LABELS)
    p.add_argument(
        "--refuse-budget", type=float, default=0.003,
        help="share of allowed calibration prompts the classifier alone may refuse",
    )  # fmt: skip
    p.add_argument(
        "--refuse-floor", type=float, default=0.8,
        help="no refuse threshold below this (the calibration tail is a few prompts)",
    )  # fmt: skip
    p.add_argument(
        "--guard-budget", type=float, default=0.03,
        help="share of allowed calibration prompts that may get a borderline score",
    )  # fmt: skip
    p.add_argument(
        "--composed", type=int, default=6000,
        help="real-style prompts with a written request slipped in (composed_prompts)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=DEFAULT_HEAD)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding cache (.npz)")
    p.add_argument("--members", type=int, default=3, help="ensemble members (seeds 0..n-1)")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=25)
    return p.parse_args(argv)


def training_rows(args: argparse.Namespace) -> tuple[list[Labelled], list[Labelled]]:
    """(prompt rows, negative-prompt rows) to fit, with their weights.

    I2P rows are real prompts in lexica.art's style, so they weigh most; COCO captions teach
    that plain descriptions are fine but are not what real prompts look like, so they weigh less.
    """
    d = args.data
    prompts = read_i2p(d / "i2p_relabelled.csv", "train", weight=2.0)
    for name in WRITTEN:
        prompts += read_tsv(d / f"{name}.tsv", weight=WRITTEN_WEIGHT.get(name, 1.5))
    prompts += composed_prompts(prompts, args.composed)
    prompts += read_captions(d / "coco_captions.csv", weight=0.5)
    for path in args.extra:
        prompts += read_tsv(path, source="extra", weight=args.extra_weight)
    negatives = [r for r in read_tsv(d / "negative_prompts.tsv") if not negative_test(r.text)]
    # All trained (the held-out split of negative_prompts.tsv stays as it was); they weigh more
    # than the thousands of lists composed from single terms, whose ordinary words are few.
    negatives += read_tsv(d / "negative_prompts_extra.tsv", weight=3.0)
    return prompts, negatives + composed_negatives(read_tsv(d / "negative_terms.tsv"))


def composed_prompts(rows: list[Labelled], n: int, seed: int = 0) -> list[Labelled]:
    """Real-style prompts with one written request slipped in among their tags.

    A request in a long tag list is read in the context of every other tag (the encoder's
    attention), so a segment learnt only from short written prompts fades inside a long one.
    Carriers are allowed prompts of four or more segments; the inserted text is a short written
    prompt of any label, and the composed prompt takes its label.
    """
    rng = random.Random(seed)
    carriers = [r.text for r in rows if r.label == "0" and r.text.count(",") >= 3]
    inserts = [r for r in rows if r.source in WRITTEN and len(r.text.split()) <= 14]
    out = []
    for _ in range(n if carriers and inserts else 0):
        tags = [t.strip() for t in rng.choice(carriers).split(",") if t.strip()]
        insert = rng.choice(inserts)
        tags.insert(rng.randint(0, len(tags)), insert.text)
        out.append(Labelled(", ".join(tags), insert.label, insert.category, "composed"))
    return out


def composed_negatives(terms: list[Labelled], n: int = 3000, seed: int = 0) -> list[Labelled]:
    """Negative prompts built from single terms: every term alone, then ``n`` lists of 1-8
    ordinary terms, half of them with one to three steering terms slipped in.

    The written negative prompts name a few dozen garments; this teaches the head the whole
    vocabulary, and that "nsfw, nude, gore" in a negative prompt is ordinary.
    """
    rng = random.Random(seed)
    ordinary = [t.text for t in terms if t.label == "0"]
    steering = [t for t in terms if t.label != "0"]
    out = [Labelled(t.text, t.label, t.category, "negative-terms") for t in terms]
    for _ in range(n if ordinary and steering else 0):
        parts = rng.sample(ordinary, rng.randint(1, min(8, len(ordinary))))
        label, category = "0", ""
        if rng.random() < 0.5:
            picked = rng.sample(steering, rng.randint(1, min(3, len(steering))))
            label, category = "1", picked[0].category
            for term in picked:
                parts.insert(rng.randint(0, len(parts)), term.text)
        out.append(Labelled(", ".join(parts), label, category, "negative-terms"))
    return out


def negative_test(text: str) -> bool:
    """True for the negative prompts held out of training (a fixed hash of the text)."""
    bucket = int(hashlib.sha1(f"negative-split:{text}".encode()).hexdigest()[:8], 16)
    return bucket / 0xFFFFFFFF < NEGATIVE_TEST_SHARE


def calibration(args: argparse.Namespace, blocklist) -> tuple[list[Labelled], str]:
    """Allowed prompts the thresholds are set on, and where they came from.

    The calibration half of the labelled real prompts, minus those the blocklist refuses
    anyway; when the CSV is absent, an empty list (the caller falls back and says so).
    """
    try:
        rows = read_real(args.real_csv, args.real_labels, "calibration")
    except FileNotFoundError:
        return [], f"no {args.real_csv}"
    allowed = [r for r in rows if r.label == "0" and not blocklist.scan(r.text).categories]
    return allowed, f"{len(allowed)} allowed real prompts (calibration half)"


def main(argv: list[str] | None = None) -> int:
    """Train, calibrate and write the head; print a short summary."""
    import torch
    from safetensors.numpy import save_file

    from safety.blocklist import Blocklist
    from textencoder import MODEL_ID, sentence_encoder

    args = parse_args(argv)
    torch.set_num_threads(1)  # small matmuls: more threads only wait on each other
    started = time.time()
    prompts, negatives = training_rows(args)
    blocklist = Blocklist()
    blocklist.load()
    calib, calib_source = calibration(args, blocklist)
    # Fit on the reference fp32 embeddings; the bf16 view serves the same head (textencoder).
    cache = SegmentCache(sentence_encoder(precision="fp32"), args.cache)
    tensors: dict[str, np.ndarray] = {}
    weights = np.array([r.weight for r in prompts], dtype=np.float32)
    views = cache.views([r.text for r in prompts])
    for name, rows, view, w, hidden, epochs in (
        ("prompt", prompts, views, weights, args.hidden, args.epochs),
        ("negative", negatives, cache.views([r.text for r in negatives]),
         np.array([r.weight for r in negatives], dtype=np.float32), args.hidden // 2,
         args.epochs * 2),
    ):  # fmt: skip
        layers = fit_members(view, targets(rows), w, hidden, epochs, args.members)
        tensors.update({f"{name}.{k}": v for k, v in layers.items()})
    if not calib:
        warning = "thresholds set on the allowed training rows, which the head has seen"
        print(f"warning: {calib_source}: {warning} (expect more refusals)", file=sys.stderr)
        calib = [r for r in prompts if r.label == "0" and r.source.startswith("i2p")]
    n_cat = len(CATEGORIES)
    probs = head_probabilities(cache.views([r.text for r in calib]), tensors, "prompt")
    # The floor comes after the quantile: applied inside, it would let the other categories'
    # thresholds drop to spend the budget it saved.
    tensors["prompt.refuse"] = np.maximum(
        common_quantile_thresholds(probs[:, :n_cat], int(args.refuse_budget * len(calib)), 0.5),
        args.refuse_floor,
    )
    tensors["prompt.borderline"] = common_quantile_thresholds(
        probs[:, n_cat:], int(args.guard_budget * len(calib)), 0.3
    )
    tensors["negative.refuse"] = np.full(n_cat, 0.5, dtype=np.float32)
    tensors["negative.borderline"] = np.full(n_cat, 0.5, dtype=np.float32)
    meta = {
        "categories": json.dumps(CATEGORIES),
        "encoder": MODEL_ID,
        "minor_factor": str(MINOR_FACTOR),
        "trained_on": json.dumps({"prompts": len(prompts), "negative_prompts": len(negatives),
                                  "members": args.members, "calibration": calib_source}),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(args.out), meta)
    version = f"clf-{content_digest(tensors, meta)[:8]}"
    summary(version, prompts, negatives, calib_source, tensors)
    print(f"wrote {args.out} in {time.time() - started:.0f} s")
    return 0


def summary(version: str, prompts, negatives, calib_source: str, tensors) -> None:
    """Print what was fitted and the thresholds chosen."""
    print(f"{version}: fit on {len(prompts)} prompts and {len(negatives)} negative "
          f"prompts; thresholds from {calib_source}")  # fmt: skip
    print(f"  {'category':<14}" + "".join(f"{t:>11}" for t in THRESHOLDS))
    for i, c in enumerate(CATEGORIES):
        row = "".join(f"{tensors[f'prompt.{t}'][i]:>11.3f}" for t in THRESHOLDS)
        print(f"  {c:<14}{row}")
