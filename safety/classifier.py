"""The prompt classifier: frozen MiniLM sentence embeddings, concept similarities, a small head.

The head file (safetensors, read with numpy) holds the concept-description embeddings, the
feature standardisation, a one-hidden-layer MLP with one sigmoid output per category, and the
per-category thresholds chosen at training time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from safety.encoder import ENCODER_FP32, ENCODER_INT8, classifier_encoder
from safety.errors import ModerationUnavailable
from safety.normalize import readable
from safety.verdict import CATEGORIES

DEFAULT_HEAD = Path(__file__).with_name("models") / "prompt_head.safetensors"
TENSORS = ("concepts", "concept_category", "mean", "std", "w1", "b1", "w2", "b2", "thresholds")


def concept_features(
    emb: np.ndarray, concepts: np.ndarray, concept_category: np.ndarray
) -> np.ndarray:
    """[embedding, similarity to each concept, max similarity per category]."""
    sims = emb @ concepts.T
    per_cat = np.full((emb.shape[0], len(CATEGORIES)), -1.0, dtype=np.float32)
    for c in range(len(CATEGORIES)):
        cols = sims[:, concept_category == c]
        if cols.shape[1]:
            per_cat[:, c] = cols.max(axis=1)
    return np.concatenate([emb, sims, per_cat], axis=1).astype(np.float32)


class PromptClassifier:
    """Load the head once, then score batches of prompts."""

    def __init__(self, encoder=None, head_path: str | Path | None = None) -> None:
        self.head_path = Path(head_path) if head_path else DEFAULT_HEAD
        self.version = "not loaded"
        self.minor_factor = 0.5
        self._encoder = encoder
        self._head: dict[str, np.ndarray] | None = None

    def load(self) -> None:
        """Read and validate the head, and make sure the encoder is there."""
        self._head = None
        head, meta = _read_head(self.head_path)
        self.minor_factor = float(meta.get("minor_factor", 0.5))
        encoder_id = meta.get("encoder", ENCODER_FP32)
        if encoder_id not in (ENCODER_FP32, ENCODER_INT8):
            raise ModerationUnavailable(f"classifier head needs an unknown encoder: {encoder_id}")
        try:
            self._encoder = classifier_encoder(self._encoder, encoder_id == ENCODER_INT8)
        except Exception as exc:
            raise ModerationUnavailable(f"text encoder failed to load: {exc}") from exc
        digest = hashlib.sha256(self.head_path.read_bytes()).hexdigest()
        self.version = f"clf-{digest[:8]}"
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
        if emb.shape != (len(texts), 384) or not np.isfinite(emb).all():
            raise ModerationUnavailable("text encoder returned malformed embeddings")
        out = np.empty_like(emb)
        out[order] = emb
        return out

    def scores_from_embeddings(self, emb: np.ndarray) -> np.ndarray:
        """Per-category probabilities, shape (n, len(CATEGORIES))."""
        h = self._head
        if h is None:
            raise ModerationUnavailable("prompt classifier not loaded")
        x = (concept_features(emb, h["concepts"], h["concept_category"]) - h["mean"]) / h["std"]
        hidden = np.maximum(x @ h["w1"] + h["b1"], 0.0)
        logits = np.clip(hidden @ h["w2"] + h["b2"], -30, 30)
        return 1.0 / (1.0 + np.exp(-logits))

    def scores(self, texts: list[str]) -> np.ndarray:
        """Embed and score texts."""
        if not texts:
            return np.zeros((0, len(CATEGORIES)), dtype=np.float32)
        return self.scores_from_embeddings(self.embed(texts))


def _read_head(path: Path) -> tuple[dict[str, np.ndarray], dict]:
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
    n_cat, n_feat = len(CATEGORIES), 384 + head["concepts"].shape[0] + len(CATEGORIES)
    shapes_ok = (
        tuple(categories) == CATEGORIES
        and head["concepts"].shape[1:] == (384,)
        and head["w1"].shape[0] == n_feat
        and head["mean"].shape == head["std"].shape == (n_feat,)
        and head["w2"].shape == (head["w1"].shape[1], n_cat)
        and head["thresholds"].shape == (n_cat,)
    )
    if not shapes_ok or not all(np.isfinite(v).all() for v in head.values()):
        raise ModerationUnavailable(f"classifier head corrupt: {path.name}: bad shapes or values")
    head = {
        k: v.astype(np.int64 if k == "concept_category" else np.float32) for k, v in head.items()
    }
    return head, meta
