"""A BERT encoder and WordPiece tokenizer for all-MiniLM-L6-v2, in plain torch and `tokenizers`.

Not ``transformers.AutoModel``: its modelling stack is slow to import (docs/performance.md).
The forward pass is the standard post-LayerNorm BERT encoder;
``tests/textencoder/test_text_minilm.py`` checks it against ``transformers.BertModel`` on the
same weights (token states within 1e-4) and the tokenizer against ``AutoTokenizer``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn


class Embeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], cfg["hidden_size"])
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        return self.LayerNorm(x + self.token_type_embeddings.weight[0])  # one segment only


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product attention over the unpadded tokens."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        width = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(width // self.heads)
        scores = scores.masked_fill(~keep[:, None, None, :], torch.finfo(scores.dtype).min)
        context = scores.softmax(dim=-1).to(v.dtype) @ v
        return context.transpose(1, 2).reshape(batch, length, width)


class DenseLayerNorm(nn.Module):
    """dense(x) + residual, then LayerNorm (BERT's "output" blocks)."""

    def __init__(self, width_in: int, cfg: dict) -> None:
        super().__init__()
        self.dense = nn.Linear(width_in, cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    """Self-attention followed by its output projection."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.self = SelfAttention(cfg)
        self.output = DenseLayerNorm(cfg["hidden_size"], cfg)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class Intermediate(nn.Module):
    """The feed-forward expansion with exact (erf) GELU."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.dense(x))


class Layer(nn.Module):
    """One transformer block."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.attention = Attention(cfg)
        self.intermediate = Intermediate(cfg)
        self.output = DenseLayerNorm(cfg["intermediate_size"], cfg)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, keep)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    """The stack of blocks (named ``encoder.layer.N`` as in the checkpoint)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))


class MiniLM(nn.Module):
    """BERT encoder returning the last hidden states, shape (batch, tokens, hidden)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
            raise ValueError("expected a BERT checkpoint with GELU activations")
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)

    @classmethod
    def from_folder(cls, path: str | Path) -> MiniLM:
        """Build from config.json and load model.safetensors (never a pickle)."""
        from safetensors.torch import load_file

        folder = Path(path)
        model = cls(json.loads((folder / "config.json").read_text(encoding="utf-8")))
        weights = load_file(str(folder / "model.safetensors"))
        weights = {k: v for k, v in weights.items() if not k.startswith("pooler.")}
        weights.pop("embeddings.position_ids", None)
        model.load_state_dict(weights, strict=True)
        return model.eval().requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        keep = attention_mask.bool()
        x = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            x = layer(x, keep)
        return x


class WordPiece:
    """The checkpoint's tokenizer.json, with BERT's [CLS]/[SEP] and padding, as tensors."""

    def __init__(self, path: str | Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.pad_id = self._tokenizer.token_to_id("[PAD]")

    def token_id(self, token: str) -> int:
        """Vocabulary id of one token (a KeyError for one the vocabulary lacks)."""
        found = self._tokenizer.token_to_id(token)
        if found is None:
            raise KeyError(token)
        return found

    def __call__(
        self, texts: list[str], max_length: int, pad_to_max: bool = False
    ) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask``, truncated to max_length, padded to the longest
        text (or to max_length with ``pad_to_max``)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids[: max_length - 1] + e.ids[-1:] if len(e.ids) > max_length else e.ids
               for e in encodings]  # fmt: skip
        width = max_length if pad_to_max else max((len(i) for i in ids), default=0)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}
