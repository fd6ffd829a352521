"""The frozen all-MiniLM-L6-v2 text encoder that generation and moderation share.

One ``TextEncoder`` per process, built by whoever owns the process (the web app's services, a
command) and handed to both the ``Generator`` (token states for canvas-shapes' cross-attention)
and ``Moderation`` (sentence embeddings for the prompt classifier, through ``sentence_encoder``:
a bf16 view on CPUs that have bf16). Importing this package is cheap: torch loads in ``load()``.
Neither ``generation`` nor ``safety`` imports the other; both import this.
"""

from __future__ import annotations

from textencoder.bf16 import PRECISIONS, Bf16SentenceEncoder, native_bf16, sentence_encoder
from textencoder.encoder import (
    HIDDEN_SIZE,
    MAX_SENTENCE_TOKENS,
    MODEL_ID,
    TextEncoder,
    default_encoder_path,
    shared_text_encoder,
    vocabulary_words,
)

__all__ = [
    "HIDDEN_SIZE",
    "MAX_SENTENCE_TOKENS",
    "MODEL_ID",
    "PRECISIONS",
    "Bf16SentenceEncoder",
    "TextEncoder",
    "default_encoder_path",
    "native_bf16",
    "sentence_encoder",
    "shared_text_encoder",
    "vocabulary_words",
]
