"""The prompt classifier: frozen MiniLM sentence embeddings, concept similarities, a small head.

The head file (safetensors, read with numpy) holds the concept-description embeddings, the
feature standardisation, a one-hidden-layer MLP with one sigmoid output per category, and the
per-category thresholds chosen at training time.

It may also hold labelled exemplars (embeddings of known unsafe prompts and of benign prompts
that look like them): a prompt whose nearest unsafe exemplars are closer than its nearest
benign ones by more than ``neighbour_margin`` is refused with the nearest unsafe exemplar's
categories. The
MLP generalises from meaning; the exemplars remember the phrasing of prompts whose images were
unsafe although their words read harmless (I2P), which the MLP alone cannot separate from
benign art prompts without refusing far more of them.
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
TENSORS = ("concepts", "concept_category", "mean", "std", "w1", "b1", "w2", "b2", "thresholds")
EXEMPLAR_TENSORS = ("exemplars_unsafe", "exemplar_labels", "exemplars_benign")


@dataclass(frozen=True)
class PromptScores:
    """The classifier's view of a batch of prompts (row i is prompt i)."""

    head: np.ndarray  # (n, len(CATEGORIES)) probabilities from the MLP
    neighbour_margin: np.ndarray  # (n,) unsafe minus benign exemplar similarity; -1 without any
    neighbour_labels: np.ndarray  # (n, len(CATEGORIES)) bool: the nearest unsafe exemplar's


def concept_features(
    emb: np.ndarray, concepts: np.ndarray, concept_category: np.ndarray
) -> np.ndarray:
    """[embedding, similarity to each concept, max similarity per category]."""
    sims = matmul(emb, concepts.T)
    per_cat = np.full((emb.shape[0], len(CATEGORIES)), -1.0, dtype=np.float32)
    for c in range(len(CATEGORIES)):
        cols = sims[:, concept_category == c]
        if cols.shape[1]:
            per_cat[:, c] = cols.max(axis=1)
    return np.concatenate([emb, sims, per_cat], axis=1).astype(np.float32)


class PromptClassifier:
    """Load the head once, then score batches of prompts."""

    def __init__(
        self, encoder=None, head_path: str | Path | None = None, precision: str = "auto"
    ) -> None:
        self.head_path = Path(head_path) if head_path else DEFAULT_HEAD
        self.precision = precision  # of the encoder: auto, fp32 or bf16 (textencoder/bf16.py)
        self.version = "not loaded"
        self.minor_factor = 0.5
        self.neighbour_k = 5
        self.neighbour_margin = float("inf")  # no exemplars: the neighbour rule never fires
        self._encoder = encoder
        self._head: dict[str, np.ndarray] | None = None

    def load(self) -> None:
        """Read and validate the head, and make sure the encoder is there."""
        self._head = None
        head, meta = _read_head(self.head_path)
        self.minor_factor = float(meta.get("minor_factor", 0.5))
        has_exemplars = "exemplars_unsafe" in head
        self.neighbour_k = int(meta.get("neighbour_k", 5))
        margin = meta.get("neighbour_margin") if has_exemplars else None
        self.neighbour_margin = float(margin) if margin is not None else float("inf")
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

    @property
    def thresholds(self) -> np.ndarray:
        """Per-category thresholds, in CATEGORIES order."""
        if self._head is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        return self._head["thresholds"]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings of the readable form of each text, batched by length."""
        if self._encoder is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        clean = [readable(t) for t in texts]
        order = sorted(range(len(clean)), key=lambda i: len(clean[i]))
        emb = np.asarray(
            self._encoder.sentence_embeddings([clean[i] for i in order], batch_size=64)
        )
        if emb.shape != (len(texts), HIDDEN_SIZE) or not np.isfinite(emb).all():
            raise ModerationUnavailable("text encoder returned malformed embeddings")
        out = np.empty_like(emb)
        out[order] = emb
        return out

    def scores_from_embeddings(self, emb: np.ndarray) -> np.ndarray:
        """Per-category probabilities, shape (n, len(CATEGORIES))."""
        h = self._head
        if h is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        return mlp_probabilities(concept_features(emb, h["concepts"], h["concept_category"]), h)

    def neighbours(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(margin, nearest unsafe exemplar's labels) per row; margin -1 without exemplars."""
        h = self._head
        if h is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        n = emb.shape[0]
        if "exemplars_unsafe" not in h or n == 0:
            return np.full(n, -1.0, dtype=np.float32), np.zeros((n, len(CATEGORIES)), dtype=bool)
        margin, nearest = exemplar_margin(
            emb, h["exemplars_unsafe"], h["exemplars_benign"], self.neighbour_k
        )
        return margin, h["exemplar_labels"][nearest] > 0

    def assess(self, texts: list[str]) -> PromptScores:
        """Embed texts once; head probabilities and exemplar neighbours for each."""
        if not texts:
            empty = np.zeros((0, len(CATEGORIES)), dtype=np.float32)
            return PromptScores(empty, np.zeros(0, dtype=np.float32), empty.astype(bool))
        emb = self.embed(texts)
        return PromptScores(self.scores_from_embeddings(emb), *self.neighbours(emb))

    def scores(self, texts: list[str]) -> np.ndarray:
        """Head probabilities only, shape (n, len(CATEGORIES))."""
        return self.assess(texts).head


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b (float32), computed by torch on the encoder's threads.

    Not numpy: its OpenBLAS starts threads of its own for products of this size, and they fight
    the encoder's OpenMP threads for the cores (with the exemplars, single-prompt p50 went from
    4 ms to 16 ms and p99 to 100 ms on the 2-core dev box).
    """
    import torch

    with torch.inference_mode():
        a_t = torch.from_numpy(np.asarray(a, dtype=np.float32))
        b_t = torch.from_numpy(np.asarray(b, dtype=np.float32))  # strided views: no copy
        return (a_t @ b_t).numpy()


def mlp_probabilities(features: np.ndarray, head: dict[str, np.ndarray]) -> np.ndarray:
    """Standardise, Linear-ReLU-Linear, sigmoid: per-category probabilities (training uses it too).

    ``head`` holds ``mean``, ``std``, ``w1``, ``b1``, ``w2`` and ``b2``.
    """
    x = (features - head["mean"]) / head["std"]
    hidden = np.maximum(matmul(x, head["w1"]) + head["b1"], 0.0)
    logits = np.clip(matmul(hidden, head["w2"]) + head["b2"], -30, 30)
    return 1.0 / (1.0 + np.exp(-logits))


def exemplar_margin(
    emb: np.ndarray, unsafe: np.ndarray, benign: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: mean similarity to the k nearest unsafe exemplars minus that to the k nearest
    benign ones, and the index of the nearest unsafe exemplar (training uses it too)."""
    to_unsafe = matmul(emb, unsafe.T)
    k = min(k, unsafe.shape[0], benign.shape[0])
    margin = _top_k_mean(to_unsafe, k) - _top_k_mean(matmul(emb, benign.T), k)
    return margin.astype(np.float32), to_unsafe.argmax(axis=1)


def _top_k_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k largest values of each row."""
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


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


def _read_head(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Load and validate the head tensors and metadata; raise ModerationUnavailable."""
    if not path.is_file():
        raise ModerationUnavailable(f"classifier head missing: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            present = set(f.keys())
            optional = EXEMPLAR_TENSORS if set(EXEMPLAR_TENSORS) <= present else ()
            head = {name: f.get_tensor(name) for name in (*TENSORS, *optional)}
        categories = json.loads(meta.get("categories", "[]"))
    except Exception as exc:  # any parse failure means the file cannot be trusted
        raise ModerationUnavailable(f"classifier head corrupt: {path.name}: {exc}") from exc
    n_cat, n_feat = len(CATEGORIES), HIDDEN_SIZE + head["concepts"].shape[0] + len(CATEGORIES)
    shapes_ok = (
        tuple(categories) == CATEGORIES
        and head["concepts"].shape[1:] == (HIDDEN_SIZE,)
        and head["w1"].shape[0] == n_feat
        and head["mean"].shape == head["std"].shape == (n_feat,)
        and head["w2"].shape == (head["w1"].shape[1], n_cat)
        and head["thresholds"].shape == (n_cat,)
        and _exemplar_shapes_ok(head, n_cat)
    )
    if not shapes_ok or not all(np.isfinite(v).all() for v in head.values()):
        raise ModerationUnavailable(f"classifier head corrupt: {path.name}: bad shapes or values")
    head = {
        k: v.astype(np.int64 if k == "concept_category" else np.float32) for k, v in head.items()
    }
    return head, meta


def _exemplar_shapes_ok(head: dict[str, np.ndarray], n_cat: int) -> bool:
    """True when the file has no exemplars, or consistent ones."""
    if "exemplars_unsafe" not in head:
        return True
    unsafe, labels, benign = (head[name] for name in EXEMPLAR_TENSORS)
    return (
        unsafe.ndim == benign.ndim == 2
        and unsafe.shape[1] == benign.shape[1] == HIDDEN_SIZE
        and unsafe.shape[0] > 0
        and benign.shape[0] > 0
        and labels.shape == (unsafe.shape[0], n_cat)
    )
