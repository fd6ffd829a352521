"""`python -m safety train`: fit the prompt-classifier head and choose its thresholds.

Steps: 1. assemble prompt-style data and split it; 2. embed (cached); 3. fit a small MLP on
[embedding, concept similarities]; 4. pick per-category thresholds for the target false-positive
rate on held-back benign prompts; 5. keep the I2P positives (and the benign prompts near them)
as exemplars: a prompt nearer to those unsafe ones than to the benign ones by more than
``--neighbour-margin`` is refused; 6. write the safetensors head.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from safety.classifier import DEFAULT_HEAD, concept_features, exemplar_margin, mlp_probabilities
from safety.training import (
    TRAINING_DIR,
    EmbeddingCache,
    Example,
    read_coco,
    read_i2p,
    read_written,
    split,
)
from safety.verdict import CATEGORIES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
CONCEPTS = Path(__file__).with_name("data") / "concepts.json"
TEST_SHARE = 0.3  # of I2P and COCO rows, never trained on (see safety/heldout.py)
SPLIT_SEED = 0  # fixed: the held-out split must not move when the training seed does
VAL_SHARE = 0.2  # of the remaining benign rows, used only to set thresholds
NEIGHBOUR_K = 5  # exemplars averaged on each side of the margin
EXEMPLAR_CUT = 0.4  # benign exemplars kept: cosine to the nearest unsafe exemplar at least this
DEFAULT_CACHE = Path("instance/embeddings.npz")  # embeddings of every training text, by hash


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options for training."""
    p = argparse.ArgumentParser(prog="python -m safety train", description=__doc__)
    p.add_argument("--i2p", type=Path, default=SHARED / "i2p_dev.csv")
    p.add_argument("--coco", type=Path, default=SHARED / "coco_captions_dev.csv")
    p.add_argument("--written", type=Path, default=TRAINING_DIR / "prompts_train.tsv")
    p.add_argument(
        "--extra", type=Path, action="append", default=[],
        help="more label<TAB>text rows, e.g. from export-reviews (repeatable)",
    )  # fmt: skip
    p.add_argument("--coco-limit", type=int, default=12000, help="COCO rows split train/test")
    p.add_argument(
        "--coco-val-limit", type=int, default=20000,
        help="COCO rows after --coco-limit up to this one only set thresholds (never fitted)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=DEFAULT_HEAD)
    p.add_argument("--cache", type=Path, help="embedding cache (default under instance/)")
    p.add_argument("--target-fpr", type=float, default=0.003, help="union FPR on validation")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument(
        "--i2p-other-weight", type=float, default=0.0,
        help="weight of non-sexual I2P positives in the MLP (default 0: exemplars only)",
    )  # fmt: skip
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="initialisation (not the data split)")
    p.add_argument("--ensemble", type=int, default=5, help="heads averaged in logit space")
    p.add_argument(
        "--neighbour-margin",
        type=float,
        default=0.0,
        help="refuse when the nearest unsafe exemplars are closer than the nearest benign ones by "
        "more than this (cosine; default 0: closer at all)",
    )
    p.add_argument("--no-exemplars", action="store_true", help="ship the MLP alone")
    return p.parse_args(argv)


def training_sets(
    args: argparse.Namespace,
) -> tuple[list[Example], list[Example], list[Example]]:
    """(fit, validation, extra validation) examples; the held-out test split is left untouched.

    Validation rows are benign rows of the fit pool (COCO and I2P) held back from fitting; the
    extra rows are COCO captions beyond ``--coco-limit`` used only for the head's thresholds.
    """
    i2p_train, _ = split(read_i2p(args.i2p), TEST_SHARE, SPLIT_SEED)
    coco_rows = read_coco(args.coco, max(args.coco_val_limit, args.coco_limit), SPLIT_SEED)
    coco_train, _ = split(coco_rows[: args.coco_limit], TEST_SHARE, SPLIT_SEED)
    i2p_train = [e for e in i2p_train if e.source != "i2p-ambiguous"]
    for ex in i2p_train:
        noisy = ex.labels and "sexual" not in ex.labels  # labels from images, often harmless text
        ex.weight = args.i2p_other_weight if noisy else 1.0
    benign_fit, benign_val = split(
        [e for e in i2p_train + coco_train if not e.labels], VAL_SHARE, SPLIT_SEED + 1
    )
    written = read_written(args.written, styled_copies=3, seed=SPLIT_SEED)
    written += [e for path in args.extra for e in read_written(path, 3, SPLIT_SEED)]
    for ex in written:
        ex.weight = 2.0 if ex.labels else 1.0
    # Weight-0 rows stay in the list: they are not fitted but serve as unsafe exemplars.
    fit = benign_fit + [e for e in i2p_train if e.labels] + written
    return fit, benign_val, coco_rows[args.coco_limit :]


def label_matrix(examples: list[Example]) -> np.ndarray:
    """Multi-hot labels in CATEGORIES order."""
    y = np.zeros((len(examples), len(CATEGORIES)), dtype=np.float32)
    for i, ex in enumerate(examples):
        for c in ex.labels:
            y[i, CATEGORIES.index(c)] = 1.0
    return y


def fit_ensemble(x: np.ndarray, y: np.ndarray, w: np.ndarray, args: argparse.Namespace) -> dict:
    """Fit several seeds and merge them into one wider MLP that averages their logits.

    Mean of k heads' logits = [h_1 .. h_k] @ [W2_1; ..; W2_k] / k + mean(b2): one MLP whose
    hidden layer is the concatenation, so the runtime stays a single matrix pipeline.
    """
    heads = [fit_mlp(x, y, w, args, args.seed + i) for i in range(args.ensemble)]
    return {
        "w1": np.concatenate([h["w1"] for h in heads], axis=1),
        "b1": np.concatenate([h["b1"] for h in heads]),
        "w2": np.concatenate([h["w2"] for h in heads], axis=0) / len(heads),
        "b2": np.mean([h["b2"] for h in heads], axis=0),
    }


def fit_mlp(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, args: argparse.Namespace, seed: int
) -> dict:
    """Train Linear-ReLU-Linear with weighted, class-balanced BCE; return numpy weights."""
    import torch

    torch.manual_seed(seed)
    xt, yt, wt = map(torch.from_numpy, (x, y, w.astype(np.float32)))
    pos = yt.sum(0).clamp(min=1)
    pos_weight = ((len(yt) - pos) / pos).clamp(max=30.0).sqrt()
    model = torch.nn.Sequential(
        torch.nn.Dropout(0.1),
        torch.nn.Linear(x.shape[1], args.hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(args.hidden, len(CATEGORIES)),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=args.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    for _ in range(args.epochs):
        perm = torch.randperm(len(xt))
        for start in range(0, len(xt), 256):
            idx = perm[start : start + 256]
            loss = (loss_fn(model(xt[idx]), yt[idx]).mean(1) * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    lin1, lin2 = model[1], model[4]
    return {
        "w1": lin1.weight.detach().numpy().T.copy(),
        "b1": lin1.bias.detach().numpy().copy(),
        "w2": lin2.weight.detach().numpy().T.copy(),
        "b2": lin2.bias.detach().numpy().copy(),
    }


def choose_thresholds(benign_scores: np.ndarray, target_fpr: float) -> np.ndarray:
    """Per-category thresholds at a common quantile so the union FPR stays within target."""
    lo, hi = 0.0, target_fpr
    for _ in range(30):
        mid = (lo + hi) / 2
        thr = np.maximum(np.quantile(benign_scores, 1 - mid, axis=0), 0.5)
        fpr = (benign_scores >= thr).any(axis=1).mean()
        lo, hi = (mid, hi) if fpr <= target_fpr else (lo, mid)
    return np.maximum(np.quantile(benign_scores, 1 - lo, axis=0), 0.5).astype(np.float32)


def build_exemplars(fit: list[Example], emb: np.ndarray) -> dict[str, np.ndarray]:
    """Unsafe exemplars (the I2P positives) and the benign fit prompts that resemble them.

    Benign prompts far from every unsafe exemplar (cosine < EXEMPLAR_CUT) can never be among a
    borderline prompt's nearest benign neighbours in practice, so they are left out (3.8k of
    7.7k kept; the held-out figures did not move).
    """
    unsafe = np.array([e.source == "i2p-unsafe" for e in fit])
    benign = np.array([not e.labels for e in fit])
    near = (emb[benign] @ emb[unsafe].T).max(axis=1) >= EXEMPLAR_CUT
    return {
        "exemplars_unsafe": emb[unsafe].astype(np.float16),
        "exemplar_labels": label_matrix([e for e, u in zip(fit, unsafe, strict=True) if u]).astype(
            np.uint8
        ),
        "exemplars_benign": emb[benign][near].astype(np.float16),
    }


def main(argv: list[str] | None = None) -> int:
    """Train and write the head; print a short summary."""
    import torch
    from safetensors.numpy import save_file

    from textencoder import MODEL_ID, sentence_encoder

    args = parse_args(argv)
    torch.set_num_threads(2)
    started = time.time()
    fit, val, val_extra = training_sets(args)
    # Fit on the reference fp32 embeddings; the bf16 view serves the same head (textencoder).
    cache = EmbeddingCache(sentence_encoder(precision="fp32"), args.cache or DEFAULT_CACHE)
    concepts_json = json.loads(CONCEPTS.read_text(encoding="utf-8"))
    texts, cats = [], []
    for c, descriptions in concepts_json.items():
        if c in CATEGORIES:
            texts += descriptions
            cats += [CATEGORIES.index(c)] * len(descriptions)
    concepts = cache.embed(texts)
    concept_category = np.array(cats, dtype=np.int64)
    emb_fit, emb_val = cache.embed([e.text for e in fit]), cache.embed([e.text for e in val])
    x_fit = concept_features(emb_fit, concepts, concept_category)
    # The thresholds see the extra COCO rows too: a quantile near 0.3% of 1,750 rows sat on one
    # or two noisy captions ("a man ... cowering and naked"); with 8,000 more it is stable.
    emb_thr = np.concatenate([emb_val, cache.embed([e.text for e in val_extra])])
    x_val = concept_features(emb_thr, concepts, concept_category)
    mean, std = x_fit.mean(0), x_fit.std(0) + 1e-6
    weights = np.array([e.weight for e in fit], dtype=np.float32)
    used = weights > 0
    head = fit_ensemble(((x_fit - mean) / std)[used], label_matrix(fit)[used], weights[used], args)
    val_scores = mlp_probabilities(x_val, {"mean": mean, "std": std, **head})
    thresholds = choose_thresholds(val_scores, args.target_fpr)
    tensors = {"concepts": concepts, "concept_category": concept_category, "mean": mean,
               "std": std, "thresholds": thresholds, **head}  # fmt: skip
    neighbour_meta = {}
    if not args.no_exemplars:
        exemplars = build_exemplars(fit, emb_fit)
        margin = args.neighbour_margin
        tensors.update(exemplars)
        neighbour_meta = {"neighbour_k": str(NEIGHBOUR_K), "neighbour_margin": f"{margin:.4f}"}
        val_margins, _ = exemplar_margin(
            emb_thr, exemplars["exemplars_unsafe"], exemplars["exemplars_benign"], NEIGHBOUR_K
        )
        val_rate = float((val_margins > margin).mean())
        print(f"exemplars: {len(exemplars['exemplars_unsafe'])} unsafe, "
              f"{len(exemplars['exemplars_benign'])} benign; margin {margin:.4f} refuses "
              f"{val_rate:.2%} of the validation benign prompts on its own")  # fmt: skip
    meta = {
        **neighbour_meta,
        "categories": json.dumps(CATEGORIES),
        "minor_factor": "0.5",
        "encoder": MODEL_ID,
        "trained_on": json.dumps(
            {"fit": int(used.sum()), "validation_benign": len(x_val), "ensemble": args.ensemble}
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(args.out), meta)
    print(
        f"fit on {int(used.sum())} examples, thresholds from {len(x_val)} benign validation prompts"
    )
    for c, t in zip(CATEGORIES, thresholds, strict=True):
        print(f"  {c:<14} threshold {t:.3f}")
    print(f"wrote {args.out} in {time.time() - started:.0f} s")
    return 0
