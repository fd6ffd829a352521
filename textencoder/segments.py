"""Whole-text and per-segment embeddings from one encoder pass.

A prompt such as "portrait of a knight, dramatic lighting, by rembrandt, 8k" is a list of
segments, and one of them may carry what matters. Mean-pooling the whole prompt dilutes one
segment among thirty; pooling the same contextual token states per segment keeps it, at no
extra encoder cost. Segments end at separator tokens (",", ".", "|" ...); brackets are left
out of the segment means, as are [CLS]/[SEP].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from textencoder.encoder import HIDDEN_SIZE, MAX_SENTENCE_TOKENS

if TYPE_CHECKING:
    import torch

SEPARATORS = (",", ".", ";", "|", "!", "?")
LEFT_OUT = ("(", ")", "[", "]", "{", "}")  # weights like "(masterpiece:1.2)" wrap a segment
SPECIAL = ("[CLS]", "[SEP]", "[PAD]")


@dataclass(frozen=True)
class SegmentEmbeddings:
    """Row i of ``whole`` is text i; ``segments[owner == i]`` are its segments, in order.

    Every embedding is L2-normalised; ``whole`` is the usual mean-pooled sentence embedding.
    A text without any segment (only separators) has none.
    """

    whole: np.ndarray  # (n, HIDDEN_SIZE) float32
    segments: np.ndarray  # (m, HIDDEN_SIZE) float32
    owner: np.ndarray  # (m,) int64, non-decreasing


def segment_pooled_embeddings(
    tokenizer, model, texts: list[str], batch_size: int, device: str = "cpu"
) -> SegmentEmbeddings:
    """Embed ``texts`` in batches (in the given order) and pool each one whole and by segment."""
    import torch

    separators = torch.tensor([tokenizer.token_id(s) for s in SEPARATORS])
    left_out = torch.tensor([tokenizer.token_id(s) for s in (*LEFT_OUT, *SPECIAL)])
    wholes, segments, owners = [], [], []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start : start + batch_size]), MAX_SENTENCE_TOKENS)
            ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
            states = model(input_ids=ids, attention_mask=mask).float()
            wholes.append(_mean(states, mask.unsqueeze(-1).float()))
            seg, found = _segments(states, ids, mask, separators.to(device), left_out.to(device))
            segments.append(seg)
            owners.append(found + start)
    if not wholes:
        empty = np.zeros((0, HIDDEN_SIZE), dtype=np.float32)
        return SegmentEmbeddings(empty, empty, np.zeros(0, dtype=np.int64))
    return SegmentEmbeddings(
        np.concatenate(wholes), np.concatenate(segments), np.concatenate(owners).astype(np.int64)
    )


def _mean(states: torch.Tensor, weights: torch.Tensor) -> np.ndarray:
    """Weighted mean over the token axis, L2-normalised, as float32 numpy."""
    import torch

    pooled = (states * weights).sum(-2) / weights.sum(-2).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy().astype(np.float32)


def _segments(
    states: torch.Tensor,
    ids: torch.Tensor,
    mask: torch.Tensor,
    separators: torch.Tensor,
    left_out: torch.Tensor,
) -> tuple[np.ndarray, np.ndarray]:
    """(segment embeddings, row of the batch each belongs to) for one batch of token states."""
    import torch

    is_sep = torch.isin(ids, separators)
    number = torch.cumsum(is_sep.long(), dim=1)  # segment number of every token
    counted = mask.bool() & ~is_sep & ~torch.isin(ids, left_out)
    width = int(number.max()) + 1 if number.numel() else 1
    member = torch.nn.functional.one_hot(number, width).float() * counted.unsqueeze(-1).float()
    count = member.sum(1)  # (batch, width) tokens per segment
    pooled = torch.einsum("bts,btd->bsd", member, states)
    keep = count > 0
    means = pooled[keep] / count[keep].unsqueeze(-1)
    rows = keep.nonzero()[:, 0]
    normed = torch.nn.functional.normalize(means, dim=-1)
    return normed.cpu().numpy().astype(np.float32), rows.cpu().numpy()
