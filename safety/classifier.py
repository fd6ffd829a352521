"""The prompt classifier: what a prompt asks for, scored per category from one encoder pass.

The frozen MiniLM encoder gives contextual token states once; they are mean-pooled over the
whole prompt and over each comma/period-separated segment (textencoder/segments.py). A small
MLP scores every segment and another the whole prompt; a prompt's score per category is the
higher of its most telling segment and its whole view (multiple-instance learning: one tag
among thirty may carry the request, and combinations like "a named person + sexy" need the
whole). Two outputs per category: ``refuse`` (the text asks for what the policy refuses) and
``borderline`` (reasonable moderators would disagree, or worse). A second, smaller head of the
same kind reads negative prompts: does this one steer the image away from clothing, modesty or
safety?

The head file (safetensors, read with numpy) holds both heads (each an ensemble whose members
are stacked), the calibrated thresholds and the encoder it was fitted on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safety.errors import ModerationUnavailable
from safety.normalize import readable
from safety.verdict import CATEGORIES
from textencoder import HIDDEN_SIZE, MODEL_ID, sentence_encoder

DEFAULT_HEAD = Path(__file__).with_name("models") / "prompt_head.safetensors"
HEADS = ("prompt", "negative")  # the prompt head and the negative-prompt head
LAYERS = ("seg_w1", "seg_b1", "seg_w2", "seg_b2", "whole_w1", "whole_b1", "whole_w2", "whole_b2")
THRESHOLDS = ("refuse", "borderline")
TENSORS = tuple(f"{h}.{name}" for h in HEADS for name in (*LAYERS, *THRESHOLDS))
N_OUT = 2 * len(CATEGORIES)  # refuse scores, then borderline scores


@dataclass(frozen=True)
class PromptScores:
    """The classifier's reading of a batch of texts (row i is text i)."""

    refuse: np.ndarray  # (n, len(CATEGORIES)) probability that the text asks for a refusal
    borderline: np.ndarray  # (n, len(CATEGORIES)) probability that it is borderline or worse


class PromptClassifier:
    """Load the head once, then score batches of prompts and of negative prompts."""

    def __init__(
        self, encoder=None, head_path: str | Path | None = None, precision: str = "auto"
    ) -> None:
        self.head_path = Path(head_path) if head_path else DEFAULT_HEAD
        self.precision = precision  # of the encoder: auto, fp32 or bf16 (textencoder/bf16.py)
        self.version = "not loaded"
        self.minor_factor = 0.5
        self._encoder = encoder
        self._head: dict[str, np.ndarray] | None = None

    def load(self) -> None:
        """Read and validate the head, and make sure the encoder is there."""
        self._head = None
        head, meta = read_head(self.head_path)
        self.minor_factor = float(meta.get("minor_factor", 0.5))
        encoder_id = meta.get("encoder", MODEL_ID)
        if encoder_id != MODEL_ID:
            raise ModerationUnavailable(f"classifier head needs an unknown encoder: {encoder_id}")
        try:
            self._encoder = sentence_encoder(self._encoder, self.precision)
        except Exception as exc:
            raise ModerationUnavailable(f"text encoder failed to load: {exc}") from exc
        self.version = f"clf-{content_digest(head, meta)[:8]}"
        self._head = head

    @property
    def loaded(self) -> bool:
        """True once load() has succeeded."""
        return self._head is not None

    def thresholds(self, head: str = "prompt") -> tuple[np.ndarray, np.ndarray]:
        """(refuse, borderline) thresholds per category, in CATEGORIES order, as shipped."""
        if self._head is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        return self._head[f"{head}.refuse"], self._head[f"{head}.borderline"]

    def embed(self, texts: list[str]) -> Views:
        """Whole and segment embeddings of the readable form of each text, batched by length."""
        if self._encoder is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        clean = [prepare(t) for t in texts]
        order = sorted(range(len(clean)), key=lambda i: len(clean[i]))
        pooled = self._encoder.segment_embeddings([clean[i] for i in order], batch_size=64)
        views = Views.from_pooled(pooled.whole, pooled.segments, pooled.owner)
        if views.whole.shape != (len(texts), HIDDEN_SIZE) or not views.finite():
            raise ModerationUnavailable("text encoder returned malformed embeddings")
        return views.reordered(np.array(order, dtype=np.int64))

    def assess(self, prompts: list[str], negatives: list[str] = ()) -> tuple[PromptScores, ...]:
        """Scores of the prompts and of the negative prompts, from one encoder pass."""
        if self._head is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        texts = [*prompts, *negatives]
        if not texts:
            empty = np.zeros((0, len(CATEGORIES)), dtype=np.float32)
            return PromptScores(empty, empty), PromptScores(empty, empty)
        views = self.embed(texts)
        n = len(prompts)
        out = []
        for head, rows in (("prompt", slice(0, n)), ("negative", slice(n, len(texts)))):
            probs = head_probabilities(views.rows(rows), self._head, head)
            out.append(PromptScores(probs[:, : len(CATEGORIES)], probs[:, len(CATEGORIES) :]))
        return tuple(out)


def prepare(text: str) -> str:
    """What the encoder reads: de-obfuscated text, line breaks kept as segment breaks."""
    return readable(text.replace("\r", "").replace("\n", ", "))


@dataclass(frozen=True)
class Views:
    """Whole-text and segment embeddings; ``start[i]:start[i+1]`` are text i's segments.

    A text without segments gets its whole embedding as its one segment, so every text has one.
    """

    whole: np.ndarray  # (n, HIDDEN_SIZE)
    segments: np.ndarray  # (m, HIDDEN_SIZE), grouped by text
    start: np.ndarray  # (n + 1,) offsets into segments

    @classmethod
    def from_pooled(cls, whole: np.ndarray, segments: np.ndarray, owner: np.ndarray) -> Views:
        """Build from the encoder's (whole, segments, owner), filling empty texts."""
        n = whole.shape[0]
        counts = np.bincount(owner, minlength=n) if n else np.zeros(0, dtype=np.int64)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            owner = np.concatenate([owner, empty])
            segments = np.concatenate([segments, whole[empty]])
            order = np.argsort(owner, kind="stable")
            owner, segments = owner[order], segments[order]
            counts = np.bincount(owner, minlength=n)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(whole.astype(np.float32), segments.astype(np.float32), start)

    def finite(self) -> bool:
        """True when no embedding holds NaN or infinity."""
        return bool(np.isfinite(self.whole).all() and np.isfinite(self.segments).all())

    def rows(self, which: slice | np.ndarray) -> Views:
        """The views of some texts, in the order given."""
        index = np.arange(self.whole.shape[0])[which]
        counts = self.start[index + 1] - self.start[index]
        seg = np.concatenate([np.arange(self.start[i], self.start[i + 1]) for i in index] or [[]])
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Views(self.whole[index], self.segments[seg.astype(np.int64)], start)

    def reordered(self, order: np.ndarray) -> Views:
        """Undo a sort: row ``order[k]`` of the result is row k of self."""
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        return self.rows(inverse)


def head_probabilities(views: Views, head: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Sigmoid of the members' mean logit; each member's logit is max(best segment, whole).

    Shape (n, 2 * len(CATEGORIES)): refuse scores, then borderline scores. Training uses it too.
    """
    n = views.whole.shape[0]
    if n == 0:
        return np.zeros((0, N_OUT), dtype=np.float32)
    p = {k: head[f"{name}.{k}"] for k in LAYERS}
    seg = member_logits(views.segments, p["seg_w1"], p["seg_b1"], p["seg_w2"], p["seg_b2"])
    best = np.maximum.reduceat(seg, views.start[:-1], axis=0)  # (n, members, N_OUT)
    whole = member_logits(views.whole, p["whole_w1"], p["whole_b1"], p["whole_w2"], p["whole_b2"])
    logits = np.clip(np.maximum(best, whole).mean(axis=1), -30, 30)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def member_logits(
    x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    """Linear-ReLU-Linear for every ensemble member at once: (rows, members, N_OUT).

    ``w1`` (HIDDEN_SIZE, members * hidden) holds the members side by side; ``w2`` is
    (members, hidden, N_OUT) and ``b2`` (members, N_OUT).
    """
    members, hidden = w2.shape[0], w2.shape[1]
    h = np.maximum(matmul(x, w1) + b1, 0.0).reshape(x.shape[0], members, hidden)
    # (members, rows, hidden) @ (members, hidden, N_OUT): 14 outputs, too small for threads.
    return np.matmul(h.transpose(1, 0, 2), w2).transpose(1, 0, 2) + b2


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b (float32), computed by torch on the encoder's threads.

    Not numpy: its OpenBLAS starts threads of its own for products of this size, and they fight
    the encoder's OpenMP threads for the cores (docs/performance.md).
    """
    import torch

    with torch.inference_mode():
        a_t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        b_t = torch.from_numpy(np.asarray(b, dtype=np.float32))
        return (a_t @ b_t).numpy()


def content_digest(tensors: dict[str, np.ndarray], meta: dict) -> str:
    """sha256 of the tensors and metadata, not of the file's bytes.

    safetensors writes its metadata in no fixed order, so two trainings with identical results
    gave files with different bytes; the version must only change when the classifier does.
    """
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def read_head(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Load and validate the head tensors and metadata; raise ModerationUnavailable."""
    if not path.is_file():
        raise ModerationUnavailable(f"classifier head missing: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            head = {name: f.get_tensor(name) for name in TENSORS}
        categories = json.loads(meta.get("categories", "[]"))
    except Exception as exc:  # any parse failure means the file cannot be trusted
        raise ModerationUnavailable(f"classifier head corrupt: {path.name}: {exc}") from exc
    shapes_ok = tuple(categories) == CATEGORIES and all(_shapes_ok(head, h) for h in HEADS)
    if not shapes_ok or not all(np.isfinite(v).all() for v in head.values()):
        raise ModerationUnavailable(f"classifier head corrupt: {path.name}: bad shapes or values")
    return {k: v.astype(np.float32) for k, v in head.items()}, meta


def _shapes_ok(head: dict[str, np.ndarray], name: str) -> bool:
    """True when one head's layers fit together and its thresholds cover every category."""
    t = {k: head[f"{name}.{k}"].shape for k in (*LAYERS, *THRESHOLDS)}
    ok = t["refuse"] == t["borderline"] == (len(CATEGORIES),)
    for part in ("seg", "whole"):
        w1, b1, w2, b2 = (t[f"{part}_{k}"] for k in ("w1", "b1", "w2", "b2"))
        ok = ok and len(w1) == 2 and w1[0] == HIDDEN_SIZE and b1 == (w1[1],)
        ok = ok and len(w2) == 3 and w2[0] * w2[1] == w1[1] and w2[2] == N_OUT
        ok = ok and b2 == (w2[0], N_OUT)
    return ok
