"""Sentence embeddings from a bf16 view of the shared TextEncoder, where the CPU has bf16.

Heads are fitted on the fp32 embeddings. On a CPU with native bf16 instructions (AVX512-BF16 or
AMX) a bf16 view of the same model is about 3x faster: its Linear weights are bf16 copies
(about 21 MB), everything else (token embeddings, LayerNorm) is shared with the fp32 model, and
the forward pass runs under CPU autocast so LayerNorm, softmax and pooling stay fp32. Its
embeddings keep a cosine of at least 0.9995 to the fp32 ones, so a head's decisions are the same
(``tests/textencoder/test_text_bf16.py``; figures in docs/performance.md).
"""

from __future__ import annotations

import copy
import threading

import numpy as np

from textencoder.encoder import TextEncoder, mean_pooled_embeddings, shared_text_encoder
from textencoder.segments import SegmentEmbeddings, segment_pooled_embeddings

PRECISIONS = ("auto", "fp32", "bf16")
BATCH = 64  # prompts per forward pass (docs/performance.md)


def native_bf16() -> bool:
    """True when this CPU has bf16 instructions, so bf16 matmuls are faster than fp32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(torch.cpu, name, lambda: False)() for name in probes)
    except Exception:  # private torch helpers: absent or failing means "no"
        return False


class Bf16SentenceEncoder:
    """Sentence embeddings from a bf16 view of a loaded CPU TextEncoder (see module docstring)."""

    def __init__(self, base: TextEncoder) -> None:
        import torch

        base.load()
        self.tokenizer = base.tokenizer
        # The memo entry makes deepcopy share the 47 MB token-embedding table instead of copying.
        shared = base.model.embeddings
        model = copy.deepcopy(base.model, memo={id(shared): shared})
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.to(torch.bfloat16)
        self.model = model.eval()
        # The fast tokenizer and the forward pass are not re-entrant across threads.
        self._lock = threading.Lock()

    def sentence_embeddings(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        """Embeddings, shape (len(texts), HIDDEN_SIZE), float32; callers sort by length."""
        import torch

        with self._lock, torch.autocast("cpu", dtype=torch.bfloat16):
            return mean_pooled_embeddings(self.tokenizer, self.model, texts, batch_size)

    def segment_embeddings(self, texts: list[str], batch_size: int = BATCH) -> SegmentEmbeddings:
        """Whole-text and per-segment embeddings from one bf16 pass (textencoder/segments.py)."""
        import torch

        with self._lock, torch.autocast("cpu", dtype=torch.bfloat16):
            return segment_pooled_embeddings(self.tokenizer, self.model, texts, batch_size)


def sentence_encoder(encoder=None, precision: str = "auto"):
    """What to call for sentence embeddings: the TextEncoder (loaded) or its bf16 view.

    ``encoder``: a TextEncoder (default: the process-wide one) or any object with
    ``segment_embeddings`` (test doubles, caches), which passes through unchanged.
    ``precision``: ``auto`` (bf16 on a CPU with native bf16, else fp32), ``fp32`` or ``bf16``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if encoder is None:
        encoder = shared_text_encoder()
    if not isinstance(encoder, TextEncoder):
        return encoder
    encoder.load()
    if precision == "fp32" or encoder.device != "cpu":
        return encoder  # a GPU runs the fp32 model fast enough; autocast here is CPU-only
    if precision == "bf16" or native_bf16():
        return Bf16SentenceEncoder(encoder)
    return encoder
