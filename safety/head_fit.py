"""Fitting a classifier head: cached segment embeddings, the multiple-instance MLP, thresholds.

Used by ``python -m safety train`` (safety/head_training.py). The model trained here is the
one ``safety.classifier.head_probabilities`` runs: per member, Linear-ReLU-Linear on every
segment and on the whole prompt, the prompt's logit per output being the higher of its best
segment and its whole view; members' logits are averaged.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from safety.classifier import LAYERS, N_OUT, Views, prepare
from safety.labelled_sets import Labelled
from safety.verdict import CATEGORIES
from textencoder import HIDDEN_SIZE


class SegmentCache:
    """Whole and segment embeddings of prepared texts, memoised on disk by a hash of the text."""

    def __init__(self, encoder, path: Path | None) -> None:
        self.encoder = encoder
        self.path = path
        self.store: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if path is not None and path.is_file():
            with np.load(path) as data:  # each key read once: npz members load lazily
                keys, whole, segments, start = (
                    data[k] for k in ("keys", "whole", "segments", "start")
                )
            for i, key in enumerate(keys.tolist()):
                self.store[key] = (whole[i], segments[start[i] : start[i + 1]])

    def views(self, texts: list[str]) -> Views:
        """Views of ``texts`` as the classifier computes them (fp32 reference encoder)."""
        prepared = [prepare(t) for t in texts]
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in prepared]
        todo = sorted({k: t for k, t in zip(keys, prepared, strict=True) if k not in self.store}
                      .items(), key=lambda kv: len(kv[1]))  # fmt: skip
        for start in range(0, len(todo), 2048):
            chunk = todo[start : start + 2048]
            pooled = self.encoder.segment_embeddings([t for _, t in chunk], batch_size=64)
            for i, (key, _) in enumerate(chunk):
                segments = pooled.segments[pooled.owner == i]
                self.store[key] = (pooled.whole[i].astype(np.float16), segments.astype(np.float16))
            print(f"  embedded {start + len(chunk):,} of {len(todo):,} new texts", file=sys.stderr)
        if todo and self.path is not None:
            self._save()
        if not keys:
            empty = np.zeros((0, HIDDEN_SIZE), dtype=np.float32)
            return Views(empty, empty, np.zeros(1, dtype=np.int64))
        whole = np.stack([self.store[k][0] for k in keys])
        segments = [self.store[k][1] for k in keys]
        owner = np.concatenate([np.full(len(s), i) for i, s in enumerate(segments)])
        return Views.from_pooled(whole, np.concatenate(segments), owner.astype(np.int64))

    def _save(self) -> None:
        """Write the whole store as one npz."""
        keys = list(self.store)
        segments = [self.store[k][1] for k in keys]
        start = np.concatenate([[0], np.cumsum([len(s) for s in segments])])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            self.path,
            keys=np.array(keys),
            whole=np.stack([self.store[k][0] for k in keys]),
            segments=np.concatenate(segments),
            start=start,
        )


def targets(rows: list[Labelled]) -> np.ndarray:
    """(n, N_OUT): refuse per category (label 1), then borderline-or-worse (label 1 or B).

    A sexual/minors row is sexual too.
    """
    y = np.zeros((len(rows), N_OUT), dtype=np.float32)
    n_cat = len(CATEGORIES)
    for i, row in enumerate(rows):
        if row.label == "0":
            continue
        cats = {row.category} | ({"sexual"} if row.category == "sexual/minors" else set())
        for c in cats:
            y[i, n_cat + CATEGORIES.index(c)] = 1.0
            if row.label == "1":
                y[i, CATEGORIES.index(c)] = 1.0
    return y


def fit_members(
    views: Views, y: np.ndarray, weights: np.ndarray, hidden: int, epochs: int, members: int
) -> dict[str, np.ndarray]:
    """Fit ``members`` heads (seeds 0..members-1) and stack them in the head file's layout."""
    fitted = [_fit_one(views, y, weights, hidden, epochs, seed) for seed in range(members)]
    out = {}
    for part in ("seg", "whole"):
        out[f"{part}_w1"] = np.concatenate([m[f"{part}_w1"] for m in fitted], axis=1)
        out[f"{part}_b1"] = np.concatenate([m[f"{part}_b1"] for m in fitted])
        out[f"{part}_w2"] = np.stack([m[f"{part}_w2"] for m in fitted])
        out[f"{part}_b2"] = np.stack([m[f"{part}_b2"] for m in fitted])
    assert set(out) == set(LAYERS)
    return out


def _fit_one(
    views: Views, y: np.ndarray, weights: np.ndarray, hidden: int, epochs: int, seed: int
) -> dict[str, np.ndarray]:
    """One member: class-balanced, sample-weighted BCE on max(best segment, whole), AdamW."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    whole, segments = torch.from_numpy(views.whole), torch.from_numpy(views.segments)
    counts = np.diff(views.start)
    yt, wt = torch.from_numpy(y), torch.from_numpy(weights.astype(np.float32))
    positives = yt.sum(0).clamp(min=1)
    pos_weight = ((len(yt) - positives) / positives).clamp(max=30.0).sqrt()
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    seg_net, whole_net = _mlp(hidden), _mlp(hidden)
    params = [*seg_net.parameters(), *whole_net.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-2)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(order), 256):
            idx = order[start : start + 256]
            seg_idx = np.concatenate([np.arange(views.start[i], views.start[i + 1]) for i in idx])
            owner = torch.from_numpy(np.repeat(np.arange(len(idx)), counts[idx]))
            seg_logits = seg_net(segments[seg_idx])
            best = torch.full((len(idx), N_OUT), -1e4).scatter_reduce(
                0, owner[:, None].expand(-1, N_OUT), seg_logits, reduce="amax"
            )
            logits = torch.maximum(best, whole_net(whole[idx]))
            loss = (loss_fn(logits, yt[idx]).mean(1) * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    out = {}
    for part, net in (("seg", seg_net), ("whole", whole_net)):
        lin1, lin2 = net[1], net[4]
        out[f"{part}_w1"] = lin1.weight.detach().numpy().T.copy()
        out[f"{part}_b1"] = lin1.bias.detach().numpy().copy()
        out[f"{part}_w2"] = lin2.weight.detach().numpy().T.copy()
        out[f"{part}_b2"] = lin2.bias.detach().numpy().copy()
    print(f"  fitted member {seed}", file=sys.stderr)
    return out


def _mlp(hidden: int):
    """Dropout, Linear(HIDDEN_SIZE, hidden), ReLU, Dropout, Linear(hidden, N_OUT)."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Dropout(0.1),
        torch.nn.Linear(HIDDEN_SIZE, hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(hidden, N_OUT),
    )


def common_quantile_thresholds(scores: np.ndarray, allowed: int, floor: float) -> np.ndarray:
    """Per-column thresholds at one common quantile of ``scores`` (rows that must pass) such
    that at most ``allowed`` rows reach any column's threshold; never below ``floor``."""
    if scores.shape[0] == 0:
        return np.full(scores.shape[1], max(floor, 0.5), dtype=np.float32)

    def at(q: float) -> np.ndarray:
        return np.maximum(np.quantile(scores, 1 - q, axis=0, method="higher") + 1e-6, floor)

    lo, hi = 0.0, 0.5
    for _ in range(40):
        mid = (lo + hi) / 2
        over = int((scores >= at(mid)).any(axis=1).sum())
        lo, hi = (mid, hi) if over <= allowed else (lo, mid)
    return at(lo).astype(np.float32)
