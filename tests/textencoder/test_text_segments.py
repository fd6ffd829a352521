"""Whole and per-segment embeddings from one encoder pass."""

from __future__ import annotations

import numpy as np
import pytest

from textencoder import Bf16SentenceEncoder, shared_text_encoder

PROMPTS = [
    "portrait of a knight, dramatic lighting, by rembrandt, 8k",
    "hope",
    ",,, ...",
    "(masterpiece:1.2), a castle | night; stars! wow?",
    "",
    "three yellow triangles on a blue background, " * 20,  # longer than the 128-token cap
]


@pytest.fixture(scope="module")
def fp32():
    """The shared fp32 TextEncoder."""
    return shared_text_encoder()


def test_whole_view_is_the_sentence_embedding(fp32) -> None:
    pooled = fp32.segment_embeddings(PROMPTS)
    assert np.allclose(pooled.whole, fp32.sentence_embeddings(PROMPTS), atol=1e-6)


def test_segments_end_at_separators(fp32) -> None:
    pooled = fp32.segment_embeddings(PROMPTS)
    counts = np.bincount(pooled.owner, minlength=len(PROMPTS)).tolist()
    # "(masterpiece:1.2)" splits at its "." ("masterpiece:1", "2"); brackets are left out.
    assert counts[:5] == [4, 1, 0, 6, 0]
    assert np.allclose(np.linalg.norm(pooled.segments, axis=1), 1.0, atol=1e-5)
    assert (np.diff(pooled.owner) >= 0).all()


def test_a_segment_is_read_in_its_context(fp32) -> None:
    """Segment vectors pool contextual states: the same words differ by their neighbours."""
    a = fp32.segment_embeddings(["a knight, red"]).segments[1]
    b = fp32.segment_embeddings(["a rose, red"]).segments[1]
    alone = fp32.segment_embeddings(["red"]).segments[0]
    assert float(a @ b) < 0.999 and float(a @ alone) < 0.999


def test_bf16_segments_match_fp32(fp32) -> None:
    ref, fast = (
        fp32.segment_embeddings(PROMPTS),
        Bf16SentenceEncoder(fp32).segment_embeddings(PROMPTS),
    )
    assert (ref.owner == fast.owner).all()
    assert (ref.segments * fast.segments).sum(1).min() > 0.999
    assert (ref.whole * fast.whole).sum(1).min() > 0.999
