"""The encoder behind the prompt classifier: the shared MiniLM, or an int8 copy of it.

A head records which one it was trained on (safetensors metadata ``encoder``):

* ``all-MiniLM-L6-v2`` (the shipped head): the very TextEncoder the generator loads, so the model
  is loaded once for both.
* ``all-MiniLM-L6-v2/int8-dynamic`` (``python -m safety train --int8``): a dynamically quantised
  copy of the already loaded model (Linear layers int8, about 60 MB more memory) with its own
  tokenizer. Measured on the 2-core dev box under load: 125-135 vs 41-45 prompts/s with one
  thread, but embeddings keep only a mean cosine of 0.94 to fp32 ones, and heads trained on them
  lost recall (implicit I2P 0.30 vs 0.43, hate 0.67 vs 1.00), so it is not the default.
"""

from __future__ import annotations

import copy
import threading
import warnings

import numpy as np

ENCODER_FP32 = "all-MiniLM-L6-v2"
ENCODER_INT8 = "all-MiniLM-L6-v2/int8-dynamic"
BATCH = 64


class QuantizedSentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from an int8 copy of a loaded TextEncoder."""

    def __init__(self, base) -> None:
        import torch

        self.tokenizer = copy.deepcopy(base.tokenizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
            model = copy.deepcopy(base.model).to("cpu").eval()
            self.model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        self._lock = threading.Lock()

    def sentence_embeddings(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        """Embeddings, shape (len(texts), 384), float32; callers sort by length to cut padding."""
        from generation.text_encoder import mean_pooled_embeddings

        with self._lock:
            return mean_pooled_embeddings(self.tokenizer, self.model, texts, batch_size)


def classifier_encoder(encoder=None, quantize: bool = False):
    """The shared TextEncoder (or its int8 copy with ``quantize``); test doubles pass through."""
    if encoder is None:
        from generation.text_encoder import shared_text_encoder

        encoder = shared_text_encoder()
    if isinstance(encoder, QuantizedSentenceEncoder):
        return encoder
    if quantize and hasattr(encoder, "model") and hasattr(encoder, "tokenizer"):
        return QuantizedSentenceEncoder(encoder)
    return encoder
