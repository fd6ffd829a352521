"""The bf16 view must give the fp32 embeddings classifier heads are fitted on."""

from __future__ import annotations

import numpy as np
import pytest

from textencoder import (
    HIDDEN_SIZE,
    Bf16SentenceEncoder,
    TextEncoder,
    sentence_encoder,
    shared_text_encoder,
)

PROMPTS = [
    "a cat on a windowsill",
    "a knight in armor in a misty forest, by greg rutkowski, trending on artstation, 8k",
    "a man lying dead in the street with his skull cracked open, photo",
    "",
    "three yellow triangles on a blue background " * 20,  # longer than the 128-token cap
]


@pytest.fixture(scope="module")
def fp32():
    """The shared fp32 TextEncoder."""
    return shared_text_encoder()


def test_bf16_view_matches_fp32_embeddings(fp32) -> None:
    bf16 = Bf16SentenceEncoder(fp32)
    a = fp32.sentence_embeddings(PROMPTS)
    b = bf16.sentence_embeddings(PROMPTS)
    assert b.shape == a.shape == (len(PROMPTS), HIDDEN_SIZE) and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert (a * b).sum(axis=1).min() > 0.9995


def test_bf16_view_shares_the_token_table_and_leaves_the_base_fp32(fp32) -> None:
    import torch

    bf16 = Bf16SentenceEncoder(fp32)
    assert bf16.model.embeddings is fp32.model.embeddings
    assert bf16.model.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    assert fp32.model.encoder.layer[0].attention.self.query.weight.dtype == torch.float32


def test_precision_choice(fp32) -> None:
    assert sentence_encoder(fp32, "fp32") is fp32
    assert isinstance(sentence_encoder(fp32, "bf16"), Bf16SentenceEncoder)
    with pytest.raises(ValueError, match="precision"):
        sentence_encoder(fp32, "int4")


def test_test_doubles_pass_through() -> None:
    class Fake:
        def sentence_embeddings(self, texts, batch_size=64):
            return np.zeros((len(texts), HIDDEN_SIZE), dtype=np.float32)

    fake = Fake()
    assert sentence_encoder(fake, "bf16") is fake


def test_fp32_and_bf16_can_run_at_once(fp32) -> None:
    """A server embeds prompts on request threads while the worker reads token states."""
    from concurrent.futures import ThreadPoolExecutor

    bf16 = Bf16SentenceEncoder(fp32)
    expected_states = fp32.token_states(PROMPTS[:3], 16)
    expected_emb = bf16.sentence_embeddings(PROMPTS)

    def states(_: int) -> bool:
        return bool((fp32.token_states(PROMPTS[:3], 16) - expected_states).abs().max() < 1e-5)

    def embeddings(_: int) -> bool:
        return bool(np.abs(bf16.sentence_embeddings(PROMPTS) - expected_emb).max() < 1e-5)

    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(states if i % 2 else embeddings, i) for i in range(40)]
        assert all(job.result() for job in jobs)


def test_encoder_is_cheap_until_loaded() -> None:
    """Built by the app's services at start-up; the weights load with the models."""
    encoder = TextEncoder()
    assert not encoder.loaded and encoder.model is None
    view = sentence_encoder(encoder, "fp32")  # the classifier's load() loads it
    assert view is encoder and encoder.loaded
    assert encoder.token_states(["a red circle"], 16).shape == (1, 16, HIDDEN_SIZE)
